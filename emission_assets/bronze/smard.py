"""SMARD reservoir files into ``bronze.smard_responses``: the raw payload plus ingest metadata, exactly once."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.reservoir.store import ReservoirFile
from emission_assets.timeutil import UTC, from_epoch_ms, local_date_of_ms

TABLE = "bronze.smard_responses"
ROW_SCHEMA = (
    "file_name string, sha256 string, source string, source_url string, fetched_at timestamp, "
    "ingested_at timestamp, ingest_run_id string, filter_id int, region string, resolution string, "
    "window_start timestamp, payload string, window_date date"
)


def ingested_names(spark, writer: DeltaWriter, window_dates: set[date]) -> set[str]:
    """Names already in bronze for these window dates (partition-pruned, one small column)."""
    if not window_dates:
        return set()
    listed = ", ".join(f"date'{d.isoformat()}'" for d in sorted(window_dates))
    rows = spark.sql(
        f"SELECT file_name FROM {writer.registry.sql_name(TABLE)} WHERE window_date IN ({listed})"
    ).collect()
    return {row[0] for row in rows}


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
        local_date_of_ms(meta["window_start_ms"]),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str) -> int:
    """Append the files bronze does not hold yet; returns how many rows were added.

    The name check skips reading payloads that are in already; the MERGE on ``file_name`` keeps it exactly once
    even when two runs ingest the same new file at the same time.
    """
    known = ingested_names(spark, writer, {local_date_of_ms(f.meta["window_start_ms"]) for f in files})
    new = [f for f in files if f.name not in known]
    if not new:
        return 0
    ingested_at = datetime.now(UTC)
    df = spark.createDataFrame([bronze_row(f, ingested_at, run_id) for f in new], ROW_SCHEMA)
    return writer.insert_new(TABLE, df, ["window_date", "file_name"])


def window_date_range(first_day: date, last_day: date) -> tuple[date, date]:
    """Window dates whose weekly windows can overlap the days (a window starts at most 6 days earlier)."""
    return first_day - timedelta(days=7), last_day
