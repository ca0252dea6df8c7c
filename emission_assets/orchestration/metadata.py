"""Definition-time metadata shared by the asset layers."""
from __future__ import annotations

from dagster import TableColumn, TableSchema

from emission_assets.lakehouse.registry import spec

OWNERS = ["team:emission-tracker"]


def table_metadata(name: str) -> dict:
    table = spec(name)
    return {
        "dagster/column_schema": TableSchema(columns=[TableColumn(c, t.lower()) for c, t in table.columns]),
        "dagster/table_name": table.name,
        "partitioned_by": ", ".join(table.partition_by),
    }


def preview(df, order_by: str, rows: int = 10):
    """The latest rows as a markdown table, for the asset's page in the UI (one small Spark action)."""
    from dagster import MetadataValue
    from pyspark.sql import functions as F

    frame = df.orderBy(F.col(order_by).desc()).limit(rows).toPandas()
    return MetadataValue.md(frame.to_markdown(index=False) if not frame.empty else "no rows")
