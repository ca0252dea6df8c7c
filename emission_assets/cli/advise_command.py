"""``advise``: when to charge tonight, per attribution model (emission_assets/forecast/advice.py)."""
from __future__ import annotations

from datetime import timedelta

import click

from emission_assets.cli.environment import check_environment
from emission_assets.timeutil import parse_day, today_in_berlin


@click.command("advise")
@click.option("--date", "day", help="the day the car must be charged by, YYYY-MM-DD (default: tomorrow, Europe/Berlin)")
@click.option("--kwh", type=float, default=30.0, show_default=True, help="energy to charge, kWh")
@click.option("--by", "by", default="07:00", show_default=True, help="charged by this local time on --date, HH:MM")
@click.option("--from", "plug_in", default="18:00", show_default=True,
              help="plugged in from this local time, HH:MM (on the day before --date when not before --by)")
@click.option("--kw", "charger_kw", type=float, help="charger power, kW (default: the EV rule's 11 kW)")
@click.option("--basis", type=click.Choice(["direct", "lifecycle"]), default="direct", show_default=True)
def advise_command(day, kwh, by, plug_in, charger_kw, basis) -> None:
    """Print the cleanest window to charge --kwh before --by for each model and its expected g/kWh, from the
    forecast (gold.intensity_forecast); without one, from the historical profile (gold.intensity_profile), labelled
    as such."""
    from tabulate import tabulate

    from emission_assets.forecast.advice import advice_table, advise, parse_clock
    from emission_assets.gold.aggregates import home_region
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.tibber.silver import DEFAULT_EV_CHARGE_KW

    target = parse_day(day, "--date") if day is not None else today_in_berlin() + timedelta(days=1)
    by_time, from_time = parse_clock(by, "--by"), parse_clock(plug_in, "--from")
    region = home_region()
    check_environment()
    lakehouse = open_lakehouse()
    advice = advise(lakehouse.spark, lakehouse.registry, target, kwh, charger_kw or DEFAULT_EV_CHARGE_KW, from_time,
                    by_time, basis, region)
    click.echo(f"plug-in window: {advice.window.local_text()}; {advice.kwh:g} kWh at {advice.charger_kw:g} kW = "
               f"{advice.charge_hours:.2f} h of charging; region {region}, {basis} basis")
    label = "FORECAST" if advice.source == "forecast" else "HISTORICAL PROFILE, NOT A FORECAST"
    click.echo(f"source: {label} ({advice.detail})")
    for warning in advice.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(tabulate(advice_table(advice), headers="keys", tablefmt="github", floatfmt=",.1f", missingval="-"))
