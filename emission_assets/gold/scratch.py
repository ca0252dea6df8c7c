"""Intermediate relations of a gold query computed once into a scratch copy (the engine inlines every reference).

Sail plans each reference to a CTE or view anew (its plans show one scan per reference), so a relation that a query
reads several times is computed that many times. :func:`staged_query` computes it once into a scratch copy
(:meth:`DeltaWriter.staged_relation`: the writer owns every write, scratch copies included) and names it as a
temporary view for the rest of the query.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from emission_assets.lakehouse.writer import DeltaWriter


@contextmanager
def temp_view(spark, frame, label: str) -> Iterator[str]:
    """``frame`` under a new temporary view name (``label`` plus a random suffix: steps and chunks never collide);
    yields the name and drops the view afterwards (also when the block raises)."""
    view = f"{label}_{uuid.uuid4().hex}"
    frame.createOrReplaceTempView(view)
    try:
        yield view
    finally:
        spark.catalog.dropTempView(view)


@contextmanager
def staged_query(spark, writer: DeltaWriter, table: str, label: str, sql: str) -> Iterator[str]:
    """The rows of ``sql`` written once to a scratch copy for gold table ``table``; yields the name of a temporary
    view over the copy, dropped with the copy afterwards (also when the block raises)."""
    with writer.staged_relation(table, spark.sql(sql)) as copy, temp_view(spark, copy, f"staged_{label}") as view:
        yield view
