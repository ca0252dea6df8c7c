"""The environment a command checks before any work, and the Dagster home it prepares."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from emission_assets.cli.errors import UserError
from emission_assets.settings import check_url, paths

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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

