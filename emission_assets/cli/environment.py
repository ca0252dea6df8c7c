"""The environment a command checks before any work, and the Dagster home it prepares."""
from __future__ import annotations

import os
from pathlib import Path

from emission_assets.cli.errors import UserError
from emission_assets.settings import paths, settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "dagster_instance.yaml"


def check_environment() -> None:
    """Check every environment variable (the settings object, once) before any work starts, so that a typo names
    its variable instead of failing deep inside a Dagster step or a Spark session."""
    from emission_assets.engine.session import EngineConfig
    from emission_assets.gold.aggregates import control_area, home_region

    current = settings().check()
    if current.engine.environment == "local" and not current.databricks.on_cluster:
        try:
            EngineConfig.from_env()  # the engine settings together (remote needs SPARK_REMOTE, ...)
        except ValueError as error:
            raise UserError(f"EMISSION_ENGINE/SPARK_REMOTE/EMISSION_CATALOG: {error}") from None
    home_region()  # checked against the SMARD catalog, which the settings layer does not know
    control_area()


PLANNED_EVENTS_VARIABLE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def prepare_dagster_home() -> Path:
    """Point DAGSTER_HOME at ``$EMISSION_HOME/dagster`` with the project's instance settings in it
    (``emission_assets/data/dagster_instance.yaml``: storage under DAGSTER_HOME, Dagster's default; with
    ``EMISSION_DAGSTER_POSTGRES_URL`` set, run/event/schedule storage in PostgreSQL: :mod:`.dagster_storage`).

    Under a file lock: two commands starting at once on a fresh home would both create the instance's SQLite
    tables, and the second would fail with "table ... already exists".
    """
    from dagster import DagsterInstance
    from filelock import FileLock

    from emission_assets.cli import dagster_storage
    from emission_assets.orchestration.sqlite_storage import install as install_sqlite_sync

    home = paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_storage.instance_yaml(INSTANCE_TEMPLATE)
    dagster_storage.check_postgres_reachable()
    dagster_storage.configure_event_batching()
    os.environ["DAGSTER_HOME"] = str(home)
    # Dagster's opt-in (dagster-io/dagster#29288, recommended in #32242): a range run records one "materialisation
    # planned" event per asset, not one per partition (a year of days: 6 events instead of 2,190, ~10 ms each on
    # SQLite, 22 s of the year's backfill). The price: the partitions of a range run that *fails* show as missing,
    # not failed, in the UI (the CLI prints the failure; re-run the range). `false` restores per-partition events.
    os.environ.setdefault(PLANNED_EVENTS_VARIABLE, "true")
    install_sqlite_sync()
    with FileLock(home / ".instance.lock"):
        target = home / "dagster.yaml"
        if not target.exists() or target.read_bytes() != instance_yaml:
            partial = target.with_name(f".{target.name}.partial")  # replaced whole: a reader never sees half
            partial.write_bytes(instance_yaml)
            os.replace(partial, target)
        with DagsterInstance.get():  # creates the storage on first use
            pass
    return home

