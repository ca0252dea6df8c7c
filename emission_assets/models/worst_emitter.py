"""The ``worst_emitter`` model: the highest factor among the types with output > 0 in the interval (ties: the
alphabetically first type); ``determined_by`` = that type. **An upper bound for what-if comparisons, not an
accounting figure.**
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.factors import factor_condition
from emission_assets.models.production import join_on, production_emissions_sql, production_totals_sql, select_shape

# Every factor version in one order per basis, highest factor first, ties the alphabetically first type: the first
# of an interval's versions is its worst emitter. An integer min() per interval finds it; a row_number() window sorted
# the whole production x factor join instead (~6 s of CPU for a year of 5 regions x 12 types at quarter-hours).
WORST_POSITION = "row_number() OVER (PARTITION BY basis ORDER BY g_per_kwh DESC, production_type ASC)"


def worst_emitter_sql(registry: Registry, known_at: datetime | None = None) -> str:
    """Worst emitter: the highest factor among types with output > 0 (an upper bound, not an accounting figure)."""
    return f"""
WITH e AS ({production_emissions_sql(registry, known_at, {"worst_position": WORST_POSITION})}),
t AS ({production_totals_sql(registry)}),
worst AS (
  SELECT interval_start, interval_end, region, resolution, basis, min(worst_position) AS worst_position
  FROM e
  WHERE energy_mwh > 0
  GROUP BY interval_start, interval_end, region, resolution, basis
),
ranking AS (
  SELECT basis, production_type, CAST(g_per_kwh AS DOUBLE) AS g_per_kwh, {WORST_POSITION} AS worst_position
  FROM {registry.sql_name("silver.emission_factors")}
  WHERE {factor_condition(known_at)}
),
r AS (
  SELECT w.interval_start, w.interval_end, w.region, w.resolution, w.basis, k.g_per_kwh,
         k.production_type AS determined_by, t.production_mwh
  FROM worst w
  JOIN ranking k ON k.basis = w.basis AND k.worst_position = w.worst_position
  JOIN t ON {join_on('w', 't')}
)
{select_shape('worst_emitter')} FROM r
"""
