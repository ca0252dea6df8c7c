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
