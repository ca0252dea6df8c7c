"""gold.production_emissions and the gold.grid_intensity table on tiny hand-computed silver rows (embedded engine)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from emission_assets.gold.tables import refresh_gold_tables
from emission_assets.gold.views import register_views
from emission_assets.lakehouse.registry import spec
from emission_assets.models.merit_order import merit_order_sql, stack_units
from emission_assets_tests.support.merit_stack import base_prices, write_prices
from emission_assets_tests.support.silver_rows import (
    FACTORS,
    factor_row,
    prod_row,
    write_factors,
    write_production,
)


def materialise_gold(spark, registry):
    """What the gold assets do: the monthly tables for every month silver holds, then the views."""
    refresh_gold_tables(spark, registry)
    register_views(registry, spark)

def intensity(spark, model, **where):
    clause = " AND ".join([f"model = '{model}'"] + [f"{k} = '{v}'" for k, v in where.items()])
    rows = spark.sql(
        "SELECT interval_start, basis, g_per_kwh, determined_by, production_mwh, resolution "
        f"FROM gold.grid_intensity WHERE {clause}"
    ).collect()
    return {
        (r.interval_start.astimezone(UTC) if r.interval_start.tzinfo else r.interval_start.replace(tzinfo=UTC), r.basis):
            (r.g_per_kwh, r.determined_by, r.production_mwh, r.resolution)
        for r in rows
    }


def test_average_and_worst_emitter(spark, registry, writer):
    t0 = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
    t1 = t0 + timedelta(minutes=15)
    write_factors(spark, writer)
    write_production(spark, writer, [
        prod_row(t0, "lignite", 100), prod_row(t0, "wind_onshore", 300),
        prod_row(t0, "pumped_storage", 50),  # no factor: not in the average, but in the total generation
        prod_row(t1, "lignite", 0), prod_row(t1, "natural_gas", 50), prod_row(t1, "wind_onshore", 300),
    ])
    materialise_gold(spark, registry)

    average = intensity(spark, "average")
    assert len(average) == 4
    g, determined_by, total, resolution = average[(t0, "direct")]
    assert g == pytest.approx(100 * 1100 / 400) and determined_by == "mix" and total == 450 and resolution == "quarterhour"
    assert average[(t0, "lifecycle")][0] == pytest.approx((100 * 1200 + 300 * 11) / 400)
    assert average[(t1, "direct")][0] == pytest.approx(50 * 400 / 350)
    assert average[(t1, "lifecycle")][0] == pytest.approx((50 * 490 + 300 * 11) / 350)
    assert average[(t1, "direct")][2] == 350

    worst = intensity(spark, "worst_emitter")
    assert worst[(t0, "direct")][:2] == (1100.0, "lignite")
    assert worst[(t0, "lifecycle")][:2] == (1200.0, "lignite")
    assert worst[(t1, "direct")][:2] == (400.0, "natural_gas")  # lignite has 0 output in t1
    assert worst[(t1, "lifecycle")][:2] == (490.0, "natural_gas")

    emissions = spark.sql(
        "SELECT production_type, basis, energy_mwh, g_per_kwh, emissions_t, factor_id, year, month, day "
        "FROM gold.production_emissions WHERE interval_start = TIMESTAMP'2024-01-10 12:00:00'"
    ).collect()
    by_key = {(r.production_type, r.basis): r for r in emissions}
    assert set(by_key) == {(t, b) for t in ("lignite", "wind_onshore") for b in ("direct", "lifecycle")}
    assert by_key[("lignite", "direct")].emissions_t == pytest.approx(110.0)
    assert by_key[("lignite", "direct")].factor_id == "lignite-direct"
    assert (by_key[("lignite", "direct")].year, by_key[("lignite", "direct")].month, by_key[("lignite", "direct")].day) == (2024, 1, 10)

    columns = [(f.name, f.dataType.simpleString()) for f in spark.table("gold.grid_intensity").schema.fields]
    assert columns == [
        ("interval_start", "timestamp"), ("interval_end", "timestamp"), ("region", "string"), ("model", "string"),
        ("basis", "string"), ("g_per_kwh", "double"), ("determined_by", "string"), ("production_mwh", "double"),
        ("resolution", "string"), ("year", "int"), ("month", "int"),
    ]


def test_worst_emitter_ties_go_to_the_alphabetically_first_type_and_follow_the_factor_version(spark, registry, writer):
    t0 = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)  # before the lignite correction (local date 2024-01-10)
    t1 = datetime(2024, 2, 10, 12, 0, tzinfo=UTC)  # after it: lignite 800 g/kWh direct, below hard coal's 850
    rows = [factor_row(t, b, g) for (t, b), g in FACTORS.items() if t != "lignite"]
    rows += [factor_row("lignite", "direct", 850.0, valid_to=date(2024, 2, 1), factor_id="lignite-direct-1"),
             factor_row("lignite", "direct", 800.0, valid_from=date(2024, 2, 1), factor_id="lignite-direct-2"),
             factor_row("lignite", "lifecycle", 1200.0)]
    write_factors(spark, writer, rows)
    write_production(spark, writer, [
        prod_row(t0, "lignite", 10), prod_row(t0, "hard_coal", 10), prod_row(t0, "wind_onshore", 300),
        prod_row(t1, "lignite", 10), prod_row(t1, "hard_coal", 10), prod_row(t1, "wind_onshore", 300),
    ])
    materialise_gold(spark, registry)

    worst = intensity(spark, "worst_emitter")
    assert worst[(t0, "direct")][:2] == (850.0, "hard_coal")  # a tie at 850 g/kWh: hard_coal before lignite
    assert worst[(t1, "direct")][:2] == (850.0, "hard_coal")  # lignite's new version is lower
    assert worst[(t0, "lifecycle")][:2] == (1200.0, "lignite")
    assert worst[(t1, "lifecycle")][:2] == (1200.0, "lignite")


def test_merit_order_over_the_bundled_units(spark, registry, writer):
    # One local day (2024-01-15, CET) of hourly national rows over the committed unit table and parameters: the
    # marginal unit is a real OPSD unit whose own factor is the direct g/kWh; hand-computed cases are in
    # test_merit_order.py.
    day_start = datetime(2024, 1, 14, 23, tzinfo=UTC)
    hours = [day_start + timedelta(hours=h) for h in range(20)]
    rows = []
    for i, hour in enumerate(hours):
        rows += [prod_row(hour, "wind_onshore", 10000, minutes=60), prod_row(hour, "nuclear", 8000, minutes=60),
                 prod_row(hour, "lignite", 8000 + 400 * i, minutes=60), prod_row(hour, "natural_gas", 3000, minutes=60)]
    write_factors(spark, writer)
    write_prices(spark, writer, base_prices())
    write_production(spark, writer, rows)
    materialise_gold(spark, registry)

    merit = intensity(spark, "merit_order")
    assert len(merit) == 20 * 2
    units = {u["unit_id"]: u for u in stack_units()}
    for (start, basis), (g, determined_by, total, resolution) in merit.items():
        fuel, unit_id = determined_by.split(":")
        assert units[unit_id]["fuel"] == fuel and fuel != "nuclear"
        direct = units[unit_id]["co2_t_per_mwh_th"] / units[unit_id]["efficiency"] * 1000
        kind = units[unit_id]["production_type"]
        upstream = FACTORS[(kind, "lifecycle")] - FACTORS[(kind, "direct")]
        assert g == pytest.approx(direct if basis == "direct" else direct + upstream)
        assert resolution == "hour" and total == pytest.approx(10000 + 8000 + 8000 + 400 * hours.index(start) + 3000)
    # more fossil output moves the margin up the stack (never down): the first and last hours differ
    assert merit[(hours[0], "direct")][1] != merit[(hours[-1], "direct")][1]

    # The builder is usable on its own (same rows as the view's merit_order part).
    alone = spark.sql(merit_order_sql(registry)).where("basis = 'direct'").collect()
    assert len(alone) == 20
    assert {r.model for r in alone} == {"merit_order"}


def test_dst_day_has_92_quarter_hours_per_model_and_basis(spark, registry, writer):
    start = datetime(2024, 3, 30, 23, tzinfo=UTC)  # 2024-03-31 00:00 CET
    quarters = [start + timedelta(minutes=15 * i) for i in range(92)]  # until 2024-03-31 24:00 CEST = 22:00Z
    assert quarters[-1] + timedelta(minutes=15) == datetime(2024, 3, 31, 22, tzinfo=UTC)
    write_factors(spark, writer)
    write_prices(spark, writer, base_prices())
    rows = [prod_row(q, kind, mwh) for q in quarters for kind, mwh in (("lignite", 2000), ("wind_onshore", 3000))]
    writer.replace_days(
        "silver.production", spark.createDataFrame(rows, spec("silver.production").ddl), date(2024, 3, 31), date(2024, 3, 31)
    )
    materialise_gold(spark, registry)

    counts = {
        (r.model, r.basis): r.n
        for r in spark.sql(
            "SELECT model, basis, count(*) AS n, count(DISTINCT interval_start) AS d FROM gold.grid_intensity "
            "GROUP BY model, basis"
        ).collect()
    }
    assert counts == {(m, b): 92 for m in ("average", "worst_emitter", "merit_order") for b in ("direct", "lifecycle")}
    days = spark.sql("SELECT DISTINCT year, month, day FROM gold.production_emissions").collect()
    assert [tuple(r) for r in days] == [(2024, 3, 31)]
    assert spark.sql("SELECT count(*) AS n FROM gold.production_emissions").collect()[0].n == 92 * 2 * 2


def test_factor_change_uses_the_local_date(spark, registry, writer):
    change = date(2024, 6, 1)
    write_factors(spark, writer, [
        factor_row("lignite", "direct", 1100.0, date(2024, 1, 1), change, factor_id="lig-v1"),
        factor_row("lignite", "direct", 1000.0, change, None, factor_id="lig-v2"),
        # a retired (superseded in transaction time) version: never used
        factor_row("lignite", "direct", 9999.0, date(2024, 1, 1), None, factor_id="lig-old",
                   retired_at=datetime(2024, 2, 1, tzinfo=UTC)),
        factor_row("wind_onshore", "direct", 0.0, date(2024, 1, 1)),
    ])
    before = datetime(2024, 5, 31, 21, 45, tzinfo=UTC)  # 23:45 CEST on May 31
    after_midnight = datetime(2024, 5, 31, 22, 30, tzinfo=UTC)  # 00:30 CEST on June 1, still May 31 in UTC
    early, late = datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 6, 10, 10, tzinfo=UTC)
    write_production(spark, writer, [
        row for t in (before, after_midnight, early, late)
        for row in (prod_row(t, "lignite", 100), prod_row(t, "wind_onshore", 100))
    ])
    materialise_gold(spark, registry)

    factor_ids = {
        r.start.replace(tzinfo=UTC) if r.start.tzinfo is None else r.start.astimezone(UTC): (r.factor_id, r.g_per_kwh, r.day)
        for r in spark.sql(
            "SELECT interval_start AS start, factor_id, g_per_kwh, day FROM gold.production_emissions "
            "WHERE production_type = 'lignite'"
        ).collect()
    }
    assert factor_ids == {
        early: ("lig-v1", 1100.0, 1),
        before: ("lig-v1", 1100.0, 31),
        after_midnight: ("lig-v2", 1000.0, 1),
        late: ("lig-v2", 1000.0, 10),
    }
    average = intensity(spark, "average")
    assert average[(before, "direct")][0] == pytest.approx(550.0)
    assert average[(after_midnight, "direct")][0] == pytest.approx(500.0)
