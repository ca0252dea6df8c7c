"""Availability from the data: a type's units offer at most the month's ``availability_quantile`` of its output.

Hand-computed on the test stack (emission_assets_tests/support/merit_stack.py): L1 lignite 1000 MW (20.175 EUR/MWh),
C1 hard coal 500 MW (33.375), G1 gas 400 MW (36.70), O1 oil 100 MW; must-run 0 (quantile 0 with a quiet hour).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emission_assets.models.merit_order import implied_dispatch_sql, marginal_units_sql
from emission_assets_tests.support.merit_stack import (
    STACK_UNITS,
    base_prices,
    fossil_rows,
    hours,
    stack_parameters,
    write_prices,
)
from emission_assets_tests.support.silver_rows import write_production

JAN = datetime(2024, 1, 10, 0, tzinfo=UTC)
FEB = datetime(2024, 2, 10, 0, tzinfo=UTC)
LIGNITE_ONLY = {"lignite": 1.0, "hard_coal": None, "natural_gas": None}


def marginal(spark, registry, parameters):
    rows = spark.sql(marginal_units_sql(registry, None, parameters)).where("region = 'DE'").collect()
    return {r.interval_start.astimezone(UTC): r.marginal_unit_id for r in rows}


def implied(spark, registry, parameters):
    rows = spark.sql(implied_dispatch_sql(registry, None, parameters)).collect()
    return {(r.month, r.production_type): r.implied_energy_mwh for r in rows}


def test_a_month_whose_lower_maximum_output_derates_the_fuel(spark, registry, writer, tmp_path):
    # January: lignite never above 600 MW, so L1 offers 600 (not 1000): an hour of 600 lignite + 100 hard coal
    # (residual 700) is C1's (L1 0-600, C1 600-1100). February: lignite reaches 1000 MW, the same hour is L1's.
    write_prices(spark, writer, base_prices())
    jan, feb = hours(JAN, 2), hours(FEB, 2)
    write_production(spark, writer, [
        *fossil_rows(jan[0], lignite=600, hard_coal=100), *fossil_rows(jan[1], lignite=300),
        *fossil_rows(JAN + timedelta(days=3)),
        *fossil_rows(feb[0], lignite=600, hard_coal=100), *fossil_rows(feb[1], lignite=1000),
        *fossil_rows(FEB + timedelta(days=3)),
    ])
    derated = marginal(spark, registry, stack_parameters(tmp_path, availability_quantile=LIGNITE_ONLY))
    assert (derated[jan[0]], derated[feb[0]]) == ("C1", "L1")
    assert (derated[jan[1]], derated[feb[1]]) == ("L1", "L1")  # 300 <= 600; 1000 <= 1000
    fixed = marginal(spark, registry, stack_parameters(tmp_path))  # availability_quantile null: L1 offers 1000
    assert (fixed[jan[0]], fixed[feb[0]]) == ("L1", "L1")
    # the implied energy follows: in January L1 runs 600 MWh in the 700 MW hour and C1 the other 100
    energy = implied(spark, registry, stack_parameters(tmp_path, availability_quantile=LIGNITE_ONLY))
    assert (energy[(1, "lignite")], energy[(1, "hard_coal")]) == (pytest.approx(900.0), pytest.approx(100.0))
    assert (energy[(2, "lignite")], energy[(2, "hard_coal")]) == (pytest.approx(1700.0), pytest.approx(0.0))


def test_the_availability_quantile_and_the_ceiling_set_the_types_available_capacity(spark, registry, writer,
                                                                                   tmp_path):
    # lignite 100, 200, ..., 2000 MW over 20 hours (residual = lignite output; L1 always the cheapest unit):
    # quantile 0.25 = 575 MW (exact percentile: 500 + 0.75 x 100) -> L1 runs min(residual, 575) each hour:
    #   100 + 200 + 300 + 400 + 500 + 15 x 575 = 10,125 MWh; quantile 1 = 2000 MW, capped by the ceiling
    #   (availability 1: 1000 MW) -> 100 + ... + 1000 + 10 x 1000 = 15,500 MWh; ceiling 0.5 -> 500 MW:
    #   100 + 200 + 300 + 400 + 500 + 15 x 500 = 9,000 MWh (the ceiling wins where it is lower than the data)
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 20)
    write_production(spark, writer, [row for i, t in enumerate(times) for row in fossil_rows(t, lignite=100.0 * (i + 1))])
    cases = [({"lignite": 0.25}, {}, 10125.0), ({"lignite": 1.0}, {}, 15500.0),
             ({"lignite": 1.0}, {"availability": {"lignite": 0.5}}, 9000.0),
             ({"lignite": 0.25}, {"availability": {"lignite": 0.5}}, 9000.0)]
    for quantile, more, lignite_mwh in cases:
        parameters = stack_parameters(tmp_path, availability_quantile={**LIGNITE_ONLY, **quantile}, **more)
        assert implied(spark, registry, parameters)[(1, "lignite")] == pytest.approx(lignite_mwh), (quantile, more)
    sixth = times[5]  # 600 MW: above 575 (C1 marginal) but within 1000
    assert marginal(spark, registry, stack_parameters(tmp_path, availability_quantile={**LIGNITE_ONLY,
                                                                                          "lignite": 0.25}))[sixth] == "C1"
    assert marginal(spark, registry, stack_parameters(tmp_path, availability_quantile=LIGNITE_ONLY))[sixth] == "L1"


def test_the_types_available_capacity_is_spread_pro_rata_over_its_units(spark, registry, writer, tmp_path):
    # two lignite units of 1000 MW (L2 dearer: eff 0.35 -> 4/0.35 + 0.407/0.35*10 = 23.06); lignite never above
    # 1000 MW, so each offers 500: residual 700 is L2's (L1 0-500, L2 500-1000); without the derate L1 covers it
    units = [*STACK_UNITS, {"unit_id": "L2", "fuel": "lignite", "capacity_net_mw": 1000, "efficiency": 0.35}]
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 2)
    write_production(spark, writer, [*fossil_rows(times[0], lignite=700), *fossil_rows(times[1], lignite=1000),
                                     *fossil_rows(JAN + timedelta(days=3))])
    derated = marginal(spark, registry, stack_parameters(tmp_path, units=units, availability_quantile=LIGNITE_ONLY))
    assert (derated[times[0]], derated[times[1]]) == ("L2", "L2")
    fixed = marginal(spark, registry, stack_parameters(tmp_path, units=units))
    assert (fixed[times[0]], fixed[times[1]]) == ("L1", "L1")


def test_a_type_without_a_quantile_keeps_its_ceiling_and_oil_is_never_derated_by_the_data(spark, registry, writer,
                                                                                         tmp_path):
    # hard coal and gas derated to their (zero) output: C1 and G1 leave the stack, so above L1 the oil unit is next
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 1)
    write_production(spark, writer, [*fossil_rows(times[0], lignite=1050), *fossil_rows(JAN + timedelta(days=3))])
    every = {"lignite": 1.0, "hard_coal": 1.0, "natural_gas": 1.0}
    assert marginal(spark, registry, stack_parameters(tmp_path, availability_quantile=every))[times[0]] == "O1"
    assert marginal(spark, registry, stack_parameters(tmp_path, availability_quantile=LIGNITE_ONLY))[times[0]] == "C1"


def test_at_the_months_peak_the_residual_reaches_the_last_unit_of_the_type_despite_rounding(spark, registry, writer,
                                                                                          tmp_path):
    # Three lignite units of 600, 300 and 100 MW (same cost: ordered by id) derated to the month's maximum, 502 MW:
    # they offer 301.2, 150.6 and 50.2 MW, together exactly 502 MW, but their float running sum is 501.99999999999994.
    # In the peak hour the residual is exactly 502 MW, reached by L3 (the method's "first unit whose cumulative
    # capacity reaches the residual"), not by the next unit C1; this tie is structural (the peak hour of a type
    # derated to its maximum, the five-year benchmark has one a month in some months) and must not turn on rounding.
    # A residual of 502.001 MW is C1's, 501.9 MW L3's.
    units = [{"unit_id": name, "fuel": "lignite", "capacity_net_mw": mw, "efficiency": 0.4}
             for name, mw in (("L1", 600), ("L2", 300), ("L3", 100))] + STACK_UNITS[1:]
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 3)
    write_production(spark, writer, [*fossil_rows(times[0], lignite=502.0),
                                     *fossil_rows(times[1], lignite=502.0, hard_coal=0.001),
                                     *fossil_rows(times[2], lignite=501.9), *fossil_rows(JAN + timedelta(days=3))])
    found = marginal(spark, registry, stack_parameters(tmp_path, units=units, availability_quantile=LIGNITE_ONLY))
    assert [found[t] for t in times] == ["L3", "C1", "L3"]
