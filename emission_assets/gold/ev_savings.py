"""The gold.ev_savings_monthly / _yearly views: sums of gold.ev_shift_savings (:mod:`emission_assets.gold.ev_shift`).

Apart from the counterfactual's module because the view registry (:mod:`emission_assets.gold.views`) imports every
view builder, and the counterfactual imports the month scopes, which read the view registry.
"""
from __future__ import annotations

from emission_assets.lakehouse.registry import Registry

EV_SHIFT_SAVINGS = "gold.ev_shift_savings"


def ev_savings_sql(registry: Registry, period: str) -> str:
    """Per period, home, model and basis: sessions, kWh, kg as charged, shifted and saved, and the partial results
    (sums of gold.ev_shift_savings; a year sums its sessions, like its months)."""
    keys = "year, month" if period == "month" else "year"
    return f"""
        SELECT {keys}, home_id, model, basis, CAST(count(*) AS INT) AS sessions, sum(energy_kwh) AS energy_kwh,
               sum(actual_kg) AS actual_kg, sum(shifted_kg) AS shifted_kg, sum(saved_kg) AS saved_kg,
               sum(saved_kg) / nullif(sum(actual_kg), 0) AS saved_share, sum(unfit_kwh) AS unfit_kwh,
               avg(same_slots_as_average_share) AS same_slots_as_average_share,
               CAST(count_if(status <> 'complete') AS INT) AS partial_sessions
        FROM {registry.sql_name(EV_SHIFT_SAVINGS)}
        GROUP BY {keys}, home_id, model, basis"""


VIEW_BUILDERS = {
    "gold.ev_savings_monthly": lambda r: ev_savings_sql(r, "month"),
    "gold.ev_savings_yearly": lambda r: ev_savings_sql(r, "year"),
}
