"""Fill the reservoir with the Tibber consumption pages a range of local days needs.

A day counts as stored when a page spans it and was fetched ``settle`` (48 h) after it ended: Tibber corrects
recent hours, so a recent day is fetched again (a new version) on later runs until it has settled. Only intact
pages count: a page that does not match its sidecar is quarantined and its days fetched again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from emission_assets.lakehouse.reservoir import BatchWriter, Reservoir, ReservoirFile, covered_days
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.tibber.integrity import TIBBER_RULES
from emission_assets.tibber.layout import HOURLY, hourly_page_file, stored_files
from emission_assets.timeutil import day_bounds_utc, days_between

log = logging.getLogger(__name__)
DEFAULT_SETTLE = timedelta(hours=48)


@dataclass
class TibberFillReport:
    days: int = 0
    days_present: int = 0
    days_fetched: int = 0
    requests: int = 0
    written: list[ReservoirFile] = field(default_factory=list)
    inspector: Inspector | None = None  # what was quarantined on the way


def fill(
    client,
    reservoir: Reservoir,
    first_day: date,
    last_day: date,
    *,
    home_id: str,
    refresh: bool = False,
    settle: timedelta = DEFAULT_SETTLE,
    source: str = "api",
    inspector: Inspector | None = None,
) -> TibberFillReport:
    """Fetch one contiguous span from the first to the last day not yet stored intact (bounded pages), store the
    pages (in one batch of writes)."""
    days = days_between(first_day, last_day)
    inspector = inspector or Inspector(reservoir, TIBBER_RULES, "reservoir/tibber_responses")
    intact = inspector.verified(stored_files(reservoir, HOURLY, first_day, last_day, inspector))
    covered = set() if refresh else covered_days(intact, settle, lambda meta: (meta["home_id"],))
    missing = [day for day in days if (home_id, day) not in covered]
    report = TibberFillReport(days=len(days), days_present=len(days) - len(missing), days_fetched=len(missing),
                              inspector=inspector)
    if not missing:
        return report
    start, end = day_bounds_utc(missing[0])[0], day_bounds_utc(missing[-1])[1]
    pages = client.consumption_range(home_id, start, end)
    report.requests = len(pages)
    with BatchWriter(reservoir) as batch:
        for page in pages:
            if page.series_start_ms is None:  # an empty page stores nothing
                continue
            batch.add(
                hourly_page_file(
                    home_id=home_id,
                    payload=page.payload,
                    url=page.url,
                    fetched_at=page.fetched_at,
                    source=source,
                    series_start_ms=page.series_start_ms,
                    series_end_ms=page.series_end_ms,
                    nodes=len(page.nodes),
                    non_null_nodes=page.non_null_nodes,
                )
            )
    report.written = batch.written
    log.info("Tibber reservoir for %s..%s: %d days present, %d fetched in %d pages",
             first_day, last_day, report.days_present, report.days_fetched, len(pages))
    return report
