"""Reservoir files into an append-only bronze table, each file exactly once, and only files that match their
sidecar (:mod:`emission_assets.lakehouse.reservoir_integrity`)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable

from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.writer import DeltaWriter
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


def known_names(spark, writer: DeltaWriter, table: str, column: str, dates: set[date]) -> set[str]:
    """``file_name`` of the rows of ``table`` in the partitions ``dates`` (one small column, pruned)."""
    if not dates:
        return set()
    listed = ", ".join(f"date'{d.isoformat()}'" for d in sorted(dates))
    names = spark.sql(f"SELECT file_name FROM {writer.registry.sql_name(table)} WHERE {column} IN ({listed})")
    return {r[0] for r in writer.collect(table, names)}  # a concurrent run may be writing the table


def ingest(
    spark,
    writer: DeltaWriter,
    table: str,
    files: list[ReservoirFile],
    *,
    row: Callable[[ReservoirFile, datetime, str], tuple],
    partition: tuple[str, Callable[[ReservoirFile], date]],
    run_id: str,
    known: set[str] | None = None,
) -> int:
    """Append the files ``table`` does not hold yet; returns how many rows were added.

    A name check on the files' partitions (``known``, if the caller asked already) skips reading payloads that are
    in already; the MERGE on (partition, file_name) keeps it exactly once even when two runs ingest the same file
    at once.
    """
    column, partition_of = partition
    if known is None:
        known = known_names(spark, writer, table, column, {partition_of(f) for f in files})
    new = [f for f in files if f.name not in known]
    ingested_at = datetime.now(UTC)
    added = 0
    for batch in payload_batches(new):
        df = spark.createDataFrame([row(f, ingested_at, run_id) for f in batch], spec(table).ddl)
        added += writer.insert_new(table, df, [column, "file_name"])
    return added


# Payload bytes per MERGE. The rows travel to the engine inside the Spark Connect plan, and gRPC refuses a message
# over 128 MiB: five years of SMARD windows (15,660 files) made one 246 MB plan. Batches also bound the rows held
# in Python. A file larger than this goes alone.
BATCH_PAYLOAD_BYTES = 48 * 1024 * 1024


def payload_batches(files: list[ReservoirFile], limit: int | None = None) -> list[list[ReservoirFile]]:
    """``files`` in order, cut into runs whose payloads (the sidecars' byte counts) add up to at most ``limit``
    (default :data:`BATCH_PAYLOAD_BYTES`). Each batch is one MERGE, exactly once by itself; a failure after some
    batches leaves the rest for the re-run."""
    limit = BATCH_PAYLOAD_BYTES if limit is None else limit
    batches, current, size = [], [], 0
    for file in files:
        length = int(file.meta["bytes"])
        if current and size + length > limit:
            batches.append(current)
            current, size = [], 0
        current.append(file)
        size += length
    if current:
        batches.append(current)
    return batches


def checked_ingest(
    context,
    lakehouse,
    inspector,
    files: list[ReservoirFile],
    *,
    table: str,
    partition: tuple[str, Callable[[ReservoirFile], date]],
    ingest: Callable[..., int],
    first_day: date,
    last_day: date,
) -> dict:
    """Verify the files bronze does not hold yet against their sidecars (quarantining the others), ingest the
    intact ones, then warn once about what was quarantined and about halves without their pair, and fail
    (:class:`~emission_assets.lakehouse.reservoir_integrity.ReservoirIntegrityError`) if quarantined files leave days of
    ``first_day..last_day`` that no intact file covers. Returns the step's metadata."""
    column, partition_of = partition
    dates = {partition_of(f) for f in files} | inspector.folder_dates()  # the folder date is the partition
    known = known_names(lakehouse.spark, lakehouse.writer, table, column, dates)
    intact = inspector.verified(files, should=lambda f: f.name not in known, keep=True)
    added = ingest(lakehouse.spark, lakehouse.writer, intact, context.run.run_id, known=known)
    metadata = inspector.conclude(
        context.log, then="a run with the reservoir step fetches their days again", list_unpaired=True,
        coverage=(intact, first_day, last_day, known),
    )
    return {"reservoir_files_seen": len(files), "rows_added": added, **metadata}
