"""Gold SQL over some months only: the same builders, with silver's day-partitioned inputs narrowed to months.

Every model looks at one local month at most (the merit order's must-run level is per local month, the other models
work per interval, and a consumption interval joins the production of its own hour), so gold rows of month M built
over silver narrowed to M equal the view's rows of M (tested). Filtering the views instead does not reach the scans:
Sail plans the window functions and percentiles over every row first (one month of a year took as long as the year).
"""
from __future__ import annotations

from typing import Iterable

from emission_assets.lakehouse.registry import VIEWS, Registry
from emission_assets.lakehouse.writer import month_predicate
from emission_assets.timeutil import month_spans

# The day-partitioned inputs that hold per-interval data; the factor dimension and redispatch are read whole (small,
# and a redispatch measure may cross a month boundary).
SCOPED_TABLES = ("silver.production", "silver.consumption")

Month = tuple[int, int]


def months_between(first, last) -> list[Month]:
    """Every (year, month) from ``first``'s month to ``last``'s, both included."""
    return [(start.year, start.month) for start, _ in month_spans(first, last)]


class MonthScope:
    """A registry view for SQL builders: silver inputs narrowed to ``months``, gold views inlined over them."""

    def __init__(self, registry: Registry, months: Iterable[Month]):
        self.registry = registry
        self.months = sorted(set(months))
        self.predicate = month_predicate(self.months)
        self.catalog = registry.catalog
        self.lakehouse_root = registry.lakehouse_root

    def sql_name(self, name: str) -> str:
        plain = self.registry.sql_name(name)
        if name in SCOPED_TABLES:
            return f"(SELECT * FROM {plain} WHERE {self.predicate})"
        if name in VIEWS:
            from emission_assets.gold.views import builder

            return f"({builder(name)(self)})"
        return plain
