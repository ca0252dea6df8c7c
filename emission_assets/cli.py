"""``emission-tracker``: demo, CSV import, materialise, query and reset, on the home ``$EMISSION_HOME``."""
from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import date, datetime
from pathlib import Path

import click

from emission_assets.settings import emission_home, paths
from emission_assets.timeutil import BERLIN

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEMO_REPLAY = Path(__file__).resolve().parent / "data" / "smard_replay"
# (first day, last day, SMARD resolution, assets) of the bundled data: the sample household's year 2022 with
# hourly production, the emission factors and the report; then eleven quarter-hourly production days of 2025.
# Redispatch is left out: the bundle has none for these days (real redispatch data may not be shipped).
DEMO_RANGES = [
    (date(2022, 1, 1), date(2022, 12, 31), "hour",
     ["tag:source=smard", "tag:source=tibber", "tag:source=factors", "tag:source=gold"]),
    (date(2025, 8, 28), date(2025, 9, 7), "quarterhour", ["tag:source=smard"]),
]
DEMO_REPORT = (date(2022, 1, 1), date(2022, 12, 31))
LAYERS = ("reservoir", "bronze", "silver", "gold")


class UserError(click.ClickException):
    """A mistake in the call or the input: reported as one line with exit code 2, no traceback."""

    exit_code = 2


def prepare_dagster_home() -> Path:
    """Point DAGSTER_HOME at ``$EMISSION_HOME/dagster`` with the project's dagster.yaml in it."""
    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    source = PROJECT_ROOT / "dagster.yaml"
    if not source.exists():
        raise UserError(f"{source} not found: run emission-tracker from a checkout of the project")
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option} {value!r} is not a date in the form YYYY-MM-DD") from None


def run_materialize(first: date, last: date, selection: list[str], reservoir_config: dict):
    """Materialise the selection (default: every asset) for a day range, recorded in the persistent instance.

    Partitioned assets run as one Dagster run over the whole range (single-run backfill). Unpartitioned assets in
    the selection (the emission factor dimension, the report) run in their own runs: those with no partitioned
    upstream before the range, the others after it. Returns the last run's result (the first failed one, if
    any); a failure is printed, not raised.
    """
    from emission_assets.partitions import FIRST_DAY

    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    if first < date.fromisoformat(FIRST_DAY):
        raise UserError(f"--start {first} is before the first partition {FIRST_DAY}")
    if last >= datetime.now(BERLIN).date():
        raise UserError(f"--end {last} is not a complete day yet in Europe/Berlin; the last partition is yesterday")
    prepare_dagster_home()
    from dagster import AssetSelection
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from emission_assets.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    try:
        chosen = AssetSelection.from_string(" or ".join(selection)) if selection else default_selection()
        keys = chosen.resolve(graph)
    except Exception as error:
        raise UserError(f"--select {selection}: {error}") from None
    if not keys:
        raise UserError(f"--select {selection} matches no asset")

    def has_partitioned_upstream(key) -> bool:
        return any(graph.get(p).partitions_def is not None or has_partitioned_upstream(p)
                   for p in graph.get(key).parent_keys)

    partitioned = {k for k in keys if graph.get(k).partitions_def is not None}
    after = {k for k in keys - partitioned if has_partitioned_upstream(k)}
    before = keys - partitioned - after
    range_tags = {ASSET_PARTITION_RANGE_START_TAG: first.isoformat(), ASSET_PARTITION_RANGE_END_TAG: last.isoformat()}
    result = None
    for group, tags in ((before, {}), (partitioned, range_tags), (after, {})):
        if group:
            result = _run(group, tags, reservoir_config if group is partitioned else {})
            if not result.success:
                break
    return result


def default_selection():
    """Every asset, less the Tibber path when no Tibber source is configured (a SMARD-only user needs no token)."""
    from dagster import AssetSelection

    if os.environ.get("TIBBER_TOKEN") or os.environ.get("TIBBER_SECRET_SCOPE") or os.environ.get("TIBBER_API_URL"):
        return AssetSelection.all()
    click.echo("Tibber consumption skipped: set TIBBER_TOKEN (or TIBBER_API_URL=sample://tibber) to include it", err=True)
    return AssetSelection.all() - AssetSelection.tag("source", "tibber")


def _run(keys, tags: dict, reservoir_config: dict):
    from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

    from emission_assets.definitions import ASSETS
    from emission_assets.deployment import resources_for_environment

    fetches_smard = AssetKey(["reservoir", "smard_responses"]) in keys
    ops = {"reservoir__smard_responses": {"config": reservoir_config}} if reservoir_config and fetches_smard else {}
    with DagsterInstance.get() as instance:
        result = materialize(
            ASSETS,
            instance=instance,
            resources=resources_for_environment(),
            selection=AssetSelection.assets(*keys),
            run_config={
                "ops": ops,
                # The full event log goes to the Dagster instance (see `make ui`); the console gets warnings only.
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            tags=tags,
            raise_on_error=False,
        )
    if not result.success:
        click.echo(f"run {result.run_id} failed: {failure_message(result)}", err=True)
    return result


def failure_message(result) -> str:
    """The root cause of a failed run's first failed step (Dagster wraps it in its own errors)."""
    failure = next((e for e in result.all_events if e.is_failure and e.step_key), None)
    if failure is None or failure.event_specific_data is None:
        return "see the Dagster run log"
    error = failure.event_specific_data.error
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@click.group()
def main() -> None:
    """CO2 of a household's electricity: SMARD grid production, Tibber consumption, four attribution models."""


@main.command("materialize")
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
    started = time.monotonic()
    result = run_materialize(parse_day(start, "--start"), parse_day(end, "--end"), list(selection), config)
    click.echo(f"{'materialised' if result.success else 'FAILED'} {start}..{end} in {time.monotonic() - started:.1f} s")
    sys.exit(0 if result.success else 1)


@main.group("import")
def import_group() -> None:
    """Bulk imports into the reservoir."""


@import_group.command("smard-csv")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--region", default="DE", show_default=True, help="region the export is for (the CSV does not say)")
def import_smard_csv_command(files, region) -> None:
    """Turn SMARD download-center CSV exports into reservoir windows (then `materialize` the days)."""
    from emission_assets.reservoir.store import Reservoir
    from emission_assets.smard.csv_import import SmardCsvError, import_smard_csv

    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}")
    try:
        summary = import_smard_csv([Path(f) for f in files], region, Reservoir(paths().reservoir))
    except (SmardCsvError, ValueError) as error:
        raise UserError(str(error)) from None
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
    from emission_assets.redispatch.layout import import_redispatch_csv
    from emission_assets.reservoir.store import Reservoir

    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}")
    try:
        report = import_redispatch_csv([Path(f) for f in files], Reservoir(paths().reservoir))
    except ValueError as error:
        raise UserError(str(error)) from None
    click.echo(f"imported {len(report.files)} file(s): {report.measures} redispatch measures")


@main.command("live")
@click.option("--home-id", envvar="TIBBER_HOME_ID", help="Tibber home id (default: the account's only home)")
@click.option("--flush-seconds", type=click.FloatRange(min=1), default=60, show_default=True,
              help="write a micro-batch file into the reservoir this often")
@click.option("--duration", type=click.FloatRange(min=1), help="stop after this many seconds (default: run until killed)")
@click.option("--ws-url", help="websocket URL (default: the one Tibber's API names)")
def live_command(home_id, flush_seconds, duration, ws_url) -> None:
    """Record the Pulse live stream (liveMeasurement) into the reservoir as micro-batch files."""
    from emission_assets.reservoir.store import Reservoir
    from emission_assets.resources import resources_from_env
    from emission_assets.tibber.client import TibberError, token_from_environment
    from emission_assets.tibber.live import LiveAuthError, run_live_from_env

    tibber = resources_from_env()["tibber"]
    try:
        client = tibber.client()
        home = client.resolve_home(home_id)
        url = ws_url or client.websocket_url()
        click.echo(f"recording live measurements of home {home} every {flush_seconds:g} s into {paths().reservoir}")
        stats = run_live_from_env(Reservoir(paths().reservoir), home, url, token_from_environment(), flush_seconds, duration)
    except (TibberError, LiveAuthError) as error:
        raise UserError(str(error)) from None
    click.echo(
        f"{stats.measurements_received} measurements in {stats.batches_written} batch files "
        f"over {stats.connections_opened} connection(s)"
    )


@main.command("query")
@click.argument("sql")
def query_command(sql) -> None:
    """Run SQL on the lakehouse (tables by registry name, e.g. silver.production) and print CSV."""
    from emission_assets.lakehouse.session import open_lakehouse

    lakehouse = open_lakehouse()
    try:
        frame = lakehouse.spark.sql(sql).toPandas()
    except Exception as error:  # the engine's message names the problem (syntax, unknown table or column)
        raise UserError(f"query failed: {str(error).splitlines()[0]}") from None
    frame.to_csv(sys.stdout, index=False)


@main.command("reset")
@click.option("--layer", type=click.Choice([*LAYERS, "all"]), default="all", show_default=True)
@click.option("--yes", is_flag=True, help="do not ask")
def reset_command(layer, yes) -> None:
    """Delete a layer's local data (``all`` also clears the Dagster run history) for a fresh start."""
    home = paths()
    targets = {
        "reservoir": [home.reservoir],
        **{name: [home.lakehouse / name] for name in ("bronze", "silver", "gold")},
    }
    chosen = [p for name in (LAYERS if layer == "all" else [layer]) for p in targets[name]]
    if layer == "all":
        chosen.append(home.dagster_home)
    if not yes:
        click.confirm(f"delete {', '.join(map(str, chosen))}?", abort=True)
    for target in chosen:
        shutil.rmtree(target, ignore_errors=True)
        click.echo(f"removed {target}")


@main.command("demo")
def demo_command() -> None:
    """Materialise the bundled SMARD weeks offline (replayed API) and print what the lakehouse holds."""
    from tabulate import tabulate

    from emission_assets.tibber.sample import SAMPLE_API_URL

    os.environ.setdefault("SMARD_BASE_URL", DEMO_REPLAY.as_uri())
    os.environ.setdefault("TIBBER_API_URL", SAMPLE_API_URL)
    click.echo(f"home: {emission_home()}\nSMARD: {os.environ['SMARD_BASE_URL']}\nTibber: {os.environ['TIBBER_API_URL']}")
    for first, last, resolution, selection in DEMO_RANGES:
        started = time.monotonic()
        ok = run_materialize(first, last, selection, {"resolution": resolution}).success
        click.echo(f"{first}..{last} ({resolution}): {'ok' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s")
        if not ok:
            sys.exit(1)
    click.echo(tabulate(demo_summary(), headers="keys", tablefmt="github"))
    click.echo(f"\nCO2 of the sample household by attribution model, {DEMO_REPORT[0]}..{DEMO_REPORT[1]} (direct):")
    print_report(*DEMO_REPORT, "direct")


def demo_summary() -> list[dict]:
    """Rows per table, the time range they cover, and what they add up to."""
    from emission_assets.lakehouse.session import open_lakehouse

    sql = open_lakehouse().spark.sql
    rows = [{"table": "reservoir (files)", "rows": sum(1 for _ in paths().reservoir.rglob("*.meta.json"))}]
    for table, column in (("bronze.smard_responses", "window_start"), ("bronze.tibber_responses", "series_start")):
        r = sql(f"SELECT count(*) AS n, min({column}) AS a, max({column}) AS b FROM {table}").collect()[0]
        rows.append({"table": table, "rows": r.n, "from (UTC)": r.a, "to (UTC)": r.b})
    for r in sql(
        "SELECT resolution, count(*) AS n, count(DISTINCT production_type) AS types, min(interval_start) AS a, "
        "max(interval_end) AS b, sum(energy_mwh) AS mwh FROM silver.production GROUP BY resolution ORDER BY a"
    ).collect():
        rows.append({"table": f"silver.production ({r.resolution})", "rows": r.n, "from (UTC)": r.a, "to (UTC)": r.b,
                     "totals": f"{r.types} types, {r.mwh:,.0f} MWh"})
    for r in sql(
        "SELECT source, count(*) AS n, min(interval_start) AS a, max(interval_end) AS b, sum(energy_kwh) AS total, "
        "sum(ev_kwh) AS ev, sum(household_kwh) AS household FROM silver.consumption GROUP BY source"
    ).collect():
        rows.append({"table": f"silver.consumption ({r.source})", "rows": r.n, "from (UTC)": r.a, "to (UTC)": r.b,
                     "totals": f"{r.total:,.1f} kWh = {r.household:,.1f} household + {r.ev:,.1f} EV"})
    return rows


@main.command("ui")
def ui_command() -> None:
    """Start ``dagster dev`` on the same home (web UI on http://127.0.0.1:3000)."""
    home = prepare_dagster_home()
    workspace = PROJECT_ROOT / "workspace.yaml"
    dagster = Path(sys.executable).with_name("dagster")
    os.chdir(home)  # else dagster warns about the template dagster.yaml in the checkout
    os.execv(str(dagster), [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", "3000"])


@main.command("report")
@click.option("--start", "start", required=True, help="first day, YYYY-MM-DD (its whole month is reported)")
@click.option("--end", "end", required=True, help="last day, YYYY-MM-DD (its whole month is reported)")
@click.option("--basis", type=click.Choice(["direct", "lifecycle"]), default="direct", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="PNG path (default $EMISSION_HOME/reports/...)")
def report_command(start, end, basis, output) -> None:
    """Print kWh and kg CO2 per month and attribution model (gold.emissions_monthly) and write the chart PNG."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    print_report(first, last, basis, Path(output) if output else None)


def print_report(first: date, last: date, basis: str, output: Path | None = None) -> None:
    from emission_assets.gold.report import format_report, monthly_report, plot_models
    from emission_assets.lakehouse.session import open_lakehouse

    lakehouse = open_lakehouse()
    frame = monthly_report(lakehouse.spark, lakehouse.registry, first, last, basis)
    if frame.empty:
        raise UserError(f"gold.emissions_monthly has no {basis} emissions for {first}..{last}: materialise the days first")
    path = output or emission_home() / "reports" / f"models_{first}_{last}_{basis}.png"
    click.echo(format_report(frame))
    click.echo(f"chart: {plot_models(frame, path)}")


@main.command("restate")
@click.option("--start", "start", required=True, help="first local day, YYYY-MM-DD")
@click.option("--end", "end", required=True, help="last local day, YYYY-MM-DD")
@click.option("--as-of", "as_of", required=True, help="use the emission factors known at this date (YYYY-MM-DD)")
@click.option("--basis", type=click.Choice(["direct", "lifecycle"]), default="direct", show_default=True)
def restate_command(start, end, as_of, basis) -> None:
    """Compare kg CO2 per month and model as reported with the factors known then and with today's factors."""
    from tabulate import tabulate

    from emission_assets.gold.aggregates import restatement_sql
    from emission_assets.lakehouse.session import open_lakehouse

    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    known = parse_day(as_of, "--as-of")
    moment = datetime(known.year, known.month, known.day, 23, 59, 59, tzinfo=BERLIN)  # known by the end of that day
    lakehouse = open_lakehouse()
    rows = lakehouse.spark.sql(restatement_sql(lakehouse.registry, moment, first, last, basis)).collect()
    if not rows:
        raise UserError(f"no {basis} emissions for {first}..{last}: materialise the days first")
    click.echo(tabulate([r.asDict() for r in rows], headers="keys", tablefmt="github", floatfmt=",.2f"))


@main.command("grants")
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
    try:
        consumers = load_consumers(config or CONFIG_PATH)
        statements = grant_statements(Registry(catalog=catalog.strip()), consumers)
    except ValueError as error:
        raise UserError(str(error)) from None
    for statement in statements:
        click.echo(f"{statement};")


if __name__ == "__main__":
    main()
