"""The ``merit_order`` model (marginal / consequential): the factor of the marginal fossil *unit* of a price-driven stack.

Method (after the unit-level "PP" method of Fleschutz et al. 2021, Applied Energy 295:117040, ``elmada``, with
must-run and availability added; facts and sources in ``docs`` / ``merit_order.md``). Parameters are in the
versioned ``emission_assets/data/merit_order.yaml`` (:func:`load_parameters`); nothing calibrated is in this code.

1. **Units**: the fossil blocks of the bundled OPSD plant list (``data/plant_units.csv``: lignite, hard coal, gas
   CCGT / other gas, oil) operating in the local month's year: ``commissioned_year <= year`` and
   (``shutdown_year`` empty or ``> year``). A gas unit is a CCGT when its efficiency reaches
   ``ccgt_min_efficiency``. ``require_eic_code`` keeps only units with an ENTSO-E block code (off: see the yaml);
   units below their fuel's ``min_efficiency`` (five heat-led industrial coal CHP blocks) are left out.
2. **Cost**: short-run marginal cost per unit and month, EUR/MWh_el =
   fuel price / efficiency + (CO2 factor / efficiency) x EUA price + variable O&M, with the fuel and EUA prices of
   ``silver.fuel_prices`` valid on the month's first day (``valid_from <= day < valid_to``; the active rows, or the
   rows known at ``known_at``, :func:`~emission_assets.models.factors.factor_condition`); lignite's fuel cost is the
   ``lignite_fuel_cost`` parameter (it has no market price). A unit whose fuel has no price that month is left out of
   the stack; without an EUA price the month has no stack.
3. **Capacity, per type and month from the data**: available MW = net capacity x min(``availability`` of its fuel
   (the ceiling), A / C), where A is the ``availability_quantile`` (1.0: the maximum) of the unit's SMARD type's
   national output power in the local month and C the net capacity of that type's operating, priced units: the
   type's units together offer at most what the type showed it had (revisions, outages, closures OPSD misses),
   pro rata. ``null`` for a type, a type without output rows in the month, and oil (no own series) keep the
   ceiling. With the maximum, the flexible coal and gas capacity always covers the residual (5.).
4. **Must-run** per SMARD type (lignite, hard_coal, natural_gas) and local month = the ``must_run_quantile`` of
   that type's national output power (MW) in the month (computed in the same pass as A). It is removed from the residual, and the cheapest units of
   that type (by cost) are locked until their available capacity covers it (the unit that crosses it keeps its
   remainder in the flexible stack).
5. **Residual** per interval = the observed national lignite + hard coal + natural gas output power minus the
   three must-run levels. SMARD "other conventional" (process/waste gas, oil, mostly heat- or process-led) is not in
   the residual: it is must-run and never marginal; the oil units stay at the top of the stack and are marginal
   only when the residual exceeds every available coal and gas unit.
6. **Marginal unit**: the flexible units sorted by cost (ties by unit id); the marginal one is the first whose
   cumulative available capacity reaches the residual, up to :data:`REACH_TOLERANCE_MW` (a month's peak interval
   of a type derated to its maximum ties exactly with the cumulative capacity of its units, whose floating-point sum
   lands a few ulp either side: the tie goes to the unit that reaches it, not to the next one). A residual <= 0 (the
   must-run alone covers the fossil output) takes the cheapest flexible unit (the one that would ramp up first); a
   residual above the whole stack takes the most expensive one. Nuclear, renewables, storage and other conventional
   are never in the stack, so never marginal.
7. **Factor**: direct g/kWh = the unit's fuel CO2 factor / its efficiency x 1000. Lifecycle = direct + (lifecycle -
   direct) of the unit's SMARD type in ``silver.emission_factors`` at the interval's local date (the upstream share
   of the type; no lifecycle row when the type lacks either factor).
8. **One price zone**: DE-LU has one day-ahead price, so the marginal unit is computed on the ``national_region``
   (``DE``) production and every region present in the interval (the control areas too) takes it;
   ``production_mwh`` stays the region's own total generation. Intervals without national production get no row.

Limits: OPSD's shutdown years end in 2019 (units closed 2020-2023 stay in the stack; plant_units.md); no
ramping, start-up cost, CHP heat value or imports; must-run locks the cheapest units of a type although the real
must-run is often heat-led CHP; the stack is national (no grid constraints). A short-run, model-based what-if view
next to ``average``.
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.factors import factor_condition
from emission_assets.models.merit_parameters import (
    COMMODITY_OF_FUEL,
    FUELS,
    PRODUCTION_TYPE_OF_FUEL,
    RESIDUAL_TYPES,
    MeritParameters,
    committed_parameters,
    load_parameters,
    read_units,
)
from emission_assets.models.production import select_shape, sql_string

__all__ = ["FUELS", "STACK_UNITS", "MeritParameters", "implied_dispatch_sql", "load_parameters", "marginal_units_sql",
           "merit_order_sql", "stack_units", "units_sql"]

PRICES = "silver.fuel_prices"
# Every fuel-reporting SMARD type the implied-dispatch check compares (other conventional: must-run + the oil units).
DISPATCH_TYPES = (*RESIDUAL_TYPES, "other_conventional")
FAR_FUTURE = "DATE'9999-12-31'"
MIN_FLEXIBLE_MW = 1e-9  # a unit locked up to a rounding residue is locked
# A cumulative capacity this close below the residual reaches it (module docstring 6.): 1 W, far above the
# rounding of a sum of a few hundred pro-rata capacities (~1e-11 MW at 60 GW), far below any real capacity.
REACH_TOLERANCE_MW = 1e-6
# The name under which a scope (``emission_assets.gold.months.MonthRegistry.staged``) may hold the rows of
# :func:`units_sql` for the committed parameters, computed once: the builders then read that relation instead of the
# VALUES list (~490 rows x 12 literals: ~0.5 s to parse and plan per query on the embedded engine).
STACK_UNITS = "merit_order.stack_units"


def _parameters(parameters: MeritParameters | None) -> MeritParameters:
    return parameters if parameters is not None else committed_parameters()


def stack_units(parameters: MeritParameters | None = None) -> list[dict]:
    """The unit table as the stack sees it: gas reclassified by the CCGT threshold, the EIC rule applied,
    ``available_mw`` at the fuel's availability ceiling (the SQL derates it per month from the data, module
    docstring 3.), CO2 factor and variable O&M of the fuel (per unit, so the SQL needs no parameter joins)."""
    parameters = _parameters(parameters)
    units = []
    for unit in read_units(parameters.plant_units_path):
        if parameters.require_eic_code and not unit["eic_code_block"]:
            continue
        fuel = unit["fuel"]
        if fuel.startswith("natural_gas"):
            ccgt = unit["efficiency"] >= parameters.ccgt_min_efficiency
            fuel = "natural_gas_ccgt" if ccgt else "natural_gas_other"
        if unit["efficiency"] < parameters.min_efficiency[fuel]:
            continue  # heat-led industrial CHP (see the yaml): its output is must-run
        units.append({
            **unit, "fuel": fuel, "production_type": PRODUCTION_TYPE_OF_FUEL[fuel],
            "commodity": COMMODITY_OF_FUEL.get(fuel),
            "available_mw": unit["capacity_net_mw"] * parameters.availability[fuel],
            "co2_t_per_mwh_th": parameters.co2_factor[fuel], "vom_eur_per_mwh": parameters.variable_om[fuel],
            "fixed_fuel_price": parameters.lignite_fuel_cost if fuel == "lignite" else None,
        })
    return units


def _number(value: float | int | None, sql_type: str = "DOUBLE") -> str:
    return f"CAST(NULL AS {sql_type})" if value is None else f"CAST({value!r} AS {sql_type})"


def units_sql(parameters: MeritParameters | None = None) -> str:
    """:func:`stack_units` as SQL rows (a VALUES list): the ``units`` relation of the stack."""
    parameters = _parameters(parameters)
    rows = [
        f"({sql_string(u['unit_id'])}, {sql_string(u['fuel'])}, {sql_string(u['production_type'])}, "
        f"{sql_string(u['commodity']) if u['commodity'] else 'CAST(NULL AS STRING)'}, {_number(u['capacity_net_mw'])}, "
        f"{_number(u['available_mw'])}, "
        f"{_number(u['efficiency'])}, {_number(u['co2_t_per_mwh_th'])}, {_number(u['vom_eur_per_mwh'])}, "
        f"{_number(u['fixed_fuel_price'])}, {_number(u['commissioned_year'], 'INT')}, "
        f"{_number(u['shutdown_year'], 'INT')})"
        for u in stack_units(parameters)
    ]
    if not rows:  # an empty stack (every unit filtered out): one row that no month selects
        rows = ["(CAST(NULL AS STRING), NULL, NULL, NULL, 0.0D, 0.0D, 0.5D, 0.0D, 0.0D, NULL, 9999, NULL)"]
    return (f"SELECT * FROM VALUES {', '.join(rows)} AS units(unit_id, fuel, production_type, commodity, "
            "capacity_net_mw, ceiling_mw, efficiency, co2_t_per_mwh_th, vom_eur_per_mwh, fixed_fuel_price, commissioned_year, "
            "shutdown_year)")


def _units_relation(registry: Registry, parameters: MeritParameters | None) -> str:
    """The SQL of the units relation: the scope's staged copy (:data:`STACK_UNITS`) for the committed parameters, else
    the VALUES list of ``parameters``."""
    staged = getattr(registry, "staged", {})
    if parameters is None and STACK_UNITS in staged:
        return f"SELECT * FROM {staged[STACK_UNITS]}"
    return units_sql(parameters)


def _type_sum(column: str, kind: str) -> str:
    return f"sum(CASE WHEN production_type = '{kind}' THEN {column} ELSE 0.0D END)"


def _marginal_sql(registry: Registry, known_at: datetime | None, parameters: MeritParameters | None) -> str:
    """Per national interval: the residual, the must-run levels, and the marginal unit's stack row (NULLs: none)."""
    units = _units_relation(registry, parameters)
    parameters = _parameters(parameters)
    production = registry.sql_name("silver.production")
    prices = registry.sql_name(PRICES)
    region = sql_string(parameters.national_region)
    quantiles = parameters.must_run_quantile
    must_run = ",\n         ".join(
        f"CAST(coalesce(percentile(CASE WHEN production_type = '{t}' THEN power_mw END, {quantiles[t]!r}), 0.0D) "
        f"AS DOUBLE) AS must_run_{t}_mw" for t in RESIDUAL_TYPES)
    derated = {t: q for t, q in parameters.availability_quantile.items() if q is not None}
    # the type's available MW in the month from the data (one pass with the must-run levels; NULL: not derated)
    available = "".join(
        f",\n         CAST(percentile(CASE WHEN production_type = '{t}' THEN power_mw END, {q!r}) AS DOUBLE) "
        f"AS available_{t}_mw" for t, q in derated.items())
    type_must_run = " ".join(f"WHEN '{t}' THEN m.must_run_{t}_mw" for t in RESIDUAL_TYPES)
    type_available = " ".join(f"WHEN '{t}' THEN m.available_{t}_mw" for t in derated)
    type_available = f"CASE u.production_type {type_available} END" if derated else "CAST(NULL AS DOUBLE)"
    residual_types = ", ".join(f"'{t}'" for t in RESIDUAL_TYPES)
    must_run_total = " + ".join(f"m.must_run_{t}_mw" for t in RESIDUAL_TYPES)
    order = "PARTITION BY year, month ORDER BY srmc_eur_per_mwh, unit_id"
    before = ",\n         ".join(
        f"coalesce(sum(CASE WHEN production_type = '{t}' THEN flexible_mw ELSE 0.0D END) OVER ({order} "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0.0D) AS before_{t}_mw" for t in DISPATCH_TYPES)
    measured = ",\n         ".join(f"{_type_sum('energy_mwh', t)} AS measured_{t}_mwh" for t in DISPATCH_TYPES)
    return f"""
WITH p AS (
  -- the national production (every type: an interval without fossil output still gets its marginal unit)
  SELECT interval_start, interval_end, resolution, production_type, energy_mwh, year, month, day,
         energy_mwh * 3600.0D / (unix_seconds(interval_end) - unix_seconds(interval_start)) AS power_mw
  FROM {production}
  WHERE region = {region} AND energy_mwh IS NOT NULL AND interval_end > interval_start
),
must_run AS (
  SELECT year, month,
         {must_run}{available}
  FROM p GROUP BY year, month
),
units AS ({units}),
prices AS (
  SELECT commodity, price, valid_from, coalesce(valid_to, {FAR_FUTURE}) AS valid_until
  FROM {prices} WHERE {factor_condition(known_at)}
),
month_units AS (
  SELECT m.*, u.*, make_date(m.year, m.month, 1) AS month_start,
         CASE u.production_type {type_must_run} ELSE 0.0D END AS type_must_run_mw,
         {type_available} AS type_available_mw
  FROM must_run m
  JOIN units u ON u.commissioned_year <= m.year AND (u.shutdown_year IS NULL OR u.shutdown_year > m.year)
),
costed AS (
  SELECT mu.*,
         coalesce(mu.fixed_fuel_price, fp.price) / mu.efficiency
           + mu.co2_t_per_mwh_th / mu.efficiency * eua.price + mu.vom_eur_per_mwh AS srmc_eur_per_mwh,
         sum(mu.capacity_net_mw) OVER (PARTITION BY mu.year, mu.month, mu.production_type) AS type_capacity_mw
  FROM month_units mu
  JOIN prices eua ON eua.commodity = 'eua' AND eua.valid_from <= mu.month_start AND mu.month_start < eua.valid_until
  LEFT JOIN prices fp
    ON fp.commodity = mu.commodity AND fp.valid_from <= mu.month_start AND mu.month_start < fp.valid_until
  WHERE mu.fixed_fuel_price IS NOT NULL OR fp.price IS NOT NULL
),
locked AS (
  -- the cheapest units of each type cover its must-run level (the crossing unit keeps its remainder)
  SELECT *,
         available_mw - least(available_mw, greatest(0.0D, type_must_run_mw - coalesce(sum(available_mw) OVER (
           PARTITION BY year, month, production_type ORDER BY srmc_eur_per_mwh, unit_id
           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0.0D))) AS flexible_mw
  FROM (
    -- availability: the fuel's ceiling share, derated to the type's available MW in the month spread pro rata
    SELECT *, CASE WHEN type_available_mw IS NULL THEN ceiling_mw
                   ELSE least(ceiling_mw, capacity_net_mw * type_available_mw / type_capacity_mw) END AS available_mw
    FROM costed
  )
),
flexible AS (
  SELECT year, month, unit_id, fuel, production_type, efficiency, co2_t_per_mwh_th, srmc_eur_per_mwh, flexible_mw,
         sum(flexible_mw) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_mw,
         row_number() OVER ({order}) AS position,
         count(*) OVER (PARTITION BY year, month) AS units,
         {before}
  FROM locked WHERE flexible_mw > {MIN_FLEXIBLE_MW}
),
stack AS (
  SELECT *, coalesce(lag(cumulative_mw) OVER ({order}), 0.0D) AS cumulative_before_mw FROM flexible
),
intervals AS (
  SELECT interval_start, interval_end, resolution, year, month, day,
         (unix_seconds(interval_end) - unix_seconds(interval_start)) / 3600.0D AS hours,
         sum(CASE WHEN production_type IN ({residual_types}) THEN power_mw ELSE 0.0D END) AS fossil_mw,
         {measured}
  FROM p GROUP BY interval_start, interval_end, resolution, year, month, day
),
residual AS (
  SELECT i.*, {", ".join(f"m.must_run_{t}_mw" for t in RESIDUAL_TYPES)},
         i.fossil_mw - ({must_run_total}) AS residual_mw
  FROM intervals i JOIN must_run m ON i.year = m.year AND i.month = m.month
)
SELECT r.*, s.unit_id, s.fuel, s.production_type, s.efficiency, s.co2_t_per_mwh_th, s.srmc_eur_per_mwh,
       s.flexible_mw, s.cumulative_before_mw, {", ".join(f"s.before_{t}_mw" for t in DISPATCH_TYPES)}
FROM residual r
LEFT JOIN stack s
  ON s.year = r.year AND s.month = r.month
 AND (s.cumulative_before_mw < r.residual_mw - {REACH_TOLERANCE_MW!r} OR s.position = 1)
 AND (r.residual_mw - {REACH_TOLERANCE_MW!r} <= s.cumulative_mw OR s.position = s.units)
"""


def marginal_units_sql(registry: Registry, known_at: datetime | None = None,
                       parameters: MeritParameters | None = None) -> str:
    """Per ``interval_start, interval_end, region, resolution``: ``marginal_unit_id, marginal_fuel,
    marginal_production_type, marginal_g_per_kwh_direct, residual_mw, srmc_eur_per_mwh`` (see the module docstring).

    Every region with production in an interval that the national region also has gets the national result. The
    unit columns are NULL when no unit is marginal: no unit of the list operates in that year, or the month has no
    EUA price (or no price for any fuel but lignite's and no lignite unit) valid in ``silver.fuel_prices``."""
    production = registry.sql_name("silver.production")
    return f"""
WITH n AS ({_marginal_sql(registry, known_at, parameters)}),
regions AS (
  SELECT DISTINCT interval_start, interval_end, region, resolution FROM {production} WHERE energy_mwh IS NOT NULL
)
SELECT g.interval_start, g.interval_end, g.region, g.resolution,
       n.unit_id AS marginal_unit_id, n.fuel AS marginal_fuel, n.production_type AS marginal_production_type,
       CAST(n.co2_t_per_mwh_th / n.efficiency * 1000.0D AS DOUBLE) AS marginal_g_per_kwh_direct,
       CAST(n.residual_mw AS DOUBLE) AS residual_mw, CAST(n.srmc_eur_per_mwh AS DOUBLE) AS srmc_eur_per_mwh
FROM regions g
JOIN n ON g.interval_start = n.interval_start AND g.interval_end = n.interval_end AND g.resolution = n.resolution
"""


def merit_order_sql(registry: Registry, known_at: datetime | None = None,
                    parameters: MeritParameters | None = None) -> str:
    """Merit order in the ``gold.grid_intensity`` shape: per interval x region x basis the marginal unit's factor;
    ``determined_by`` = ``'<fuel>:<unit_id>'`` (e.g. ``natural_gas_ccgt:BNA0815``). Intervals without a marginal
    unit have no row; the lifecycle row needs both factors of the unit's SMARD type (module docstring, 7)."""
    production = registry.sql_name("silver.production")
    factors = registry.sql_name("silver.emission_factors")
    return f"""
WITH n AS ({_marginal_sql(registry, known_at, parameters)}),
f AS (
  SELECT production_type, basis, g_per_kwh, valid_from, coalesce(valid_to, {FAR_FUTURE}) AS valid_until
  FROM {factors} WHERE {factor_condition(known_at)}
),
unit_factor AS (
  -- one row per basis: direct is the unit's own factor, lifecycle adds its type's upstream share at that date
  SELECT n.interval_start, n.interval_end, n.resolution, n.fuel, n.unit_id, b.basis,
         CASE WHEN b.basis = 'direct' THEN n.co2_t_per_mwh_th / n.efficiency * 1000.0D
              ELSE n.co2_t_per_mwh_th / n.efficiency * 1000.0D + fl.g_per_kwh - fd.g_per_kwh END AS g_per_kwh
  FROM n
  CROSS JOIN (SELECT explode(array('direct', 'lifecycle')) AS basis) b
  LEFT JOIN f fd ON fd.production_type = n.production_type AND fd.basis = 'direct'
   AND fd.valid_from <= make_date(n.year, n.month, n.day) AND make_date(n.year, n.month, n.day) < fd.valid_until
  LEFT JOIN f fl ON fl.production_type = n.production_type AND fl.basis = 'lifecycle'
   AND fl.valid_from <= make_date(n.year, n.month, n.day) AND make_date(n.year, n.month, n.day) < fl.valid_until
  WHERE n.unit_id IS NOT NULL AND (b.basis = 'direct' OR (fd.g_per_kwh IS NOT NULL AND fl.g_per_kwh IS NOT NULL))
),
totals AS (
  SELECT interval_start, interval_end, region, resolution, CAST(sum(energy_mwh) AS DOUBLE) AS production_mwh
  FROM {production} WHERE energy_mwh IS NOT NULL
  GROUP BY interval_start, interval_end, region, resolution
),
r AS (
  SELECT t.interval_start, t.interval_end, t.region, t.resolution, u.basis, u.g_per_kwh,
         concat(u.fuel, ':', u.unit_id) AS determined_by, t.production_mwh
  FROM totals t
  JOIN unit_factor u
    ON t.interval_start = u.interval_start AND t.interval_end = u.interval_end AND t.resolution = u.resolution
)
{select_shape('merit_order')} FROM r
"""


def implied_dispatch_sql(registry: Registry, known_at: datetime | None = None,
                         parameters: MeritParameters | None = None) -> str:
    """Per local ``year, month``, the national ``region`` and fossil ``production_type`` (lignite, hard_coal,
    natural_gas, other_conventional): ``implied_energy_mwh`` (what the stack dispatches: the type's must-run level,
    every flexible unit below the marginal one at its available capacity, the marginal unit's part of the residual;
    other conventional: its measured output, all must-run, plus the oil units dispatched) and
    ``measured_energy_mwh`` (SMARD). Intervals without a stack imply the must-run levels only."""
    partial = "least(flexible_mw, greatest(0.0D, residual_mw - cumulative_before_mw))"

    def implied(kind: str) -> str:
        own = (f"measured_{kind}_mwh / hours" if kind == "other_conventional" else f"must_run_{kind}_mw")
        return (f"({own} + coalesce(before_{kind}_mw, 0.0D) "
                f"+ CASE WHEN production_type = '{kind}' THEN {partial} ELSE 0.0D END) * hours")

    entries = ", ".join(
        f"named_struct('production_type', '{t}', 'implied', {implied(t)}, 'measured', measured_{t}_mwh)"
        for t in DISPATCH_TYPES)
    region = sql_string(_parameters(parameters).national_region)
    return f"""
WITH n AS ({_marginal_sql(registry, known_at, parameters)}),
per_type AS (SELECT year, month, explode(array({entries})) AS e FROM n)
SELECT CAST(year AS INT) AS year, CAST(month AS INT) AS month, CAST({region} AS STRING) AS region,
       CAST(e.production_type AS STRING) AS production_type,
       CAST(sum(e.implied) AS DOUBLE) AS implied_energy_mwh, CAST(sum(e.measured) AS DOUBLE) AS measured_energy_mwh
FROM per_type
GROUP BY year, month, e.production_type
"""
