"""Checks a SMARD CSV must pass before its values are stored under a region and a kind of export.

A download-center export does not say which region it is for, so ``--region`` is the user's word; and generation and
consumption exports share a layout. Both mistakes used to be stored silently: a national file imported as TenneT
made TenneT's total equal Germany's to the MWh, and load series landed where generation was expected.

Region rule: a control area's series are parts of the national one and differ from every other area's, so a file
whose values equal another region's already stored values is that region's export. Compared are the intervals where
both hold a value and at least one is non-zero (zeros, e.g. solar at night or nuclear after April 2023, are equal
in every region and prove nothing); at least :data:`MIN_COMPARED_VALUES` such pairs, all equal, refuse the import.
Without another region stored there is nothing to compare with; no plausibility bound replaces it (the bundled
plant capacities are national, so they cannot tell a control area's export from Germany's).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from emission_assets.reservoir.store import Reservoir
from emission_assets.smard import windows
from emission_assets.smard.csv_import import EXPORTS, ParsedCsv, SmardCsvError, windowed
from emission_assets.timeutil import local_date_of_ms

# One day of hourly values of one series, or a quarter of a day of quarter-hours, across all series of the file.
MIN_COMPARED_VALUES = 24
# Exports give at most two decimals (quarter MWh in practice); float noise stays far below this.
EQUAL_WITHIN_MWH = 0.001


def check_export(csv_file: ParsedCsv, export: str) -> None:
    """Refuse a generation export where consumption is expected, and the other way round."""
    if csv_file.export == export:
        return
    columns = ", ".join(repr(name.split(" [")[0]) for name in csv_file.value_columns[:3])
    raise SmardCsvError(
        csv_file.path,
        f"is a {csv_file.export} export ({EXPORTS[csv_file.export]}: columns {columns}), not a {export} export "
        f"({EXPORTS[export]}); to import it as {csv_file.export}, pass --kind {csv_file.export}",
        line=1,
    )


@dataclass
class _Comparison:
    compared: int = 0
    different: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    def add(self, start_ms: int, equal: bool) -> None:
        self.compared += 1
        self.different += not equal
        self.first_ms = start_ms if self.first_ms is None else min(self.first_ms, start_ms)
        self.last_ms = start_ms if self.last_ms is None else max(self.last_ms, start_ms)


def check_region_of_values(csv_file: ParsedCsv, region: str, reservoir: Reservoir) -> None:
    """Refuse ``region`` for a file whose values equal another region's stored series (see the module docstring)."""
    comparisons: dict[str, _Comparison] = defaultdict(_Comparison)
    listed: dict[int, list] = {}
    for filter_id, window_start, points in windowed(csv_file):
        if window_start not in listed:
            listed[window_start] = reservoir.list(windows.window_dir(window_start))
        for other, stored in _latest_of_other_regions(listed[window_start], filter_id, csv_file.resolution,
                                                      window_start, region).items():
            comparison = comparisons[other]
            for start_ms, value in points:
                theirs = stored.get(start_ms)
                if value is None or theirs is None or (value == 0 and theirs == 0):
                    continue
                comparison.add(start_ms, abs(value - theirs) <= EQUAL_WITHIN_MWH)
    for other, comparison in sorted(comparisons.items()):
        if comparison.compared >= MIN_COMPARED_VALUES and comparison.different == 0:
            first_day, last_day = local_date_of_ms(comparison.first_ms), local_date_of_ms(comparison.last_ms)
            raise SmardCsvError(
                csv_file.path,
                f"--region {region} refused: its values equal the {other} series already in the reservoir for "
                f"{first_day}..{last_day} ({comparison.compared} values compared, all equal): this file looks like "
                f"the {other} export; import it with --region {other}",
            )


def _latest_of_other_regions(files, filter_id: int, resolution: str, window_start: int, region: str):
    """Per other region, the points of the newest stored version of this window (unreadable versions are skipped:
    bronze's integrity check reports them)."""
    newest = {}
    for file in files:
        meta = file.meta
        if (meta.get("filter_id"), meta.get("resolution"), meta.get("window_start_ms")) != (
                filter_id, resolution, window_start) or meta.get("region") in (None, region):
            continue
        if meta["region"] not in newest or meta.get("fetched_at", "") > newest[meta["region"]].meta.get("fetched_at", ""):
            newest[meta["region"]] = file
    points = {}
    for other, file in newest.items():
        try:
            points[other] = dict(windows.parse_window(file.read_bytes(), file.name))
        except (OSError, windows.SmardFormatError):
            continue
    return points
