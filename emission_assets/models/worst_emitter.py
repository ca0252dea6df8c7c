"""The ``worst_emitter`` model: the highest factor among the types with output > 0 in the interval (ties: the
alphabetically first type); ``determined_by`` = that type. **An upper bound for what-if comparisons, not an
accounting figure.**
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.production import join_on, production_emissions_sql, production_totals_sql, select_shape


def worst_emitter_sql(registry: Registry, known_at: datetime | None = None) -> str:
    """Worst emitter: the highest factor among types with output > 0 (an upper bound, not an accounting figure)."""
    return f"""
WITH e AS ({production_emissions_sql(registry, known_at)}),
t AS ({production_totals_sql(registry)}),
ranked AS (
  SELECT e.*, row_number() OVER (
           PARTITION BY interval_start, interval_end, region, resolution, basis
           ORDER BY g_per_kwh DESC, production_type ASC) AS position
  FROM e
  WHERE energy_mwh > 0
),
r AS (
  SELECT w.interval_start, w.interval_end, w.region, w.resolution, w.basis, w.g_per_kwh,
         w.production_type AS determined_by, t.production_mwh
  FROM ranked w JOIN t ON {join_on('w', 't')}
  WHERE w.position = 1
)
{select_shape('worst_emitter')} FROM r
"""
