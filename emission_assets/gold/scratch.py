"""Intermediate relations of a gold query computed once into a scratch copy (the engine inlines every reference).

Sail plans each reference to a CTE or view anew (its plans show one scan per reference), so a relation that a query
reads several times is computed that many times. :func:`staged_query` computes it once into a scratch copy, like
``DeltaWriter.staged`` for rows shaped like a table, but for any query: locally a Parquet folder under
``<lakehouse>/_scratch`` (named after the gold table it serves), in Unity Catalog a managed table in that table's
schema, removed when the block ends.
"""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emission_assets.lakehouse.registry import Registry


@contextmanager
def staged_query(spark, registry: Registry, table: str, label: str, sql: str) -> Iterator[str]:
    """The rows of ``sql`` written once to a scratch copy for gold table ``table``; yields the name of a temporary
    view over the copy, dropped with the copy afterwards (also when the block raises)."""
    token = f"{label}_{uuid.uuid4().hex}"
    location = registry.scratch(table, token)
    view = f"staged_{label}_{uuid.uuid4().hex}"
    frame = spark.sql(sql)
    local = registry.lakehouse_root is not None
    try:
        if local:
            frame.write.mode("overwrite").parquet(location)
            folder = Path(location)
            if any(folder.glob("*.parquet")):
                spark.read.parquet(location).createOrReplaceTempView(view)
            else:  # no rows: no file to read the schema from
                folder.mkdir(parents=True, exist_ok=True)
                spark.read.schema(frame.schema).parquet(location).createOrReplaceTempView(view)
        else:
            frame.write.format("delta").mode("overwrite").saveAsTable(location)
            spark.table(location).createOrReplaceTempView(view)
        yield view
    finally:
        spark.catalog.dropTempView(view)
        if local:
            shutil.rmtree(location, ignore_errors=True)
        else:
            spark.sql(f"DROP TABLE IF EXISTS {location}").collect()
