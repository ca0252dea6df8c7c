"""Calibrate the merit-order parameters on the bundled SMARD export: a table of candidate settings and their fit.

Objective (fitted on 2019-2022, the full years of the export; 2023 = January-February is shown out of sample): the
mean over lignite, hard coal and natural gas of the mean absolute monthly gap between the energy the stack implies
and the energy SMARD measured, in % of the measured (``implied / measured - 1``), i.e. the "Mean absolute monthly gap
per type" of docs/validation.md. The yearly gaps and the count of type-years within +-20 % are printed next to it.

The search needs hundreds of settings, so it evaluates them with :func:`implied_dispatch`, a vectorised numpy replica
of ``emission_assets.models.merit_order.implied_dispatch_sql`` (the same units through ``stack_units``, the same
price rows, the same rules); ``--check`` compares the replica with the product SQL on the embedded engine for the
committed setting (they must agree to rounding), so the table's figures are the model's. Run:

    PYTHONPATH=$PWD python scripts/calibrate_merit_order.py [--check]
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emission_assets.factors.prices import read_price_seed  # noqa: E402
from emission_assets.models.merit_order import load_parameters, stack_units  # noqa: E402
from emission_assets.models.merit_parameters import RESIDUAL_TYPES  # noqa: E402
from emission_assets.smard.catalog import BY_ID  # noqa: E402

FIT_YEARS = (2019, 2020, 2021, 2022)
TYPES = (*RESIDUAL_TYPES, "other_conventional")
LOCAL = "Europe/Berlin"


def hourly_power() -> pd.DataFrame:
    """National hourly output power (MW = MWh per hour) per SMARD type, with the local year and month."""
    from merit_validation import loading

    with tempfile.TemporaryDirectory() as scratch:
        parsed = loading.parse_export(loading.GENERATION_CSV, Path(scratch))
    columns = {BY_ID[f].name: pd.Series({ms: v for ms, v in points if v is not None}, dtype="float64")
               for f, points in parsed.series.items() if BY_ID[f].name in TYPES}
    frame = pd.DataFrame(columns).sort_index()
    local = pd.to_datetime(frame.index, unit="ms", utc=True).tz_convert(LOCAL)
    frame["year"], frame["month"] = local.year, local.month
    return frame


def prices_on(rows: list[dict], day: date) -> dict[str, float]:
    """Each commodity's price valid on ``day`` (the row with the latest ``valid_from`` on or before it)."""
    valid: dict[str, tuple[date, float]] = {}
    for row in rows:
        if row["valid_from"] <= day and (row["commodity"] not in valid or row["valid_from"] > valid[row["commodity"]][0]):
            valid[row["commodity"]] = (row["valid_from"], row["price"])
    return {commodity: price for commodity, (_, price) in valid.items()}


def month_stack(units: pd.DataFrame, month: pd.DataFrame, year: int, prices: dict[str, float], parameters):
    """(must-run MW per type, the flexible stack sorted by cost: flexible MW, type) for one month, or None."""
    if "eua" not in prices:
        return None
    power = {t: month[t].dropna().to_numpy() for t in RESIDUAL_TYPES}
    must_run = {t: float(np.quantile(power[t], parameters.must_run_quantile[t])) if len(power[t]) else 0.0
                for t in RESIDUAL_TYPES}
    operating = units[(units.commissioned_year <= year) & (units.shutdown_year.isna() | (units.shutdown_year > year))]
    fuel_price = operating.fixed_fuel_price.fillna(operating.commodity.map(prices))
    stack = operating[fuel_price.notna()].copy()
    stack["srmc"] = (fuel_price[fuel_price.notna()] / stack.efficiency
                     + stack.co2_t_per_mwh_th / stack.efficiency * prices["eua"] + stack.vom_eur_per_mwh)
    share = stack.availability.copy()
    quantiles = getattr(parameters, "availability_quantile", None) or {}
    for kind in RESIDUAL_TYPES:
        q = quantiles.get(kind)
        if q is None or not len(power[kind]):
            continue
        of_type = stack.production_type == kind
        capacity = stack.loc[of_type, "capacity_net_mw"].sum()
        if capacity > 0:
            share[of_type] = np.minimum(share[of_type], float(np.quantile(power[kind], q)) / capacity)
    stack["available"] = stack.capacity_net_mw * share
    stack = stack.sort_values(["srmc", "unit_id"])
    locking = stack.iloc[::-1] if getattr(parameters, "must_run_locks", "cheapest") == "dearest" else stack
    before_type = (locking.groupby("production_type").available.cumsum() - locking.available).reindex(stack.index)
    level = stack.production_type.map(must_run).fillna(0.0)
    stack["flexible"] = stack.available - np.minimum(stack.available, np.maximum(0.0, level - before_type))
    return must_run, stack[stack.flexible > 1e-9]


def implied_dispatch(frame: pd.DataFrame, parameters, price_rows: list[dict], marginal: list | None = None):
    """Per local year, month and type: implied and measured MWh (the replica of implied_dispatch_sql); the marginal
    unit of each hour (year, fuel, direct g/kWh) is appended to ``marginal`` when given."""
    units = pd.DataFrame(stack_units(parameters))
    units["availability"] = units.available_mw / units.capacity_net_mw
    out = []
    for (year, month), rows in frame.groupby(["year", "month"]):
        measured = {t: rows[t].sum() for t in TYPES}
        built = month_stack(units, rows, year, prices_on(price_rows, date(year, month, 1)), parameters)
        implied = dict.fromkeys(TYPES, 0.0)
        if built is None:
            must_run = {t: float(np.quantile(rows[t].dropna(), parameters.must_run_quantile[t])) for t in RESIDUAL_TYPES}
            implied.update({t: must_run[t] * len(rows) for t in RESIDUAL_TYPES})
            implied["other_conventional"] = measured["other_conventional"]
        else:
            must_run, stack = built
            residual = rows[list(RESIDUAL_TYPES)].fillna(0.0).sum(axis=1).to_numpy() - sum(must_run.values())
            flexible = stack.flexible.to_numpy()
            cumulative = np.cumsum(flexible)
            position = np.clip(np.searchsorted(cumulative, residual, side="left"), 0, len(flexible) - 1)
            cumulative_before = cumulative - flexible
            partial = np.minimum(flexible[position], np.maximum(0.0, residual - cumulative_before[position]))
            kinds = stack.production_type.to_numpy()
            if marginal is not None:
                factor = (stack.co2_t_per_mwh_th / stack.efficiency * 1000.0).to_numpy()[position]
                marginal.append(pd.DataFrame({"year": year, "fuel": stack.fuel.to_numpy()[position],
                                              "g_per_kwh": factor}))
            for kind in TYPES:
                mine = np.where(kinds == kind, flexible, 0.0)
                before = (np.cumsum(mine) - mine)[position]
                own = must_run.get(kind, 0.0) * np.ones(len(rows)) if kind != "other_conventional" \
                    else rows["other_conventional"].fillna(0.0).to_numpy()
                implied[kind] = float((own + before + np.where(kinds[position] == kind, partial, 0.0)).sum())
        out += [{"year": year, "month": month, "production_type": t, "implied_energy_mwh": implied[t],
                 "measured_energy_mwh": measured[t]} for t in TYPES]
    return pd.DataFrame(out)


def marginal_summary(marginal: list) -> pd.DataFrame:
    """Per year: the mean marginal factor (g/kWh) and the share of hours per marginal fuel (%)."""
    hours = pd.concat(marginal, ignore_index=True)
    shares = pd.crosstab(hours.year, hours.fuel, normalize="index") * 100.0
    return shares.assign(mean_g_per_kwh=hours.groupby("year").g_per_kwh.mean()).round(1)


def fit(dispatch: pd.DataFrame, years=FIT_YEARS) -> dict[str, float]:
    """The objective and its parts on ``years``: mean |monthly gap| % per type and overall, yearly gaps."""
    frame = dispatch[dispatch.production_type.isin(RESIDUAL_TYPES) & dispatch.year.isin(years)]
    gap = (frame.implied_energy_mwh / frame.measured_energy_mwh - 1.0).abs() * 100.0
    monthly = gap.groupby(frame.production_type).mean()
    twh = ((frame.implied_energy_mwh - frame.measured_energy_mwh).abs() / 1e6).groupby(frame.production_type).mean()
    yearly = frame.groupby(["year", "production_type"])[["implied_energy_mwh", "measured_energy_mwh"]].sum()
    yearly_gap = (yearly.implied_energy_mwh / yearly.measured_energy_mwh - 1.0) * 100.0
    result = {"objective_pct": float(monthly.mean()), "monthly_twh": float(twh.mean()),
              "within_20": int((yearly_gap.abs() <= 20.0).sum()), "type_years": len(yearly_gap)}
    result.update({f"{t}_pct": float(monthly[t]) for t in RESIDUAL_TYPES})
    result["yearly"] = {f"{y} {t}": round(float(v)) for (y, t), v in yearly_gap.items()}
    return result


def version_1(parameters):
    """The calibration before this one (merit_order.yaml version 1): the baseline of the step table."""
    return parameters.replace(lignite_fuel_cost=6.3, must_run_quantile=dict.fromkeys(RESIDUAL_TYPES, 0.05),
                              availability_quantile=dict.fromkeys(RESIDUAL_TYPES))


def steps(parameters):
    """(name, parameters): version 1, each rule of the committed calibration alone on it, then all of them."""
    base = version_1(parameters)
    yield "version 1 (lignite 6.3, must-run 0.05 each, fixed availability only)", base
    yield "+ availability from the data alone (the month's maximum output per type)", base.replace(
        availability_quantile=parameters.availability_quantile)
    yield "+ must-run per type alone (lignite 0.05, hard coal 0.3, gas 0.5)", base.replace(
        must_run_quantile=parameters.must_run_quantile)
    yield "+ gas must-run 0.5 alone", base.replace(must_run_quantile={"natural_gas": 0.5})
    yield "+ lignite fuel cost 1.5 alone", base.replace(lignite_fuel_cost=parameters.lignite_fuel_cost)
    yield "availability + must-run (lignite cost 6.3)", base.replace(
        availability_quantile=parameters.availability_quantile, must_run_quantile=parameters.must_run_quantile)
    yield "must-run + lignite cost (no availability from the data)", parameters.replace(
        availability_quantile=dict.fromkeys(RESIDUAL_TYPES))
    yield f"committed (version {parameters.version}: all three)", parameters


def candidates(parameters):
    """(name, parameters) of the grid: availability from the data, must-run per type, lignite fuel cost."""
    yield "committed", parameters
    availability_quantiles = (None, 1.0, 0.95, 0.9, 0.85, 0.8)
    gas_must_run = (0.05, 0.3, 0.4, 0.5, 0.6, 0.7)
    coal_must_run = (0.05, 0.2, 0.3, 0.4)
    lignite_must_run = (0.05, 0.2)
    lignite_costs = (0.5, 1.5, 3.0, 6.3)
    for aq, gas, coal, lig, cost in itertools.product(availability_quantiles, gas_must_run, coal_must_run,
                                                      lignite_must_run, lignite_costs):
        changes = {"must_run_quantile": {"lignite": lig, "hard_coal": coal, "natural_gas": gas},
                   "lignite_fuel_cost": cost,
                   "availability_quantile": {t: aq for t in RESIDUAL_TYPES}}
        name = (f"availability q {aq if aq is not None else 'off'}; must-run lig {lig:g} coal {coal:g} "
                f"gas {gas:g}; lignite {cost:g} EUR/MWh_th")
        yield name, parameters.replace(**changes)


def check_against_sql(parameters, frame, price_rows) -> None:
    """The replica against the product's implied_dispatch_sql on the embedded engine (the committed setting)."""
    from merit_validation import run as validation_run

    results = validation_run.run(with_sensitivity=False, echo=lambda *_: None)
    sql = results.dispatch
    mine = implied_dispatch(frame, parameters, price_rows)
    merged = mine.merge(sql, on=["year", "month", "production_type"], suffixes=("", "_sql"))
    worst = ((merged.implied_energy_mwh - merged.implied_energy_mwh_sql).abs()
             / merged.measured_energy_mwh.clip(lower=1.0)).max() * 100.0
    print(f"replica vs product SQL (committed setting): {len(merged)} type-months, largest difference "
          f"{worst:.4f} % of the measured energy")


def main(argv=None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--check", action="store_true", help="compare the replica with the product SQL")
    arguments.add_argument("--top", type=int, default=25, help="rows of the table (best first)")
    arguments.add_argument("--steps-only", action="store_true", help="only the one-rule-at-a-time table")
    options = arguments.parse_args(argv)
    parameters = load_parameters()
    frame = hourly_power()
    price_rows = read_price_seed()
    if options.check:
        check_against_sql(parameters, frame, price_rows)
    shown = ["objective_pct", "lignite_pct", "hard_coal_pct", "natural_gas_pct", "monthly_twh", "within_20",
             "out_of_sample_2023_pct"]
    pd.set_option("display.width", 250, "display.max_colwidth", 120)
    print("objective: mean over lignite / hard coal / gas of the mean |implied / measured - 1| per month, %, "
          f"{FIT_YEARS[0]}-{FIT_YEARS[-1]}; within_20: yearly type gaps within +-20 % (of 12)")
    step_rows, marginal = [], {}
    for name, setting in steps(parameters):
        marginal[name] = []
        dispatch = implied_dispatch(frame, setting, price_rows, marginal[name])
        step_rows.append({"step": name, **fit(dispatch),
                          "out_of_sample_2023_pct": fit(dispatch, years=(2023,))["objective_pct"]})
    steps_table = pd.DataFrame(step_rows)
    print("\none rule at a time:")
    print(steps_table[["step", *shown]].round(1).to_string(index=False))
    for name in (steps_table.step.iloc[0], steps_table.step.iloc[-1]):
        print(f"\nmarginal fuel (% of hours) and mean marginal factor, {name}:")
        print(marginal_summary(marginal[name]).to_string())
    if options.steps_only:
        return 0
    rows = []
    for name, setting in candidates(parameters):
        dispatch = implied_dispatch(frame, setting, price_rows)
        result = fit(dispatch)
        result["out_of_sample_2023_pct"] = fit(dispatch, years=(2023,))["objective_pct"]
        rows.append({"setting": name, **result})
    table = pd.DataFrame(rows).sort_values("objective_pct")
    print(f"\nthe grid ({len(table) - 1} settings), best first:")
    committed = table[table.setting == "committed"]
    print(pd.concat([committed, table.head(options.top)])[["setting", *shown]].round(1).to_string(index=False))
    best = table.iloc[0]
    print(f"best: {best.setting}: yearly gaps {best.yearly}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
