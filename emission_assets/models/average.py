"""The ``average`` model (attributional): ``sum(E * EF) / sum(E)`` over the production types that have a factor;
``determined_by = 'mix'``. The only model that fits GHG-Protocol location-based Scope 2 reporting.
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.production import join_on, production_emissions_sql, production_totals_sql, select_shape


def average_sql(registry: Registry, known_at: datetime | None = None) -> str:
    """Grid average: sum(E * EF) / sum(E) over the types with a factor; determined_by 'mix'."""
    return f"""
WITH e AS ({production_emissions_sql(registry, known_at)}),
t AS ({production_totals_sql(registry)}),
a AS (
  SELECT interval_start, interval_end, region, resolution, basis,
         sum(energy_mwh * g_per_kwh) / nullif(sum(energy_mwh), 0) AS g_per_kwh
  FROM e
  GROUP BY interval_start, interval_end, region, resolution, basis
),
r AS (
  SELECT a.*, 'mix' AS determined_by, t.production_mwh
  FROM a JOIN t ON {join_on('a', 't')}
  WHERE a.g_per_kwh IS NOT NULL
)
{select_shape('average')} FROM r
"""
