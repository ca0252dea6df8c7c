"""Tibber reservoir files (hourly API pages and live batches) into ``bronze.tibber_responses``, exactly once.

Only files that match their sidecar (sha256, byte count) are ingested; the others are quarantined in the reservoir
(:mod:`emission_assets.lakehouse.reservoir_integrity`).
"""
from __future__ import annotations

from datetime import date, datetime

from emission_assets.lakehouse.bronze_ingest import file_fields, series_date
from emission_assets.lakehouse.bronze_ingest import ingest as ingest_files
from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.tibber.layout import PAGE_LOOKBACK
from emission_assets.timeutil import from_epoch_ms

TABLE = "bronze.tibber_responses"
ROW_SCHEMA = spec(TABLE).ddl  # also what tests build bronze frames with


def bronze_row(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    meta = file.meta
    return file_fields(file, ingested_at, run_id) + (
        meta["kind"],
        meta["home_id"],
        from_epoch_ms(meta["series_start_ms"]),
        from_epoch_ms(meta["series_end_ms"]),
        file.read_bytes().decode("utf-8"),
        series_date(file),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str, known: set[str] | None = None) -> int:
    return ingest_files(
        spark, writer, TABLE, files, row=bronze_row, partition=("file_date", series_date),
        run_id=run_id, known=known,
    )


def file_date_range(first_day: date, last_day: date) -> tuple[date, date]:
    """File dates whose files can overlap the days (an hourly page starts at most ~31 days earlier)."""
    return first_day - PAGE_LOOKBACK, last_day
