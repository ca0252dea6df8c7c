"""The merit order's rule as a gold check: only a fossil unit of the stack is ever marginal.

Nuclear (baseload), renewables and storage are never marginal (merit_order.md); a ``gold.grid_intensity``
merit_order row whose ``determined_by`` (``'<fuel>:<unit_id>'``) names anything but a stack fuel means the model or
its inputs broke that rule. The check reads the written rows of the run's months, so it also catches rows written by
older code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.writer import month_predicate
from emission_assets.models.merit_parameters import FUELS

CHECK_NAME = "merit_order_marginal_unit_is_fossil"
DESCRIPTION = ("Every merit_order row of gold.grid_intensity in the run's months has a fossil stack unit at the "
               f"margin ({', '.join(FUELS)}): never nuclear, a renewable or storage.")
SAMPLE = 50


@dataclass
class NeverMarginalFinding:
    rows: int = 0
    rows_not_fossil: int = 0
    offenders: list[str] = field(default_factory=list)  # per marginal type: rows, first..last interval


def marginal_fuel_sql(column: str = "determined_by") -> str:
    return f"split({column}, ':')[0]"


def never_marginal_findings(spark, registry: Registry, months, merit_order_rows: int | None = None) \
        -> NeverMarginalFinding:
    """The merit_order rows of ``months`` and those whose marginal type is not a stack fuel (grouped);
    ``merit_order_rows``: their number when the caller counted them already (one query less)."""
    table = registry.sql_name("gold.grid_intensity")
    fuels = ", ".join(f"'{fuel}'" for fuel in FUELS)
    where = f"model = 'merit_order' AND ({month_predicate(months)})"
    bad = f"coalesce({marginal_fuel_sql()} NOT IN ({fuels}), true)"
    total = merit_order_rows if merit_order_rows is not None else \
        spark.sql(f"SELECT count(*) AS n FROM {table} WHERE {where}").collect()[0].n
    groups = spark.sql(
        f"SELECT coalesce({marginal_fuel_sql()}, 'NULL') AS kind, count(*) AS n, min(interval_start) AS first, "
        f"max(interval_start) AS last FROM {table} WHERE {where} AND {bad} GROUP BY 1 ORDER BY 1").collect()
    return NeverMarginalFinding(
        rows=total, rows_not_fossil=sum(g.n for g in groups),
        offenders=[f"{g.kind}: {g.n} rows, {g.first}..{g.last}" for g in groups[:SAMPLE]])
