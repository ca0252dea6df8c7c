"""``report``, ``restate`` and ``grants``: the figures and who may read them."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from emission_assets.cli.environment import check_environment
from emission_assets.cli.errors import UserError
from emission_assets.settings import emission_home
from emission_assets.timeutil import BERLIN, parse_day


@click.command("report")
@click.option("--start", "start", required=True, help="first day, YYYY-MM-DD (its whole month is reported)")
@click.option("--end", "end", required=True, help="last day, YYYY-MM-DD (its whole month is reported)")
@click.option("--basis", type=click.Choice(["direct", "lifecycle"]), default="direct", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="PNG path (default $EMISSION_HOME/reports/...)")
def report_command(start, end, basis, output) -> None:
    """Print kWh and kg CO2 per month and attribution model (gold.emissions_monthly), the market-based figure
    (gold.market_based_monthly) and the UBA reference per year, and write the chart PNG and the heat maps of the
    cleanest hours (gold.intensity_profile, month x local hour per model) beside it."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    print_report(first, last, basis, Path(output) if output else None)


def print_report(first: date, last: date, basis: str, output: Path | None = None, heatmaps: bool = True) -> None:
    """The report's table and chart, and the heat maps of gold.intensity_profile for the months (``heatmaps``)."""
    from emission_assets.gold.report import format_report, monthly_report, plot_models
    from emission_assets.lakehouse.session import open_lakehouse

    check_environment()
    lakehouse = open_lakehouse()
    frame = monthly_report(lakehouse.spark, lakehouse.registry, first, last, basis)  # the materialised table
    if frame.empty:
        raise UserError(f"gold.emissions_monthly has no {basis} emissions for {first}..{last}: materialise the days first")
    path = output or emission_home() / "reports" / f"models_{first}_{last}_{basis}.png"
    click.echo(format_report(frame))
    click.echo(f"chart: {plot_models(frame, path)}")
    if not heatmaps:
        return
    from emission_assets.gold.heatmap import write_heatmaps
    from emission_assets.gold.months import months_between

    written = write_heatmaps(lakehouse.spark, lakehouse.registry, path.parent, months_between(first, last))
    if written:  # gold.intensity_profile of the months (its asset writes the same files)
        click.echo(f"heat map (month x local hour per model): {', '.join(map(str, written))}")


@click.command("restate")
@click.option("--start", "start", required=True, help="first local day, YYYY-MM-DD")
@click.option("--end", "end", required=True, help="last local day, YYYY-MM-DD")
@click.option("--as-of", "as_of", required=True,
              help="use the emission factors known at this date (YYYY-MM-DD: by the end of that day, Europe/Berlin) "
              "or moment (YYYY-MM-DDTHH:MM[:SS], with an offset or Z; without one Europe/Berlin)")
@click.option("--basis", type=click.Choice(["direct", "lifecycle"]), default="direct", show_default=True)
def restate_command(start, end, as_of, basis) -> None:
    """Compare kg CO2 per month and model as reported with the factors known then and with today's factors."""
    from tabulate import tabulate

    from emission_assets.gold.aggregates import restatement_sql
    from emission_assets.lakehouse.session import open_lakehouse

    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    moment = known_at(as_of)
    check_environment()
    lakehouse = open_lakehouse()
    rows = lakehouse.spark.sql(restatement_sql(lakehouse.registry, moment, first, last, basis)).collect()
    if not rows:
        raise UserError(f"no {basis} emissions for {first}..{last}: materialise the days first")
    click.echo(tabulate([r.asDict() for r in rows], headers="keys", tablefmt="github", floatfmt=",.2f"))


def known_at(value: str) -> datetime:
    """``--as-of``: a day means "known by the end of that day" (Berlin); a time is taken as given (Berlin when it
    has no offset), so a restatement can name the moment between two factor loads of one day."""
    text = value.strip()
    if "T" not in text:
        known = parse_day(text, "--as-of")
        return datetime(known.year, known.month, known.day, 23, 59, 59, tzinfo=BERLIN)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of {value!r} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM[:SS], optionally "
                        "with an offset such as +01:00 or Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BERLIN)


@click.command("grants")
@click.option("--catalog", required=True, help="the Databricks Unity Catalog catalog holding the gold schema")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="consumer config (default: the bundled one)")
def grants_command(catalog, config) -> None:
    """Print the Unity Catalog GRANT statements for the consumer views (printed only, never executed)."""
    from emission_assets.gold.consumers import (
        CONFIG_PATH,
        grant_statements,
        load_consumers,
    )
    from emission_assets.lakehouse.registry import Registry

    if not catalog.strip():
        raise UserError("--catalog must name a catalog")
    if config and not Path(config).is_file():
        raise UserError(f"no such file: {config}")
    source = str(config or CONFIG_PATH)
    try:
        consumers = load_consumers(source)
        statements = grant_statements(Registry(catalog=catalog.strip()), consumers)
    except ValueError as error:  # the consumer config's own validation; UnicodeDecodeError for a binary file
        message = str(error) if source in str(error) else f"{source}: {error}"
        raise UserError(message) from None
    for statement in statements:
        click.echo(f"{statement};")

