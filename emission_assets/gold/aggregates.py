"""Gold views: aggregations, the EV / household views, and consumption attributed to CO2 per model.

Which grid a household draws from is configuration, read when a gold asset builds its SQL:
``EMISSION_HOME_REGION`` (default ``DE``) for the average, merit-order and worst-emitter models, and
``EMISSION_CONTROL_AREA`` (default ``TenneT``) for the locality model.

Consumption intervals and production intervals need not have the same length: each consumption interval takes
the production-energy-weighted mean intensity of the production intervals it overlaps (an hourly consumption row
over four quarter-hours weights each quarter by its generation; a quarter-hour over an hourly row takes that
hour's intensity). Both are aligned to UTC hours, which are local hours in Europe/Berlin.
"""
from __future__ import annotations

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.registry import Registry
from emission_assets.settings import settings
from emission_assets.smard.catalog import REGIONS, check_region


def home_region() -> str:
    value = settings().gold.home_region
    try:
        return check_region(value)
    except UserInputError as error:
        raise UserInputError(f"EMISSION_HOME_REGION={value!r}: {error}") from None


def control_area() -> str:
    value = settings().gold.control_area
    areas = ", ".join(r for r in REGIONS if r != "DE")
    if value == "DE" or value not in REGIONS:
        raise UserInputError(f"EMISSION_CONTROL_AREA={value!r} is not a control area; choose one of {areas}")
    return value


def production_sql(registry: Registry, period: str) -> str:
    keys = "year, month" if period == "month" else "year"
    return f"""
        SELECT {keys}, region, production_type, sum(energy_mwh) AS energy_mwh, count(*) AS intervals
        FROM {registry.sql_name('silver.production')}
        GROUP BY {keys}, region, production_type"""


def consumption_sql(registry: Registry, period: str) -> str:
    keys = "year, month" if period == "month" else "year"
    return f"""
        SELECT {keys}, home_id, sum(energy_kwh) AS energy_kwh, sum(ev_kwh) AS ev_kwh,
               sum(household_kwh) AS household_kwh, sum(cost) AS cost,
               CAST(sum(cost) / nullif(sum(energy_kwh), 0) AS DECIMAL(12, 6)) AS avg_price, max(currency) AS currency
        FROM {registry.sql_name('silver.consumption')}
        GROUP BY {keys}, home_id"""


def consumption_part_sql(registry: Registry, part: str) -> str:
    """Interval rows of one part of the load: ``ev`` (charging intervals only) or ``household``."""
    where = "WHERE ev_kwh > 0" if part == "ev" else ""
    return f"""
        SELECT interval_start, interval_end, home_id, source, {part}_kwh AS energy_kwh,
               CAST({part}_kwh AS DOUBLE) * 3600
                   / (unix_seconds(interval_end) - unix_seconds(interval_start)) AS avg_power_kw,
               year, month, day
        FROM {registry.sql_name('silver.consumption')} {where}"""


def consumption_emissions_sql(registry: Registry, intensity: str | None = None) -> str:
    """Consumption x model x basis with emissions; ``intensity`` is a relation in the gold.grid_intensity shape
    (default: the view itself; a subquery restates with other factors)."""
    home, area = home_region(), control_area()
    intensity = intensity or registry.sql_name("gold.grid_intensity")
    return f"""
        WITH consumption AS (
            SELECT *, date_trunc('HOUR', interval_start) AS hour FROM {registry.sql_name('silver.consumption')}
        ), intensity AS (
            SELECT *, date_trunc('HOUR', interval_start) AS hour FROM {intensity}
            WHERE (model <> 'locality' AND region = '{home}') OR (model = 'locality' AND region = '{area}')
        ), weighted AS (
            SELECT c.interval_start, c.interval_end, c.home_id, i.model, i.basis, c.energy_kwh, c.ev_kwh,
                   c.household_kwh, c.year, c.month, c.day, i.g_per_kwh,
                   i.production_mwh * (unix_seconds(least(c.interval_end, i.interval_end))
                                       - unix_seconds(greatest(c.interval_start, i.interval_start))) AS weight
            FROM consumption c JOIN intensity i
              ON c.hour = i.hour AND i.interval_start < c.interval_end AND i.interval_end > c.interval_start
        ), attributed AS (
            SELECT interval_start, interval_end, home_id, model, basis, energy_kwh, ev_kwh, household_kwh,
                   year, month, day, sum(weight * g_per_kwh) / nullif(sum(weight), 0) AS g_per_kwh
            FROM weighted
            GROUP BY interval_start, interval_end, home_id, model, basis, energy_kwh, ev_kwh, household_kwh,
                     year, month, day
        )
        SELECT interval_start, interval_end, home_id, model, basis, energy_kwh, ev_kwh, household_kwh, g_per_kwh,
               CAST(energy_kwh AS DOUBLE) * g_per_kwh AS emissions_g,
               CAST(ev_kwh AS DOUBLE) * g_per_kwh AS ev_emissions_g,
               CAST(household_kwh AS DOUBLE) * g_per_kwh AS household_emissions_g,
               year, month, day
        FROM attributed"""


def emissions_sql(registry: Registry, period: str) -> str:
    """Per period, home, model and basis, with the spread between the models of the same period and basis.

    ``month``: from gold.consumption_emissions (what the gold/emissions_monthly asset writes); ``year``: from the
    gold.emissions_monthly table (sums of the months, so a year never recomputes intervals)."""
    keys = "year, month" if period == "month" else "year"
    if period == "month":
        totals = f"""
            SELECT {keys}, home_id, model, basis, sum(energy_kwh) AS energy_kwh, sum(ev_kwh) AS ev_kwh,
                   sum(household_kwh) AS household_kwh, sum(emissions_g) / 1000 AS emissions_kg,
                   sum(ev_emissions_g) / 1000 AS ev_emissions_kg,
                   sum(household_emissions_g) / 1000 AS household_emissions_kg,
                   sum(emissions_g) / nullif(CAST(sum(energy_kwh) AS DOUBLE), 0) AS g_per_kwh
            FROM {registry.sql_name('gold.consumption_emissions')}
            GROUP BY {keys}, home_id, model, basis"""
    else:
        totals = f"""
            SELECT {keys}, home_id, model, basis, sum(energy_kwh) AS energy_kwh, sum(ev_kwh) AS ev_kwh,
                   sum(household_kwh) AS household_kwh, sum(emissions_kg) AS emissions_kg,
                   sum(ev_emissions_kg) AS ev_emissions_kg, sum(household_emissions_kg) AS household_emissions_kg,
                   sum(emissions_kg) * 1000 / nullif(CAST(sum(energy_kwh) AS DOUBLE), 0) AS g_per_kwh
            FROM {registry.sql_name('gold.emissions_monthly')}
            GROUP BY {keys}, home_id, model, basis"""
    return f"""
        WITH totals AS ({totals}
        )
        SELECT *, max(emissions_kg) OVER (PARTITION BY {keys}, home_id, basis)
                  - min(emissions_kg) OVER (PARTITION BY {keys}, home_id, basis) AS spread_kg
        FROM totals"""


VIEW_BUILDERS = {
    "gold.consumption_emissions": consumption_emissions_sql,
    "gold.production_monthly": lambda r: production_sql(r, "month"),
    "gold.production_yearly": lambda r: production_sql(r, "year"),
    "gold.consumption_monthly": lambda r: consumption_sql(r, "month"),
    "gold.consumption_yearly": lambda r: consumption_sql(r, "year"),
    "gold.consumption_ev": lambda r: consumption_part_sql(r, "ev"),
    "gold.consumption_household": lambda r: consumption_part_sql(r, "household"),
    "gold.emissions_yearly": lambda r: emissions_sql(r, "year"),
}


def restatement_sql(registry: Registry, known_at, first_day, last_day, basis: str) -> str:
    """Per month and model: the household's kg CO2 with the factors known at ``known_at`` ("as reported then")
    next to the kg with today's factors, for the local days ``first_day..last_day``."""
    from emission_assets.models.grid_intensity import grid_intensity_sql

    def monthly(intensity: str | None) -> str:
        return f"""
            SELECT year, month, model, sum(energy_kwh) AS energy_kwh, sum(emissions_g) / 1000 AS kg
            FROM ({consumption_emissions_sql(registry, intensity)})
            WHERE basis = '{basis}'
              AND (year * 10000 + month * 100 + day) BETWEEN {first_day:%Y%m%d} AND {last_day:%Y%m%d}
            GROUP BY year, month, model"""

    return f"""
        SELECT coalesce(n.year, t.year) AS year, coalesce(n.month, t.month) AS month,
               coalesce(n.model, t.model) AS model, coalesce(n.energy_kwh, t.energy_kwh) AS energy_kwh,
               t.kg AS kg_then, n.kg AS kg_now, n.kg - t.kg AS change_kg
        FROM ({monthly(None)}) n
        FULL OUTER JOIN ({monthly(f"({grid_intensity_sql(registry, known_at)})")}) t
          ON n.year = t.year AND n.month = t.month AND n.model = t.model
        ORDER BY year, month, model"""
