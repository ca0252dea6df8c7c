"""The only module that writes Delta tables.

Three operations, chosen because they are safe on every engine:
- ``append``: blind append (bronze is append-only; use ``insert_new`` for exactly-once);
- ``replace_days``: overwrite exactly the given local days with ``replaceWhere`` on the table *path*;
- ``merge``/``insert_new``: SQL ``MERGE INTO``; ``insert_new_stream`` runs ``insert_new`` per micro-batch of a
  streaming source (Databricks Auto Loader), so streamed rows take the same exactly-once path.

Never used, because on Sail they silently overwrite whole tables or fail: ``partitionOverwriteMode=dynamic``,
``replaceWhere`` with ``saveAsTable``, ``insertInto``, ``INSERT OVERWRITE ... PARTITION``,
``overwritePartitions()`` and the delta-spark ``DeltaTable`` API. Sail also does not check that rows written with
``replaceWhere`` satisfy the predicate (Delta does), so ``replace_days`` checks it first.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from emission_assets.lakehouse.registry import DAY_PARTITIONS, Registry, spec

log = logging.getLogger(__name__)


def _is_commit_conflict(error: BaseException) -> bool:
    text = str(error)
    return any(marker in text for marker in ("Failed to commit transaction", "ConcurrentAppend", "concurrent"))


# Concurrent writers to one Delta table can lose the commit race; the loser retries on the new version.
_retry_conflicts = retry(
    retry=retry_if_exception(_is_commit_conflict),
    stop=stop_after_attempt(6),
    wait=wait_exponential(multiplier=0.2, max=5),
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

    def _writer(self, name: str, df, mode: str):
        table = spec(name)
        writer = self._ordered(name, df).write.format("delta").mode(mode)
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
    def replace_days(self, name: str, df, first_day: date, last_day: date) -> None:
        """Atomically make the local days ``first_day..last_day`` hold exactly ``df``; other days are untouched."""
        table = spec(name)
        if table.partition_by != DAY_PARTITIONS:
            raise ValueError(f"{name} is not partitioned by {DAY_PARTITIONS}")
        predicate = day_predicate(first_day, last_day)
        outside = df.where(f"NOT ({predicate})").select(*DAY_PARTITIONS).limit(1).collect()
        if outside:
            raise ValueError(
                f"refusing to replace {name} days {first_day}..{last_day}: the data holds rows for another day "
                f"({tuple(outside[0])}); they would be written outside the replaced range"
            )
        self._save(name, self._writer(name, df, "overwrite").option("replaceWhere", predicate))

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
