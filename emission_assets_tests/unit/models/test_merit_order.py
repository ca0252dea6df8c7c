"""The unit-level merit order on hand-computed stacks (embedded engine): which unit is marginal and why.

The stack (emission_assets_tests/support/merit_stack.py): L1 lignite 1000 MW (20.175 EUR/MWh), C1 hard coal 500 MW
(33.375), G1 gas CCGT 400 MW (36.70 at gas 20, 28.37 at gas 15), O1 oil 100 MW (106.65); availability 1, no O&M, no
must-run unless a test sets it.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from emission_assets.models.merit_order import implied_dispatch_sql, marginal_units_sql, merit_order_sql
from emission_assets_tests.support.merit_stack import (
    DIRECT,
    base_prices,
    fossil_rows,
    hours,
    price_row,
    stack_parameters,
    write_prices,
)
from emission_assets_tests.support.silver_rows import factor_row, write_factors, write_production

JAN = datetime(2024, 1, 10, 0, tzinfo=UTC)
FEB = datetime(2024, 2, 10, 0, tzinfo=UTC)


def utc(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def marginal(spark, registry, parameters, known_at=None, region="DE"):
    rows = spark.sql(marginal_units_sql(registry, known_at, parameters)).where(f"region = '{region}'").collect()
    return {utc(r.interval_start): r for r in rows}


def units(found, times=None):
    """The marginal unit per interval (of ``times`` only, when given: the months' quiet hours are left out)."""
    return {start: row.marginal_unit_id for start, row in found.items() if times is None or start in times}


def quiet(month_start, **others):
    """An hour with no lignite, hard coal or gas output: the month's minimum, so quantile 0 gives must-run 0."""
    return fossil_rows(month_start + timedelta(days=3), **others)


def test_a_unit_becomes_marginal_as_the_residual_crosses_its_cumulative_capacity(spark, registry, writer, tmp_path):
    # residual = lignite + hard coal + gas output (must-run 0): stack L1 0-1000, C1 -1500, G1 -1900, O1 -2000 MW
    residuals = [0.0, 999.0, 1000.0, 1001.0, 1500.0, 1501.0, 1900.0, 1950.0, 2500.0]
    times = hours(JAN, len(residuals))
    write_prices(spark, writer, base_prices())
    write_production(spark, writer, [row for t, r in zip(times, residuals, strict=True)
                                     for row in fossil_rows(t, lignite=r * 0.6, natural_gas=r * 0.4)])
    found = marginal(spark, registry, stack_parameters(tmp_path))

    assert [found[t].marginal_unit_id for t in times] == ["L1", "L1", "L1", "C1", "C1", "G1", "G1", "O1", "O1"]
    # a residual <= 0 takes the cheapest unit; above the whole stack (2000 MW) the most expensive one
    assert [found[t].residual_mw for t in times] == pytest.approx(residuals)
    crossing = found[times[3]]
    assert (crossing.marginal_fuel, crossing.marginal_production_type) == ("hard_coal", "hard_coal")
    assert crossing.marginal_g_per_kwh_direct == pytest.approx(837.5)
    assert crossing.srmc_eur_per_mwh == pytest.approx(10 / 0.4 + 0.335 / 0.4 * 10)
    assert found[times[7]].marginal_production_type == "other_conventional"  # the oil units top the stack


def test_coal_gas_switch_when_the_prices_cross(spark, registry, writer, tmp_path):
    # January gas 20 (G1 36.70 > C1 33.375), February gas 15 (G1 28.37 < C1): the order L1, C1, G1 becomes L1, G1, C1
    write_prices(spark, writer, [*base_prices(date(2024, 1, 1)),
                                 price_row("natural_gas", date(2024, 2, 1), 15.0, price_id="gas-feb")])
    write_production(spark, writer, [*fossil_rows(JAN, lignite=1000, hard_coal=200), *quiet(JAN),
                                     *fossil_rows(FEB, lignite=1000, hard_coal=200), *quiet(FEB)])
    found = marginal(spark, registry, stack_parameters(tmp_path))
    assert units(found, [JAN, FEB]) == {JAN: "C1", FEB: "G1"}
    assert found[FEB].srmc_eur_per_mwh == pytest.approx(15 / 0.6 + 0.202 / 0.6 * 10)
    assert found[FEB].marginal_g_per_kwh_direct == pytest.approx(DIRECT["G1"])


def test_a_price_change_in_the_price_dimension_is_applied_point_in_time(spark, registry, writer, tmp_path):
    corrected = datetime(2024, 3, 1, tzinfo=UTC)
    write_prices(spark, writer, [
        price_row("eua", date(2024, 1, 1), 10.0), price_row("hard_coal", date(2024, 1, 1), 10.0),
        price_row("oil", date(2024, 1, 1), 40.0),
        price_row("natural_gas", date(2024, 1, 1), 20.0, price_id="gas-v1", retired_at=corrected),  # as first known
        price_row("natural_gas", date(2024, 1, 1), 15.0, price_id="gas-v2", recorded_at=corrected),  # the correction
    ])
    write_production(spark, writer, [*fossil_rows(JAN, lignite=1000, hard_coal=200), *quiet(JAN)])
    parameters = stack_parameters(tmp_path)
    assert units(marginal(spark, registry, parameters), [JAN]) == {JAN: "G1"}
    assert units(marginal(spark, registry, parameters, known_at=corrected - timedelta(days=1)), [JAN]) == {JAN: "C1"}
    assert units(marginal(spark, registry, parameters, known_at=corrected), [JAN]) == {JAN: "G1"}
    assert units(marginal(spark, registry, parameters, known_at=datetime(2023, 12, 1, tzinfo=UTC)), [JAN]) == {JAN: None}


def test_must_run_removes_the_level_and_locks_the_cheapest_units_of_its_type(spark, registry, writer, tmp_path):
    # gas 15 (G1 28.37 between L1 and C1); gas output 0, 400, 400, 400 MW: its median (must-run at 0.5) is 400
    write_prices(spark, writer, base_prices(gas=15.0))
    times = hours(JAN, 3)
    write_production(spark, writer, [*quiet(JAN), *fossil_rows(times[0], natural_gas=400),
                                     *fossil_rows(times[1], lignite=800, natural_gas=400),
                                     *fossil_rows(times[2], lignite=1050, natural_gas=400)])
    locked = marginal(spark, registry, stack_parameters(tmp_path, must_run_quantile={"natural_gas": 0.5}))
    # residual = output - 400; G1 is locked (out of the flexible stack): L1 0-1000, C1 -1500
    assert [locked[t].residual_mw for t in times] == pytest.approx([0.0, 800.0, 1050.0])
    assert units(locked, times) == {times[0]: "L1", times[1]: "L1", times[2]: "C1"}  # not G1 at 1050
    # without must-run (quantile 0: the quiet hour's 0) G1 is flexible: L1 0-1000, G1 -1400, C1 -1900
    free = marginal(spark, registry, stack_parameters(tmp_path))
    assert [free[t].residual_mw for t in times] == pytest.approx([400.0, 1200.0, 1450.0])
    assert units(free, times) == {times[0]: "L1", times[1]: "G1", times[2]: "C1"}


def test_the_unit_that_crosses_the_must_run_level_keeps_its_remainder_flexible(spark, registry, writer, tmp_path):
    # gas output 300 MW in every hour: 300 of G1's 400 MW are locked, 100 MW stay flexible (L1 1000, G1 1100, C1 1600)
    write_prices(spark, writer, base_prices(gas=15.0))
    times = hours(JAN, 2)
    write_production(spark, writer, [*quiet(JAN, natural_gas=300),
                                     *fossil_rows(times[0], lignite=1050, natural_gas=300),
                                     *fossil_rows(times[1], lignite=1150, natural_gas=300)])
    found = marginal(spark, registry, stack_parameters(tmp_path, must_run_quantile={"natural_gas": 0.05}))
    assert units(found, times) == {times[0]: "G1", times[1]: "C1"}
    assert [found[t].residual_mw for t in times] == pytest.approx([1050.0, 1150.0])


def test_the_must_run_quantile_is_the_months_low_quantile_of_the_types_output(spark, registry, writer, tmp_path):
    # lignite output 100, 200, ..., 2000 MW over 20 hours: percentile 0.05 = 195 MW, 0.5 = 1050 MW (exact percentile)
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 20)
    write_production(spark, writer, [row for i, t in enumerate(times) for row in fossil_rows(t, lignite=100.0 * (i + 1))])
    low = marginal(spark, registry, stack_parameters(tmp_path, must_run_quantile={"lignite": 0.05}))
    high = marginal(spark, registry, stack_parameters(tmp_path, must_run_quantile={"lignite": 0.5}))
    last = times[-1]  # 2000 MW of lignite output
    assert low[last].residual_mw == pytest.approx(2000.0 - 195.0)
    assert high[last].residual_mw == pytest.approx(2000.0 - 1050.0)
    # L1 locks 195 MW (805 flexible: C1 805-1305, G1 -1705, O1 -1805) vs 1000 MW (fully locked: C1 0-500, ...)
    assert (low[last].marginal_unit_id, high[last].marginal_unit_id) == ("O1", "O1")
    middle = times[11]  # 1200 MW: residual 1005 at 0.05, 150 at 0.5: both in C1's range
    assert (low[middle].marginal_unit_id, high[middle].marginal_unit_id) == ("C1", "C1")
    assert low[middle].residual_mw == pytest.approx(1005.0) and high[middle].residual_mw == pytest.approx(150.0)
    early = times[8]  # 900 MW: residual 705 (L1's flexible 805) at 0.05; -150 at 0.5 (the cheapest flexible: C1)
    assert (low[early].marginal_unit_id, high[early].marginal_unit_id) == ("L1", "C1")


def test_nuclear_storage_renewables_and_other_conventional_never_enter_the_residual(spark, registry, writer, tmp_path):
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 2)
    write_production(spark, writer, [
        *quiet(JAN), *fossil_rows(times[0], lignite=1200),
        *fossil_rows(times[1], lignite=1200, nuclear=8000, pumped_storage=5000, wind_onshore=20000,
                     other_conventional=700, biomass=4000),
    ])
    found = marginal(spark, registry, stack_parameters(tmp_path))
    assert units(found, times) == {times[0]: "C1", times[1]: "C1"}
    assert found[times[1]].residual_mw == pytest.approx(1200.0)
    empty = hours(JAN + timedelta(days=1), 1)[0]  # only nuclear and storage produce: the cheapest unit, not nuclear
    write_production(spark, writer, [*fossil_rows(empty, nuclear=9000, pumped_storage=6000)])
    assert marginal(spark, registry, stack_parameters(tmp_path))[empty].marginal_unit_id == "L1"


def test_every_region_takes_the_national_marginal_unit(spark, registry, writer, tmp_path):
    write_prices(spark, writer, base_prices())
    write_production(spark, writer, [*fossil_rows(JAN, lignite=1200), *quiet(JAN),
                                     *fossil_rows(JAN, lignite=50, region="50Hertz", wind_onshore=900),
                                     *fossil_rows(FEB, lignite=5000, region="Amprion")])  # no national row in Feb
    parameters = stack_parameters(tmp_path)
    assert units(marginal(spark, registry, parameters, region="50Hertz")) == {JAN: "C1"}
    assert marginal(spark, registry, parameters, region="Amprion") == {}
    rows = spark.sql(merit_order_sql(registry, None, parameters)).where("region = '50Hertz'").collect()
    assert {(r.basis, r.determined_by, r.production_mwh) for r in rows} == {("direct", "hard_coal:C1", 950.0)}


def test_no_stack_gives_null_units_and_no_merit_order_row(spark, registry, writer, tmp_path):
    # units commissioned after the year, or a month without an EUA price: nothing is marginal
    write_prices(spark, writer, [price_row("hard_coal", date(2024, 1, 1), 10.0),
                                 price_row("eua", date(2024, 2, 1), 10.0)])
    write_production(spark, writer, [*fossil_rows(JAN, lignite=800), *fossil_rows(FEB, lignite=800), *quiet(JAN),
                                     *quiet(FEB)])
    late = [{**u, "commissioned_year": 2030} for u in
            [{"unit_id": "L1", "fuel": "lignite", "capacity_net_mw": 1000, "efficiency": 0.4}]]
    found = marginal(spark, registry, stack_parameters(tmp_path))
    assert units(found, [JAN, FEB]) == {JAN: None, FEB: "L1"}  # no EUA price in January
    assert found[JAN].residual_mw == pytest.approx(800.0) and found[JAN].marginal_g_per_kwh_direct is None
    assert units(marginal(spark, registry, stack_parameters(tmp_path, units=late)), [JAN, FEB]) == {JAN: None, FEB: None}
    rows = spark.sql(merit_order_sql(registry, None, stack_parameters(tmp_path))).collect()
    assert {utc(r.interval_start) for r in rows} == {FEB, FEB + timedelta(days=3)}


def test_shut_down_units_leave_the_stack_in_their_shutdown_year(spark, registry, writer, tmp_path):
    units_list = [{"unit_id": "L1", "fuel": "lignite", "capacity_net_mw": 1000, "efficiency": 0.4, "shutdown_year": 2024},
                  {"unit_id": "C1", "fuel": "hard_coal", "capacity_net_mw": 500, "efficiency": 0.4,
                   "commissioned_year": 2023}]
    first = datetime(2023, 6, 1, tzinfo=UTC)
    write_prices(spark, writer, base_prices(date(2023, 1, 1)))
    write_production(spark, writer, [*fossil_rows(first, lignite=300), *fossil_rows(JAN, lignite=300), *quiet(first),
                                     *quiet(JAN)])
    found = marginal(spark, registry, stack_parameters(tmp_path, units=units_list))
    assert units(found, [first, JAN]) == {first: "L1", JAN: "C1"}


def test_merit_order_rows_use_the_units_own_factor_and_its_types_upstream_share(spark, registry, writer, tmp_path):
    write_factors(spark, writer, [factor_row("hard_coal", "direct", 850.0), factor_row("hard_coal", "lifecycle", 910.0),
                                  factor_row("lignite", "direct", 1100.0)])  # lignite: no lifecycle factor
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 2)
    write_production(spark, writer, [*fossil_rows(times[0], lignite=1200, wind_onshore=800),
                                     *fossil_rows(times[1], lignite=600), *quiet(JAN)])
    rows = spark.sql(merit_order_sql(registry, None, stack_parameters(tmp_path))).collect()
    got = {(utc(r.interval_start), r.basis): (r.g_per_kwh, r.determined_by, r.production_mwh, r.model)
           for r in rows if utc(r.interval_start) in times}
    assert got == {
        (times[0], "direct"): (pytest.approx(837.5), "hard_coal:C1", 2000.0, "merit_order"),
        (times[0], "lifecycle"): (pytest.approx(837.5 + 60.0), "hard_coal:C1", 2000.0, "merit_order"),
        (times[1], "direct"): (pytest.approx(1017.5), "lignite:L1", 600.0, "merit_order"),
    }


def test_implied_dispatch_per_type_against_the_measured_energy(spark, registry, writer, tmp_path):
    # must-run gas 400 (G1 locked at gas 15); hour 1: residual 1200 -> L1 full 1000, C1 200; hour 2: residual 0
    write_prices(spark, writer, base_prices(gas=15.0))
    times = hours(JAN, 2)
    write_production(spark, writer, [*fossil_rows(times[0], lignite=1100, hard_coal=100, natural_gas=400,
                                                  other_conventional=50),
                                     *fossil_rows(times[1], natural_gas=400)])
    parameters = stack_parameters(tmp_path, must_run_quantile={"natural_gas": 0.5})
    rows = spark.sql(implied_dispatch_sql(registry, None, parameters)).collect()
    got = {r.production_type: (r.implied_energy_mwh, r.measured_energy_mwh) for r in rows}
    assert {(r.year, r.month, r.region) for r in rows} == {(2024, 1, "DE")}
    assert got == {
        "lignite": (pytest.approx(1000.0), pytest.approx(1100.0)),
        "hard_coal": (pytest.approx(200.0), pytest.approx(100.0)),
        "natural_gas": (pytest.approx(800.0), pytest.approx(800.0)),  # must-run 400 MW in both hours
        "other_conventional": (pytest.approx(50.0), pytest.approx(50.0)),
    }
