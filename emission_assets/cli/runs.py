"""Materialise runs through Dagster's public API, with the console logger and the CLI's failure lines."""
from __future__ import annotations

import sys
from datetime import date, timedelta

import click

from emission_assets.cli.environment import check_environment, prepare_dagster_home
from emission_assets.cli.errors import UserError
from emission_assets.errors import UserInputError
from emission_assets.settings import paths
from emission_assets.timeutil import today_in_berlin


def run_materialize(first: date, last: date, selection: list[str], reservoir_config: dict, results: list | None = None):
    """Materialise the selection (default: every asset) for a day range, recorded in the persistent instance.

    Day-partitioned assets run as one Dagster run over the whole range (single-run backfill), then the
    month-partitioned gold tables as one run over the months the days touch. Unpartitioned assets in the selection
    ride with them: those with no partitioned upstream (the emission factor dimension) in the day run, the others
    (the gold views, the report) in the month run. Returns the last run's result (the first failed one, if
    any); a failed run is returned, not raised (see :func:`echo_failure`); ``results``, if given, collects every
    run's result (for :func:`finish_runs`). Mistakes in the arguments or the environment raise :class:`UserError`
    before any run starts.
    """
    from emission_assets.orchestration.partitions import FIRST_DAY, FORECAST_END_OFFSET_DAYS
    from emission_assets.smard.catalog import check_region, check_resolution

    if first > last:
        raise UserError(f"--start {first} is after --end {last}")
    if first < date.fromisoformat(FIRST_DAY):
        raise UserError(f"--start {first} is before the first partition {FIRST_DAY}")
    # Day-ahead forecast assets have partitions up to tomorrow (partitions.FORECAST_DAILY); every other day
    # partition ends yesterday. A selection is checked once resolved (_materialize_selection); the default one
    # always includes realised data.
    if last > today_in_berlin() + timedelta(days=FORECAST_END_OFFSET_DAYS - 1) or (last >= today_in_berlin()
                                                                                    and not selection):
        raise UserError(not_over_message(last))
    for region in reservoir_config.get("regions", []):
        check_region(region)
    if "resolution" in reservoir_config:
        check_resolution(reservoir_config["resolution"])
    check_environment()
    from emission_assets.cli.engine_warmup import engine_started_in_background

    # The embedded engine starts while Dagster loads and plans (a new process's cost).
    with engine_started_in_background():
        return _materialize_selection(first, last, selection, reservoir_config, results)


def _materialize_selection(first: date, last: date, selection: list[str], reservoir_config: dict, results):
    """:func:`run_materialize` once its arguments and the environment are checked."""
    from dagster import AssetSelection, DagsterError, DagsterInstance, Definitions

    from emission_assets import definitions
    from emission_assets.orchestration.run_control import check_writable
    from emission_assets.sources import resources_for_environment

    resources = resources_for_environment()  # raises DeploymentConfigError naming a missing Databricks setting
    home = paths()
    check_writable(home.dagster_home, home.lakehouse)  # the reservoir may be read-only if it holds the days
    prepare_dagster_home()
    graph = Definitions(assets=definitions.ASSETS, resources=resources).resolve_asset_graph()  # what _run runs
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

    from emission_assets.orchestration.partitions import (
        daily_partitions,
        forecast_daily_partitions,
        monthly_partitions,
    )

    daily = {k for k in keys if graph.get(k).partitions_def == daily_partitions}
    monthly = {k for k in keys if graph.get(k).partitions_def == monthly_partitions}
    forecast = {k for k in keys if graph.get(k).partitions_def == forecast_daily_partitions}
    partitioned = {k for k in keys if graph.get(k).partitions_def is not None}
    if last >= today_in_berlin() and partitioned - forecast:
        raise UserError(not_over_message(last, partitioned - forecast))
    if partitioned - daily - monthly - forecast:
        raise UserError("--select includes assets with other partitions: "
                        f"{sorted(map(str, partitioned - daily - monthly - forecast))}")
    # Gold assets always run last: one that cannot say its upstream (a consumer with a broken config entry) fails
    # after bronze and silver are done, never before them.
    after = {k for k in keys - partitioned if has_partitioned_upstream(k) or graph.get(k).group_name == "gold"}
    before = keys - partitioned - after
    # Views named by key always run; the others only when their definition changed (current_views).
    named = {k for term in selection if term.strip().startswith("key:")
             for k in AssetSelection.from_string(term).resolve(graph)}
    # One instance for the whole command: each DagsterInstance.get() opens the storages again and checks their
    # schema revisions (~0.1 s each on SQLite).
    with DagsterInstance.get() as instance:
        skipped = current_views(graph, after - named, instance)
        if skipped:
            click.echo(f"{len(skipped)} gold view(s) current (same code version, view present or not creatable "
                       "here): not re-created", err=True)
        after -= skipped
        day_tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        month_tags = {RANGE_START_TAG: first.replace(day=1).isoformat(),
                      RANGE_END_TAG: last.replace(day=1).isoformat()}
        # Three runs at most (each run costs its start and planning): the unpartitioned assets ride with the
        # partitioned runs, ordered by the dependencies inside each run. The day-ahead forecasts and the intensity
        # forecast (partitions up to tomorrow) run apart, last: one run has one partitions definition, and the
        # forecast model reads the history the runs before wrote.
        runs = [(before | daily, day_tags if daily else {}, reservoir_config if daily else {}),
                (monthly | after, month_tags if monthly else {}, {}),
                (forecast, day_tags, reservoir_config)]
        result = None
        with _gold_prepared(monthly | after):
            for group, tags, config in runs:
                if group:
                    day_keys = group & (daily | forecast)
                    days = (last - first).days + 1 if day_keys else None
                    result = _run(group, tags, config, resources, days, day_keys, instance=instance)
                    if results is not None:
                        results.append(result)
                    if not result.success:
                        break
    return result


def _gold_prepared(keys):
    """What the selected gold steps need, prepared in the background while the runs before them go on
    (:func:`emission_assets.cli.engine_warmup.gold_prepared_in_background`): the merit order's unit table for
    gold/grid_intensity, matplotlib for the steps that draw (the heat map, the report's charts)."""
    from emission_assets.cli.engine_warmup import gold_prepared_in_background
    from emission_assets.gold.assets import GRID_INTENSITY_KEY
    from emission_assets.gold.profile_assets import KEY as PROFILE_KEY
    from emission_assets.gold.report_assets import KEY as REPORT_KEY

    return gold_prepared_in_background(units=GRID_INTENSITY_KEY in keys,
                                       charts=bool(set(keys) & {PROFILE_KEY, REPORT_KEY}))


def current_views(graph, keys, instance=None) -> set:
    """The gold view assets among ``keys`` that need no run: a view holds SQL, not data, so it is current while its
    view exists and was created by this code version (Dagster's last materialisation of the asset carries the same
    ``dagster/code_version``). The tables and the report always run; a changed model, region or consumer config
    changes the code version, and a reset lakehouse has no persisted view, so both re-create the view.

    A consumer view that cannot be created here (no pseudonym key, owners without Unity Catalog) is current too when
    its last run, of this code version, did not create it and the reason still holds: the run would only say so
    again. The reason is printed instead; once it no longer holds (the key is set), the view runs and is created."""
    from emission_assets.gold.consumers import skipped_view_reason
    from emission_assets.lakehouse.registry import Registry
    from emission_assets.lakehouse.view_catalog import persisted_views
    from emission_assets.settings import settings

    catalog = settings().engine.catalog
    registry = Registry(catalog=catalog) if catalog else Registry(lakehouse_root=paths().lakehouse)
    # Locally the view catalog file says which views exist; in Unity Catalog they persist in the catalog itself.
    existing = None if catalog else set(persisted_views(registry))
    candidates = [key for key in keys
                  if graph.get(key).group_name == "gold" and graph.get(key).partitions_def is None
                  and graph.get(key).code_version is not None]
    if not candidates:
        return set()
    current, reasons = set(), set()
    with _instance(instance) as instance:
        # One query for every candidate (a query per asset cost ~25 ms each on SQLite).
        for record in instance.get_asset_records(candidates):
            key = record.asset_entry.asset_key
            event = record.asset_entry.last_materialization
            materialization = event.asset_materialization if event else None
            if materialization is None or \
                    (materialization.tags or {}).get("dagster/code_version") != graph.get(key).code_version:
                continue
            view = f"gold.{key.path[-1]}"
            if existing is None or view in existing:
                current.add(key)
                continue
            created = materialization.metadata.get("created")
            reason = skipped_view_reason(registry, view) if getattr(created, "value", None) is False else None
            if reason is not None:
                current.add(key)
                reasons.add(reason)
    for reason in sorted(reasons):
        click.echo(reason, err=True)
    return current


def not_over_message(last: date, keys=()) -> str:
    """The error for a ``--end`` day not over yet; ``keys``: the selected assets whose partitions end yesterday."""
    which = f" for {', '.join(sorted('/'.join(k.path) for k in keys))}" if keys else ""
    return (f"--end {last} is not a complete day yet in Europe/Berlin; the last partition is yesterday{which} "
            "(tomorrow for the day-ahead forecasts, --select tag:source=smard_forecast)")


def default_selection():
    """Every asset, less the sources that are not configured (``Source.configured``: a SMARD-only user needs no
    Tibber token)."""
    from dagster import AssetSelection

    from emission_assets.sources import all_sources

    selection = AssetSelection.all()
    for source in all_sources():
        if not source.configured():
            click.echo(source.unconfigured_note, err=True)
            selection = selection - AssetSelection.tag("source", source.name)
    return selection


# Dagster's documented run tags for a partition key range (what `dagster asset materialize --partition-range` and
# single-run backfills set).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RUN_JOB_NAME = "__ephemeral_asset_job__"  # the name dagster.materialize() gives its runs, kept for the run history


def _instance(instance=None):
    """``instance`` as a context that leaves it open, or a new instance from DAGSTER_HOME, disposed at the end."""
    from contextlib import nullcontext

    from dagster import DagsterInstance

    return nullcontext(instance) if instance is not None else DagsterInstance.get()


def _run(keys, tags: dict, reservoir_config: dict, resources: dict, days: int | None = None, day_keys=frozenset(),
         instance=None):
    """One in-process run of ``keys``, like ``dagster.materialize`` but with :func:`_console_logger`; runs left by
    a killed process are recovered first, and the run is tagged with this process (see ``run_control``).
    ``instance``: the caller's open instance (default: one from DAGSTER_HOME for this run)."""
    import uuid

    from dagster import AssetSelection, Definitions, define_asset_job

    from emission_assets.definitions import ASSETS
    from emission_assets.orchestration.run_control import RunProgress, SignalGuard, process_tags, recover_stale_runs
    from emission_assets.sources import all_sources

    # --region/--resolution/--refresh configure the SMARD reservoir steps (realised data and day-ahead forecasts)
    ops = {source.reservoir_op_name: {"config": reservoir_config} for source in all_sources()
           if reservoir_config and source.takes_smard_options and source.reservoir_key in keys}
    run_id = str(uuid.uuid4())
    with _instance(instance) as instance:
        recover_stale_runs(instance)
        progress = RunProgress(instance, run_id, days, frozenset("__".join(key.path) for key in day_keys))
        definitions = Definitions(
            assets=ASSETS,
            jobs=[define_asset_job(RUN_JOB_NAME, selection=AssetSelection.assets(*keys))],
            resources=resources,
            loggers={"console": _console_logger(progress)},
        )
        job = definitions.resolve_job_def(RUN_JOB_NAME)
        progress.planning(len(keys))
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
    from emission_assets.sources import all_sources

    cls = locate(qualified_name)
    source_errors = tuple(error for source in all_sources() for error in source.expected_errors)
    return isinstance(cls, type) and issubclass(cls, (UserInputError, ConcurrentWriteError, *source_errors))


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

