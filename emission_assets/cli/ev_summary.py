"""The EV sessions and the shifting counterfactual per model, as the demo prints them (gold.ev_sessions,
gold.ev_shift_savings): what the car's charging caused, and what charging in the cleanest hours of each plug-in
window would have saved, under each attribution model."""
from __future__ import annotations

from datetime import date

import click

PARTIAL_TEXT = {
    "window_too_short": "window too short (the rest stays as charged)",
    "no_following_morning": "no following morning in the data (window cut at the last intensity)",
    "window_hours_without_intensity": "window hours without intensity (not used)",
    "session_intervals_without_intensity": "session hours without intensity (left out)",
}


def ev_summary_table(first: date, last: date, basis: str = "direct") -> tuple[list[dict], list, list]:
    """(one row per model, the per-model query rows, the partial-result counts) for sessions starting
    ``first..last``."""
    from emission_assets.gold.ev_shift import ev_summary_sql, partial_counts_sql
    from emission_assets.lakehouse.session import open_lakehouse

    lakehouse = open_lakehouse()
    sql = lakehouse.spark.sql
    rows = sql(ev_summary_sql(lakehouse.registry, first, last, basis)).collect()
    partial = sql(partial_counts_sql(lakehouse.registry, first, last, basis)).collect()
    table = [{
        "model": r.model, "sessions": r.sessions, "kWh": r.energy_kwh, "kg CO2": r.actual_kg, "g/kWh": r.g_per_kwh,
        "grid avg g/kWh": r.grid_average_g_per_kwh, "kg shifted": r.shifted_kg, "kg saved": r.saved_kg,
        "saved %": None if r.saved_share is None else 100 * r.saved_share,
        "same slots as average %": None if r.same_slots_as_average_share is None
        else 100 * r.same_slots_as_average_share,
        "cleanest hour (most often)": None if r.cleanest_hour_local is None else f"{r.cleanest_hour_local:02d}:00",
        "partial": r.partial_sessions,
    } for r in rows]
    return table, rows, partial


def print_ev_summary(first: date, last: date, basis: str = "direct") -> None:
    """The demo's last table: sessions found, kWh, kg per model, and the counterfactual saving per model."""
    from tabulate import tabulate

    from emission_assets.gold.report import MODELS

    table, rows, partial = ev_summary_table(first, last, basis)
    if not rows:
        click.echo(f"\nno EV charging sessions in gold.ev_sessions for {first}..{last}")
        return
    ready_by = rows[0].ready_by_local or "07:00"
    click.echo(f"\nEV charging sessions {first}..{last} ({basis}): {rows[0].sessions} sessions, "
               f"{rows[0].energy_kwh:,.1f} kWh. Had each been charged at the charger power in the cleanest hours "
               f"between its start and the next {ready_by} (per model):")
    click.echo(tabulate(table, headers="keys", tablefmt="github", floatfmt=",.1f", missingval=""))
    absent = [m for m in MODELS if m not in {r.model for r in rows}]
    if absent:
        click.echo(f"no data for: {', '.join(absent)}")
    for r in partial:
        click.echo(f"partial: {r.n} session x model results with {PARTIAL_TEXT.get(r.name, r.name)} [{r.name}]")
