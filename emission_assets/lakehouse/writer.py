"""The only module that writes Delta tables.

Three operations, chosen because they are safe on every engine:
- ``append``: blind append (bronze is append-only; use ``insert_new`` for exactly-once);
- ``replace_days`` / ``replace_months``: overwrite exactly the given local days / months with ``replaceWhere`` on
  the table *path*;
- ``merge``/``insert_new``: SQL ``MERGE INTO``; ``insert_new_stream`` runs ``insert_new`` per micro-batch of a
  streaming source (Databricks Auto Loader), so streamed rows take the same exactly-once path;
- ``rewrite``: replace a whole table and its schema in one commit, only for a one-time layout conversion
  (:mod:`emission_assets.lakehouse.schema_upgrade`);
- ``maintain``: compaction and vacuum (delta-rs locally, ``OPTIMIZE`` / ``VACUUM`` in Unity Catalog);
- ``staged``: compute a frame once into a scratch copy that several actions then read (Sail's ``cache()`` /
  ``persist()`` do nothing and Spark Connect has no RDDs, so every action recomputes its whole plan otherwise);
  the copy never touches a registered table and is removed afterwards, also on failure.

Never used, because on Sail they silently overwrite whole tables or fail: ``partitionOverwriteMode=dynamic``,
``replaceWhere`` with ``saveAsTable``, ``insertInto``, ``INSERT OVERWRITE ... PARTITION``,
``overwritePartitions()`` and the delta-spark ``DeltaTable`` API. Sail also does not check that rows written with
``replaceWhere`` satisfy the predicate (Delta does), so ``replace_days`` checks it first.
"""
from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from emission_assets.lakehouse.registry import DAY_PARTITIONS, MONTH_PARTITIONS, Registry, spec

log = logging.getLogger(__name__)


class ConcurrentWriteError(RuntimeError):
    """A table operation kept failing with the errors concurrent writers cause; none of its attempts committed."""


# Errors of a process racing another one on the same Delta table; trying again on the new table version resolves
# them. A lost commit race (Sail retries that itself first), and Sail reading the log while another process writes a
# checkpoint: it resolves the latest version, the other process commits and checkpoints the next one, and the listing
# then misses the older commits ("Missing commit file: expected version 0, found 8"). Both fail before a commit.
_TRANSIENT = ("Failed to commit transaction", "ConcurrentAppend", "concurrent", "Missing commit file")
_ATTEMPTS = 6
# A scratch copy older than this was left by a process that was killed while it staged (``finally`` never ran);
# no staging lasts this long, so the next staging removes it.
STALE_SCRATCH_SECONDS = 24 * 3600


def _is_commit_conflict(error: BaseException) -> bool:
    text = str(error)
    return any(marker in text for marker in _TRANSIENT)


def _gave_up(state) -> None:
    """Replace the engine's last error by one that names the operation and the table (the 2nd positional argument)."""
    error = state.outcome.exception()
    table = state.args[1] if len(state.args) > 1 else "?"
    raise ConcurrentWriteError(
        f"{state.fn.__name__} on {table} failed {state.attempt_number} times with an error that concurrent writers "
        f"cause ({str(error).strip().splitlines()[0]}); nothing of it was committed. Re-run: writes are idempotent. "
        f"If no other run writes {table}, check its _delta_log."
    ) from error


def _log_retry(state) -> None:
    """One plain line per retry (tenacity's own names the function and repeats the engine's whole message)."""
    table = state.args[1] if len(state.args) > 1 else "?"
    what = "read of" if state.fn.__name__ == "collect" else "commit to"
    reason = str(state.outcome.exception()).strip().splitlines()[0][:200]
    log.warning("%s %s conflicted with another writer; retrying (attempt %d of %d): %s",
                what, table, state.attempt_number + 1, _ATTEMPTS, reason)


_retry_conflicts = retry(
    retry=retry_if_exception(_is_commit_conflict),
    stop=stop_after_attempt(_ATTEMPTS),
    wait=wait_exponential(multiplier=0.2, max=5),
    before_sleep=_log_retry,
    retry_error_callback=_gave_up,
    reraise=True,
)


def day_predicate(first_day: date, last_day: date) -> str:
    """SQL predicate on the ``year``/``month``/``day`` partition columns selecting ``first_day..last_day``."""
    if first_day > last_day:
        raise ValueError(f"empty day range {first_day}..{last_day}")
    if first_day == last_day:
        return f"year = {first_day.year} AND month = {first_day.month} AND day = {first_day.day}"
    key = "(year * 10000 + month * 100 + day)"
    as_int = lambda d: d.year * 10000 + d.month * 100 + d.day  # noqa: E731
    return f"{key} BETWEEN {as_int(first_day)} AND {as_int(last_day)}"


def month_predicate(months) -> str:
    """SQL predicate on the ``year``/``month`` partition columns selecting the (year, month) pairs ``months``.

    Plain comparisons of the partition columns (``year = 2022 AND month IN (1, 2)``, OR-ed per year): Sail prunes
    partitions only for those; an expression such as ``year * 100 + month IN (...)`` makes every scan list and read
    the whole table (a month of a year's silver.production read as slowly as the year)."""
    by_year: dict[int, list[int]] = {}
    for year, month in sorted(set(months)):
        by_year.setdefault(year, []).append(month)
    if not by_year:
        raise ValueError("no month to replace")
    terms = [f"(year = {year} AND month IN ({', '.join(map(str, ms))}))" for year, ms in by_year.items()]
    return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"


class DeltaWriter:
    def __init__(self, spark, registry: Registry):
        self.spark = spark
        self.registry = registry

    def _ordered(self, name: str, df):
        """Columns by name in the table's order: Sail moves partition columns last, so never rely on position."""
        columns = spec(name).column_names
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"cannot write {name}: the data lacks columns {missing}")
        return df.select(*columns)

    def _writer(self, name: str, df, mode: str, clip: str | None = None):
        table = spec(name)
        df = self._ordered(name, df)
        if table.partition_by:
            # One file per partition: otherwise every parallel task writes its own file into each partition it
            # sees (two per day on two cores), and reads open twice the files.
            df = df.repartition(*table.partition_by)
        if clip is not None:
            # After the repartition, which Sail does not push filters through: pushed into a gold query, a filter on
            # its computed year/month columns was evaluated on every input row of every branch (a year of
            # gold.grid_intensity: ~13 s of CPU more).
            df = df.where(clip)
        writer = df.write.format("delta").mode(mode)
        if table.partition_by:
            writer = writer.partitionBy(*table.partition_by)
        return writer

    def _save(self, name: str, writer) -> None:
        path = self.registry.path(name)
        if path is not None:
            writer.save(path)
        else:
            # Unity Catalog managed tables have no path. replaceWhere with saveAsTable is safe on Databricks (the
            # trap is Sail's), and the registry has no paths only in catalog (Databricks) mode.
            writer.saveAsTable(self.registry.sql_name(name))

    @_retry_conflicts
    def append(self, name: str, df) -> None:
        self._save(name, self._writer(name, df, "append"))

    @_retry_conflicts
    def replace_days(self, name: str, df, first_day: date, last_day: date, *,
                     days_in_data: Iterable[date] | None = None) -> None:
        """Atomically make the local days ``first_day..last_day`` hold exactly ``df``; other days are untouched.

        ``days_in_data``: the local days ``df``'s rows fall on, when the caller knows them already (the silver guards
        summarise the rows per day before writing): the range check then needs no Spark action of its own."""
        outside = None
        if days_in_data is not None:
            outside = [(d.year, d.month, d.day) for d in sorted(days_in_data) if not first_day <= d <= last_day][:1]
        self._replace_where(name, df, DAY_PARTITIONS, day_predicate(first_day, last_day), f"days {first_day}..{last_day}",
                            "day", outside=outside)

    @_retry_conflicts
    def replace_months(self, name: str, df, months, *, clip: bool = False) -> None:
        """Atomically make the (year, month) partitions ``months`` hold exactly ``df``; other months are untouched.

        ``clip``: write only the rows of ``months`` instead of refusing data with rows outside them. For data derived
        from those months' inputs (a gold table), where checking first would compute the data twice."""
        months = sorted(set(months))
        self._replace_where(name, df, MONTH_PARTITIONS, month_predicate(months),
                            "months " + ", ".join(f"{y:04d}-{m:02d}" for y, m in months), "month", clip)

    def _replace_where(self, name: str, df, partitions: tuple[str, ...], predicate: str, what: str, unit: str,
                       clip: bool = False, outside: list[tuple] | None = None) -> None:
        """``outside``: the partition values of a row outside ``predicate`` (empty: none), when the caller knows."""
        table = spec(name)
        if table.partition_by != partitions:
            raise ValueError(f"{name} is not partitioned by {partitions}")
        if outside is None:
            outside = [] if clip else df.where(f"NOT ({predicate})").select(*partitions).limit(1).collect()
        if outside:
            raise ValueError(
                f"refusing to replace {name} {what}: the data holds rows for another {unit} "
                f"({tuple(outside[0])}); they would be written outside the replaced range"
            )
        writer = self._writer(name, df, "overwrite", clip=predicate if clip else None)
        self._save(name, writer.option("replaceWhere", predicate))

    @_retry_conflicts
    def rewrite(self, name: str, df) -> None:
        """Make table ``name`` hold exactly ``df``, with the declared schema, in one commit: for converting a table
        of an earlier layout (:mod:`emission_assets.lakehouse.schema_upgrade`), never for data."""
        self._save(name, self._writer(name, df, "overwrite").option("overwriteSchema", "true"))

    @_retry_conflicts
    def merge(self, name: str, source_df, on: str, clauses: str) -> int:
        """``MERGE INTO <name> AS t USING <source_df> AS s ON <on> <clauses>``; returns affected rows if known."""
        view = f"merge_source_{uuid.uuid4().hex}"
        source_df.createOrReplaceTempView(view)
        try:
            rows = self.spark.sql(
                f"MERGE INTO {self.registry.sql_name(name)} AS t USING {view} AS s ON {on} {clauses}"
            ).collect()
        finally:
            self.spark.catalog.dropTempView(view)
        return int(rows[0][0]) if rows and len(rows[0]) else -1

    @contextmanager
    def staged(self, name: str, df, columns: list[str] | None = None) -> Iterator:
        """Compute ``df`` (rows shaped like table ``name``) once into a scratch copy and yield a frame that reads the
        copy; the copy is removed when the block ends, whether it succeeds or raises. ``columns``: copy only these of
        the table's columns (what the readers use: a smaller copy to write and scan).

        For rows that several actions need (the silver guards' summary, the range check of ``replace_days``, the
        write): each action on ``df`` itself would run its whole plan again. Locally the copy is a Parquet folder
        under ``<lakehouse>/_scratch`` (no Delta log: nothing reads it but this block); in Unity Catalog a managed
        Delta table next to the target (:meth:`Registry.scratch`), dropped afterwards. A fresh name per call, so
        concurrent runs never share a copy and no commit can conflict.
        """
        df = self._ordered(name, df)
        if columns is not None:
            unknown = [c for c in columns if c not in df.columns]
            if unknown:
                raise ValueError(f"cannot stage {name}: it has no columns {unknown}")
            df = df.select(*columns)
        with self.staged_relation(name, df) as copy:
            yield copy

    @contextmanager
    def staged_relation(self, name: str, df) -> Iterator:
        """:meth:`staged` for rows of any shape: an intermediate relation of the query that computes table ``name``
        (e.g. gold.ev_shift_savings' charging windows, which its query reads five times), copied as they are, in
        the scratch place of ``name``."""
        location = self.registry.scratch(name, uuid.uuid4().hex)
        local = self.registry.lakehouse_root is not None
        try:
            if local:
                _remove_stale_scratch(Path(location).parent)
                df.write.mode("overwrite").parquet(location)
                Path(location).mkdir(parents=True, exist_ok=True)  # no rows: the engine writes no folder at all
                # The schema is given: an empty copy has no file to infer it from.
                yield self.spark.read.schema(df.schema).parquet(location)
            else:
                df.write.format("delta").mode("overwrite").saveAsTable(location)
                yield self.spark.table(location)
        finally:
            if local:
                shutil.rmtree(location, ignore_errors=True)
            else:
                self.spark.sql(f"DROP TABLE IF EXISTS {location}").collect()

    @contextmanager
    def staged_parts(self, name: str, parts: list) -> Iterator:
        """:meth:`staged` for rows computed in parts (each its own action, e.g. one engine read of a batch of files,
        which bounds the engine's memory): the parts are appended to one scratch copy, and the frame yielded reads
        it whole. Removed when the block ends, like :meth:`staged`."""
        # By name in the table's order, without :meth:`_ordered`'s check of the columns: that asks the engine for
        # each part's schema (~20 ms a part); a missing column fails the part's write, naming it, all the same.
        parts = [part.select(*spec(name).column_names) for part in parts]
        location = self.registry.scratch(name, uuid.uuid4().hex)
        local = self.registry.lakehouse_root is not None
        try:
            for part in parts:
                if local:
                    part.write.mode("append").parquet(location)
                else:
                    part.write.format("delta").mode("append").saveAsTable(location)
            yield self.spark.read.schema(parts[0].schema).parquet(location) if local else self.spark.table(location)
        finally:
            if local:
                shutil.rmtree(location, ignore_errors=True)
            else:
                self.spark.sql(f"DROP TABLE IF EXISTS {location}").collect()

    @_retry_conflicts
    def collect(self, name: str, df) -> list:
        """``df.collect()`` of a read of ``name`` that may race its concurrent writers (retried like a write)."""
        return df.collect()

    def maintain(self, name: str, retain_hours: int = 168) -> dict:
        """Compact each partition's small files into few, then delete files that no version of the last
        ``retain_hours`` needs. Locally with delta-rs (Sail has no OPTIMIZE / VACUUM); in Unity Catalog with SQL.

        Bronze gains a small file per partition at every ingest, and every silver rewrite leaves the replaced files
        behind; neither changes what a query returns. A concurrent write makes the compaction's commit fail
        (optimistic concurrency): nothing is lost, the next maintenance run compacts.
        """
        path = self.registry.path(name)
        if path is None:
            table = self.registry.sql_name(name)
            self.spark.sql(f"OPTIMIZE {table}").collect()
            self.spark.sql(f"VACUUM {table} RETAIN {int(retain_hours)} HOURS").collect()
            return {"table": name}
        from deltalake import DeltaTable

        table = DeltaTable(path)
        before = len(table.file_uris())
        metrics = table.optimize.compact()
        # The retention check is delta-rs's own (default 7 days); our readers never time-travel, so a shorter
        # retention is safe as long as no query runs longer than it.
        removed = table.vacuum(retention_hours=int(retain_hours), dry_run=False, enforce_retention_duration=False)
        return {"table": name, "files_before": before, "files_after": len(DeltaTable(path).file_uris()),
                "files_compacted": int(metrics.get("numFilesRemoved", 0)), "files_deleted": len(removed)}

    def insert_new(self, name: str, df, keys: list[str]) -> int:
        """Insert the rows whose ``keys`` are not in the table yet: exactly once, even for concurrent runs."""
        on = " AND ".join(f"t.{key} = s.{key}" for key in keys)
        return self.merge(name, self._ordered(name, df), on, "WHEN NOT MATCHED THEN INSERT *")

    def insert_new_stream(self, name: str, stream_df, keys: list[str], checkpoint: str) -> None:
        """Drain a streaming DataFrame (e.g. Auto Loader with an available-now trigger) into ``name`` with
        :meth:`insert_new` per micro-batch; the checkpoint remembers which source files were processed."""
        query = (
            stream_df.writeStream.option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .foreachBatch(lambda batch, _: self.insert_new(name, batch, keys))
            .start()
        )
        query.awaitTermination()


def _remove_stale_scratch(folder: Path) -> None:
    """Remove scratch copies that a killed process left behind (see :data:`STALE_SCRATCH_SECONDS`)."""
    if not folder.is_dir():
        return
    cutoff = time.time() - STALE_SCRATCH_SECONDS
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # removed meanwhile by the run that made it
            continue
