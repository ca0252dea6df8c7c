"""How Tibber responses are named and found in the reservoir.

- hourly API pages: ``tibber/hourly/<local date of the first node>/<home>_<start ms>_<end ms>__<fetched>.json``,
  the raw GraphQL response body (never the token: it travels only in a request header);
- live micro-batches: ``tibber/live/<local date of the first measurement>/<home>_<first ms>__<written>.json``,
  ``{"home_id": ..., "measurements": [liveMeasurement, ...]}``.

Both carry ``series_start_ms``/``series_end_ms`` in the sidecar, so a day's files are found without parsing them.
Files hold personal consumption data and are created readable by the owner only.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta

from emission_assets.lakehouse.reservoir import NewFile, Reservoir, ReservoirFile, overlapping
from emission_assets.timeutil import UTC, day_bounds_utc, local_date_of_ms, to_epoch_ms

RESERVOIR_DIR = "tibber"
HOURLY = "hourly"
LIVE = "live"
# A page holds at most ~744 hourly nodes (31 days): files starting that long before a day can reach it.
PAGE_LOOKBACK = timedelta(days=32)
_SAFE_ID = re.compile(r"[^A-Za-z0-9-]")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def home_part(home_id: str) -> str:
    """The home id as it appears in file names."""
    return _SAFE_ID.sub("_", home_id)


def hourly_page_file(
    *,
    home_id: str,
    payload: bytes,
    url: str,
    fetched_at: datetime,
    source: str,
    series_start_ms: int,
    series_end_ms: int,
    nodes: int,
    non_null_nodes: int,
) -> NewFile:
    """One consumption page as a new (private) reservoir file; ``series_*`` span the page's nodes (``from`` of the
    first, ``to`` of the last)."""
    meta = {
        "kind": HOURLY,
        "source": source,
        "url": url,
        "fetched_at": fetched_at.astimezone(UTC).isoformat(),
        "home_id": home_id,
        "series_start_ms": series_start_ms,
        "series_end_ms": series_end_ms,
        "points": nodes,
        "non_null_points": non_null_nodes,
    }
    folder = f"{RESERVOIR_DIR}/{HOURLY}/{local_date_of_ms(series_start_ms).isoformat()}"
    stem = f"{home_part(home_id)}_{series_start_ms}_{series_end_ms}__{_stamp(fetched_at)}"
    return NewFile(folder, stem, payload, meta, private=True)


def store_hourly_page(reservoir: Reservoir, **page) -> ReservoirFile:
    """Store one consumption page (``page``: the arguments of :func:`hourly_page_file`)."""
    return reservoir.write_many([hourly_page_file(**page)])[0]


def store_live_batch(
    reservoir: Reservoir, *, home_id: str, measurements: list[dict], written_at: datetime, source: str = LIVE
) -> ReservoirFile:
    """Store one micro-batch of ``liveMeasurement`` payloads (each with an ISO-8601 ``timestamp``)."""
    if not measurements:
        raise ValueError("a live batch needs at least one measurement")
    stamps = sorted(to_epoch_ms(datetime.fromisoformat(m["timestamp"])) for m in measurements)
    meta = {
        "kind": LIVE,
        "source": source,
        "url": None,
        "fetched_at": written_at.astimezone(UTC).isoformat(),
        "home_id": home_id,
        "series_start_ms": stamps[0],
        "series_end_ms": stamps[-1] + 1,
        "points": len(measurements),
        "non_null_points": len(measurements),
    }
    payload = json.dumps({"home_id": home_id, "measurements": measurements}, separators=(",", ":")).encode()
    folder = f"{RESERVOIR_DIR}/{LIVE}/{local_date_of_ms(stamps[0]).isoformat()}"
    stem = f"{home_part(home_id)}_{stamps[0]}__{_stamp(written_at)}"
    return reservoir.write(folder, stem, payload, meta, private=True)


def stored_files(
    reservoir: Reservoir, kind: str, first_day: date, last_day: date, inspector=None
) -> list[ReservoirFile]:
    """Every stored hourly page or live batch overlapping the local days ``first_day..last_day``; listed through
    ``inspector`` (:class:`emission_assets.lakehouse.reservoir_integrity.Inspector`) if given, which quarantines bad sidecars."""
    lookback = PAGE_LOOKBACK if kind == HOURLY else timedelta(days=1)
    folder, first_folder = f"{RESERVOIR_DIR}/{kind}", first_day - lookback
    files = (inspector.listed(folder, first_folder, last_day) if inspector is not None
             else reservoir.list_dated(folder, first_folder, last_day))
    return overlapping(
        files, to_epoch_ms(day_bounds_utc(first_day)[0]), to_epoch_ms(day_bounds_utc(last_day)[1])
    )
