"""Rolling backtest of the fit on history: for each day, fit on the trailing window before it (as a forecast made the
day before would: :func:`~emission_assets.forecast.fit.training_window`), predict the day from its features and
compare with the intensity observed.

Inputs, honestly: where silver.grid_forecast holds the day's forecast features (for the region) the backtest uses
them; otherwise it uses the day's *realised* features ("perfect input forecast": the error of the intensity model
alone, a lower bound of the real error). Each day's row says which (``input``).

Per day: the time-weighted MAE (g/kWh), whether the forecast's cleanest 4-hour window of the local day is the truly
cleanest one (same start: the hit rate), and the regret (g/kWh the chosen window was dirtier than the best). The
same for the baseline the fit has to beat: the trailing hour-of-day mean of the same training window (what the
historical profile would have said).
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from emission_assets.forecast.features import align_features, training_rows
from emission_assets.forecast.fit import GROUP, MIN_TRAINING_HOURS, design, least_squares, training_window
from emission_assets.forecast.windows import Run

HIT_WINDOW_HOURS = 4.0
KEYS = ["interval_start", "interval_end"]
DAY_COLUMNS = ["region", "model", "basis", "day", "input", "intervals", "mae_g_per_kwh", "hit", "regret_g_per_kwh",
               "profile_mae_g_per_kwh", "profile_hit", "profile_regret_g_per_kwh"]


def hit_and_regret(day: pd.DataFrame, predicted: str, observed: str = "g_per_kwh",
                   hours: float = HIT_WINDOW_HOURS) -> tuple[bool | None, float | None]:
    """``day``: sorted by interval_start. Whether the cleanest ``hours`` window by ``predicted`` is the cleanest by
    ``observed`` (same start), and how much dirtier (observed g/kWh) the chosen window is than the best;
    (None, None) when the day has no such window."""
    observed_run = Run(day, observed, is_sorted=True)
    return _hit_and_regret(observed_run, Run(day, predicted, is_sorted=True), hours)


def _hit_and_regret(observed: Run, predicted: Run, hours: float = HIT_WINDOW_HOURS):
    truth = observed.cleanest(hours)
    chosen = predicted.cleanest(hours)
    if truth is None or chosen is None:
        return None, None
    return chosen.start == truth.start, float(observed.mean_from(chosen.first_index, hours) - truth.g_per_kwh)


def _hour_profile(hour: np.ndarray, g: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Time-weighted mean g/kWh per whole local hour 0..23 (NaN for an hour without rows)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(hour, weights=g * hours, minlength=24) / np.bincount(hour, weights=hours, minlength=24)


def _mae(predicted: np.ndarray, observed: np.ndarray, hours: np.ndarray) -> float:
    return float(np.average(np.abs(predicted - observed), weights=hours))


def backtest(intensity: pd.DataFrame, realised: pd.DataFrame, forecast: pd.DataFrame, days: list[date]) -> pd.DataFrame:
    """One row per region x model x basis x day of ``days`` that has observed intensity, features and a fit
    (:data:`DAY_COLUMNS`). Numpy slices of the sorted history per day (the same fit as :func:`fit.fit_one`)."""
    history = training_rows(intensity, realised)
    if history.empty:
        return pd.DataFrame(columns=DAY_COLUMNS)
    forecast_by_day = {key: rows for key, rows in forecast.groupby(["local_day", "region"])} if not forecast.empty else {}
    results = []
    for (region, model, basis), rows in history.groupby(GROUP, sort=True):
        rows = rows.sort_values("interval_start").reset_index(drop=True)
        ordinal = np.array([d.toordinal() for d in rows["local_day"]])  # non-decreasing: rows are sorted by start
        x, g, hours = design(rows), rows["g_per_kwh"].to_numpy(float), rows["hours"].to_numpy(float)
        hour = np.floor(rows["hour_local"].to_numpy(float)).astype(int)
        starts, ends = rows["interval_start"].tolist(), rows["interval_end"].tolist()
        for day in days:
            lo, hi = np.searchsorted(ordinal, [day.toordinal(), day.toordinal() + 1])
            first, last = training_window(day)
            t_lo, t_hi = np.searchsorted(ordinal, [first.toordinal(), last.toordinal() + 1])
            if lo == hi or hours[t_lo:t_hi].sum() < MIN_TRAINING_HOURS:
                continue
            coefficients, _ = least_squares(x[t_lo:t_hi], g[t_lo:t_hi], hours[t_lo:t_hi])
            low, high = g[t_lo:t_hi].min(), g[t_lo:t_hi].max()
            profile = _hour_profile(hour[t_lo:t_hi], g[t_lo:t_hi], hours[t_lo:t_hi])
            features = forecast_by_day.get((day, region))
            if features is None:  # the history rows carry the day's realised features
                kind, day_x, day_hour = "realised", x[lo:hi], hour[lo:hi]
                day_g, day_hours, day_starts, day_ends = g[lo:hi], hours[lo:hi], starts[lo:hi], ends[lo:hi]
            else:
                truth = rows.iloc[lo:hi][[*KEYS, "g_per_kwh"]]
                aligned = align_features(features, truth)  # quarter-hourly forecasts on an hourly history
                frame = truth.merge(aligned.drop(columns="region"), on=KEYS, how="inner").sort_values("interval_start")
                if frame.empty:
                    continue
                kind, day_x = "forecast", design(frame)
                day_hour = np.floor(frame["hour_local"].to_numpy(float)).astype(int)
                day_g, day_hours = frame["g_per_kwh"].to_numpy(float), frame["hours"].to_numpy(float)
                day_starts, day_ends = frame["interval_start"].tolist(), frame["interval_end"].tolist()
            predicted = np.clip(day_x @ coefficients, low, high)
            baseline = profile[day_hour]
            keep = np.isfinite(baseline)
            if not keep.any():
                continue
            if not keep.all():  # an hour the training window never saw: left out of both
                day_starts = [s for s, k in zip(day_starts, keep, strict=True) if k]
                day_ends = [e for e, k in zip(day_ends, keep, strict=True) if k]
                predicted, baseline, day_g, day_hours = predicted[keep], baseline[keep], day_g[keep], day_hours[keep]
            span = [(e - s).total_seconds() / 3600.0 for s, e in zip(day_starts, day_ends, strict=True)]
            observed_run = Run.of(day_starts, day_ends, span, day_g)
            hit, regret = _hit_and_regret(observed_run, Run.of(day_starts, day_ends, span, predicted))
            profile_hit, profile_regret = _hit_and_regret(observed_run, Run.of(day_starts, day_ends, span, baseline))
            results.append((region, model, basis, day, kind, len(day_g), _mae(predicted, day_g, day_hours), hit,
                            regret, _mae(baseline, day_g, day_hours), profile_hit, profile_regret))
    return pd.DataFrame(results, columns=DAY_COLUMNS)


def summary(per_day: pd.DataFrame) -> pd.DataFrame:
    """Per region x model x basis: days, days with forecast input, MAE, hit rate and mean regret of the fit and of
    the hour-of-day baseline."""
    if per_day.empty:
        return pd.DataFrame(columns=[*GROUP, "days", "forecast_input_days", "mae_g_per_kwh", "hit_rate",
                                     "regret_g_per_kwh", "profile_mae_g_per_kwh", "profile_hit_rate"])
    frame = per_day.copy()
    frame["hit"] = frame["hit"].astype(float)
    frame["profile_hit"] = frame["profile_hit"].astype(float)
    grouped = frame.groupby(GROUP, sort=True)
    return grouped.agg(
        days=("day", "count"),
        forecast_input_days=("input", lambda s: int((s == "forecast").sum())),
        mae_g_per_kwh=("mae_g_per_kwh", "mean"),
        hit_rate=("hit", "mean"),
        regret_g_per_kwh=("regret_g_per_kwh", "mean"),
        profile_mae_g_per_kwh=("profile_mae_g_per_kwh", "mean"),
        profile_hit_rate=("profile_hit", "mean"),
    ).reset_index()
