"""Pure transform from ``bronze.redispatch_responses`` rows to ``silver.redispatch``.

Files are small (a year is a few MB), so the CSV text is parsed on the driver with
:mod:`emission_assets.redispatch.parse` (German dates with CET/CEST columns, mixed encodings, TSO and primary
energy mapping) and the typed rows become a DataFrame. Rules:
- only files overlapping the local days are read; a measure belongs to the local (Europe/Berlin) day it starts;
- per measure key (start, end, direction, instructing TSO, requesting TSO, affected plant) the latest download
  wins (ties broken by file name, so re-runs pick the same row);
- a bad row fails the run with a ``ValueError`` naming the bronze file, line and column.
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.lakehouse.registry import spec
from emission_assets.redispatch.parse import parse_redispatch_csv
from emission_assets.timeutil import BERLIN, day_bounds_utc

TABLE = "silver.redispatch"


def overlapping_files(bronze_df: DataFrame, first_day: date, last_day: date) -> DataFrame:
    start, end = day_bounds_utc(first_day)[0], day_bounds_utc(last_day)[1]
    return bronze_df.where(
        (F.col("series_start") < F.lit(end)) & (F.col("series_end") > F.lit(start))
    )


def redispatch_from_bronze(spark, bronze_df: DataFrame, first_day: date, last_day: date) -> DataFrame:
    """Silver redispatch rows for the measures starting on the local days ``first_day..last_day``."""
    files = overlapping_files(bronze_df, first_day, last_day).select("file_name", "fetched_at", "payload").collect()
    latest: dict[tuple, tuple] = {}
    for file in sorted(files, key=lambda f: (f["fetched_at"], f["file_name"])):  # later downloads overwrite
        for measure in parse_redispatch_csv(file["payload"], f"bronze file {file['file_name']}"):
            local_day = measure.measure_start.astimezone(BERLIN).date()
            if first_day <= local_day <= last_day:
                latest[measure.key] = (measure, local_day, file["file_name"], file["fetched_at"])
    rows = [
        (
            m.measure_start, m.measure_end, m.direction, m.reason, m.avg_power_mw, m.max_power_mw, m.energy_mwh,
            m.instructing_tso, m.requesting_tso, m.affected_plant, m.primary_energy, file_name, fetched_at,
            day.year, day.month, day.day,
        )
        for m, day, file_name, fetched_at in sorted(latest.values(), key=lambda v: (v[0].measure_start, v[0].key))
    ]
    return spark.createDataFrame(rows, spec(TABLE).ddl)
