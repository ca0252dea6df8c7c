"""``materialize``, ``import`` and ``live``: what brings data into the lakehouse."""
from __future__ import annotations

import time
from pathlib import Path

import click

from emission_assets.cli.errors import FailedAction, UserError
from emission_assets.cli.runs import finish_runs, run_materialize
from emission_assets.settings import paths, settings
from emission_assets.timeutil import parse_day


@click.command("materialize")
@click.option("--start", "start", required=True, help="first local day (Europe/Berlin), YYYY-MM-DD")
@click.option("--end", "end", required=True, help="last local day, inclusive")
@click.option("--select", "selection", multiple=True, help='Dagster asset selection, e.g. "key:silver/production"')
@click.option("--region", "regions", multiple=True, help="SMARD region(s) to fetch (default DE)")
@click.option("--resolution", type=click.Choice(["quarterhour", "hour"]), help="resolution of windows fetched now")
@click.option("--refresh", is_flag=True, help="fetch SMARD windows again even when the reservoir holds the days")
def materialize_command(start, end, selection, regions, resolution, refresh) -> None:
    """Materialise the assets for a day range in one run."""
    config = {}
    if regions:
        config["regions"] = list(regions)
    if resolution:
        config["resolution"] = resolution
    if refresh:
        config["refresh"] = True
    from emission_assets.orchestration.run_control import SignalGuard

    started, results = time.monotonic(), []
    with SignalGuard():
        result = run_materialize(parse_day(start, "--start"), parse_day(end, "--end"), list(selection), config, results)
    click.echo(f"{'materialised' if result.success else 'FAILED'} {start}..{end} in {time.monotonic() - started:.1f} s")
    finish_runs(results)


def check_ws_url(value: str) -> str:
    """A ``--ws-url`` must be a websocket URL (the library's own error for anything else is a traceback)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("wss", "ws") or not parts.netloc:
        raise click.BadParameter(f"{value!r} is not a websocket URL; expected wss://host/path (or ws://)")
    return value


def input_files(files) -> list[Path]:
    """The named files, once each is known to be a readable file (all are checked before anything is imported)."""
    missing = [f for f in files if not Path(f).exists()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}")
    for name in files:
        if not Path(name).is_file():
            raise UserError(f"{name} is not a regular file; expected a CSV file")
        try:
            with open(name, "rb"):
                pass
        except OSError as error:
            raise UserError(f"cannot read {name}: {error.strerror or error}") from None
    return [Path(f) for f in files]


@click.group("import")
def import_group() -> None:
    """Bulk imports into the reservoir."""


@import_group.command("smard-csv")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--region", default="DE", show_default=True, help="region the export is for (the CSV does not say)")
@click.option("--kind", "export", type=click.Choice(["generation", "consumption"]), default="generation",
              show_default=True, help="the export the files are: Realisierte Erzeugung or Realisierter Stromverbrauch")
def import_smard_csv_command(files, region, export) -> None:
    """Turn SMARD download-center CSV exports into reservoir windows (then `materialize` the days)."""
    from emission_assets.lakehouse.reservoir import Reservoir
    from emission_assets.orchestration.run_control import check_writable
    from emission_assets.smard.catalog import check_region
    from emission_assets.smard.csv_import import import_smard_csv

    check_region(region)
    check_writable(paths().reservoir)
    summary = import_smard_csv(input_files(files), region, Reservoir(paths().reservoir), export=export)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"imported {len(summary.files)} file(s): {summary.windows_written} windows, {summary.values} values, "
        f"{summary.nulls} empty slots, {summary.first_interval_start} .. {summary.last_interval_start} UTC "
        f"({', '.join(summary.resolutions)}), region {region}"
    )


@import_group.command("redispatch-csv")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def import_redispatch_csv_command(files) -> None:
    """Store netztransparenz.de redispatch CSV files (downloaded by hand) in the reservoir."""
    from emission_assets.lakehouse.reservoir import Reservoir
    from emission_assets.orchestration.run_control import check_writable
    from emission_assets.redispatch.layout import import_redispatch_csv

    check_writable(paths().reservoir)
    report = import_redispatch_csv(input_files(files), Reservoir(paths().reservoir))
    click.echo(f"imported {len(report.files)} file(s): {report.measures} redispatch measures")


@click.command("live")
@click.option("--home-id", envvar="TIBBER_HOME_ID", help="Tibber home id (default: the account's only home)")
@click.option("--flush-seconds", type=click.FloatRange(min=1), default=60, show_default=True,
              help="write a micro-batch file into the reservoir this often")
@click.option("--duration", type=click.FloatRange(min=1), help="stop after this many seconds (default: run until killed)")
@click.option("--ws-url", callback=lambda ctx, param, value: value and check_ws_url(value),
              help="websocket URL (default: the one Tibber's API names)")
def live_command(home_id, flush_seconds, duration, ws_url) -> None:
    """Record the Pulse live stream (liveMeasurement) into the reservoir as micro-batch files."""
    from emission_assets.lakehouse.reservoir import Reservoir
    from emission_assets.orchestration.run_control import check_writable
    from emission_assets.tibber.client import TibberAuthError, TibberError, TibberHomeError, token_from_environment
    from emission_assets.tibber.live import LiveAuthError, run_live_from_env
    from emission_assets.tibber.resources import TibberResource

    tibber = TibberResource(api_url=settings().tibber.api_url)  # not resources_from_env(): live needs no Spark settings
    check_writable(paths().reservoir)
    try:
        client = tibber.client()
        home = client.resolve_home(home_id)
        url = ws_url or client.websocket_url()
        click.echo(f"recording live measurements of home {home} every {flush_seconds:g} s into {paths().reservoir}")
        stats = run_live_from_env(Reservoir(paths().reservoir), home, url, token_from_environment(), flush_seconds, duration)
    except (TibberAuthError, TibberHomeError, LiveAuthError) as error:  # wrong token or home id: the user's to fix
        raise UserError(str(error)) from None
    except TibberError as error:  # the API failed after retries
        raise FailedAction(str(error)) from None
    click.echo(
        f"{stats.measurements_received} measurements in {stats.batches_written} batch files "
        f"over {stats.connections_opened} connection(s)"
    )

