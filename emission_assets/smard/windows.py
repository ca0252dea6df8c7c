"""SMARD window files: the API's JSON shape, and how windows are named and found in the reservoir.

A window is one API response ``{"meta_data": {...}, "series": [[epoch_ms, MWh or null], ...]}`` for one filter,
region and resolution; hour and quarter-hour windows span a week from Monday 00:00 Europe/Berlin.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson

from emission_assets.lakehouse.reservoir import NewFile, Reservoir, ReservoirFile, overlapping
from emission_assets.lakehouse.reservoir import covered_days as reservoir_covered_days
from emission_assets.smard.catalog import SmardSeries, default_filters, series
from emission_assets.timeutil import (
    RESOLUTION_STEP,
    UTC,
    day_bounds_utc,
    from_epoch_ms,
    local_date_of_ms,
    to_epoch_ms,
)

RESERVOIR_DIR = "smard"


@dataclass(frozen=True)
class SeriesFamily:
    """A family of SMARD chart-data series kept apart from the others: the realised data of the ``smard`` source,
    or the day-ahead forecasts of ``smard_forecast``. Same API, window files and fill; another catalog
    (``lookup``: filter id -> series, raising UserInputError for an unknown one), reservoir folder and source."""

    source: str
    folder: str
    lookup: Callable[[int], SmardSeries]
    default_filters: Callable[[str], tuple[int, ...]]


SMARD_FAMILY = SeriesFamily("smard", RESERVOIR_DIR, series, default_filters)


class SmardFormatError(ValueError):
    """A SMARD response or file that does not have the API's JSON shape."""


def describe(filter_id: int, region: str, resolution: str, window_start_ms: int | None = None,
             lookup: Callable[[int], SmardSeries] = series) -> str:
    """Human-readable name of a series window, for error messages (``lookup``: the family's catalog)."""
    text = f"filter {filter_id} ({lookup(filter_id).name}), region {region}, resolution {resolution}"
    if window_start_ms is not None:
        text += f", window {from_epoch_ms(window_start_ms).isoformat()} ({window_start_ms})"
    return text


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true/false are not numbers


def parse_window(payload: bytes, context: str) -> list[tuple[int, float | None]]:
    """Validate a window payload and return its series; ``context`` names the window in errors."""
    try:
        document = orjson.loads(payload)  # ~3x json.loads on a year's windows; the same floats, bit for bit
    except orjson.JSONDecodeError as error:  # also invalid UTF-8
        raise SmardFormatError(f"{context}: response is not valid JSON ({error}); first bytes: {payload[:80]!r}") from None
    if not isinstance(document, dict) or not isinstance(document.get("series"), list):
        raise SmardFormatError(f"{context}: JSON has no 'series' list; keys: {sorted(document) if isinstance(document, dict) else type(document).__name__}")
    points = []
    append = points.append
    # Exact type checks: orjson.loads makes only int, float, bool (an int subclass, refused), str, list, dict, None.
    # This loop runs for every value of a backfill, so it avoids a function call per point.
    for point in document["series"]:
        if type(point) is list and len(point) == 2:
            moment, value = point
            if type(moment) is int:
                kind = type(value)
                if kind is float or value is None:
                    append((moment, value))
                    continue
                if kind is int:
                    append((moment, float(value)))
                    continue
        raise SmardFormatError(
            f"{context}: series[{len(points)}] is {point!r}, expected [epoch_ms, number or null]"
        )
    return points


def parse_index(payload: bytes, context: str) -> list[int]:
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise SmardFormatError(f"{context}: index is not valid JSON ({error}); first bytes: {payload[:80]!r}") from None
    stamps = document.get("timestamps") if isinstance(document, dict) else None
    if not isinstance(stamps, list) or not all(_is_int(t) for t in stamps):
        raise SmardFormatError(f"{context}: index has no 'timestamps' list of epoch milliseconds")
    return sorted(stamps)


def build_window(points: list[tuple[int, float | None]], created: datetime) -> bytes:
    """A payload in the API's shape (used by the CSV import and the bundled demo data)."""
    document = {"meta_data": {"version": 1, "created": to_epoch_ms(created)}, "series": [[t, v] for t, v in points]}
    return json.dumps(document, separators=(",", ":")).encode()


def window_dir(window_start_ms: int, folder: str = RESERVOIR_DIR) -> str:
    """Reservoir folder of a window: ``<folder>/<local date of the window start>`` (``smard/...`` by default)."""
    return f"{folder}/{local_date_of_ms(window_start_ms).isoformat()}"


def window_file(
    *,
    filter_id: int,
    region: str,
    resolution: str,
    window_start_ms: int,
    payload: bytes,
    url: str,
    fetched_at: datetime,
    source: str,
    points: list[tuple[int, float | None]] | None = None,
    family: SeriesFamily = SMARD_FAMILY,
) -> NewFile:
    """One window of ``family`` as a new reservoir version, validated (unless ``points``, its :func:`parse_window`
    result, are given); the sidecar records which intervals it covers."""
    if points is None:
        points = parse_window(payload, describe(filter_id, region, resolution, window_start_ms, family.lookup))
    step_ms = int(RESOLUTION_STEP[resolution].total_seconds() * 1000)
    stamp = fetched_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    meta = {
        "source": source,
        "url": url,
        "fetched_at": fetched_at.astimezone(UTC).isoformat(),
        "filter_id": filter_id,
        "region": region,
        "resolution": resolution,
        "window_start_ms": window_start_ms,
        "series_start_ms": points[0][0] if points else None,
        "series_end_ms": points[-1][0] + step_ms if points else None,
        "points": len(points),
        "non_null_points": len([v for _, v in points if v is not None]),
    }
    stem = f"{filter_id}_{region}_{resolution}_{window_start_ms}__{stamp}"
    return NewFile(window_dir(window_start_ms, family.folder), stem, payload, meta)


def store_window(reservoir: Reservoir, **window) -> ReservoirFile:
    """Validate and store one window as a new version (``window``: the arguments of :func:`window_file`)."""
    return reservoir.write_many([window_file(**window)])[0]


def stored_windows(reservoir: Reservoir, first_day: date, last_day: date, inspector=None,
                   folder: str = RESERVOIR_DIR) -> list[ReservoirFile]:
    """Every stored version of every window under ``folder`` that may overlap the local days
    ``first_day..last_day``; listed through ``inspector``
    (:class:`emission_assets.lakehouse.reservoir_integrity.Inspector`) if given, which quarantines files with a bad
    sidecar."""
    # A week window starting up to 7 days before first_day can reach into it.
    first_folder = first_day - timedelta(days=7)
    files = (inspector.listed(folder, first_folder, last_day) if inspector is not None
             else reservoir.list_dated(folder, first_folder, last_day))
    return overlapping(
        files, to_epoch_ms(day_bounds_utc(first_day)[0]), to_epoch_ms(day_bounds_utc(last_day)[1])
    )


def covered_days(files: list[ReservoirFile], settle: timedelta) -> set[tuple[str, int, date]]:
    """``(region, filter_id, day)`` for every local day a stored window covers and had settled when fetched."""
    return reservoir_covered_days(files, settle, lambda meta: (meta["region"], meta["filter_id"]))
