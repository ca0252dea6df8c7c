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

from emission_assets.forecast.features import training_rows
from emission_assets.forecast.fit import GROUP, fit_one, training_window
from emission_assets.forecast.windows import Run

HIT_WINDOW_HOURS = 4.0
KEYS = ["interval_start", "interval_end"]
DAY_COLUMNS = ["region", "model", "basis", "day", "input", "intervals", "mae_g_per_kwh", "hit", "regret_g_per_kwh",
               "profile_mae_g_per_kwh", "profile_hit", "profile_regret_g_per_kwh"]


def hit_and_regret(day: pd.DataFrame, predicted: str, observed: str = "g_per_kwh",
                   hours: float = HIT_WINDOW_HOURS) -> tuple[bool | None, float | None]:
    """``day``: sorted by interval_start. Whether the cleanest ``hours`` window by ``predicted`` is the cleanest by ``observed`` (same start), and how
    much dirtier (observed g/kWh) the chosen window is than the best; (None, None) when the day has no such window."""
    observed_run = Run(day, observed, is_sorted=True)
    truth = observed_run.cleanest(hours)
    chosen = Run(day, predicted, is_sorted=True).cleanest(hours)
    if truth is None or chosen is None:
        return None, None
    chosen_observed = observed_run.mean_from(chosen.first_index, hours)
    return chosen.start == truth.start, float(chosen_observed - truth.g_per_kwh)


def _weighted_mae(day: pd.DataFrame, predicted: str) -> float:
    return float(np.average(np.abs(day[predicted] - day["g_per_kwh"]), weights=day["hours"]))


def _hour_profile(train: pd.DataFrame) -> pd.Series:
    """Time-weighted mean g/kWh per whole local hour of the training rows."""
    hour = np.floor(train["hour_local"]).astype(int)
    weighted = (train["g_per_kwh"] * train["hours"]).groupby(hour).sum()
    return weighted / train["hours"].groupby(hour).sum()


def backtest(intensity: pd.DataFrame, realised: pd.DataFrame, forecast: pd.DataFrame, days: list[date]) -> pd.DataFrame:
    """One row per region x model x basis x day of ``days`` that has observed intensity, features and a fit
    (:data:`DAY_COLUMNS`)."""
    history = training_rows(intensity, realised)
    if history.empty:
        return pd.DataFrame(columns=DAY_COLUMNS)
    forecast_by_day = {key: rows for key, rows in forecast.groupby(["local_day", "region"])} if not forecast.empty else {}
    history = history.sort_values("interval_start")
    results = []
    for (region, model, basis), rows in history.groupby(GROUP, sort=True):
        ordinal = np.array([d.toordinal() for d in rows["local_day"]])
        for day in days:
            truth = rows[ordinal == day.toordinal()]
            if truth.empty:
                continue
            first, last = training_window(day)
            train = rows[(ordinal >= first.toordinal()) & (ordinal <= last.toordinal())]
            fit = fit_one(train, region, model, basis)
            if fit is None:
                continue
            features = forecast_by_day.get((day, region))
            if features is None:  # the history rows carry the day's realised features
                frame, kind = truth.copy(), "realised"
            else:
                frame = truth[[*KEYS, "g_per_kwh"]].merge(features, on=KEYS, how="inner")
                kind = "forecast"
            if frame.empty:
                continue
            frame["forecast"] = fit.predict(frame)
            profile = _hour_profile(train)
            frame["profile"] = np.floor(frame["hour_local"]).astype(int).map(profile).to_numpy(float)
            frame = frame[np.isfinite(frame["profile"])]
            hit, regret = hit_and_regret(frame, "forecast")
            profile_hit, profile_regret = hit_and_regret(frame, "profile")
            results.append((region, model, basis, day, kind, len(frame), _weighted_mae(frame, "forecast"), hit, regret,
                            _weighted_mae(frame, "profile"), profile_hit, profile_regret))
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
