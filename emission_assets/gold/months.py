"""Gold SQL over some local months only: the same builders, with the day- and month-partitioned inputs narrowed.

Every model looks at one local month at most (the merit order's must-run level is per local month, the other models
work per interval, and a consumption interval joins the production of its own hour), so gold rows of month M built
over silver narrowed to M equal the rows of M over all of silver (tested). Filtering the result instead does not
reach the scans: Sail plans the window functions and percentiles over every row first (one month of a year took as
long as the year). The monthly gold assets compute through this, a few months per query.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from emission_assets.lakehouse.registry import VIEWS, Registry
from emission_assets.lakehouse.writer import month_predicate
from emission_assets.timeutil import month_spans

# The partitioned inputs that hold per-interval data, each with year/month partition columns of the local month;
# the factor dimension and redispatch are read whole (small, and a redispatch measure may cross a month boundary).
NARROWED_TABLES = ("silver.production", "silver.grid_load", "silver.consumption", "gold.grid_intensity")

Month = tuple[int, int]


def months_between(first: date, last: date) -> list[Month]:
    """Every (year, month) from ``first``'s month to ``last``'s, both included."""
    return [(start.year, start.month) for start, _ in month_spans(first, last)]


def month_chunks(months: Iterable[Month], size: int) -> list[list[Month]]:
    """The months in order, ``size`` per chunk (a query per chunk bounds memory for long ranges)."""
    ordered = sorted(set(months))
    return [ordered[index:index + size] for index in range(0, len(ordered), size)]


class MonthRegistry:
    """A registry for SQL builders: the partitioned inputs narrowed to ``months``, gold views inlined over them.

    ``staged``: table name -> a relation (a temporary view) that already holds that table's rows of ``months``
    (:func:`emission_assets.gold.tables.staged_inputs`), read instead of the table."""

    def __init__(self, registry: Registry, months: Iterable[Month], staged: dict[str, str] | None = None):
        self.registry = registry
        self.months = sorted(set(months))
        self.predicate = month_predicate(self.months)
        self.catalog = registry.catalog
        self.lakehouse_root = registry.lakehouse_root
        self.staged = dict(staged or {})

    def sql_name(self, name: str) -> str:
        if name in self.staged:
            return self.staged[name]
        plain = self.registry.sql_name(name)
        if name in NARROWED_TABLES:
            return f"(SELECT * FROM {plain} WHERE {self.predicate})"
        if name in VIEWS:
            from emission_assets.gold.views import builder

            return f"({builder(name)(self)})"
        return plain
