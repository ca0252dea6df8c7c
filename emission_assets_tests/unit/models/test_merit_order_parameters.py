"""Every parameter of merit_order.yaml and every rule of the stack is pinned: changing one changes a result here.

The committed values are pinned literally (a calibration change must be a reviewed change of this test too, with a
new ``version`` and a regenerated docs/validation.md); each parameter's effect is pinned on the hand-computed stack
of emission_assets_tests/support/merit_stack.py (see test_merit_order.py for its numbers).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from emission_assets.errors import UserInputError
from emission_assets.models.merit_order import (
    implied_dispatch_sql,
    load_parameters,
    marginal_units_sql,
    merit_order_sql,
    stack_units,
)
from emission_assets.models.merit_parameters import PARAMETERS_PATH
from emission_assets_tests.support.merit_stack import (
    base_prices,
    fossil_rows,
    hours,
    stack_parameters,
    write_prices,
)
from emission_assets_tests.support.silver_rows import write_production

JAN = datetime(2024, 1, 10, 0, tzinfo=UTC)
QUIET = JAN + timedelta(days=3)


def test_the_committed_calibration_is_pinned():
    p = load_parameters()
    assert p.version == 2
    assert (p.plant_units_file, p.national_region, p.ccgt_min_efficiency, p.require_eic_code) == (
        "plant_units.csv", "DE", 0.5, False)
    assert p.lignite_fuel_cost == 1.5
    assert p.min_efficiency == {"lignite": 0.3, "hard_coal": 0.3, "natural_gas_ccgt": 0.0, "natural_gas_other": 0.0,
                                "oil": 0.0}
    assert p.must_run_quantile == {"lignite": 0.05, "hard_coal": 0.3, "natural_gas": 0.5}
    assert p.availability_quantile == {"lignite": 1.0, "hard_coal": 1.0, "natural_gas": 1.0}
    assert p.availability == {"lignite": 0.93, "hard_coal": 0.75, "natural_gas_ccgt": 0.73,
                              "natural_gas_other": 0.73, "oil": 0.75}
    assert p.variable_om == {"lignite": 4.1005, "hard_coal": 4.1005, "natural_gas_ccgt": 5.8775,
                             "natural_gas_other": 6.0111, "oil": 8.0148}
    assert p.co2_factor == {"lignite": 0.407, "hard_coal": 0.335, "natural_gas_ccgt": 0.202,
                            "natural_gas_other": 0.202, "oil": 0.266}


def test_the_committed_stack_has_no_never_marginal_type_and_its_gas_split_follows_the_threshold():
    units = stack_units()
    assert {u["production_type"] for u in units} == {"lignite", "hard_coal", "natural_gas", "other_conventional"}
    assert len(units) == 495 - 8  # every fossil OPSD block in the market (plant_units.md) but 8 coal blocks < 0.30
    assert min(u["efficiency"] for u in units if u["fuel"] in ("lignite", "hard_coal")) >= 0.3
    for unit in units:
        if unit["production_type"] == "natural_gas":
            assert (unit["fuel"] == "natural_gas_ccgt") == (unit["efficiency"] >= 0.5), unit["unit_id"]
    lignite = next(u for u in units if u["fuel"] == "lignite")
    assert lignite["available_mw"] == pytest.approx(lignite["capacity_net_mw"] * 0.93)
    assert lignite["fixed_fuel_price"] == 1.5 and lignite["vom_eur_per_mwh"] == 4.1005


def marginal_at(spark, registry, parameters, when):
    rows = spark.sql(marginal_units_sql(registry, None, parameters)).where("region = 'DE'").collect()
    found = {(r.interval_start.replace(tzinfo=UTC) if r.interval_start.tzinfo is None else r.interval_start): r
             for r in rows}
    return found[when]


@pytest.fixture
def residual_900(spark, writer):
    """One national hour with 900 MW of lignite (+ a quiet hour: must-run 0 at quantile 0): marginal L1 (0-1000)."""
    write_prices(spark, writer, base_prices())
    write_production(spark, writer, [*fossil_rows(JAN, lignite=900), *fossil_rows(QUIET)])


@pytest.mark.parametrize(("change", "unit", "why"), [
    ({}, "L1", "the base case"),
    ({"lignite_fuel_cost": 20.0}, "G1", "L1 costs 20/0.4 + 10.175 = 60.2: C1 0-500, G1 -900, L1 ..."),
    ({"availability": {"lignite": 0.5}}, "C1", "L1 offers 500 MW only: L1 0-500, C1 -1000"),
    ({"availability_quantile": {"lignite": 0.5}}, "C1", "L1 offers the median of its 900 and 0 MW: L1 0-450, C1 -950"),
    ({"availability_quantile": {"lignite": 0.0}}, "G1", "L1 offers the quiet hour's 0 MW: C1 0-500, G1 -900"),
    ({"variable_om": {"lignite": 20.0}}, "G1", "L1 costs 40.175 > G1's 36.70: C1 0-500, G1 -900"),
    ({"co2_factor": {"lignite": 2.0}}, "G1", "L1 costs 10 + 2/0.4*10 = 60"),
    ({"min_efficiency": {"lignite": 0.45}}, "G1", "L1 (0.4) is left out: C1 0-500, G1 -900"),
    ({"require_eic_code": True}, None, "no test unit has an EIC code: no stack"),
    ({"national_region": "50Hertz"}, "missing", "no production of that region"),
])
def test_each_cost_and_stack_parameter_moves_the_marginal_unit(spark, registry, tmp_path, residual_900, change,
                                                               unit, why):
    parameters = stack_parameters(tmp_path, **change)
    rows = [r for r in spark.sql(marginal_units_sql(registry, None, parameters)).collect()
            if r.interval_start.replace(tzinfo=UTC) == JAN]
    if unit == "missing":
        assert rows == [], why
    else:
        assert [r.marginal_unit_id for r in rows] == [unit], why


def test_the_co2_factor_sets_the_marginal_factor(spark, registry, tmp_path, residual_900):
    base = marginal_at(spark, registry, stack_parameters(tmp_path), JAN)
    assert base.marginal_g_per_kwh_direct == pytest.approx(1017.5)
    # 0.38 keeps L1 the cheapest (9.5 + 10 = 19.5 EUR/MWh) and gives 950 g/kWh
    lower = marginal_at(spark, registry, stack_parameters(tmp_path, co2_factor={"lignite": 0.38}), JAN)
    assert (lower.marginal_unit_id, lower.marginal_g_per_kwh_direct) == ("L1", pytest.approx(950.0))


def test_the_ccgt_threshold_reclassifies_a_gas_unit(spark, registry, tmp_path, writer):
    # gas 15: G1 (eff 0.6) costs 28.37 < C1; residual 1200 -> G1 (1000-1400); as "other gas" its O&M applies too
    write_prices(spark, writer, base_prices(gas=15.0))
    write_production(spark, writer, [*fossil_rows(JAN, lignite=1200), *fossil_rows(QUIET)])
    ccgt = marginal_at(spark, registry, stack_parameters(tmp_path), JAN)
    other = marginal_at(spark, registry, stack_parameters(tmp_path, ccgt_min_efficiency=0.65,
                                                          variable_om={"natural_gas_other": 1.0}), JAN)
    assert (ccgt.marginal_unit_id, ccgt.marginal_fuel) == ("G1", "natural_gas_ccgt")
    assert (other.marginal_unit_id, other.marginal_fuel) == ("G1", "natural_gas_other")
    assert other.srmc_eur_per_mwh == pytest.approx(ccgt.srmc_eur_per_mwh + 1.0)


def test_must_run_quantile_0_05_against_0_5_changes_the_result(spark, registry, tmp_path, writer):
    # 20 hours of lignite 100..2000 MW: must-run 195 MW at 0.05, 1050 MW at 0.5 (test_merit_order.py)
    write_prices(spark, writer, base_prices())
    times = hours(JAN, 20)
    write_production(spark, writer, [row for i, t in enumerate(times) for row in fossil_rows(t, lignite=100.0 * (i + 1))])
    low = marginal_at(spark, registry, stack_parameters(tmp_path, must_run_quantile={"lignite": 0.05}), times[8])
    high = marginal_at(spark, registry, stack_parameters(tmp_path, must_run_quantile={"lignite": 0.5}), times[8])
    assert (low.marginal_unit_id, low.residual_mw) == ("L1", pytest.approx(705.0))
    assert (high.marginal_unit_id, high.residual_mw) == ("C1", pytest.approx(-150.0))


def test_pumped_storage_is_never_marginal_however_expensive_or_large(spark, registry, tmp_path, writer):
    # storage at the margin would need it in the stack; its output does not even enter the residual
    write_prices(spark, writer, base_prices())
    write_production(spark, writer, [*fossil_rows(JAN, lignite=900, pumped_storage=9000, nuclear=9000),
                                     *fossil_rows(QUIET, pumped_storage=9000)])
    parameters = stack_parameters(tmp_path)
    found = marginal_at(spark, registry, parameters, JAN)
    assert (found.marginal_unit_id, found.residual_mw) == ("L1", pytest.approx(900.0))
    kinds = {r.determined_by.split(":")[0] for r in spark.sql(merit_order_sql(registry, None, parameters)).collect()}
    assert kinds == {"lignite"}
    dispatch = {r.production_type for r in spark.sql(implied_dispatch_sql(registry, None, parameters)).collect()}
    assert dispatch == {"lignite", "hard_coal", "natural_gas", "other_conventional"}


def test_a_bad_parameter_file_names_the_file_and_the_key(tmp_path):
    text = PARAMETERS_PATH.read_text()
    cases = {
        "availability": (text.replace("lignite: 0.93,", "lignite: 1.5,"), r"parameters\.availability: .*\(0, 1\]"),
        "must_run": (text.replace("{lignite: 0.05, hard_coal: 0.3, natural_gas: 0.5}", "{lignite: 0.05}"),
                     r"parameters\.must_run_quantile: .*missing hard_coal, natural_gas"),
        "cost": (text.replace("value: 1.5\n", "value: cheap\n"), r"parameters\.lignite_fuel_cost: .*number"),
        "derate": (text.replace("{lignite: 1.0, hard_coal: 1.0, natural_gas: 1.0}", "{lignite: 1.2, hard_coal: 1.0}"),
                   r"parameters\.availability_quantile: .*missing natural_gas"),
        "derate_range": (text.replace("{lignite: 1.0, hard_coal: 1.0,", "{lignite: 1.2, hard_coal: 1.0,"),
                         r"parameters\.availability_quantile: .*\[0, 1\]"),
        "unknown": (text + "  surprise:\n    value: 1\n    unit: x\n    source: y\n", r"parameters\.surprise: Extra"),
        "unsourced": (text.replace("value: 1.5\n    unit: EUR/MWh_th\n    source:", "value: 1.5\n    unit: EUR/MWh_th\n    note:"),
                      r"parameters\.lignite_fuel_cost: missing source"),
        "yaml": ("version: [1\n", r"not valid YAML"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(content)
        with pytest.raises(UserInputError, match=rf"^{re.escape(str(path))}: .*{message}") as raised:
            load_parameters(path)
        assert "\n" not in str(raised.value), name
    with pytest.raises(UserInputError, match=r"cannot read the merit-order parameters"):
        load_parameters(tmp_path / "absent.yaml")


def test_a_bad_unit_table_names_file_line_and_column(tmp_path):
    good = load_parameters().plant_units_path.read_text().splitlines()
    bad = tmp_path / "units.csv"
    bad.write_text("\n".join([good[0], good[1].replace(",hard_coal,hard_coal,", ",peat,hard_coal,"), *good[2:4]]))
    with pytest.raises(UserInputError, match=rf"^{re.escape(str(bad))}: line 2, column 'fuel': unknown fuel 'peat'"):
        stack_units(load_parameters().replace(plant_units_file=str(bad)))
    bad.write_text("\n".join([good[0].replace("unit_id,", "id,"), *good[1:3]]))
    with pytest.raises(UserInputError, match=rf"^{re.escape(str(bad))}: line 1: header must be unit_id,name,fuel"):
        stack_units(load_parameters().replace(plant_units_file=str(bad)))
    bad.write_text("\n".join([good[0], good[1].rsplit(",", 1)[0]]))
    with pytest.raises(UserInputError, match=rf"^{re.escape(str(bad))}: line 2: expected 11 columns"):
        stack_units(load_parameters().replace(plant_units_file=str(bad)))


def test_replace_validates_and_keeps_the_other_fuels():
    p = load_parameters()
    changed = p.replace(availability={"lignite": 0.8})
    assert changed.availability == {**p.availability, "lignite": 0.8} and p.availability["lignite"] == 0.93
    with pytest.raises(ValueError, match="availability"):
        p.replace(availability={"lignite": 0.0})
    with pytest.raises(ValueError, match="frozen"):
        p.lignite_fuel_cost = 1.0  # type: ignore[misc]
