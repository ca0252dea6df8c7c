"""SMARD reservoir files into ``bronze.smard_responses``: the raw payload plus ingest metadata, exactly once."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from emission_assets.bronze.ingest import ingest as ingest_files
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.reservoir.store import ReservoirFile
from emission_assets.timeutil import from_epoch_ms, local_date_of_ms

TABLE = "bronze.smard_responses"
ROW_SCHEMA = (
    "file_name string, sha256 string, source string, source_url string, fetched_at timestamp, "
    "ingested_at timestamp, ingest_run_id string, filter_id int, region string, resolution string, "
    "window_start timestamp, payload string, window_date date"
)


def window_date(file: ReservoirFile) -> date:
    return local_date_of_ms(file.meta["window_start_ms"])


def bronze_row(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    meta = file.meta
    return (
        file.name,
        meta["sha256"],
        meta["source"],
        meta["url"],
        datetime.fromisoformat(meta["fetched_at"]),
        ingested_at,
        run_id,
        int(meta["filter_id"]),
        meta["region"],
        meta["resolution"],
        from_epoch_ms(meta["window_start_ms"]),
        file.read_bytes().decode("utf-8"),
        window_date(file),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str) -> int:
    return ingest_files(
        spark, writer, TABLE, files, schema=ROW_SCHEMA, row=bronze_row, partition=("window_date", window_date),
        run_id=run_id,
    )


def window_date_range(first_day: date, last_day: date) -> tuple[date, date]:
    """Window dates whose weekly windows can overlap the days (a window starts at most 6 days earlier)."""
    return first_day - timedelta(days=7), last_day
