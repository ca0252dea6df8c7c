"""Shared by every attribution model: production joined with its point-in-time factor, interval totals, and the
``gold.grid_intensity`` row shape.

``gold.production_emissions``
    Every ``silver.production`` row joined point-in-time with the *active* emission-factor version
    (``retired_at IS NULL``) whose business validity covers the interval's local (Europe/Berlin) date:
    ``valid_from <= local_date < coalesce(valid_to, DATE'9999-12-31')``; one row per production row x basis.
    Production types without a factor are absent (an asset check reports them).
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.registry import Registry
from emission_assets.models.factors import factor_condition

LOCAL_TIME_ZONE = "Europe/Berlin"
INTERVAL_KEYS = ("interval_start", "interval_end", "region", "resolution")


def local_date(column: str) -> str:
    return f"to_date(from_utc_timestamp({column}, '{LOCAL_TIME_ZONE}'))"


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def production_emissions_sql(registry: Registry, known_at: datetime | None = None,
                             factor_extras: dict[str, str] | None = None) -> str:
    """``gold.production_emissions``: production rows x the factor version valid at the local date (active
    factors, or those known at ``known_at``).

    The local date is the row's partition (silver.production's year/month/day are the local date of interval_start):
    the same day as converting interval_start, without a time-zone conversion per row. ``factor_extras``: more
    columns (name -> SQL over the factor dimension's columns) carried from the factor version to each row, for a
    model that needs them (the worst emitter's ranking)."""
    production = registry.sql_name("silver.production")
    factors = registry.sql_name("silver.emission_factors")
    extras = factor_extras or {}
    extra_select = "".join(f", {sql} AS {name}" for name, sql in extras.items())
    extra_output = "".join(f", f.{name}" for name in extras)
    return f"""
WITH p AS (
  SELECT *, make_date(year, month, day) AS local_date FROM {production} WHERE energy_mwh IS NOT NULL
),
f AS (
  SELECT factor_id, production_type, basis, g_per_kwh, valid_from,
         coalesce(valid_to, DATE'9999-12-31') AS valid_until{extra_select}
  FROM {factors}
  WHERE {factor_condition(known_at)}
)
SELECT p.interval_start, p.interval_end, p.region, p.production_type, p.resolution, f.basis,
       CAST(p.energy_mwh AS DOUBLE) AS energy_mwh, CAST(f.g_per_kwh AS DOUBLE) AS g_per_kwh,
       CAST(p.energy_mwh * f.g_per_kwh / 1000.0 AS DOUBLE) AS emissions_t, f.factor_id, p.year, p.month, p.day{extra_output}
FROM p
JOIN f
  ON p.production_type = f.production_type AND f.valid_from <= p.local_date AND p.local_date < f.valid_until
"""


def production_totals_sql(registry: Registry) -> str:
    """Total generation per interval, region and resolution (every type, with or without a factor)."""
    return f"""
SELECT interval_start, interval_end, region, resolution, CAST(sum(energy_mwh) AS DOUBLE) AS production_mwh
FROM {registry.sql_name("silver.production")}
WHERE energy_mwh IS NOT NULL
GROUP BY interval_start, interval_end, region, resolution
"""


def join_on(left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in INTERVAL_KEYS)


def select_shape(model: str | None, alias: str = "r") -> str:
    """The grid_intensity column list over a relation with the model columns (model None: the relation's own)."""
    model_sql = f"CAST('{model}' AS STRING)" if model is not None else f"CAST({alias}.model AS STRING)"
    return (
        f"SELECT CAST({alias}.interval_start AS TIMESTAMP) AS interval_start, "
        f"CAST({alias}.interval_end AS TIMESTAMP) AS interval_end, CAST({alias}.region AS STRING) AS region, "
        f"{model_sql} AS model, CAST({alias}.basis AS STRING) AS basis, "
        f"CAST({alias}.g_per_kwh AS DOUBLE) AS g_per_kwh, CAST({alias}.determined_by AS STRING) AS determined_by, "
        f"CAST({alias}.production_mwh AS DOUBLE) AS production_mwh, CAST({alias}.resolution AS STRING) AS resolution"
    )
