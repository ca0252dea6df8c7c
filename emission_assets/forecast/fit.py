"""The fit: per region x model x basis, ordinary least squares (``numpy.linalg.lstsq``) of the observed intensity
(g/kWh) on features known a day ahead, weighted by interval hours.

    g = b0 + b1 r + b2 r^2 + b3 s + b4 sin(2 pi h/24) + b5 cos(2 pi h/24) + b6 sin(4 pi h/24) + b7 cos(4 pi h/24)

r: residual load (GW, load - wind - PV), s: renewable share ((wind + PV) / load), h: local hour of day. Why these:
the residual is what the dispatchable plants serve, so it moves the average intensity (more fossil in the mix) and
the merit order's marginal unit (a higher residual reaches further up the stack, hence the square term: the
marginal factor is a step function of the residual, which a line cannot bend towards); the share carries the
dilution of the average by wind and PV; the two daily harmonics carry what the hour does beyond them (must-run,
imports, the evening ramp). Fitted on a trailing window (:data:`TRAINING_DAYS`) because fuel prices move the
merit order's ranking within a year. A forecast is clipped to the range of the intensities it was fitted on: a
regression must not extrapolate beyond the fleet.

What the merit order's forecast means: the *expected* factor of the marginal unit given the forecast residual load
and hour, i.e. a smoothed mix of the steps (gas, hard coal, lignite) it was seen at for similar residuals, not the
prediction of one unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

METHOD = "ols_residual_share_hour_v1"
TERMS = ("intercept", "residual_gw", "residual_gw_sq", "renewable_share", "sin_day", "cos_day", "sin_half_day",
         "cos_half_day")
TRAINING_DAYS = 28  # trailing days of history a fit uses
GAP_DAYS = 1  # a forecast for day D is made on D-1: its history ends on D-2 (D-1's realised data is not complete)
MIN_TRAINING_HOURS = 7 * 24.0  # less history than a week: no fit (and no forecast)
GROUP = ["region", "model", "basis"]


def design(frame: pd.DataFrame) -> np.ndarray:
    """The regressors of :data:`TERMS`, one row per interval."""
    residual = frame["residual_mw"].to_numpy(float) / 1000.0
    angle = 2 * np.pi * frame["hour_local"].to_numpy(float) / 24.0
    return np.column_stack([np.ones(len(frame)), residual, residual**2, frame["renewable_share"].to_numpy(float),
                            np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])


@dataclass(frozen=True)
class Fit:
    region: str
    model: str
    basis: str
    coefficients: tuple[float, ...]
    first_day: date
    last_day: date
    rows: int
    mae_g_per_kwh: float  # in-sample, time-weighted
    low_g_per_kwh: float  # the range of the observed intensities it was fitted on (forecasts are clipped to it)
    high_g_per_kwh: float

    @property
    def fit_id(self) -> str:
        return f"{METHOD} {self.region}/{self.model}/{self.basis} {self.first_day}..{self.last_day} n={self.rows}"

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        if features.empty:
            return np.empty(0)
        values = design(features) @ np.asarray(self.coefficients)
        return np.clip(values, self.low_g_per_kwh, self.high_g_per_kwh)


def fit_one(rows: pd.DataFrame, region: str, model: str, basis: str) -> Fit | None:
    """The least-squares fit of one region x model x basis; None with less than :data:`MIN_TRAINING_HOURS`."""
    rows = rows[np.isfinite(rows["g_per_kwh"]) & np.isfinite(rows["residual_mw"])
                & np.isfinite(rows["renewable_share"])]
    if rows.empty or rows["hours"].sum() < MIN_TRAINING_HOURS:
        return None
    observed = rows["g_per_kwh"].to_numpy(float)
    coefficients, mae = least_squares(design(rows), observed, rows["hours"].to_numpy(float))
    return Fit(region, model, basis, tuple(float(c) for c in coefficients), min(rows["local_day"]),
               max(rows["local_day"]), len(rows), mae, float(observed.min()), float(observed.max()))


def least_squares(x: np.ndarray, observed: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients of the fit weighted by interval hours (``numpy.linalg.lstsq`` on rows scaled by sqrt(hours)),
    and its in-sample time-weighted MAE."""
    weight = np.sqrt(hours)
    coefficients, *_ = np.linalg.lstsq(x * weight[:, None], observed * weight, rcond=None)
    return coefficients, float(np.average(np.abs(x @ coefficients - observed), weights=hours))


def fit_all(training: pd.DataFrame) -> dict[tuple[str, str, str], Fit]:
    """One fit per region x model x basis of ``training`` (observed intensity joined with realised features)."""
    fits = {}
    for (region, model, basis), rows in training.groupby(GROUP, sort=True):
        fit = fit_one(rows, region, model, basis)
        if fit is not None:
            fits[(region, model, basis)] = fit
    return fits


def training_window(forecast_day: date) -> tuple[date, date]:
    """The local days a forecast for ``forecast_day`` is fitted on."""
    from datetime import timedelta

    last = forecast_day - timedelta(days=GAP_DAYS + 1)
    return last - timedelta(days=TRAINING_DAYS - 1), last
