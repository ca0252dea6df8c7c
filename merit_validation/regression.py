"""Regression cross-check (Hawkes 2010 style) from the same SMARD hours the merit order sees.

Between consecutive hours, the change in CO2 (every production type at the ``average`` model's per-type direct
factor) is regressed on the change in fossil output and on the change in residual load. The slope is the CO2 that an
extra MWh of that quantity came with on average: a data-driven marginal factor that needs no stack, no prices and no
calibration. It brackets what the merit order may plausibly report: a mean marginal factor far from these slopes
needs a reason.

Two residual loads are used, and the document names them:

- ``residual_load_smard``: SMARD's own residual load (filter 4359 of the consumption export: grid load minus wind
  and PV);
- ``residual_generation``: total generation minus wind (on- and offshore) and PV, from the generation export.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FOSSIL_TYPES = ("lignite", "hard_coal", "natural_gas", "other_conventional")
WEATHER_TYPES = ("wind_onshore", "wind_offshore", "photovoltaics")
LOCAL_TIME_ZONE = "Europe/Berlin"
STEP = pd.Timedelta(hours=1)
# regressors: column in the hourly frame -> label in the document
REGRESSORS = {
    "fossil_mwh": "Δ fossil output (lignite + hard coal + gas + other conventional)",
    "residual_load_smard_mwh": "Δ residual load, SMARD 4359 (grid load − wind − PV)",
    "residual_generation_mwh": "Δ residual generation (total generation − wind − PV)",
}


def hourly_sql(registry, basis: str = "direct") -> str:
    """Per hour (DE): CO2 at the average model's per-type factors, fossil output, total and wind+PV generation.

    Reuses ``production_emissions_sql`` (the factor join every model uses), so the factors are exactly those of the
    ``average`` model's rows."""
    from emission_assets.models.production import production_emissions_sql

    fossil = ", ".join(f"'{t}'" for t in FOSSIL_TYPES)
    weather = ", ".join(f"'{t}'" for t in WEATHER_TYPES)
    production = registry.sql_name("silver.production")
    return f"""
WITH e AS ({production_emissions_sql(registry)}),
co2 AS (
  SELECT interval_start, sum(emissions_t) AS emissions_t
  FROM e WHERE basis = '{basis}' AND region = 'DE' AND resolution = 'hour'
  GROUP BY interval_start
),
mwh AS (
  SELECT interval_start,
         sum(CASE WHEN production_type IN ({fossil}) THEN energy_mwh ELSE 0 END) AS fossil_mwh,
         sum(energy_mwh) AS generation_mwh,
         sum(CASE WHEN production_type IN ({weather}) THEN energy_mwh ELSE 0 END) AS wind_pv_mwh
  FROM {production} WHERE region = 'DE' AND resolution = 'hour' AND energy_mwh IS NOT NULL
  GROUP BY interval_start
)
SELECT mwh.interval_start, co2.emissions_t, mwh.fossil_mwh, mwh.generation_mwh, mwh.wind_pv_mwh
FROM mwh JOIN co2 ON mwh.interval_start = co2.interval_start
"""


def hourly_frame(spark, registry, grid_load: pd.DataFrame | None = None) -> pd.DataFrame:
    """The hourly frame (UTC index) for :func:`slopes_per_year`, with SMARD's residual load joined where present."""
    frame = spark.sql(hourly_sql(registry)).toPandas()
    frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
    frame = frame.set_index("interval_start").sort_index()
    frame["residual_generation_mwh"] = frame["generation_mwh"] - frame["wind_pv_mwh"]
    if grid_load is not None and "residual_load_mwh" in grid_load:
        frame["residual_load_smard_mwh"] = grid_load["residual_load_mwh"].reindex(frame.index)
    return frame


@dataclass(frozen=True)
class Slope:
    year: int
    regressor: str
    slope_g_per_kwh: float  # d(emissions t) / d(MWh) x 1000
    r_squared: float
    pairs: int  # consecutive-hour pairs used


def slopes_per_year(hourly: pd.DataFrame, regressors=tuple(REGRESSORS)) -> list[Slope]:
    """OLS slope (with intercept) of Δ emissions on Δ regressor between consecutive hours, per local year.

    ``hourly``: index = UTC interval start (hourly), column ``emissions_t`` and the regressor columns (MWh). Only
    pairs exactly one hour apart count (a gap in the data is not a step); a pair belongs to the local year of its
    later hour; pairs with a missing value are left out."""
    frame = hourly.sort_index()
    index = pd.DatetimeIndex(frame.index)
    consecutive = pd.Series(index, index=index).diff() == STEP
    years = index.tz_convert(LOCAL_TIME_ZONE).year
    d_emissions = frame["emissions_t"].diff()
    results = []
    for regressor in regressors:
        if regressor not in frame:
            continue
        d_x = frame[regressor].diff()
        usable = consecutive.to_numpy() & d_x.notna().to_numpy() & d_emissions.notna().to_numpy()
        for year in sorted(set(years[usable])):
            mask = usable & (years == year)
            x, y = d_x.to_numpy()[mask], d_emissions.to_numpy()[mask]
            if len(x) < 2 or np.var(x) == 0:
                continue
            slope, intercept = np.polyfit(x, y, 1)
            residuals = y - (slope * x + intercept)
            total = np.sum((y - y.mean()) ** 2)
            r_squared = 1.0 - np.sum(residuals**2) / total if total else float("nan")
            results.append(Slope(int(year), regressor, float(slope * 1000.0), float(r_squared), int(len(x))))
    return results


def average_intensity_per_year(hourly: pd.DataFrame) -> dict[int, float]:
    """The average model's production-weighted direct intensity per local year (g/kWh), for context."""
    years = pd.DatetimeIndex(hourly.index).tz_convert(LOCAL_TIME_ZONE).year
    grouped = hourly.groupby(years)[["emissions_t", "generation_mwh"]].sum()
    return {int(y): float(r.emissions_t / r.generation_mwh * 1000.0) for y, r in grouped.iterrows()}
