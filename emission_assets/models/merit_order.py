"""The ``merit_order`` model (marginal / consequential): the factor of the most expensive flexibly dispatched type.

Merit-order method (a simplified, SQL-only variant of the production-based approach of Fleschutz et al. 2021,
Applied Energy 295:117040, ``elmada``):

1. Short-run marginal cost order for Germany (static): must-run / zero-marginal-cost renewables (wind_onshore,
   wind_offshore, photovoltaics, hydro, biomass, other_renewable; rank 0) -> nuclear (1) -> lignite (2) ->
   hard_coal (3) -> natural_gas (4) -> other_conventional (oil, 5).
2. ``pumped_storage`` is treated as a price-taker that shifts energy in time: it is never the marginal type (its
   energy was charged from the mix of other hours; attributing its 0 direct factor at the margin would be wrong and a
   charging-mix factor is out of scope). Its output still counts in ``production_mwh``.
3. Must-run level of a dispatchable type = the 5th percentile (exact ``percentile``, so re-runs agree) of its average power (MW) over
   the same local calendar month, per region (power rather than energy, so hourly and quarter-hour days mix).
4. A dispatchable type is *flexibly dispatched* in an interval when its power exceeds its must-run level by more than
   a margin of 5 % of its installed net capacity (``emission_assets/data/plant_capacity.csv``, aggregated from the
   Open Power System Data plant list by ``scripts/build_plant_capacity.py``; a type missing there gets margin 0):
   about 900 MW for lignite, 1,050 MW for hard coal, 1,170 MW for gas, 400 MW for other_conventional. Sensitivity
   on real SMARD hours (DE, direct): with 2 % the small, heat-led/industrial ``other_conventional`` swings past its
   margin so often that it was marginal in ~45 % of January-2019 hours; with 5 % natural gas is marginal in most
   hours (~85 % Jan 2019, ~80 % Jun 2021, ~60 % Sep 2022, when hard coal took ~30 %).
5. The marginal type is the most expensive flexibly dispatched type. If no type is flexible (a must-run-only
   interval), it is the cheapest dispatchable type with output > 0 (the plant that would ramp up first; until
   April 2023 that is usually nuclear, i.e. 0 g/kWh direct in a few percent of the hours). If no
   dispatchable type produces at all, the interval is a "renewable surplus": ``determined_by = 'renewable_surplus'``
   and the factor is the production-weighted factor of the renewables mix.
6. ``g_per_kwh`` = the marginal type's factor valid at the interval's local date (per basis); a marginal type
   without a factor for a basis gives no row for that basis.

Limits: the order is static (no fuel-price or CO2-price driven coal/gas switching, no CCGT/OCGT split, no plant-level
efficiencies — ``mean_efficiency`` in the capacity table is not used yet); imports, exports and cross-border
marginal plants are ignored; installed capacity is a national snapshot (OPSD has no control-area split, so in the
control-area regions the 5 % margin is relatively larger, i.e. conservative); the monthly percentile sees only the
data loaded into ``silver.production`` for that month (a partial month gives a less stable must-run level); CHP
heat-led operation and reserve provision look "flexible" although they do not follow electricity demand. Treat the
model as a what-if view next to ``average``.
"""
from __future__ import annotations

import csv
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.production import (
    join_on,
    production_emissions_sql,
    select_shape,
    sql_string,
)

CAPACITY_CSV = Path(__file__).resolve().parents[1] / "data" / "plant_capacity.csv"

RENEWABLE_TYPES = ("wind_onshore", "wind_offshore", "photovoltaics", "hydro", "biomass", "other_renewable")
# Short-run marginal cost order of the dispatchable types, cheapest first (rank 1..n); renewables are rank 0.
DISPATCHABLE_ORDER = ("nuclear", "lignite", "hard_coal", "natural_gas", "other_conventional")
MUST_RUN_PERCENTILE = 0.05
FLEXIBLE_MARGIN_SHARE = 0.05  # of installed net capacity (see the module docstring for the sensitivity)
RENEWABLE_SURPLUS = "renewable_surplus"


@lru_cache(maxsize=1)
def plant_capacity() -> dict[str, float]:
    """Installed net capacity (MW) per production type from the bundled OPSD aggregate."""
    with CAPACITY_CSV.open(newline="") as handle:
        return {row["production_type"]: float(row["capacity_mw"]) for row in csv.DictReader(handle)}


def _merit_stack_values() -> str:
    rows = [f"({sql_string(t)}, 0)" for t in RENEWABLE_TYPES]
    rows += [f"({sql_string(t)}, {rank})" for rank, t in enumerate(DISPATCHABLE_ORDER, start=1)]
    return f"SELECT * FROM VALUES {', '.join(rows)} AS stack(production_type, merit_rank)"


def _capacity_values() -> str:
    capacity = plant_capacity()
    rows = [f"({sql_string(t)}, CAST({capacity.get(t, 0.0)!r} AS DOUBLE))" for t in DISPATCHABLE_ORDER]
    return f"SELECT * FROM VALUES {', '.join(rows)} AS capacity(production_type, capacity_mw)"


def marginal_types_sql(registry: Registry) -> str:
    """Per interval, region and resolution: the marginal type's merit rank (NULL = renewable surplus) and the total.

    Columns: interval_start, interval_end, region, resolution, marginal_rank, production_mwh. Exposed for tests and
    diagnostics; see the module docstring for the method.
    """
    production = registry.sql_name("silver.production")
    return f"""
WITH p AS (
  SELECT interval_start, interval_end, region, resolution, production_type, energy_mwh,
         energy_mwh * 3600.0 / (unix_seconds(interval_end) - unix_seconds(interval_start)) AS power_mw,
         year * 100 + month AS local_month
  FROM {production}
  WHERE energy_mwh IS NOT NULL AND interval_end > interval_start
),
stack AS ({_merit_stack_values()}),
capacity AS ({_capacity_values()}),
must_run AS (
  SELECT p.region, p.production_type, p.local_month,
         CAST(percentile(p.power_mw, {MUST_RUN_PERCENTILE}) AS DOUBLE) AS must_run_mw
  FROM p JOIN stack s ON p.production_type = s.production_type
  WHERE s.merit_rank >= 1
  GROUP BY p.region, p.production_type, p.local_month
),
typed AS (
  SELECT p.interval_start, p.interval_end, p.region, p.resolution, p.energy_mwh, p.power_mw, s.merit_rank,
         (s.merit_rank >= 1
          AND p.power_mw > m.must_run_mw + {FLEXIBLE_MARGIN_SHARE} * coalesce(c.capacity_mw, 0.0)) AS flexible
  FROM p
  LEFT JOIN stack s ON p.production_type = s.production_type
  LEFT JOIN must_run m
    ON p.region = m.region AND p.production_type = m.production_type AND p.local_month = m.local_month
  LEFT JOIN capacity c ON p.production_type = c.production_type
)
SELECT interval_start, interval_end, region, resolution,
       coalesce(max(CASE WHEN flexible THEN merit_rank END),
                min(CASE WHEN merit_rank >= 1 AND energy_mwh > 0 THEN merit_rank END)) AS marginal_rank,
       CAST(sum(energy_mwh) AS DOUBLE) AS production_mwh
FROM typed
GROUP BY interval_start, interval_end, region, resolution
"""


def merit_order_sql(registry: Registry, known_at: datetime | None = None) -> str:
    """Merit order: the factor of the most expensive flexibly dispatched type (see the module docstring)."""
    renewables = ", ".join(sql_string(t) for t in RENEWABLE_TYPES)
    return f"""
WITH e AS ({production_emissions_sql(registry, known_at)}),
m AS ({marginal_types_sql(registry)}),
stack AS ({_merit_stack_values()}),
wanted AS (
  -- each interval once, with the types whose e rows it needs: the marginal type, or the renewables of a surplus
  -- interval (two branches over m would compute the marginal types twice: Sail inlines every reference to a CTE;
  -- the types as an exploded list keep the join with e an equi-join)
  SELECT m.*, s.production_type AS marginal_type,
         explode(CASE WHEN m.marginal_rank IS NULL THEN array({renewables})
                      ELSE array(s.production_type) END) AS production_type
  FROM m
  LEFT JOIN stack s ON s.merit_rank = m.marginal_rank
),
marginal AS (
  SELECT w.interval_start, w.interval_end, w.region, w.resolution, w.marginal_rank, w.production_mwh,
         w.marginal_type, e.basis, e.energy_mwh, e.g_per_kwh
  FROM wanted w
  JOIN e ON {join_on('w', 'e')} AND e.production_type = w.production_type
),
r AS (
  -- a dispatched interval has one e row per basis (its marginal type's factor); a surplus interval the renewables'
  SELECT interval_start, interval_end, region, resolution, basis,
         CASE WHEN marginal_rank IS NULL THEN sum(energy_mwh * g_per_kwh) / nullif(sum(energy_mwh), 0)
              ELSE max(g_per_kwh) END AS g_per_kwh,
         coalesce(marginal_type, '{RENEWABLE_SURPLUS}') AS determined_by, production_mwh
  FROM marginal
  GROUP BY interval_start, interval_end, region, resolution, basis, marginal_rank, marginal_type, production_mwh
  HAVING marginal_rank IS NOT NULL OR g_per_kwh IS NOT NULL
)
{select_shape('merit_order')} FROM r
"""
