"""A recorded SMARD API on disk: the ``chart_data/...`` tree the live API serves, for ``file://`` base URLs.

The demo and the tests read it through the same :class:`~emission_assets.smard.client.SmardClient` as the live
API, so switching to live data is one setting (``SMARD_BASE_URL``).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable

from emission_assets.smard.windows import build_window
from emission_assets.timeutil import (
    BERLIN,
    RESOLUTION_STEP,
    from_epoch_ms,
    local_midnight,
    to_epoch_ms,
)

Points = list[tuple[int, float | None]]


def full_week(window_start_ms: int, resolution: str, points: Points) -> Points:
    """Pad a partial window with nulls to the whole local week (167/168/169 hours), as the API serves it."""
    step = RESOLUTION_STEP[resolution]
    week_start = from_epoch_ms(window_start_ms).astimezone(BERLIN).date()
    week_end_ms = to_epoch_ms(local_midnight(week_start + timedelta(days=7)))
    step_ms = int(step.total_seconds() * 1000)
    slots = (week_end_ms - window_start_ms) // step_ms
    values = dict(points)
    return [(window_start_ms + i * step_ms, values.get(window_start_ms + i * step_ms)) for i in range(slots)]


def write_tree(
    root: Path, region: str, resolution: str, windows: Iterable[tuple[int, int, Points]], created: datetime
) -> int:
    """Write window files and one index per filter under ``root/chart_data``; returns the number of windows."""
    starts: dict[int, set[int]] = defaultdict(set)
    count = 0
    for filter_id, window_start, points in windows:
        folder = root / "chart_data" / str(filter_id) / region
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{filter_id}_{region}_{resolution}_{window_start}.json"
        (folder / name).write_bytes(build_window(points, created))
        starts[filter_id].add(window_start)
        count += 1
    for filter_id, stamps in starts.items():
        index = root / "chart_data" / str(filter_id) / region / f"index_{resolution}.json"
        known = set(json.loads(index.read_text())["timestamps"]) if index.exists() else set()
        index.write_text(json.dumps({"timestamps": sorted(known | stamps)}))
    return count
