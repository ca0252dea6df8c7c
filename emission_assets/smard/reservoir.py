"""Fill the reservoir with the SMARD windows that a range of local days needs, and no more.

A day whose series already sit in the reservoir (an earlier fetch or a CSV import, at any resolution) makes no
network call unless ``refresh`` is asked for, so backfills over imported history never hammer the API. Only intact
files count: each stored window of the days is checked against its sidecar first, and one that fails is
quarantined (:mod:`emission_assets.lakehouse.reservoir_integrity`), so its days are fetched again here.
A fetched window without a single value for a requested day (empty series, or every slot null) is stored as
SMARD sent it and reported by day and URL: silver gets no rows for it until a refresh brings the values.
"""
from __future__ import annotations

import logging
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, timedelta

from emission_assets.lakehouse.reservoir import BatchWriter, Reservoir, ReservoirFile
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.smard.client import SmardClient, SmardRequestError
from emission_assets.smard.integrity import SMARD_RULES
from emission_assets.smard.windows import (
    SMARD_FAMILY,
    SeriesFamily,
    covered_days,
    describe,
    stored_windows,
    window_file,
)
from emission_assets.timeutil import day_bounds_utc, days_between, to_epoch_ms

log = logging.getLogger(__name__)


@dataclass
class FillReport:
    days: int = 0
    series_days_present: int = 0  # (day, region, filter) combinations already in the reservoir
    series_days_fetched: int = 0
    written: list[ReservoirFile] = field(default_factory=list)
    days_without_values: list[str] = field(default_factory=list)  # "<day> <region> <type>: why (URL)"
    inspector: Inspector | None = None  # what was quarantined on the way


def fill(
    client: SmardClient,
    reservoir: Reservoir,
    first_day: date,
    last_day: date,
    *,
    regions: list[str],
    filters: list[int] | None,
    resolution: str,
    refresh: bool = False,
    settle: timedelta = timedelta(hours=6),
    inspector: Inspector | None = None,
    family: SeriesFamily = SMARD_FAMILY,
) -> FillReport:
    """``family``: which series (catalog, default filters per region) and which reservoir folder; SMARD's realised
    data by default, the day-ahead forecasts for ``smard_forecast``. A negative ``settle`` accepts a window fetched
    before the day ended (a forecast is final once published, the day before)."""
    days = days_between(first_day, last_day)
    inspector = inspector or Inspector(reservoir, SMARD_RULES, "reservoir/smard_responses")
    intact = inspector.verified(stored_windows(reservoir, first_day, last_day, inspector, family.folder))
    covered = set() if refresh else covered_days(intact, settle)
    report = FillReport(days=len(days), inspector=inspector)
    wanted: dict[tuple[str, int, int], list[date]] = {}  # (region, filter, window start) -> days, in request order
    # first and last millisecond of each day, worked out once for every series
    moments = {}
    for day in days:
        start, end = day_bounds_utc(day)
        moments[day] = (to_epoch_ms(start), to_epoch_ms(end - timedelta(milliseconds=1)))
    for region in regions:
        for filter_id in filters if filters is not None else family.default_filters(region):  # None: region's default
            for day in days:
                if (region, filter_id, day) in covered:
                    report.series_days_present += 1
                    continue
                report.series_days_fetched += 1
                for moment_ms in moments[day]:
                    window = client.window_for(filter_id, region, resolution, moment_ms)
                    if window is None:
                        raise SmardRequestError(
                            f"SMARD has no {resolution} window for {day} "
                            f"({describe(filter_id, region, resolution, lookup=family.lookup)}): "
                            "the day lies before the first window in the index",
                            url=client.index_url(filter_id, region, resolution),
                        )
                    window_days = wanted.setdefault((region, filter_id, window), [])
                    if day not in window_days:
                        window_days.append(day)
    # By window start: a batch of writes then fills few folders (one fsync each), whatever the regions and types.
    ordered = sorted(wanted.items(), key=lambda item: item[0][2])
    with BatchWriter(reservoir) as batch:  # also stores what was fetched when a later request fails
        for (region, filter_id, window_start), window_days in ordered:
            fetched = client.window(filter_id, region, resolution, window_start)
            batch.add(
                window_file(
                    filter_id=filter_id,
                    region=region,
                    resolution=resolution,
                    window_start_ms=window_start,
                    payload=fetched.payload,
                    url=fetched.url,
                    fetched_at=fetched.fetched_at,
                    source="api",
                    points=fetched.points,
                    family=family,
                )
            )
            for day, why in _days_without_values(fetched.points, window_days):
                name = family.lookup(filter_id).name
                report.days_without_values.append(f"{day} {region} {name}: {why} in {fetched.url}")
    report.written = batch.written
    # INFO, not WARNING: the caller reports them (the reservoir asset as one run-log warning each); a Python
    # warning as well printed every such day twice on the console.
    for text in report.days_without_values:
        log.info("SMARD sent no values for %s (not published yet, or not reported); refresh once published", text)
    log.info(
        "SMARD reservoir for %s..%s: %d series-days present, %d fetched in %d windows",
        first_day, last_day, report.series_days_present, report.series_days_fetched, len(wanted),
    )
    return report


def _days_without_values(points: list[tuple[int, float | None]], days: list[date]) -> list[tuple[date, str]]:
    """(day, why) for each local day of ``days`` without a single value in the window's ``points``."""
    valued = [moment for moment, value in points if value is not None]
    valued.sort()  # linear time: SMARD serves them in order
    found = []
    for day in days:
        start_ms, end_ms = (to_epoch_ms(moment) for moment in day_bounds_utc(day))
        position = bisect_left(valued, start_ms)
        if position < len(valued) and valued[position] < end_ms:
            continue
        in_day = sum(1 for moment, _ in points if start_ms <= moment < end_ms)
        found.append((day, f"all {in_day} values null" if in_day else "no points" if points else "empty series"))
    return found
