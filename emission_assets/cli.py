"""``emission-tracker``: demo, CSV import, materialise, query and reset, on the home ``$EMISSION_HOME``."""
from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import date, datetime
from pathlib import Path

import click

from emission_assets.errors import UserInputError
from emission_assets.settings import check_url, emission_home, paths
from emission_assets.timeutil import BERLIN, parse_day, today_in_berlin

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


class FailedAction(click.ClickException):
    """A valid call whose work failed (a run, a download): reported as one line with exit code 1."""

    exit_code = 1


class CommandLine(click.Group):
    """Turns the project's :class:`UserInputError` (a bad value anywhere: argument, environment, file) into a
    one-line ``Error: ...`` with exit code 2. Every other exception keeps its traceback: it is a bug."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserInputError as error:
            raise UserError(str(error)) from None
        except Exception as error:  # a full or read-only disk outside a step: one line; anything else is a bug
            from emission_assets.orchestration.run_control import disk_failure

            message = disk_failure(error)
            if message is None:
                raise
            raise FailedAction(message) from None


def check_environment() -> None:
    """Check the environment variables a run or a lakehouse session reads, before any work starts, so that a
    typo names its variable instead of failing deep inside a Dagster step or a Spark session."""
    from emission_assets.engine.session import EngineConfig
    from emission_assets.gold.aggregates import control_area, home_region
    from emission_assets.orchestration.deployment import current_environment

    paths().reservoir  # noqa: B018 - EMISSION_HOME and EMISSION_RESERVOIR must be directories
    if current_environment() == "local" and not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        try:
            EngineConfig.from_env()
        except ValueError as error:
            raise UserError(f"EMISSION_ENGINE/SPARK_REMOTE/EMISSION_CATALOG: {error}") from None
    for name, schemes in (
        ("SMARD_BASE_URL", ("https", "http", "file")),
        ("TIBBER_API_URL", ("https", "http", "sample")),
        ("NETZTRANSPARENZ_TOKEN_URL", ("https", "http")),
        ("NETZTRANSPARENZ_API_URL", ("https", "http")),
    ):
        if os.environ.get(name):
            check_url(name, os.environ[name], schemes)
    home_region()
    control_area()


def prepare_dagster_home() -> Path:
    """Point DAGSTER_HOME at ``$EMISSION_HOME/dagster`` with the project's dagster.yaml in it.

    Under a file lock: two commands starting at once on a fresh home would both create the instance's SQLite
    tables, and the second would fail with "table ... already exists".
    """
    from dagster import DagsterInstance
    from filelock import FileLock

    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    source = PROJECT_ROOT / "dagster.yaml"
    if not source.exists():
        raise UserError(f"{source} not found: run emission-tracker from a checkout of the project")
    os.environ["DAGSTER_HOME"] = str(home)
    with FileLock(home / ".instance.lock"):
        target = home / "dagster.yaml"
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
        with DagsterInstance.get():  # creates the storage on first use
            pass
    return home


def run_materialize(first: date, last: date, selection: list[str], reservoir_config: dict, results: list | None = None):
    """Materialise the selection (default: every asset) for a day range, recorded in the persistent instance.

    Partitioned assets run as one Dagster run over the whole range (single-run backfill). Unpartitioned assets in
    the selection (the emission factor dimension, the report) run in their own runs: those with no partitioned
    upstream before the range, the others after it. Returns the last run's result (the first failed one, if
    any); a failed run is returned, not raised (see :func:`echo_failure`); ``results``, if given, collects every
    run's result (for :func:`finish_runs`). Mistakes in the arguments or the environment raise :class:`UserError`
    before any run starts.
    """
    from emission_assets.orchestration.partitions import FIRST_DAY
    from emission_assets.smard.catalog import check_region, check_resolution

    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    if first < date.fromisoformat(FIRST_DAY):
        raise UserError(f"--start {first} is before the first partition {FIRST_DAY}")
    if last >= today_in_berlin():
        raise UserError(f"--end {last} is not a complete day yet in Europe/Berlin; the last partition is yesterday")
    for region in reservoir_config.get("regions", []):
        check_region(region)
    if "resolution" in reservoir_config:
        check_resolution(reservoir_config["resolution"])
    check_environment()
    from dagster import AssetSelection, DagsterError
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from emission_assets.definitions import build_definitions
    from emission_assets.orchestration.deployment import resources_for_environment
    from emission_assets.orchestration.run_control import check_writable

    resources = resources_for_environment()  # raises DeploymentConfigError naming a missing Databricks setting
    home = paths()
    check_writable(home.dagster_home, home.lakehouse)  # the reservoir may be read-only if it holds the days
    prepare_dagster_home()
    graph = build_definitions().resolve_asset_graph()
    try:
        chosen = AssetSelection.from_string(" or ".join(selection)) if selection else default_selection()
        keys = chosen.resolve(graph)
    except DagsterError as error:
        raise UserError(
            f"--select {' or '.join(selection)!r} is not a valid asset selection ({str(error).splitlines()[0]}); "
            'expected e.g. key:silver/production or tag:source=smard'
        ) from None
    if not keys:
        known = ", ".join(sorted("/".join(k.path) for k in graph.get_all_asset_keys()))
        raise UserError(f"--select {' or '.join(selection)!r} matches no asset; asset keys: {known}")

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
            days = (last - first).days + 1 if group is partitioned else None
            result = _run(group, tags, reservoir_config if group is partitioned else {}, resources, days)
            if results is not None:
                results.append(result)
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


RUN_JOB_NAME = "__ephemeral_asset_job__"  # the name dagster.materialize() gives its runs, kept for the run history


def _run(keys, tags: dict, reservoir_config: dict, resources: dict, days: int | None = None):
    """One in-process run of ``keys``, like ``dagster.materialize`` but with :func:`_console_logger`; runs left by
    a killed process are recovered first, and the run is tagged with this process (see ``run_control``)."""
    import uuid

    from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, define_asset_job

    from emission_assets.definitions import ASSETS
    from emission_assets.orchestration.run_control import RunProgress, SignalGuard, process_tags, recover_stale_runs

    fetches_smard = AssetKey(["reservoir", "smard_responses"]) in keys
    ops = {"reservoir__smard_responses": {"config": reservoir_config}} if reservoir_config and fetches_smard else {}
    run_id = str(uuid.uuid4())
    with DagsterInstance.get() as instance:
        recover_stale_runs(instance)
        progress = RunProgress(instance, run_id, days)
        definitions = Definitions(
            assets=ASSETS,
            jobs=[define_asset_job(RUN_JOB_NAME, selection=AssetSelection.assets(*keys))],
            resources=resources,
            loggers={"console": _console_logger(progress)},
        )
        job = definitions.resolve_job_def(RUN_JOB_NAME)
        progress.planning(len(keys), days)
        SignalGuard.watch(instance, run_id)
        try:
            return job.execute_in_process(
                run_config={
                    "ops": ops,
                    # The full event log goes to the Dagster instance (see `make ui`); the console gets warnings
                    # and the progress lines.
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                },
                instance=instance,
                run_id=run_id,
                tags={**tags, **process_tags()},
                raise_on_error=False,
            )
        finally:
            SignalGuard.watch(None, None)
            progress.stop()


def _console_logger(progress=None):
    """A console logger (public Dagster API) without the step and run failure events: their message is the whole
    error chain with every stack trace, a wall of text for a mistake like a missing token. The CLI prints the
    failure itself (:func:`echo_failure`); the run's full log stays in the Dagster instance. ``progress`` (a
    logging handler) gets every event, for the progress lines."""
    import logging
    import uuid

    from dagster import DagsterEventType, Field, logger

    quiet = {DagsterEventType.STEP_FAILURE.value, DagsterEventType.RUN_FAILURE.value}

    def loud(record) -> bool:
        event = getattr(record, "dagster_event", None)
        if getattr(event, "event_type_value", None) in quiet:
            return False
        # "Dependencies for step X failed: [...]. Not executing." repeats, as an ERROR, what the CLI's own Error line
        # says (the first failed step); the run's log in the instance keeps it.
        message = record.getMessage()
        return not ("Dependencies for step" in message and "Not executing" in message)

    @logger(
        {"log_level": Field(str, is_required=False, default_value="INFO"),
         "name": Field(str, is_required=False, default_value="dagster")},
        description="console, failures left to the CLI",
    )
    def console(init_context):
        config = init_context.logger_config
        log = logging.getLogger(f"emission_assets.console.{uuid.uuid4().hex}")  # one per run: no handler piles up
        log.setLevel(logging.DEBUG)
        log.propagate = False
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(config["log_level"].upper())
        handler.setFormatter(logging.Formatter(f"%(asctime)s - {config['name']} - %(levelname)s - %(message)s",
                                               "%Y-%m-%d %H:%M:%S %z"))
        handler.addFilter(loud)
        log.addHandler(handler)
        if progress is not None:
            log.addHandler(progress)
        return log

    return console


def _expected_failure(qualified_name: str) -> bool:
    """Whether an exception class (by its dotted name) is a failure the user can act on from its message: a user
    error, a source API that failed after its retries, or a write that lost to concurrent writers every time.
    Anything else is a bug and keeps its traceback."""
    from pydoc import locate

    from emission_assets.lakehouse.writer import ConcurrentWriteError
    from emission_assets.redispatch.client import NetztransparenzError
    from emission_assets.smard.client import SmardRequestError
    from emission_assets.tibber.client import TibberError

    cls = locate(qualified_name)
    return isinstance(cls, type) and issubclass(
        cls, (UserInputError, SmardRequestError, TibberError, NetztransparenzError, ConcurrentWriteError)
    )


def _step_error(result):
    """(step key, error) of the run's first failed step, the error being the step code's own exception rather
    than Dagster's wrapper around it; None if no step failed (e.g. the run could not start)."""
    failure = next((e for e in result.all_events if e.is_failure and e.step_key), None)
    if failure is None or failure.event_specific_data is None or failure.event_specific_data.error is None:
        return None
    error = failure.event_specific_data.error
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    return failure.step_key, error


def _disk_error(error):
    """(errno, path) if the step error, or an error it was caused by, is a read-only, permission or full disk."""
    from emission_assets.orchestration.run_control import disk_error

    while error is not None:
        found = disk_error(error.message)
        if found:
            return found
        error = error.cause
    return None


def failure_message(result) -> str:
    """One line: the error of a failed run's first failed step, with its class name but not its module (a disk
    error: what, where, and which setting points there)."""
    from emission_assets.orchestration.run_control import disk_error_message, folder_of_step

    found = _step_error(result)
    if found is None:
        return "see the Dagster run log (emission-tracker ui)"
    disk = _disk_error(found[1])
    if disk:
        return disk_error_message(disk[0], disk[1] or folder_of_step(found[0]))
    name, _, message = found[1].message.strip().partition(": ")
    return f"{name.rsplit('.', 1)[-1]}: {message}" if message else name


def finish_runs(results) -> None:
    """Print every failed check of the runs and why a run failed; exit with the code they decide (3 for a failed
    ERROR check, 1 for a failed run: :mod:`emission_assets.orchestration.check_report`), or return if all is well."""
    from emission_assets.orchestration.check_report import exit_code

    code = exit_code(results, lambda line: click.echo(line, err=True), echo_failure)
    if code:
        sys.exit(code)


def echo_failure(result) -> None:
    """Print why a run failed, to stderr, ending with the one-line message; an unexpected error (a bug) first
    gets its full traceback."""
    found = _step_error(result)
    if found is not None and not _expected_failure(found[1].message.partition(":")[0].strip()) \
            and not _disk_error(found[1]):
        click.echo(found[1].to_string().rstrip(), err=True)
    where = f"step {found[0]} of run {result.run_id}" if found else f"run {result.run_id}"
    click.echo(f"Error: {where} failed: {failure_message(result)}", err=True)


@click.group(cls=CommandLine)
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


@main.group("import")
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


@main.command("live")
@click.option("--home-id", envvar="TIBBER_HOME_ID", help="Tibber home id (default: the account's only home)")
@click.option("--flush-seconds", type=click.FloatRange(min=1), default=60, show_default=True,
              help="write a micro-batch file into the reservoir this often")
@click.option("--duration", type=click.FloatRange(min=1), help="stop after this many seconds (default: run until killed)")
@click.option("--ws-url", callback=lambda ctx, param, value: value and check_ws_url(value),
              help="websocket URL (default: the one Tibber's API names)")
def live_command(home_id, flush_seconds, duration, ws_url) -> None:
    """Record the Pulse live stream (liveMeasurement) into the reservoir as micro-batch files."""
    from emission_assets.lakehouse.reservoir import Reservoir
    from emission_assets.orchestration.resources import DEFAULT_TIBBER_URL, TIBBER_URL_ENV, TibberResource
    from emission_assets.orchestration.run_control import check_writable
    from emission_assets.tibber.client import TibberAuthError, TibberError, TibberHomeError, token_from_environment
    from emission_assets.tibber.live import LiveAuthError, run_live_from_env

    api_url = check_url(TIBBER_URL_ENV, os.environ[TIBBER_URL_ENV], ("https", "http", "sample")) \
        if os.environ.get(TIBBER_URL_ENV) else DEFAULT_TIBBER_URL
    tibber = TibberResource(api_url=api_url)  # not resources_from_env(): live needs no Spark settings
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


@main.command("query")
@click.argument("sql")
def query_command(sql) -> None:
    """Run one read-only query on the lakehouse (tables by registry name, e.g. silver.production) and print CSV.

    SELECT, WITH ... SELECT, SHOW, DESCRIBE and EXPLAIN only: data changes go through the assets and ``reset``."""
    from pyspark.errors import PySparkException

    from emission_assets.lakehouse.read_only_sql import check_read_only
    from emission_assets.lakehouse.session import open_lakehouse

    check_read_only(sql)  # before any session starts: a refused statement touches nothing
    check_environment()
    lakehouse = open_lakehouse()
    try:
        frame = lakehouse.spark.sql(sql).toPandas()
    except PySparkException as error:  # the engine's message names the problem (syntax, unknown table or column)
        from emission_assets.gold.consumers import missing_view_hint

        hint = missing_view_hint(sql, lakehouse.registry)  # a consumer view left out on purpose says why
        raise UserError(f"query failed: {hint or str(error).splitlines()[0]}") from None
    frame.to_csv(sys.stdout, index=False)


@main.command("maintain")
@click.option("--retain-hours", type=click.IntRange(min=1), default=168, show_default=True,
              help="keep files that a table version of the last this many hours still needs")
def maintain_command(retain_hours) -> None:
    """Compact small files and vacuum replaced ones in every lakehouse table (what the weekly schedule runs)."""
    from tabulate import tabulate

    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.orchestration.maintenance import maintain_all

    check_environment()
    results = maintain_all(open_lakehouse().writer, retain_hours)
    click.echo(tabulate(results, headers="keys", tablefmt="github"))


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
        if target.exists():  # a read-only home fails here in one line (CommandLine), not with a false "removed"
            try:
                shutil.rmtree(target)
            except OSError as error:  # rmtree names the entry relative to its folder: name the layer instead
                raise OSError(error.errno, error.strerror, str(target)) from None
        click.echo(f"removed {target}")


@main.command("demo")
def demo_command() -> None:
    """Materialise the bundled SMARD weeks offline (replayed API) and print what the lakehouse holds."""
    from tabulate import tabulate

    from emission_assets.orchestration.run_control import SignalGuard
    from emission_assets.tibber.sample import SAMPLE_API_URL

    os.environ.setdefault("SMARD_BASE_URL", DEMO_REPLAY.as_uri())
    os.environ.setdefault("TIBBER_API_URL", SAMPLE_API_URL)
    click.echo(f"home: {emission_home()}\nSMARD: {os.environ['SMARD_BASE_URL']}\nTibber: {os.environ['TIBBER_API_URL']}")
    for first, last, resolution, selection in DEMO_RANGES:
        started, results = time.monotonic(), []
        with SignalGuard():
            result = run_materialize(first, last, selection, {"resolution": resolution}, results)
        click.echo(f"{first}..{last} ({resolution}): {'ok' if result.success else 'FAILED'} "
                   f"in {time.monotonic() - started:.1f} s")
        finish_runs(results)
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
    from emission_assets.gold.scope import MonthScope, months_between
    from emission_assets.lakehouse.session import open_lakehouse

    check_environment()
    lakehouse = open_lakehouse()
    # Computed over the asked months only (through the views, every month would be computed first).
    scope = MonthScope(lakehouse.registry, months_between(first, last))
    frame = monthly_report(lakehouse.spark, scope, first, last, basis)
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
    check_environment()
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
    source = str(config or CONFIG_PATH)
    try:
        consumers = load_consumers(source)
        statements = grant_statements(Registry(catalog=catalog.strip()), consumers)
    except ValueError as error:  # the consumer config's own validation; UnicodeDecodeError for a binary file
        message = str(error) if source in str(error) else f"{source}: {error}"
        raise UserError(message) from None
    for statement in statements:
        click.echo(f"{statement};")


if __name__ == "__main__":
    main()
