"""Reservoir files into an append-only bronze table, each file exactly once."""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable

from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.reservoir.store import ReservoirFile
from emission_assets.timeutil import UTC, local_date_of_ms


def file_fields(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    """Values of the registry's ``BRONZE_FILE_COLUMNS``, which every bronze row starts with."""
    meta = file.meta
    return (
        file.name, meta["sha256"], meta["source"], meta["url"], datetime.fromisoformat(meta["fetched_at"]),
        ingested_at, run_id,
    )


def series_date(file: ReservoirFile) -> date:
    """Local date of a file's first interval: the bronze partition of files found by their series range."""
    return local_date_of_ms(file.meta["series_start_ms"])


def ingest(
    spark,
    writer: DeltaWriter,
    table: str,
    files: list[ReservoirFile],
    *,
    row: Callable[[ReservoirFile, datetime, str], tuple],
    partition: tuple[str, Callable[[ReservoirFile], date]],
    run_id: str,
) -> int:
    """Append the files ``table`` does not hold yet; returns how many rows were added.

    A name check on the files' partitions (one small column, pruned) skips reading payloads that are in already;
    the MERGE on (partition, file_name) keeps it exactly once even when two runs ingest the same file at once.
    """
    column, partition_of = partition
    dates = sorted({partition_of(f) for f in files})
    if not dates:
        return 0
    listed = ", ".join(f"date'{d.isoformat()}'" for d in dates)
    names = spark.sql(f"SELECT file_name FROM {writer.registry.sql_name(table)} WHERE {column} IN ({listed})")
    known = {r[0] for r in writer.collect(table, names)}  # a concurrent run may be writing the table
    new = [f for f in files if f.name not in known]
    if not new:
        return 0
    ingested_at = datetime.now(UTC)
    df = spark.createDataFrame([row(f, ingested_at, run_id) for f in new], spec(table).ddl)
    return writer.insert_new(table, df, [column, "file_name"])
