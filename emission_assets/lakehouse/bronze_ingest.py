"""Reservoir files into an append-only bronze table, each file exactly once, and only files that match their
sidecar (:mod:`emission_assets.lakehouse.reservoir_integrity`).

Two ways in, both one ``MERGE`` per batch of files (:meth:`DeltaWriter.insert_new` on (partition, file_name)):
- :func:`ingest_read`: the engine reads the files itself (Spark's ``binaryFile`` source) and a source's pure
  transform types them; only the small ingest metadata from the sidecars goes through the Python client;
- :func:`ingest`: rows built in Python (a source whose files need Python to decode, e.g. the redispatch CSV).
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime
from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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


def payload_batches(files: list[ReservoirFile], limit: int | None = None,
                    max_files: int | None = None) -> list[list[ReservoirFile]]:
    """``files`` in order, cut into runs whose payloads (the sidecars' byte counts) add up to at most ``limit``
    (default :data:`BATCH_PAYLOAD_BYTES`) and, if given, of at most ``max_files`` files. Each batch is one MERGE,
    exactly once by itself; a failure after some batches leaves the rest for the re-run."""
    limit = BATCH_PAYLOAD_BYTES if limit is None else limit
    batches, current, size = [], [], 0
    for file in files:
        length = int(file.meta["bytes"])
        if current and (size + length > limit or (max_files is not None and len(current) >= max_files)):
            batches.append(current)
            current, size = [], 0
        current.append(file)
        size += length
    if current:
        batches.append(current)
    return batches


# Files per engine read (:func:`ingest_read`). Sail's ``binaryFile`` scan holds what it read until the statement
# ends: all 6,912 SMARD files of a year home in one read peaked at 932 MB (VmHWM), batches of 128 at 368 MB
# (1.4 s against 1.1 s). Ingesting the bench year's 3,520 SMARD files (typed, MERGEd) in one process: batches of
# 256 peaked at 631 MB, of 512 at 733-758 MB, of 1,024 at 939 MB, one batch at 1,023 MB. And Sail 0.7.2 starts a
# thread per path of a read (a read of 256 paths: 252 more threads, which end after 10 s idle), and what those
# threads allocated raises the peaks of the statements after it: the same process's gold peaked at 1,121 / 1,164 MB
# after batches of 256, 915 / 923 MB after batches of 64, 778 / 822 MB after 32, with bronze's own wall 3.0-3.3 s,
# 4.3 s and 5.9 s (the year's 3,392 SMARD files, two runs each, 2026-12-02; docs/benchmarks.md).
READ_BATCH_FILES = 64


# How an engine names a local file it read: Sail drops the leading "/", classic Spark prefixes "file:", Databricks
# "dbfs:". The key compared is the path without scheme and leading slashes, on both sides.
_PATH_PREFIX = r"^(file:|dbfs:)?/*"
PAYLOAD = "payload"  # the file's text, the column a source's transform types


def file_row_ddl(table: str, typed: tuple[str, ...]) -> tuple[str, str]:
    """(DDL of the columns of ``table`` that a sidecar gives, DDL of a reservoir file as a row): the second is the
    first with the file's text as ``payload`` before the partition column, the input of a source's typing transform
    (and the layout of bronze before it was typed)."""
    given = [(name, sql_type) for name, sql_type in spec(table).columns if name not in typed]
    ddl = lambda columns: ", ".join(f"{name} {sql_type}" for name, sql_type in columns)  # noqa: E731
    return ddl(given), ddl(given[:-1] + [(PAYLOAD, "STRING")] + given[-1:])


def path_key(file: ReservoirFile) -> str:
    """The engine-independent key of the local path the engine is given for ``file``."""
    return re.sub(_PATH_PREFIX, "", os.path.abspath(file.path))


def read_files(spark, files: list[ReservoirFile]) -> DataFrame:
    """``_path`` (see :func:`path_key`), ``_read_sha256`` and ``_text`` of each file, read by the engine itself,
    one row per file.

    Sail 0.7's ``binaryFile`` source leaves empty files out (:func:`with_payload` accounts for that), and when it
    splits a scan into byte ranges for parallel tasks, a file that straddles two ranges comes back once per range,
    whole each time: hence the de-duplication by path."""
    content = spark.read.format("binaryFile").load([os.path.abspath(f.path) for f in files])
    return content.select(
        F.regexp_replace("path", _PATH_PREFIX, "").alias("_path"), "content"
    ).dropDuplicates(["_path"]).select(
        "_path",
        F.sha2("content", 256).alias("_read_sha256"),
        F.col("content").cast("string").alias("_text"),
    )


def with_payload(rows: DataFrame, content: DataFrame) -> DataFrame:
    """``rows`` (one per file: ``file_name``, ``sha256``, ``_path``, ``_bytes``) with the file's text as
    ``payload``, checked against the sidecar: a file the engine did not read, or read with other bytes than the
    verified ones (replaced after its check), fails the whole statement with a one-line error naming it, so
    nothing of the batch is written."""
    joined = rows.join(content, "_path", "left")
    unread = F.col("_text").isNull() & (F.coalesce(F.col("_bytes"), F.lit(-1)) != 0)
    changed = F.col("_text").isNotNull() & (F.col("_read_sha256") != F.col("sha256"))
    payload = (
        F.when(unread, F.raise_error(F.concat(
            F.lit("bronze ingest: the engine could not read reservoir file "), F.col("file_name"),
            F.lit(" (moved or deleted since its check?); nothing of this batch was written, re-run the step"))))
        .when(changed, F.raise_error(F.concat(
            F.lit("bronze ingest: reservoir file "), F.col("file_name"),
            F.lit(" changed after its integrity check (its sha256 differs from the sidecar's); nothing of this "
                  "batch was written, re-run the step: it quarantines the file"))))
        .otherwise(F.coalesce(F.col("_text"), F.lit("")))  # an empty file (the engine lists none)
    )
    return joined.withColumn(PAYLOAD, payload).drop("_path", "_bytes", "_read_sha256", "_text")


def ingest_read(
    spark,
    writer: DeltaWriter,
    table: str,
    files: list[ReservoirFile],
    *,
    fields: tuple[Callable[[ReservoirFile, datetime, str], tuple], str],
    typed: Callable[[DataFrame], DataFrame],
    partition: tuple[str, Callable[[ReservoirFile], date]],
    run_id: str,
    known: set[str] | None = None,
) -> int:
    """Append the files ``table`` does not hold yet, read by the engine; returns how many rows were added.

    ``fields`` = (values from the sidecar, their DDL): the bronze columns that are not the content, starting with
    ``BRONZE_FILE_COLUMNS``; ``typed`` is the source's pure transform from those columns plus ``payload`` (the
    file's text) to the table's rows. A name check first (see :func:`ingest`), then one engine read per batch of
    at most :data:`READ_BATCH_FILES` files (and :data:`BATCH_PAYLOAD_BYTES`), which bounds the engine's memory,
    and one MERGE per :data:`MERGE_BATCH_FILES` files."""
    column, partition_of = partition
    if known is None:
        known = known_names(spark, writer, table, column, {partition_of(f) for f in files})
    new = [f for f in files if f.name not in known]
    if not new:
        return 0
    ingested_at = datetime.now(UTC)
    values, ddl = fields

    def typed_batch(batch: list[ReservoirFile]) -> DataFrame:
        rows = spark.createDataFrame(
            [values(f, ingested_at, run_id) + (path_key(f), f.meta.get("bytes")) for f in batch],
            f"{ddl}, _path string, _bytes bigint",
        )
        return typed(with_payload(rows, read_files(spark, batch)))

    keys = [column, "file_name"]
    added = 0
    for group in payload_batches(new, limit=2**62, max_files=MERGE_BATCH_FILES):
        batches = payload_batches(group, max_files=READ_BATCH_FILES)
        if len(batches) == 1:
            added += writer.insert_new(table, typed_batch(batches[0]), keys)
        else:
            added += _merge_staged(writer, table, [typed_batch(b) for b in batches], keys)
    return added


# Files per MERGE when the engine reads them (:func:`ingest_read`): the read batches of a group are typed into
# scratch copies and MERGEd at once (each MERGE is a Delta commit and a join against the table: the bench year's
# 3,520 SMARD files in 14 MERGEs of 256 took 6.4-7.2 s, staged and MERGEd once 2.1-3.3 s, on a loaded machine).
# Typed rows are small (those files: 2.6-3.8 MB of Parquet in bronze).
MERGE_BATCH_FILES = 4096


def _merge_staged(writer: DeltaWriter, table: str, parts: list[DataFrame], keys: list[str]) -> int:
    """Compute ``parts`` (typed rows of ``table``, each from one engine read) into one scratch copy
    (:meth:`DeltaWriter.staged_parts`), then MERGE it into ``table`` once. A failure in any part (a file the engine
    could not read or that changed after its check) fails before the MERGE: nothing of the group is written."""
    with writer.staged_parts(table, parts) as rows:
        return writer.insert_new(table, rows, keys)


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
    keep_bytes: bool = True,
) -> dict:
    """Verify the files bronze does not hold yet against their sidecars (quarantining the others), ingest the
    intact ones, then warn once about what was quarantined and about halves without their pair, and fail
    (:class:`~emission_assets.lakehouse.reservoir_integrity.ReservoirIntegrityError`) if quarantined files leave days of
    ``first_day..last_day`` that no intact file covers. Returns the step's metadata.

    ``keep_bytes``: the files carry their verified bytes to ``ingest`` (a Python-built ingest); False for an ingest
    whose engine reads the files itself (and checks them against the sidecar's sha256 again)."""
    column, partition_of = partition
    dates = {partition_of(f) for f in files} | inspector.folder_dates()  # the folder date is the partition
    known = known_names(lakehouse.spark, lakehouse.writer, table, column, dates)
    intact = inspector.verified(files, should=lambda f: f.name not in known, keep=keep_bytes)
    added = ingest(lakehouse.spark, lakehouse.writer, intact, context.run.run_id, known=known)
    metadata = inspector.conclude(
        context.log, then="a run with the reservoir step fetches their days again", list_unpaired=True,
        coverage=(intact, first_day, last_day, known),
    )
    return {"reservoir_files_seen": len(files), "rows_added": added, **metadata}
