"""SMARD reservoir files into ``bronze.smard_responses``: the raw payload plus ingest metadata, exactly once.

Only files that match their sidecar (sha256, byte count) are ingested; the others are quarantined in the reservoir
(:mod:`emission_assets.lakehouse.reservoir_integrity`).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from emission_assets.lakehouse.bronze_ingest import file_fields
from emission_assets.lakehouse.bronze_ingest import ingest as ingest_files
from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.timeutil import from_epoch_ms, local_date_of_ms

TABLE = "bronze.smard_responses"
ROW_SCHEMA = spec(TABLE).ddl  # also what tests build bronze frames with


def window_date(file: ReservoirFile) -> date:
    return local_date_of_ms(file.meta["window_start_ms"])


def bronze_row(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    meta = file.meta
    return file_fields(file, ingested_at, run_id) + (
        int(meta["filter_id"]),
        meta["region"],
        meta["resolution"],
        from_epoch_ms(meta["window_start_ms"]),
        file.read_bytes().decode("utf-8"),
        window_date(file),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str, known: set[str] | None = None,
           table: str = TABLE) -> int:
    """Append the window files bronze does not hold yet to ``table`` (``bronze.smard_forecast_responses`` for the
    day-ahead forecasts, which have the same columns)."""
    return ingest_files(
        spark, writer, table, files, row=bronze_row, partition=("window_date", window_date),
        run_id=run_id, known=known,
    )


def window_date_range(first_day: date, last_day: date) -> tuple[date, date]:
    """Window dates whose weekly windows can overlap the days (a window starts at most 6 days earlier)."""
    return first_day - timedelta(days=7), last_day
