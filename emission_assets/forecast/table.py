"""``gold.intensity_forecast`` for some local forecast days, and the backtest that goes with it (no Dagster).

For each forecast day D: fit on the :data:`~emission_assets.forecast.fit.TRAINING_DAYS` days of history ending on
D-2 (gold.grid_intensity joined with the realised features), apply to D's forecast features (silver.grid_forecast),
write D's rows through the writer's day replacement (a re-run replaces exactly those days).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from emission_assets.forecast import backtest as backtesting
from emission_assets.forecast.features import (
    forecast_features,
    intensity_history,
    realised_features,
    training_rows,
)
from emission_assets.forecast.fit import METHOD, TRAINING_DAYS, Fit, fit_all, training_window
from emission_assets.lakehouse.registry import spec
from emission_assets.timeutil import days_between

TABLE = "gold.intensity_forecast"
BACKTEST_DAYS = 91  # default: the quarter of history before the forecast


@dataclass
class ForecastRun:
    rows: int = 0
    days_forecast: list[date] = field(default_factory=list)
    days_without_forecast: list[date] = field(default_factory=list)  # no forecast features in silver.grid_forecast
    days_without_fit: list[date] = field(default_factory=list)  # forecast features, but too little history to fit
    fits: dict[tuple[str, str, str], Fit] = field(default_factory=dict)  # the last day's fits


def forecast_frame(features: pd.DataFrame, fits: dict[tuple[str, str, str], Fit]) -> pd.DataFrame:
    """The table's rows for ``features`` (one forecast day) under each fit of the feature's region."""
    frames = []
    for (region, model, basis), fit in sorted(fits.items()):
        rows = features[features["region"] == region]
        if rows.empty:
            continue
        local = rows["interval_start"].dt.tz_convert("Europe/Berlin")
        frames.append(pd.DataFrame({
            "interval_start": rows["interval_start"].dt.tz_convert("UTC").dt.tz_localize(None),
            "interval_end": rows["interval_end"].dt.tz_convert("UTC").dt.tz_localize(None),
            "region": region, "model": model, "basis": basis,
            "g_per_kwh": fit.predict(rows),
            "load_mw": rows["load_mw"], "wind_pv_mw": rows["wind_pv_mw"], "residual_load_mw": rows["residual_mw"],
            "renewable_share": rows["renewable_share"],
            "method": METHOD, "fit_id": fit.fit_id, "fit_first_day": fit.first_day, "fit_last_day": fit.last_day,
            "fit_rows": fit.rows, "fit_mae_g_per_kwh": fit.mae_g_per_kwh,
            "forecast_fetched_at": rows["fetched_at"].dt.tz_convert("UTC").dt.tz_localize(None),
            "resolution": rows["resolution"],
            "year": local.dt.year.astype("int32"), "month": local.dt.month.astype("int32"),
            "day": local.dt.day.astype("int32"),
        }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=spec(TABLE).column_names)


def write_forecast(spark, registry, writer, first_day: date, last_day: date) -> ForecastRun:
    """Forecast the local days ``first_day..last_day`` and replace exactly those days of gold.intensity_forecast
    (a day without forecast features ends up with no rows, never with zeros)."""
    run = ForecastRun()
    history_first = training_window(first_day)[0]
    history_last = training_window(last_day)[1]
    intensity = intensity_history(spark, registry, history_first, history_last)
    realised = realised_features(spark, registry, history_first, history_last)
    history = training_rows(intensity, realised)
    features = forecast_features(spark, registry, first_day, last_day)
    frames = []
    for day in days_between(first_day, last_day):
        day_features = features[features["local_day"] == day]
        if day_features.empty:
            run.days_without_forecast.append(day)
            continue
        first, last = training_window(day)
        fits = fit_all(history[(history["local_day"] >= first) & (history["local_day"] <= last)])
        frame = forecast_frame(day_features, fits)
        if frame.empty:
            run.days_without_fit.append(day)
            continue
        run.days_forecast.append(day)
        run.fits = fits
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True) if frames else None
    df = (spark.createDataFrame(rows[spec(TABLE).column_names], spec(TABLE).ddl) if rows is not None
          else spark.createDataFrame([], spec(TABLE).ddl))
    writer.replace_days(TABLE, df, first_day, last_day)
    run.rows = 0 if rows is None else len(rows)
    return run


@dataclass
class BacktestRun:
    first_day: date | None
    last_day: date | None
    per_day: pd.DataFrame
    summary: pd.DataFrame


def run_backtest(spark, registry, last_forecast_day: date, days: int = BACKTEST_DAYS) -> BacktestRun:
    """The rolling backtest over the ``days`` days of history a forecast for ``last_forecast_day`` could be checked
    on (those ending on its training window's last day), with forecast features where silver.grid_forecast has
    them."""
    last = training_window(last_forecast_day)[1]
    first = last - timedelta(days=days - 1)
    history_first = training_window(first)[0]
    intensity = intensity_history(spark, registry, history_first, last)
    realised = realised_features(spark, registry, history_first, last)
    forecast = forecast_features(spark, registry, first, last)
    per_day = backtesting.backtest(intensity, realised, forecast, days_between(first, last))
    return BacktestRun(first, last, per_day, backtesting.summary(per_day))


__all__ = ["TRAINING_DAYS", "BACKTEST_DAYS", "ForecastRun", "BacktestRun", "write_forecast", "run_backtest",
           "forecast_frame"]
