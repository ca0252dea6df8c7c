"""How redispatch CSV files are named, stored and found in the reservoir.

``redispatch/<local date of the first measure's start>/<first ms>_<last ms>__<fetched>.json``: the payload is the
raw CSV bytes exactly as served or downloaded (the reservoir names every payload ``.json``; the sidecar says
``format: csv``). Sidecar: ``series_start_ms``/``series_end_ms`` = start of the first and end of the last measure,
``source`` (``api`` | ``csv-import``), ``url`` (the API URL, or ``file:<name>`` of an import, never a local path
beyond the file name) and, for API responses, the requested ``window_start_ms``/``window_end_ms``. A response with
no measures is stored with the requested window as its span, so a quiet day still counts as fetched.
Re-fetches and re-imports are new versions; silver takes the latest download per measure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from emission_assets.lakehouse.reservoir import Reservoir, ReservoirFile, overlapping
from emission_assets.redispatch.parse import RedispatchFormatError, measure_span_ms, parse_redispatch_csv
from emission_assets.timeutil import (
    UTC,
    day_bounds_utc,
    days_between,
    local_date_of_ms,
    to_epoch_ms,
)

RESERVOIR_DIR = "redispatch"
API = "api"
CSV_IMPORT = "csv-import"
# Measures rarely last longer than a day; a hand-downloaded file may span months. Files are found by the dated
# folder of their first measure, so look back this far for files reaching into a day.
LOOKBACK = timedelta(days=366)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def store_csv(
    reservoir: Reservoir,
    payload: bytes,
    *,
    source: str,
    url: str | None,
    fetched_at: datetime,
    window: tuple[datetime, datetime] | None = None,
    origin: str = "<redispatch csv>",
) -> ReservoirFile:
    """Validate (parse) the CSV and store it unchanged; raises ``ValueError`` for an unusable file."""
    measures = parse_redispatch_csv(payload, origin)
    span = measure_span_ms(measures)
    window_ms = (to_epoch_ms(window[0]), to_epoch_ms(window[1])) if window else None
    if span is None:
        if window_ms is None:
            raise ValueError(f"{origin}: no redispatch measures in the file")
        span = window_ms
    meta = {
        "format": "csv",
        "source": source,
        "url": url,
        "fetched_at": fetched_at.astimezone(UTC).isoformat(),
        "series_start_ms": span[0],
        "series_end_ms": span[1],
        "measures": len(measures),
    }
    if window_ms is not None:
        meta["window_start_ms"], meta["window_end_ms"] = window_ms
    folder = f"{RESERVOIR_DIR}/{local_date_of_ms(span[0]).isoformat()}"
    return reservoir.write(folder, f"{span[0]}_{span[1]}__{_stamp(fetched_at)}", payload, meta)


def stored_files(reservoir: Reservoir, first_day: date, last_day: date, inspector=None) -> list[ReservoirFile]:
    """Every stored redispatch file whose span overlaps the local days ``first_day..last_day``; listed through
    ``inspector`` (:class:`emission_assets.lakehouse.reservoir_integrity.Inspector`) if given."""
    first_folder = first_day - LOOKBACK
    files = (inspector.listed(RESERVOIR_DIR, first_folder, last_day) if inspector is not None
             else reservoir.list_dated(RESERVOIR_DIR, first_folder, last_day))
    return overlapping(files, to_epoch_ms(day_bounds_utc(first_day)[0]), to_epoch_ms(day_bounds_utc(last_day)[1]))


def coverage_ms(file: ReservoirFile) -> tuple[int, int]:
    """What a file vouches for: the requested window of an API response, else the measure span of an import."""
    meta = file.meta
    if meta.get("window_start_ms") is not None:
        return meta["window_start_ms"], meta["window_end_ms"]
    return meta["series_start_ms"], meta["series_end_ms"]


def missing_days(files: list[ReservoirFile], first_day: date, last_day: date, settle: timedelta) -> list[date]:
    """Days no file covers completely with a download made ``settle`` after the day ended."""
    missing = []
    for day in days_between(first_day, last_day):
        start, end = day_bounds_utc(day)
        if not any(
            coverage_ms(f)[0] <= to_epoch_ms(start) and coverage_ms(f)[1] >= to_epoch_ms(end)
            and datetime.fromisoformat(f.meta["fetched_at"]) >= end + settle
            for f in files
        ):
            missing.append(day)
    return missing


@dataclass
class ImportReport:
    files: list[Path] = field(default_factory=list)
    written: list[ReservoirFile] = field(default_factory=list)
    measures: int = 0


def import_redispatch_csv(paths: list[Path | str], reservoir: Reservoir) -> ImportReport:
    """Store redispatch CSV files downloaded by hand from netztransparenz.de (``source: csv-import``).

    Every file is parsed first, so one bad file stores nothing; the ``ValueError`` names file, line and column.
    """
    report = ImportReport()
    loaded = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise RedispatchFormatError(str(path), "no such file")
        payload = path.read_bytes()
        measures = parse_redispatch_csv(payload, str(path))
        if not measures:
            raise RedispatchFormatError(str(path), "no redispatch measures in the file (only a header)")
        loaded.append((path, payload, len(measures)))
    for path, payload, count in loaded:
        report.written.append(store_csv(
            reservoir, payload, source=CSV_IMPORT, url=f"file:{path.name}", fetched_at=datetime.now(UTC),
            origin=str(path),
        ))
        report.files.append(path)
        report.measures += count
    return report
