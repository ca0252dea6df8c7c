"""The bundled SMARD exports into a temporary lakehouse, through the project's own import and silver code.

Generation goes the product's way: :func:`emission_assets.smard.csv_import.read_smard_csv` parses the export (local
time, the autumn hour, German numbers), :func:`~emission_assets.smard.csv_import.windowed` cuts it into the API's
weekly windows, and :func:`emission_assets.smard.silver.production_from_bronze` turns those windows (shaped like
``bronze.smard_responses`` rows, built in memory instead of through the reservoir, which would only copy them) into
``silver.production``. The factor dimension is merged from the committed seed with the product's SCD2 merge. Grid
load (consumption export) is not a production type: it stays a pandas frame for the regression cross-check.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from emission_assets.smard.catalog import BY_ID
from emission_assets.smard.csv_import import ParsedCsv, read_smard_csv, windowed
from emission_assets.timeutil import UTC, local_date_of_ms

DATA_DIR = Path(__file__).resolve().parent / "data"
GENERATION_CSV = DATA_DIR / "smard_realisierte_erzeugung_DE_hour_2019-01-01_2023-02-27.csv.gz"
CONSUMPTION_CSV = DATA_DIR / "smard_realisierter_stromverbrauch_DE_hour_2017-01-01_2023-12-24.csv.gz"
REGION = "DE"
IMPORTED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # fixed, so two runs build the same silver rows
BRONZE_DDL = ("file_name string, fetched_at timestamp, filter_id int, region string, resolution string, "
              "series array<struct<interval_start_ms: bigint, energy_mwh: double>>")  # typed, as bronze keeps it


def parse_export(path: Path, scratch: Path) -> ParsedCsv:
    """Parse a bundled (gzip) export with the product's CSV reader, which reads plain files."""
    plain = scratch / path.name.removesuffix(".gz")
    plain.write_bytes(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
    return read_smard_csv(plain)


def bronze_rows(parsed: ParsedCsv, region: str = REGION, first_day: date | None = None,
                last_day: date | None = None) -> list[tuple]:
    """One ``bronze.smard_responses``-shaped row per weekly window and series, as the CSV import would store it;
    with ``first_day``/``last_day`` only the windows that can hold those local days (a test's few weeks)."""
    rows = []
    for filter_id, window_start, points in windowed(parsed):
        if first_day is not None and local_date_of_ms(window_start) > last_day:
            continue
        if first_day is not None and local_date_of_ms(window_start) < first_day - timedelta(days=7):
            continue
        name = f"{filter_id}_{region}_{parsed.resolution}_{window_start}.json"
        rows.append((name, IMPORTED_AT, filter_id, region, parsed.resolution, [(t, None if v is None else float(v)) for t, v in points]))
    return rows


def load_production(spark, writer, parsed: ParsedCsv, first_day: date | None = None,
                    last_day: date | None = None) -> int:
    """``silver.production`` for the export's local days (or ``first_day..last_day`` of them), by the product's
    silver transform; returns rows."""
    from emission_assets.smard.silver import production_from_bronze

    bronze = spark.createDataFrame(bronze_rows(parsed, first_day=first_day, last_day=last_day), BRONZE_DDL)
    first_day = first_day or local_date_of_ms(parsed.first_start_ms)
    last_day = last_day or local_date_of_ms(parsed.last_start_ms)
    production = production_from_bronze(bronze, first_day, last_day)
    writer.replace_days("silver.production", production, first_day, last_day)
    return spark.table(writer.registry.sql_name("silver.production")).count()


def load_factors(spark, writer, now: datetime = IMPORTED_AT) -> dict:
    """``silver.emission_factors`` from the committed seed (the product's SCD2 merge)."""
    from emission_assets.factors.dimension import merge_seed, read_seed

    return merge_seed(spark, writer, read_seed(), now)


@dataclass(frozen=True)
class LoadedData:
    parsed_generation: ParsedCsv
    grid_load: pd.DataFrame  # interval_start (UTC) -> grid_load_mwh, residual_load_mwh (SMARD's own)


def grid_load_frame(parsed: ParsedCsv) -> pd.DataFrame:
    """Hourly SMARD grid load (410) and residual load (4359) in MWh, indexed by the UTC interval start."""
    columns = {}
    for filter_id, points in parsed.series.items():
        name = BY_ID[filter_id].name
        columns[f"{name}_mwh"] = pd.Series({ms: v for ms, v in points if v is not None}, dtype="float64")
    frame = pd.DataFrame(columns)
    frame.index = pd.to_datetime(frame.index, unit="ms", utc=True)
    frame.index.name = "interval_start"
    return frame.sort_index()
