"""Sensitivity of the annual mean marginal factor: one calibrated input at a time, everything else as committed.

The model's parameters vary through ``MeritParameters.replace``; the EUA price is not a parameter but a row of the
price table, so its variants scale the EUA rows of the committed ``fuel_prices.csv`` and merge them into the
temporary lakehouse's ``silver.fuel_prices`` (the product's SCD2 merge) for that run, then merge the committed rows
back.
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd

from merit_validation import loading

LIGNITE_COSTS = (3.0, 12.0)  # EUR/MWh_th around the committed value
MUST_RUN_QUANTILES = (0.0, 0.2)
AVAILABILITY_SCALES = (0.9,)  # x the committed availability ceiling; plus a ceiling of 1.0 for every fuel
AVAILABILITY_QUANTILES = (None, 0.9)  # the data-derived monthly derating: off, or a lower quantile of the output
EUA_SCALES = (0.5, 1.5)
FIT_TYPES = ("lignite", "hard_coal", "natural_gas")


def variants(parameters) -> list[tuple[str, str, dict | None, float | None]]:
    """``(parameter, setting, replace() changes, EUA scale)`` rows, the committed calibration first."""
    rows: list[tuple[str, str, dict | None, float | None]] = [("(committed calibration)", "as committed", None, None)]
    rows += [("lignite_fuel_cost", f"{cost:g} EUR/MWh_th (committed {parameters.lignite_fuel_cost:g})",
              {"lignite_fuel_cost": cost}, None) for cost in LIGNITE_COSTS]
    committed_quantiles = "/".join(f"{v:g}" for v in parameters.must_run_quantile.values())
    rows += [("must_run_quantile", f"{q:g} for every type (committed {committed_quantiles})",
              {"must_run_quantile": {t: q for t in parameters.must_run_quantile}}, None) for q in MUST_RUN_QUANTILES]
    rows.append(("availability", "ceiling 1.0 for every fuel",
                 {"availability": {f: 1.0 for f in parameters.availability}}, None))
    rows += [("availability", f"ceiling committed x {scale:g}",
              {"availability": {f: v * scale for f, v in parameters.availability.items()}}, None)
             for scale in AVAILABILITY_SCALES]
    committed_availability = "/".join("none" if v is None else f"{v:g}" for v in parameters.availability_quantile.values())
    rows += [("availability_quantile",
              ("none: no monthly derating from the data" if q is None else f"{q:g} for every type")
              + f" (committed {committed_availability})",
              {"availability_quantile": {t: q for t in parameters.availability_quantile}}, None)
             for q in AVAILABILITY_QUANTILES]
    rows += [("EUA price", f"x {scale:g} (fuel_prices.csv eua rows)", None, scale) for scale in EUA_SCALES]
    return rows


def scaled_eua(seed_rows: list[dict], scale: float) -> list[dict]:
    return [{**row, "price": row["price"] * scale} if row["commodity"] == "eua" else row for row in seed_rows]


def mean_abs_yearly_gap(dispatch: pd.DataFrame) -> float:
    """Mean over the type-years (lignite, hard coal, gas) of |implied / measured - 1| in %: how well the stack fits."""
    frame = dispatch[dispatch["production_type"].isin(FIT_TYPES)]
    yearly = frame.groupby(["year", "production_type"])[["implied_energy_mwh", "measured_energy_mwh"]].sum()
    return float(((yearly["implied_energy_mwh"] / yearly["measured_energy_mwh"] - 1.0).abs() * 100.0).mean())


def sensitivity_table(spark, registry, writer, merit_order, parameters, echo=print) -> pd.DataFrame:
    """Rows ``parameter, setting, year, mean_g_per_kwh, dispatch_gap_pct`` (local years, DE); the last is the
    setting's :func:`mean_abs_yearly_gap` (the same on every year's row)."""
    from emission_assets.factors.prices import merge_price_seed, read_price_seed
    from merit_validation.run import marginal_summary_sql

    committed_prices = read_price_seed()
    moment = loading.IMPORTED_AT
    frames = []
    for parameter, setting, changes, eua_scale in variants(parameters):
        varied = parameters.replace(**changes) if changes else parameters
        if eua_scale is not None:
            moment += timedelta(minutes=1)
            merge_price_seed(spark, writer, scaled_eua(committed_prices, eua_scale), moment)
        try:
            _, means_sql = marginal_summary_sql(merit_order, registry, varied)
            means = spark.sql(means_sql).toPandas()
            dispatch = spark.sql(merit_order.implied_dispatch_sql(registry, parameters=varied)).toPandas()
            gap = mean_abs_yearly_gap(dispatch[dispatch["region"] == "DE"] if "region" in dispatch else dispatch)
        finally:
            if eua_scale is not None:
                moment += timedelta(minutes=1)
                merge_price_seed(spark, writer, committed_prices, moment)
        echo(f"    {parameter}: {setting}: " + ", ".join(
            f"{int(r.year)} {r.mean_g_per_kwh:.0f}" for r in means.sort_values("year").itertuples())
             + f"; energy gap {gap:.0f} %")
        frames.append(means.assign(parameter=parameter, setting=setting, dispatch_gap_pct=gap)[
            ["parameter", "setting", "year", "mean_g_per_kwh", "dispatch_gap_pct"]])
    return pd.concat(frames, ignore_index=True)
