"""Hand-made rows for the forecast tests: realised grid load and wind + PV, gold.grid_intensity rows that follow a
known function of them, and SMARD day-ahead forecast rows in the real silver.grid_forecast shape (series names and
filter ids of the interfaces), written through the lakehouse writer."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from emission_assets.lakehouse.registry import TableSpec, declare_tables, spec
from emission_assets.smard_forecast import tables as _forecast_tables  # noqa: F401  (declares silver.grid_forecast)
from emission_assets.timeutil import BERLIN, day_bounds_utc, days_between

FETCHED = datetime(2024, 1, 1, tzinfo=UTC)
FORECAST_FILTERS = {"wind_onshore": (123, "generation"), "wind_offshore": (3791, "generation"),
                    "photovoltaics": (125, "generation"), "grid_load": (411, "load"),
                    "residual_load": (4362, "load")}
# The interfaces' gold.intensity_profile columns (helper A's table): declared here only when A's spec is not in
# the registry (this branch), so the fallback of `advise` can be tested. Partition columns last, as every TableSpec
# has them (a Delta table created with them first reads its partition columns back as strings).
PROFILE_COLUMNS = (("day_type", "STRING"), ("hour_local", "INT"), ("region", "STRING"), ("model", "STRING"),
                   ("basis", "STRING"), ("g_per_kwh", "DOUBLE"), ("min_g_per_kwh", "DOUBLE"),
                   ("max_g_per_kwh", "DOUBLE"), ("interval_count", "INT"), ("cleanest_rank", "INT"), ("year", "INT"),
                   ("month", "INT"))
PROFILE = "gold.intensity_profile"


def hours_of(days: list[date]) -> list[tuple[datetime, datetime]]:
    """Every UTC hour of the local days (23/25 on DST days)."""
    hours = []
    for day in days:
        start, end = day_bounds_utc(day)
        while start < end:
            hours.append((start, start + timedelta(hours=1)))
            start += timedelta(hours=1)
    return hours


def synthetic_features(days: list[date], seed: int = 7) -> list[tuple[datetime, datetime, float, float]]:
    """(start, end, load MW, wind + PV MW) per hour: a daily load curve and random renewables."""
    rng = np.random.default_rng(seed)
    rows = []
    for start, end in hours_of(days):
        hour = start.astimezone(BERLIN).hour
        load = 55_000 + 10_000 * np.sin((hour - 6) / 24 * 2 * np.pi) + rng.normal(0, 2_000)
        wind_pv = rng.uniform(5_000, 40_000)
        rows.append((start, end, float(load), float(wind_pv)))
    return rows


def known_intensity(load_mw: float, wind_pv_mw: float) -> float:
    """The function the synthetic gold.grid_intensity follows: linear in the residual load (GW) and the share."""
    return 50.0 + 9.0 * (load_mw - wind_pv_mw) / 1000.0 - 100.0 * wind_pv_mw / load_mw


def write_realised(spark, writer, features, region: str = "DE") -> None:
    """silver.grid_load and silver.production (wind_onshore 60 %, photovoltaics 40 %, lignite) for ``features``."""
    loads, production = [], []
    for start, end, load, wind_pv in features:
        local = start.astimezone(BERLIN).date()
        part = (local.year, local.month, local.day)
        loads.append((start, end, region, "hour", load, "test.json", FETCHED, *part))
        for kind, mwh in (("wind_onshore", 0.6 * wind_pv), ("photovoltaics", 0.4 * wind_pv), ("lignite", 10_000.0)):
            production.append((start, end, region, kind, 0, "hour", mwh, mwh, "test.json", FETCHED, *part))
    writer.append("silver.grid_load", spark.createDataFrame(loads, spec("silver.grid_load").ddl))
    writer.append("silver.production", spark.createDataFrame(production, spec("silver.production").ddl))


def write_intensity(spark, writer, rows) -> None:
    """gold.grid_intensity rows: (start, end, region, model, basis, g_per_kwh)."""
    out = []
    for start, end, region, model, basis, g in rows:
        local = start.astimezone(BERLIN).date()
        out.append((start, end, region, model, basis, float(g), "test", 1.0, "hour", local.year, local.month))
    writer.append("gold.grid_intensity", spark.createDataFrame(out, spec("gold.grid_intensity").ddl))


def intensity_rows(features, models=("average", "merit_order"), bases=("direct", "lifecycle"), function=None,
                   region: str = "DE"):
    function = function or (lambda start, load, wind_pv: known_intensity(load, wind_pv))
    return [(start, end, region, model, basis, function(start, load, wind_pv) + (20.0 if basis == "lifecycle" else 0))
            for start, end, load, wind_pv in features for model in models for basis in bases]


def forecast_rows(features, region: str = "DE", fetched: datetime = FETCHED) -> list[tuple]:
    """silver.grid_forecast rows (series names and filter ids of the real source) for ``features``: grid load, wind
    onshore / offshore / PV and the residual load, as SMARD publishes them."""
    rows = []
    for start, end, load, wind_pv in features:
        local = start.astimezone(BERLIN).date()
        hours = (end - start).total_seconds() / 3600
        values = {"wind_onshore": 0.5 * wind_pv, "wind_offshore": 0.1 * wind_pv, "photovoltaics": 0.4 * wind_pv,
                  "grid_load": load, "residual_load": load - wind_pv}
        for series, mw in values.items():
            filter_id, kind = FORECAST_FILTERS[series]
            rows.append((start, end, region, series, kind, filter_id, "hour", mw * hours, mw,
                         f"{filter_id}_{region}_hour.json", fetched, local.year, local.month, local.day))
    return rows


def write_forecast(spark, writer, features, region: str = "DE") -> None:
    writer.append("silver.grid_forecast", spark.createDataFrame(forecast_rows(features, region),
                                                                spec("silver.grid_forecast").ddl))


def declare_profile() -> None:
    """Declare gold.intensity_profile with the interfaces' columns unless its owner's spec is already declared."""
    from emission_assets.lakehouse.registry import TABLES

    if PROFILE not in TABLES:
        declare_tables(TableSpec(PROFILE, PROFILE_COLUMNS, ("year", "month"), "test: the interfaces' profile columns"))


def write_profile(spark, writer, year: int, month: int, g_by_hour: dict[tuple[str, int], float], model="average",
                  basis="direct", region="DE") -> None:
    """gold.intensity_profile rows: (day_type, hour_local) -> g/kWh for one model."""
    rows = []
    for day_type in ("weekday", "weekend"):
        ranked = sorted(range(24), key=lambda h: g_by_hour[(day_type, h)])
        for hour in range(24):
            g = g_by_hour[(day_type, hour)]
            rows.append((day_type, hour, region, model, basis, g, g, g, 4, ranked.index(hour) + 1, year, month))
    writer.append(PROFILE, spark.createDataFrame(rows, spec(PROFILE).ddl))


def days(first: date, count: int) -> list[date]:
    return days_between(first, first + timedelta(days=count - 1))
