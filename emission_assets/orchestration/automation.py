"""Declarative automation shared by the layers: one condition for assets over historical partitions."""
from __future__ import annotations

from dagster import AssetSelection, AutomationCondition


def historical_eager(ignore: AssetSelection | None = None) -> AutomationCondition:
    """Request a partition when a partition it depends on was updated since it was last handled, once nothing
    upstream of it and nothing of itself is in progress.

    Composed by hand rather than ``AutomationCondition.eager()``: eager's newly-missing branch requests the newest
    partition whenever one appears (every month rollover, with no data behind it). So the first evaluation requests
    nothing, a one-day silver update requests exactly the month it falls in, and a partition a backfill or the CLI
    just materialised is not requested again. ``ignore``: upstream assets whose updates should not count (an
    unpartitioned dimension re-materialised at every run would request every partition each time).
    """
    updated = AutomationCondition.any_deps_updated()
    if ignore is not None:
        updated = updated.ignore(ignore)
    return (
        updated.since_last_handled() & ~AutomationCondition.any_deps_in_progress() & ~AutomationCondition.in_progress()
    ).with_label("eager_historical")
