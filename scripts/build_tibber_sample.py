"""Rebuild the bundled synthetic Tibber household (emission_assets/data/tibber_sample/household_2022.csv.gz).

One year (local Europe/Berlin 2022) of quarter-hour power for a German household with an electric car:
- household: the BDEW H0 standard load profile scaled to 3,500 kWh/a (``demandlib``, MIT licence), times small
  multiplicative noise (a slow AR(1) component plus white noise), rescaled to exactly 3,500 kWh;
- EV: synthetic 11 kW charging sessions, two or three a week, mostly evenings and weekends, starting at any
  quarter-hour and lasting 45 min to 4 h.

Deterministic (fixed numpy seed, gzip without a timestamp): the same demandlib and numpy give the same bytes.
Usage (from the repository root; needs the ``sample`` extra, ``demandlib==0.2.2``):
    .venv/bin/python scripts/build_tibber_sample.py
"""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

TARGET = Path(__file__).resolve().parents[1] / "emission_assets" / "data" / "tibber_sample" / "household_2022.csv.gz"
YEAR = 2022
TIME_ZONE = "Europe/Berlin"
HOUSEHOLD_KWH = 3500.0
EV_KW = 11.0
SEED = 20220101
EV_KWH_RANGE = (1800.0, 2600.0)


def real_quarter_hours() -> pd.DatetimeIndex:
    """Every real quarter-hour of the local year: 92 on the spring DST day, 100 on the autumn one."""
    return pd.date_range(f"{YEAR}-01-01", f"{YEAR + 1}-01-01", freq="15min", tz=TIME_ZONE, inclusive="left")


def household_kw(index: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    from demandlib import bdew

    profile = bdew.ElecSlp(YEAR).get_scaled_power_profiles({"h0": HOUSEHOLD_KWH})["h0"]
    # demandlib's index is naive wall-clock time: look every real quarter-hour up by its wall clock (the skipped
    # spring hour is dropped, the repeated autumn hour gets the same profile values twice).
    base = profile.reindex(index.tz_localize(None)).to_numpy()
    if np.isnan(base).any():
        raise SystemExit("demandlib profile misses wall-clock quarter-hours of the year")
    slow = np.empty(len(index))
    slow[0] = 0.0
    shocks = rng.normal(0.0, 0.05, len(index))
    for i in range(1, len(index)):  # AR(1) with a few hours' memory: cloudy evenings, guests, holidays
        slow[i] = 0.97 * slow[i - 1] + shocks[i]
    factor = np.exp(slow * 0.6 + rng.normal(0.0, 0.08, len(index)))
    power = base * factor
    return power * HOUSEHOLD_KWH / (power.sum() * 0.25)


def ev_sessions(index: pd.DatetimeIndex, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(first quarter-hour position, number of quarter-hours) of every charging session, non-overlapping."""
    local = pd.DataFrame({"date": index.date, "hour": index.hour, "weekday": index.weekday})
    positions_by_date = local.groupby("date").indices
    days = sorted(positions_by_date)
    taken = np.zeros(len(index), dtype=bool)
    sessions = []
    for week_start in range(0, len(days), 7):
        week = days[week_start:week_start + 7]
        weights = np.array([1.8 if day.weekday() >= 5 else 1.0 for day in week])
        count = min(len(week), int(rng.choice([2, 3])))
        chosen = rng.choice(len(week), size=count, replace=False, p=weights / weights.sum())
        for day in sorted(week[i] for i in chosen):
            positions = positions_by_date[day]
            hours = local["hour"].to_numpy()[positions]
            weekend = day.weekday() >= 5
            draw = rng.random()
            if draw < (0.5 if weekend else 0.78):
                window = (hours >= 17) & (hours <= 22)  # home from work
            elif draw < (0.95 if weekend else 0.9):
                window = (hours >= 9) & (hours <= 16)  # daytime
            else:
                window = (hours >= 6) & (hours <= 8)  # early top-up
            start = int(rng.choice(positions[window]))
            length = int(np.clip(round(rng.lognormal(np.log(5.5), 0.45)), 3, 16))  # 45 min .. 4 h
            if start + length > len(index) or taken[max(0, start - 4):start + length + 4].any():
                continue
            taken[start:start + length] = True
            sessions.append((start, length))
    return sessions


def main() -> None:
    rng = np.random.default_rng(SEED)
    index = real_quarter_hours()
    household = household_kw(index, rng)
    sessions = ev_sessions(index, rng)
    ev = np.zeros(len(index))
    for start, length in sessions:
        ev[start:start + length] = EV_KW
    ev_kwh = ev.sum() * 0.25
    if not EV_KWH_RANGE[0] <= ev_kwh <= EV_KWH_RANGE[1]:
        raise SystemExit(f"EV total {ev_kwh:.0f} kWh outside {EV_KWH_RANGE}: adjust the session parameters")

    frame = pd.DataFrame({
        "interval_start_ms": index.tz_convert("UTC").as_unit("ms").asi8,
        "household_kw": np.round(household, 4),
        "ev_kw": ev,
    })
    text = frame.to_csv(index=False, float_format="%.4f", lineterminator="\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as handle:
        handle.write(text.encode("ascii"))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(buffer.getvalue())
    lengths = [length for _, length in sessions]
    print(
        f"{TARGET.name}: {len(frame)} quarter-hours, household {frame.household_kw.sum() * 0.25:.1f} kWh, "
        f"EV {ev_kwh:.1f} kWh in {len(sessions)} sessions ({min(lengths) * 15}-{max(lengths) * 15} min), "
        f"{len(buffer.getvalue()) / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
