"""Small silver frames in the tables' exact schemas, for gold tests: one 10:00-11:00 UTC hour per local day."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def production(spark, rows):
    """rows: (production_type, local day) -> silver.production frame (DE, 1 MWh each)."""
    data = [(datetime(d.year, d.month, d.day, 10), datetime(d.year, d.month, d.day, 11), "DE", t, 1, "hour", 1.0, 1.0,
             "f", datetime(2024, 1, 1), d.year, d.month, d.day) for t, d in rows]
    return spark.createDataFrame(data, (
        "interval_start timestamp, interval_end timestamp, region string, production_type string, filter_id int, "
        "resolution string, energy_mwh double, power_mw double, source_file string, fetched_at timestamp, "
        "year int, month int, day int"))


def consumption(spark, days, kwh=2.0):
    """One hour of ``kwh`` (half of it EV) per local day -> silver.consumption frame."""
    data = [(datetime(d.year, d.month, d.day, 10), datetime(d.year, d.month, d.day, 11), "home", "hourly_api",
             Decimal(str(kwh)), kwh, Decimal(str(kwh / 2)), Decimal(str(kwh / 2)), 0.0, Decimal("0.5"), Decimal("0.25"),
             "EUR", "f", datetime(2024, 1, 1), d.year, d.month, d.day) for d in days]
    return spark.createDataFrame(data, (
        "interval_start timestamp, interval_end timestamp, home_id string, source string, energy_kwh decimal(14,6), "
        "avg_power_kw double, ev_kwh decimal(14,6), household_kwh decimal(14,6), ev_charge_kw double, "
        "cost decimal(14,6), unit_price decimal(12,6), currency string, source_file string, fetched_at timestamp, "
        "year int, month int, day int"))


def factors(spark, rows, prefix=""):
    """rows: (production_type, basis, g_per_kwh, valid_from, valid_to, retired) -> silver.emission_factors frame."""
    data = [(f"{prefix}{t}-{b}-{i}", t, b, g, "g/kWh", "test", None, start, end, not retired, datetime(2024, 1, 1),
             datetime(2024, 6, 1) if retired else None, "h") for i, (t, b, g, start, end, retired) in enumerate(rows)]
    return spark.createDataFrame(data, (
        "factor_id string, production_type string, basis string, g_per_kwh double, unit string, source string, "
        "note string, valid_from date, valid_to date, is_current boolean, recorded_at timestamp, "
        "retired_at timestamp, row_hash string"))
