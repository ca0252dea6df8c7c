"""Consumption attributed to CO2 across resolutions, and the monthly views, on hand-computed numbers."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from emission_assets.gold.aggregates import consumption_emissions_sql, emissions_sql
from emission_assets.gold.tables import refresh_gold_tables
from emission_assets.gold.views import register_views

UTC = timezone.utc
HOUR = datetime(2024, 3, 28, 9, tzinfo=UTC)  # 10:00 local


def consumption_rows(spark, rows):
    """rows: (start, minutes, energy_kwh, ev_kwh) -> silver.consumption frame (decimal energy columns)."""
    data = [
        (start, start + timedelta(minutes=minutes), "home", "hourly_api", Decimal(str(e)), e * 60 / minutes,
         Decimal(str(ev)), Decimal(str(e - ev)), 11.0, Decimal("0"), Decimal("0.3"), "EUR", "f", start,
         2024, 3, 28)
        for start, minutes, e, ev in rows
    ]
    return spark.createDataFrame(data, (
        "interval_start timestamp, interval_end timestamp, home_id string, source string, "
        "energy_kwh decimal(14,6), avg_power_kw double, ev_kwh decimal(14,6), household_kwh decimal(14,6), "
        "ev_charge_kw double, cost decimal(14,6), unit_price decimal(12,6), currency string, source_file string, "
        "fetched_at timestamp, year int, month int, day int"))


@pytest.fixture
def intensity_view(spark, registry, writer):
    """Stand-in rows of the gold.grid_intensity table: (start, minutes, region, model, g_per_kwh, production_mwh)."""
    def create(rows):
        values = ", ".join(
            f"(timestamp'{s:%Y-%m-%d %H:%M:%S}', timestamp'{(s + timedelta(minutes=m)):%Y-%m-%d %H:%M:%S}', "
            f"'{region}', '{model}', 'direct', CAST({g} AS DOUBLE), 'x', CAST({mwh} AS DOUBLE), 'r')"
            for s, m, region, model, g, mwh in rows
        )
        frame = spark.sql(
            "SELECT *, CAST(year(from_utc_timestamp(interval_start, 'Europe/Berlin')) AS INT) AS year, "
            "CAST(month(from_utc_timestamp(interval_start, 'Europe/Berlin')) AS INT) AS month FROM VALUES " + values +
            " AS t(interval_start, interval_end, region, model, basis, g_per_kwh, determined_by, production_mwh, "
            "resolution)"
        )
        writer.replace_months("gold.grid_intensity", frame, [(2024, 3)])
    yield create
    # Views live in the session's catalog: do not leak the stand-ins into other tests.
    spark.sql("DROP VIEW IF EXISTS gold.consumption_emissions")


def test_hourly_consumption_takes_the_generation_weighted_mean_of_quarter_hours(spark, registry, writer, intensity_view):
    quarters = [(HOUR + timedelta(minutes=15 * q), 15, "DE", "average", g, mwh)
                for q, (g, mwh) in enumerate([(100.0, 10.0), (200.0, 10.0), (300.0, 20.0), (400.0, 0.0)])]
    intensity_view(quarters + [(HOUR, 60, "TenneT", "locality", 50.0, 30.0), (HOUR, 60, "DE", "locality", 999.0, 1.0)])
    writer.replace_days("silver.consumption", consumption_rows(spark, [(HOUR, 60, 13.0, 11.0)]),
                        date(2024, 3, 28), date(2024, 3, 28))
    rows = {r.model: r for r in spark.sql(consumption_emissions_sql(registry)).collect()}
    # (100*10 + 200*10 + 300*20 + 400*0) / 40 = 225 g/kWh
    assert rows["average"].g_per_kwh == 225.0
    assert rows["average"].emissions_g == 13.0 * 225.0
    assert rows["average"].ev_emissions_g == 11.0 * 225.0 and rows["average"].household_emissions_g == 2.0 * 225.0
    assert rows["locality"].g_per_kwh == 50.0  # the control area (TenneT by default), not DE


def test_quarter_hour_consumption_takes_its_hours_intensity(spark, registry, writer, intensity_view):
    intensity_view([(HOUR, 60, "DE", "average", 321.0, 5.0)])
    writer.replace_days("silver.consumption", consumption_rows(
        spark, [(HOUR + timedelta(minutes=15 * q), 15, 1.0, 0.0) for q in range(4)]), date(2024, 3, 28),
        date(2024, 3, 28))
    rows = spark.sql(consumption_emissions_sql(registry)).collect()
    assert len(rows) == 4 and {r.g_per_kwh for r in rows} == {321.0}


def test_monthly_emissions_and_spread_between_models(spark, registry, writer, intensity_view):
    intensity_view([(HOUR, 60, "DE", "average", 300.0, 5.0), (HOUR, 60, "DE", "worst_emitter", 1100.0, 5.0)])
    writer.replace_days("silver.consumption", consumption_rows(spark, [(HOUR, 60, 2.0, 0.0)]),
                        date(2024, 3, 28), date(2024, 3, 28))
    spark.sql(f"CREATE OR REPLACE VIEW gold.consumption_emissions AS {consumption_emissions_sql(registry)}")
    rows = {r.model: r for r in spark.sql(emissions_sql(registry, "month")).collect()}
    assert rows["average"].emissions_kg == 0.6 and rows["worst_emitter"].emissions_kg == 2.2
    assert rows["average"].spread_kg == rows["worst_emitter"].spread_kg == pytest.approx(1.6)
    assert rows["average"].energy_kwh == Decimal("2.000000")


def test_restatement_uses_the_factors_known_then(spark, registry, writer, tmp_path):
    """A lignite factor corrected later: the past month as reported then (old factor) and now (new factor)."""
    from emission_assets.factors.dimension import merge_seed
    from emission_assets.gold.aggregates import restatement_sql

    production = spark.createDataFrame(
        [(HOUR, HOUR + timedelta(hours=1), "DE", t, f, "hour", mwh, mwh, "f", HOUR, 2024, 3, 28)
         for t, f, mwh in (("lignite", 1223, 10.0), ("wind_onshore", 4067, 10.0))],
        "interval_start timestamp, interval_end timestamp, region string, production_type string, filter_id int, "
        "resolution string, energy_mwh double, power_mw double, source_file string, fetched_at timestamp, "
        "year int, month int, day int")
    writer.replace_days("silver.production", production, date(2024, 3, 28), date(2024, 3, 28))
    writer.replace_days("silver.consumption", consumption_rows(spark, [(HOUR, 60, 2.0, 0.0)]),
                        date(2024, 3, 28), date(2024, 3, 28))

    def seed(lignite):
        return [{"production_type": t, "basis": "direct", "g_per_kwh": g, "valid_from": date(2015, 1, 1),
                 "source": "test", "note": ""} for t, g in (("lignite", lignite), ("wind_onshore", 0.0))]

    merge_seed(spark, writer, seed(1000.0), datetime(2024, 1, 1, tzinfo=UTC))
    merge_seed(spark, writer, seed(800.0), datetime(2024, 6, 1, tzinfo=UTC))  # a correction, applied later
    refresh_gold_tables(spark, registry)  # the monthly gold tables, with today's factors
    register_views(registry, spark)

    rows = {r.model: r for r in spark.sql(
        restatement_sql(registry, datetime(2024, 4, 1, tzinfo=UTC), date(2024, 3, 1), date(2024, 3, 31), "direct")
    ).collect()}
    assert rows["average"].kg_then == pytest.approx(2.0 * 500 / 1000)  # (10*1000 + 10*0) / 20 = 500 g/kWh
    assert rows["average"].kg_now == pytest.approx(2.0 * 400 / 1000)
    assert rows["worst_emitter"].kg_then == pytest.approx(2.0) and rows["worst_emitter"].kg_now == pytest.approx(1.6)


def test_hourly_consumption_over_quarter_hour_intensity_across_the_spring_dst_switch(spark, registry, writer,
                                                                                       intensity_view):
    """2024-03-31 has 23 local hours: each hourly consumption row meets exactly its four quarter-hours."""
    start = datetime(2024, 3, 30, 23, tzinfo=UTC)  # local midnight (CET)
    quarters = [(start + timedelta(minutes=15 * q), 15, "DE", "average", float(q), 1.0 + q % 4) for q in range(92)]
    intensity_view(quarters)
    hours = [(start + timedelta(hours=h), 60, 1.0, 0.0) for h in range(23)]
    frame = consumption_rows(spark, hours).selectExpr("*").drop("day").selectExpr("*", "31 AS day")
    writer.replace_days("silver.consumption", frame, date(2024, 3, 31), date(2024, 3, 31))
    rows = sorted(spark.sql(consumption_emissions_sql(registry)).collect(), key=lambda r: r.interval_start)
    assert len(rows) == 23
    for h, row in enumerate(rows):
        qs = range(4 * h, 4 * h + 4)  # weights 1, 2, 3, 4 for the quarters of each hour
        expected = sum(q * (1.0 + q % 4) for q in qs) / sum(1.0 + q % 4 for q in qs)
        assert row.g_per_kwh == pytest.approx(expected)
