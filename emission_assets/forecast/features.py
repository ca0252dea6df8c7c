"""The forecast's features, computed the same way from realised data and from SMARD's day-ahead forecasts.

Per interval x region: grid load and wind + PV as power (MW, so hours and quarter-hours mix), and from them the
residual load (load - wind - PV, the part the dispatchable plants must serve) and the renewable share
((wind + PV) / load). Realised: ``silver.production`` (wind_onshore, wind_offshore, photovoltaics) and
``silver.grid_load`` (410, Netzlast). Forecast: ``silver.grid_forecast`` (411 grid load, 123/3791/125 wind and PV;
where a part is missing, 5097 wind + PV and 4362 residual load complete it). An interval without grid load has no
features (its region's realised grid load was not fetched: DE gets it only with filter 410).
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from emission_assets.lakehouse.writer import day_predicate, month_predicate
from emission_assets.models.production import LOCAL_TIME_ZONE
from emission_assets.smard_forecast import tables as _forecast_tables  # noqa: F401  (declares silver.grid_forecast)
from emission_assets.timeutil import day_bounds_utc, month_spans

WIND_PV_TYPES = ("wind_onshore", "wind_offshore", "photovoltaics")
FEATURE_COLUMNS = ["interval_start", "interval_end", "region", "resolution", "load_mw", "wind_pv_mw"]
PRODUCTION = "silver.production"
GRID_LOAD = "silver.grid_load"
GRID_FORECAST = "silver.grid_forecast"
GRID_INTENSITY = "gold.grid_intensity"


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The engine hands timestamps over as naive UTC (session time zone UTC): make them aware."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame


def _hours(frame: pd.DataFrame) -> pd.Series:
    return (frame["interval_end"] - frame["interval_start"]).dt.total_seconds() / 3600.0


def realised_features(spark, registry, first_day: date, last_day: date) -> pd.DataFrame:
    """Realised load and wind + PV per interval x region of the local days ``first_day..last_day``."""
    days = day_predicate(first_day, last_day)
    types = ", ".join(f"'{t}'" for t in WIND_PV_TYPES)
    sql = f"""
        SELECT l.interval_start, l.interval_end, l.region, l.resolution, l.load_mwh, p.wind_pv_mwh
        FROM (SELECT interval_start, interval_end, region, resolution, load_mwh FROM {registry.sql_name(GRID_LOAD)}
              WHERE {days} AND load_mwh IS NOT NULL) l
        JOIN (SELECT interval_start, interval_end, region, sum(energy_mwh) AS wind_pv_mwh
              FROM {registry.sql_name(PRODUCTION)}
              WHERE {days} AND production_type IN ({types}) AND energy_mwh IS NOT NULL
              GROUP BY interval_start, interval_end, region) p
        ON l.interval_start = p.interval_start AND l.interval_end = p.interval_end AND l.region = p.region"""
    frame = _utc(spark.sql(sql).toPandas(), "interval_start", "interval_end")
    hours = _hours(frame)
    frame["load_mw"] = frame.pop("load_mwh") / hours
    frame["wind_pv_mw"] = frame.pop("wind_pv_mwh") / hours
    return derived(frame[FEATURE_COLUMNS])


def forecast_features(spark, registry, first_day: date, last_day: date) -> pd.DataFrame:
    """Forecast load and wind + PV per interval x region of the local days ``first_day..last_day``, with the
    newest download time of the forecast rows used (``fetched_at``)."""
    sql = f"""
        SELECT interval_start, interval_end, region, resolution, series, power_mw, fetched_at
        FROM {registry.sql_name(GRID_FORECAST)} WHERE {day_predicate(first_day, last_day)} AND power_mw IS NOT NULL"""
    rows = spark.sql(sql).toPandas()
    if rows.empty:
        return derived(pd.DataFrame(columns=[*FEATURE_COLUMNS, "fetched_at"]))
    rows = _utc(rows, "interval_start", "interval_end", "fetched_at")
    keys = ["interval_start", "interval_end", "region", "resolution"]
    wide = rows.pivot_table(index=keys, columns="series", values="power_mw", aggfunc="last")
    fetched = rows.groupby(keys)["fetched_at"].max()
    parts = wide.reindex(columns=[*WIND_PV_TYPES, "wind_and_photovoltaics", "grid_load", "residual_load"])
    has_parts = parts["wind_onshore"].notna() & parts["photovoltaics"].notna()
    wind_pv = parts[list(WIND_PV_TYPES)].sum(axis=1, min_count=2).where(has_parts, parts["wind_and_photovoltaics"])
    wind_pv = wind_pv.fillna(parts["grid_load"] - parts["residual_load"])
    load = parts["grid_load"].fillna(parts["residual_load"] + wind_pv)
    frame = pd.DataFrame({"load_mw": load, "wind_pv_mw": wind_pv, "fetched_at": fetched}).reset_index()
    frame = frame.dropna(subset=["load_mw", "wind_pv_mw"])
    return derived(frame[[*FEATURE_COLUMNS, "fetched_at"]])


def align_features(features: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """``features`` of one region on the given ``intervals`` (``interval_start``, ``interval_end``): per interval the
    time-weighted mean power of the feature intervals overlapping it, so SMARD's quarter-hourly forecasts meet an
    hourly history (and hourly forecasts quarter-hours). An interval the features do not cover fully is left out."""
    targets = intervals[["interval_start", "interval_end"]].drop_duplicates()
    if features.empty or targets.empty:
        return features.iloc[0:0]
    parts = features[FEATURE_COLUMNS].rename(columns={"interval_start": "part_start", "interval_end": "part_end"})
    pairs = targets.merge(parts, how="cross")
    overlap = (pairs[["interval_end", "part_end"]].min(axis=1) - pairs[["interval_start", "part_start"]].max(axis=1))
    pairs["seconds"] = overlap.dt.total_seconds().clip(lower=0)
    pairs = pairs[pairs["seconds"] > 0]
    pairs["load_seconds"] = pairs["load_mw"] * pairs["seconds"]
    pairs["wind_pv_seconds"] = pairs["wind_pv_mw"] * pairs["seconds"]
    grouped = pairs.groupby(["interval_start", "interval_end", "region"], as_index=False).agg(
        resolution=("resolution", "first"), seconds=("seconds", "sum"), load_seconds=("load_seconds", "sum"),
        wind_pv_seconds=("wind_pv_seconds", "sum"))
    covered = grouped["seconds"] == (grouped["interval_end"] - grouped["interval_start"]).dt.total_seconds()
    grouped = grouped[covered]
    grouped["load_mw"] = grouped["load_seconds"] / grouped["seconds"]
    grouped["wind_pv_mw"] = grouped["wind_pv_seconds"] / grouped["seconds"]
    return derived(grouped[FEATURE_COLUMNS])


def derived(frame: pd.DataFrame) -> pd.DataFrame:
    """Add residual load (MW), renewable share, the local hour of day (fractional for quarter-hours) and the
    interval's hours."""
    frame = frame.copy()
    for column in ("load_mw", "wind_pv_mw"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in ("interval_start", "interval_end"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame[frame["load_mw"] > 0].reset_index(drop=True)
    frame["residual_mw"] = frame["load_mw"] - frame["wind_pv_mw"]
    frame["renewable_share"] = frame["wind_pv_mw"] / frame["load_mw"]
    local = frame["interval_start"].dt.tz_convert(LOCAL_TIME_ZONE)
    frame["hour_local"] = (local.dt.hour + local.dt.minute / 60.0).astype(float)
    frame["local_day"] = local.dt.date
    frame["hours"] = _hours(frame).astype(float)
    return frame


def intensity_history(spark, registry, first_day: date, last_day: date) -> pd.DataFrame:
    """gold.grid_intensity rows (interval x region x model x basis, g/kWh) of the local days ``first_day..last_day``."""
    months = sorted({(first.year, first.month) for first, _ in month_spans(first_day, last_day)})
    start, end = day_bounds_utc(first_day)[0], day_bounds_utc(last_day)[1]
    sql = f"""
        SELECT interval_start, interval_end, region, model, basis, g_per_kwh FROM {registry.sql_name(GRID_INTENSITY)}
        WHERE {month_predicate(months)} AND g_per_kwh IS NOT NULL
          AND interval_start >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}' AND interval_start < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'"""
    return _utc(spark.sql(sql).toPandas(), "interval_start", "interval_end")


def training_rows(intensity: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Observed intensity joined with the features of the same interval and region."""
    keys = ["interval_start", "interval_end", "region"]
    merged = intensity.merge(features, on=keys, how="inner")
    return merged[np.isfinite(merged["g_per_kwh"])].reset_index(drop=True)
