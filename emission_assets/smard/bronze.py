"""SMARD reservoir files into ``bronze.smard_responses``: each response typed, plus ingest metadata, exactly once.

The engine reads the files itself (:func:`emission_assets.lakehouse.bronze_ingest.ingest_read`) and
:func:`typed_responses` parses each once: the series becomes an array of (epoch ms, MWh) structs. A file that is not
a SMARD window (not JSON, no ``series`` list, a point that is not ``[epoch_ms, value]``) keeps its text in
``raw_payload`` and why in ``parse_error``; silver uses none of it and names it. Only files that match their sidecar
(sha256, byte count) are ingested; the others are quarantined in the reservoir
(:mod:`emission_assets.lakehouse.reservoir_integrity`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.lakehouse.bronze_ingest import PAYLOAD, file_fields, file_row_ddl, ingest_read
from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.smard.tables import BRONZE_TYPED_COLUMNS
from emission_assets.timeutil import from_epoch_ms, local_date_of_ms

TABLE = "bronze.smard_responses"
# FILE_ROW_SCHEMA: a reservoir file as a row, the input of :func:`typed_responses` (also what tests build bronze
# frames from, and the schema of bronze before it was typed).
FIELDS_DDL, FILE_ROW_SCHEMA = file_row_ddl(TABLE, BRONZE_TYPED_COLUMNS)

RESPONSE_SCHEMA = "struct<meta_data: struct<version: int, created: bigint>, series: array<array<double>>>"
NO_SERIES = "no 'series' list (not JSON, or not the SMARD window shape)"
BAD_POINT = "a series point is not [epoch_ms, value]"


# A JSON number as Spark renders it when the series is read as strings (``3.0``, ``1.6409916E12``, ``-12``).
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def typed_responses(files: DataFrame, table: str = TABLE, check_value_types: bool = False) -> DataFrame:
    """Bronze rows of ``table`` from file rows (:data:`FILE_ROW_SCHEMA`): the one parse of each file. Pure: runs on
    any Spark.

    ``check_value_types`` (the day-ahead forecasts): a file with a value of the wrong type (``"12,5"``, ``true``,
    an object) is an error of the file too; the typed parse alone would turn such a value into null, which passes
    for "not published yet" and would lose it silently."""
    # The series typed once (and the points' sizes); the checks below are array functions over those two.
    parsed = files.withColumn("_response", F.from_json(PAYLOAD, RESPONSE_SCHEMA)).withColumn(
        # get(): null past a point's end (a short point is an error below, not a failed statement)
        "_series", F.transform("_response.series", lambda p: F.struct(
            F.get(p, 0).cast("bigint").alias("interval_start_ms"), F.get(p, 1).alias("energy_mwh")))
    ).withColumn("_sizes", F.transform("_response.series", F.size))
    series = F.col("_response.series")
    # explode gives no rows for a null series, and a point missing its time would give a row without one: both
    # are errors of the whole file, so silver never sees half of it. A point that is null or has no time has a
    # null interval_start_ms (array_compact drops it); every point has two elements. Not F.exists(series, <the
    # three conditions>) and p[i]: typing the bench year's 3,395 files (2.3 million points) took 1.23 s CPU on
    # Sail that way, 0.73 s this way.
    points = F.size("_series")
    bad_point = (points > 0) & (
        (F.size(F.array_compact(F.col("_series.interval_start_ms"))) != points)
        | (F.array_min("_sizes") != 2) | (F.array_max("_sizes") != 2))
    error = F.when(series.isNull(), F.lit(NO_SERIES)).when(bad_point, F.lit(BAD_POINT))
    if check_value_types:
        as_text = F.from_json(PAYLOAD, "struct<series: array<array<string>>>")["series"]
        wrong = F.filter(F.transform(as_text, lambda p: F.element_at(p, 2)),
                         lambda v: v.isNotNull() & ~v.rlike(_NUMBER))
        parsed = parsed.withColumn("_wrong", wrong)
        error = error.when(F.size("_wrong") > 0, F.concat(
            F.lit("a series value is not a number or null ("), F.size("_wrong").cast("string"),
            F.lit(" value(s), e.g. "), F.array_min("_wrong"), F.lit(")")))
    parsed = parsed.withColumn("parse_error", error)
    ok = F.col("parse_error").isNull()
    typed = {
        "meta_version": F.col("_response.meta_data.version"),
        "meta_created_ms": F.col("_response.meta_data.created"),
        "series": F.when(ok, F.col("_series")),
        "parse_error": F.col("parse_error"),
        "raw_payload": F.when(~ok, F.col(PAYLOAD)),
    }
    return parsed.select(*[typed[c].alias(c) if c in typed else F.col(c) for c in spec(table).column_names])


def window_date(file: ReservoirFile) -> date:
    return local_date_of_ms(file.meta["window_start_ms"])


def file_values(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    """The bronze columns a file's sidecar gives (:data:`FIELDS_DDL`)."""
    meta = file.meta
    return file_fields(file, ingested_at, run_id) + (
        int(meta["filter_id"]),
        meta["region"],
        meta["resolution"],
        from_epoch_ms(meta["window_start_ms"]),
        window_date(file),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str, known: set[str] | None = None,
           table: str = TABLE, typed: Callable[[DataFrame], DataFrame] = typed_responses) -> int:
    """Append the window files bronze does not hold yet to ``table`` (``bronze.smard_forecast_responses`` for the
    day-ahead forecasts, which have the same columns, typed by their own ``typed``)."""
    return ingest_read(
        spark, writer, table, files, fields=(file_values, FIELDS_DDL), typed=typed,
        partition=("window_date", window_date), run_id=run_id, known=known,
    )


def window_date_range(first_day: date, last_day: date) -> tuple[date, date]:
    """Window dates whose weekly windows can overlap the days (a window starts at most 6 days earlier)."""
    return first_day - timedelta(days=7), last_day
