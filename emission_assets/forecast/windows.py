"""The cleanest contiguous window: where to put ``hours_needed`` hours of constant power in a run of intervals.

By elapsed time on UTC intervals, so a 23- or 25-hour DST night is searched like any other. A window starts at an
interval start and fills the intervals after it at full power, the last one partly; its intensity is the
energy-weighted mean of the intervals' g/kWh. Intervals must touch: a gap (a missing hour) ends a run, and no
window spans it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # when the energy is delivered (start + hours_needed), not the end of the last interval touched
    g_per_kwh: float
    first_index: int  # position of the window's first interval in the input


def cleanest_window(intervals: pd.DataFrame, hours_needed: float, value: str = "g_per_kwh") -> Window | None:
    """The window of ``hours_needed`` hours with the lowest mean ``value`` among ``intervals`` (columns
    interval_start, interval_end, ``value``; any order); ties go to the earliest. None when no run of touching
    intervals is that long."""
    if hours_needed <= 0:
        raise ValueError(f"hours_needed must be positive, got {hours_needed}")
    return Run(intervals, value).cleanest(hours_needed)


def window_mean(intervals: pd.DataFrame, start: datetime, hours_needed: float, value: str = "g_per_kwh") -> float | None:
    """The mean ``value`` of the window of ``hours_needed`` hours starting at ``start`` (an interval start); None
    when the intervals do not cover it."""
    run = Run(intervals, value)
    positions = [i for i, s in enumerate(run.starts) if s == start]
    return run.mean_from(positions[0], hours_needed) if positions else None


class Run:
    """Intervals sorted by start, as plain lists for the window loop (build once, search several times)."""

    def __init__(self, intervals: pd.DataFrame | None, value: str = "g_per_kwh", *, is_sorted: bool = False):
        if intervals is None:
            return
        frame = intervals if is_sorted else intervals.sort_values("interval_start")
        self.starts = frame["interval_start"].tolist()
        self.ends = frame["interval_end"].tolist()
        self.hours = [(e - s).total_seconds() / 3600.0 for s, e in zip(self.starts, self.ends, strict=True)]
        self.values = frame[value].to_numpy(float)

    @classmethod
    def of(cls, starts: list, ends: list, hours: list[float], values: np.ndarray) -> Run:
        """A run from sorted lists (no frame: the backtest's loop builds thousands)."""
        run = cls(None)
        run.starts, run.ends, run.hours, run.values = starts, ends, hours, np.asarray(values, float)
        return run

    def mean_from(self, i: int, hours_needed: float) -> float | None:
        remaining, weighted, j = hours_needed, 0.0, i
        while remaining > 1e-9:
            if j >= len(self.starts) or (j > i and self.starts[j] != self.ends[j - 1]) or not np.isfinite(self.values[j]):
                return None
            used = min(self.hours[j], remaining)
            weighted += used * self.values[j]
            remaining -= used
            j += 1
        return float(weighted / hours_needed)

    def cleanest(self, hours_needed: float) -> Window | None:
        best: Window | None = None
        for i in range(len(self.starts)):
            mean = self.mean_from(i, hours_needed)
            if mean is not None and (best is None or mean < best.g_per_kwh - 1e-12):
                best = Window(self.starts[i], self.starts[i] + timedelta(hours=hours_needed), mean, i)
        return best


def longest_run_hours(intervals: pd.DataFrame) -> float:
    """Hours of the longest run of touching intervals (what a window can use at most)."""
    frame = intervals.sort_values("interval_start").reset_index(drop=True)
    longest = current = 0.0
    previous_end = None
    for start, end in zip(frame["interval_start"], frame["interval_end"], strict=True):
        length = (end - start).total_seconds() / 3600.0
        current = current + length if previous_end is not None and start == previous_end else length
        longest = max(longest, current)
        previous_end = end
    return longest
