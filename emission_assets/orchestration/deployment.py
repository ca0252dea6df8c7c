"""Deployment environments: the same assets locally or on Databricks, selected by ``EMISSION_ENV``.

``resources_for_environment()`` returns the resource dict for ``Definitions(resources=...)``:

- ``local`` (default): :func:`emission_assets.orchestration.resources.resources_from_env` as before (embedded Sail, a remote
  Spark Connect URL, local Delta paths under ``$EMISSION_HOME``), plus a no-op ``pyspark_step_launcher``
  resource, so every step runs in the Dagster process.
- ``databricks``: the same resources with ``SparkResource(engine="databricks", catalog=$EMISSION_CATALOG)``
  (tables are Unity Catalog tables ``<catalog>.<layer>.<table>``) and ``ReservoirResource(root=
  $EMISSION_RESERVOIR)`` on a Unity Catalog Volume, plus ``pyspark_step_launcher``: dagster-databricks'
  ``databricks_pyspark_step_launcher`` (see :func:`make_step_launcher`) that runs each step it is
  attached to as a one-time Databricks job run (Jobs ``runs/submit`` with a ``spark_python_task``) and streams
  the step's events back through DBFS.

The launcher only runs a step remotely if the step *requires* the ``pyspark_step_launcher`` resource key (Dagster
picks the single required resource that is a ``StepLauncher``). :func:`with_step_launcher` adds that key to the
assets that touch the lakehouse or the reservoir without changing their code; in ``local`` mode the key is bound
to a resource that is ``None`` (not a ``StepLauncher``), so Dagster runs those steps in-process as today.

Inside the Databricks job (detected by ``DATABRICKS_RUNTIME_VERSION``, which every Databricks runtime sets) the
same ``resources_for_environment()`` binds ``pyspark_step_launcher`` to the no-op resource too: the step is
already remote, and the launcher's credentials are not available there.

Environment variables
---------------------

All are fields of :mod:`emission_assets.settings` (validated there, naming the variable); the resources take the
ones Dagster reads as ``EnvVar`` (:func:`emission_assets.orchestration.resources.from_env`).

Selection

- ``EMISSION_ENV``: ``local`` (default) or ``databricks``.

Local (unchanged): ``EMISSION_HOME``, ``EMISSION_ENGINE`` (``embedded``/``remote``), ``SPARK_REMOTE``,
``EMISSION_RESERVOIR``, ``SMARD_BASE_URL``, ``TIBBER_API_URL``, ``TIBBER_HOME_ID``, ``TIBBER_TOKEN``,
``NETZTRANSPARENZ_*``.

Databricks (read where Dagster runs, i.e. the machine/daemon that launches the steps)

- ``DATABRICKS_HOST`` (required): workspace URL, e.g. ``https://adb-123.4.azuredatabricks.net``. The launcher
  config refers to it as ``{"env": "DATABRICKS_HOST"}``.
- ``DATABRICKS_TOKEN`` (required): personal access token (or a service principal's token). Referenced as
  ``{"env": "DATABRICKS_TOKEN"}``, so its value is read at resource start and never stored in run config or
  run storage.
- ``EMISSION_CATALOG`` (required): Unity Catalog catalog; tables are ``<catalog>.bronze|silver|gold.<table>``.
- ``EMISSION_RESERVOIR`` (required): reservoir root on a Unity Catalog Volume,
  ``/Volumes/<catalog>/<schema>/<volume>[/sub/dir]``.
- ``EMISSION_DATABRICKS_CLUSTER_ID``: run the steps on this existing (all-purpose) cluster. If unset, each step
  gets a new job cluster from:

  - ``EMISSION_DATABRICKS_SPARK_VERSION`` (required then), e.g. ``15.4.x-scala2.12``;
  - ``EMISSION_DATABRICKS_NODE_TYPE`` (required then), e.g. ``Standard_DS3_v2`` / ``m5d.large``;
  - ``EMISSION_DATABRICKS_WORKERS``: number of workers, default ``1``.

- ``EMISSION_DATABRICKS_STAGING``: DBFS directory for the uploaded step files (step main script, pickled step
  reference and config, zipped code, events, stdout/stderr), default ``/dagster_staging``. It must be a DBFS
  path: the launcher writes it with the DBFS API and the job reads it as ``/dbfs/<prefix>/...``, so a
  ``/Volumes/...`` staging prefix does not work with this launcher.
- ``EMISSION_DATABRICKS_LIBRARIES``: comma-separated extra PyPI requirements installed on the cluster for the
  run (the project's own dependencies, e.g. ``requests,pydantic``; the launcher always adds pinned ``dagster``,
  ``dagster-databricks``, ``dagster-pyspark`` and ``databricks-sdk``). The project code itself is not installed:
  it is zipped from the repository root and put on the job's ``sys.path``.
- ``EMISSION_DATABRICKS_POLL_SECONDS``: how often the launcher polls the run state and the events file,
  default ``5``.
- ``EMISSION_DATABRICKS_MAX_WAIT_SECONDS``: fail a step whose run takes longer, default ``86400``.
- ``EMISSION_SECRET_SCOPE``: Databricks secret scope. If set, the job exports each of the secrets named in
  ``EMISSION_SECRETS`` as the environment variable of the same name (secret key == variable name), before the
  step runs. Unset: no secrets are exported.
- ``EMISSION_SECRETS``: comma-separated secret keys/variables to export, default the secrets the sources
  declare (``Source.secrets``: ``TIBBER_TOKEN,NETZTRANSPARENZ_CLIENT_ID,NETZTRANSPARENZ_CLIENT_SECRET``). Every listed key must exist in the
  scope (a missing key fails the job before the step starts).

Passed to the job's environment: ``EMISSION_ENV=databricks``, ``EMISSION_ENGINE=databricks``,
``EMISSION_CATALOG``, ``EMISSION_RESERVOIR``, and, if set where Dagster runs, the variables the sources declare
(``Source.pass_through_env``: ``SMARD_BASE_URL``, ``TIBBER_API_URL``, ``TIBBER_HOME_ID``,
``NETZTRANSPARENZ_TOKEN_URL``, ``NETZTRANSPARENZ_API_URL``) and ``EMISSION_CONTROL_AREA``, ``EMISSION_HOME_REGION``. Inside the job ``EMISSION_ENGINE`` selects the
engine (default ``databricks``: the runtime's own session).

Auto Loader: with ``EMISSION_BRONZE_AUTOLOADER=1`` the SMARD bronze asset ingests through Auto Loader on Databricks
(:mod:`emission_assets.smard.autoloader`; ``cloudFiles`` with an available-now trigger, checkpoint on the Volume).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dagster import (
    AssetsDefinition,
    BetaWarning,
    In,
    OpDefinition,
    Out,
    PreviewWarning,
    ResourceDefinition,
    SupersessionWarning,
    resource,
)

from emission_assets.errors import UserInputError
from emission_assets.orchestration.resources import (
    ReservoirResource,
    SparkResource,
    from_env,
    reservoir_resource,
    resources_from_env,
    source_resources,
    spark_resource,
)
from emission_assets.orchestration.source import Source
from emission_assets.settings import settings, source_variable

ENV_VAR = "EMISSION_ENV"
ENVIRONMENTS = ("local", "databricks")
STEP_LAUNCHER_KEY = "pyspark_step_launcher"
# Assets that need any of these run where the lakehouse and the Volume are: on the cluster.
REMOTE_RESOURCE_KEYS = frozenset({"spark", "reservoir"})
REPO_ROOT = Path(__file__).resolve().parents[2]
# Passed through for the gold layer (the sources add their own: Source.pass_through_env, Source.secrets).
PASS_THROUGH_ENV = ("EMISSION_CONTROL_AREA", "EMISSION_HOME_REGION")
VOLUME_PATH = re.compile(r"^/Volumes/[^/]+/[^/]+/[^/]+(/.*)?$")


class DeploymentConfigError(UserInputError):
    """A missing or malformed deployment environment variable."""


def current_environment(env: str | None = None) -> str:
    if env is None:
        return settings().engine.environment
    env = env.strip().lower()
    if env not in ENVIRONMENTS:
        raise DeploymentConfigError(f"{ENV_VAR}={env!r}: choose one of {', '.join(ENVIRONMENTS)}")
    return env


def on_databricks_cluster() -> bool:
    """True inside a Databricks runtime (the job a step launcher submitted)."""
    return settings().databricks.on_cluster


def _required(group, field: str) -> str:
    value = getattr(group, field)
    if not value:
        raise DeploymentConfigError(f"{ENV_VAR}=databricks needs {group.variable(field)}")
    return value


def default_secrets(sources: Sequence[Source]) -> tuple[str, ...]:
    """The secrets the sources declare, exported on the cluster unless ``EMISSION_SECRETS`` names others."""
    return tuple(name for source in sources for name in source.secrets)


def pass_through_env(sources: Sequence[Source]) -> tuple[str, ...]:
    return (*(name for source in sources for name in source.pass_through_env), *PASS_THROUGH_ENV)


# The key must exist in every environment (the assets require it); a None resource is not a StepLauncher, so
# Dagster runs the step in-process.
NO_STEP_LAUNCHER = ResourceDefinition.none_resource(
    description="No step launcher: steps run in the Dagster process (local mode, or already on Databricks)."
)


def resources_for_environment(env: str | None = None, sources: Sequence[Source] = ()) -> dict:
    """The resources for ``EMISSION_ENV`` (or ``env``) and the API resources of ``sources`` (their descriptors):
    see the module docstring. The code location passes every source (``emission_assets.sources.SOURCES``)."""
    env = current_environment(env)
    if env == "local":
        return {**resources_from_env(sources), STEP_LAUNCHER_KEY: NO_STEP_LAUNCHER}
    # Not resources_from_env(): it validates the engine settings at load time, which would make a Spark
    # misconfiguration on the cluster fail the code location instead of the step that uses Spark.
    resources = source_resources(sources)
    if on_databricks_cluster():
        # Inside the submitted job: the launcher passed EMISSION_ENGINE/CATALOG/RESERVOIR.
        resources["spark"] = spark_resource(default_engine="databricks")
        resources["reservoir"] = reservoir_resource()
        resources[STEP_LAUNCHER_KEY] = NO_STEP_LAUNCHER
        return resources
    engine, storage = settings().engine, settings().storage
    _required(engine, "catalog")
    reservoir = str(_required(storage, "reservoir"))
    if not VOLUME_PATH.match(reservoir):
        raise DeploymentConfigError(
            f"EMISSION_RESERVOIR={reservoir!r} is not a Unity Catalog Volume path /Volumes/<catalog>/<schema>/<volume>"
        )
    resources["spark"] = SparkResource(engine="databricks", catalog=from_env(engine, "catalog"))
    resources["reservoir"] = ReservoirResource(root=from_env(storage, "reservoir"))
    resources[STEP_LAUNCHER_KEY] = databricks_step_launcher_from_env(sources)
    return resources


def _cluster_config() -> dict:
    databricks = settings().databricks
    if databricks.cluster_id:
        return {"existing": databricks.cluster_id}
    spark_version, node_type = databricks.spark_version, databricks.node_type
    if not spark_version or not node_type:
        raise DeploymentConfigError(
            "EMISSION_ENV=databricks needs EMISSION_DATABRICKS_CLUSTER_ID, or EMISSION_DATABRICKS_SPARK_VERSION and "
            "EMISSION_DATABRICKS_NODE_TYPE for a new job cluster"
        )
    return {
        "new": {
            "size": {"num_workers": databricks.workers},
            "spark_version": spark_version,
            "nodes": {"node_types": {"node_type_id": node_type}},
        }
    }


def step_launcher_config(sources: Sequence[Source] = ()) -> dict[str, Any]:
    """The ``databricks_pyspark_step_launcher`` config built from the environment and the secrets and variables
    the ``sources`` declare (no secret values in it)."""
    current, databricks = settings(), settings().databricks
    catalog = _required(current.engine, "catalog")
    reservoir = str(_required(current.storage, "reservoir"))
    _required(databricks, "host")
    _required(databricks, "token")
    env_variables = {
        "EMISSION_ENV": "databricks",
        "EMISSION_ENGINE": "databricks",
        "EMISSION_CATALOG": catalog,
        "EMISSION_RESERVOIR": reservoir,
    }
    env_variables.update(_pass_through(current, pass_through_env(sources)))
    scope = databricks.secret_scope
    names = databricks.secrets if "secrets" in databricks.model_fields_set else default_secrets(sources)
    secrets = [{"name": name, "key": name, "scope": scope} for name in names] if scope else []
    run_config: dict[str, Any] = {"run_name": "emission_assets step", "cluster": _cluster_config()}
    libraries = databricks.libraries
    if libraries:
        run_config["libraries"] = [{"pypi": {"package": package}} for package in libraries]
    return {
        "run_config": run_config,
        "databricks_host": {"env": "DATABRICKS_HOST"},
        "databricks_token": {"env": "DATABRICKS_TOKEN"},
        "local_pipeline_package_path": str(REPO_ROOT),
        "staging_prefix": databricks.staging,
        "env_variables": env_variables,
        "secrets_to_env_variables": secrets,
        "poll_interval_sec": databricks.poll_seconds,
        "max_completion_wait_time_seconds": databricks.max_wait_seconds,
    }


def _pass_through(current, names: Sequence[str]) -> dict[str, str]:
    """The variables ``names`` (the gold layer's and the sources' pass-through variables) that are set, with their
    validated values."""
    fields = {group.variable(name): str(getattr(group, name)) for group in
              (current.smard, current.tibber, current.gold, current.netztransparenz) for name in group.model_fields_set}
    values = {name: fields.get(name) or source_variable(name) for name in names}
    return {name: value for name, value in values.items() if value}


# --- the launcher ---------------------------------------------------------------------------------------------

def _launcher_classes():
    # Imported lazily: dagster-databricks (and databricks-sdk) are needed only in databricks mode.
    from dagster_databricks.databricks_pyspark_step_launcher import (
        DatabricksPySparkStepLauncher,
        databricks_pyspark_step_launcher,
    )

    return DatabricksPySparkStepLauncher, databricks_pyspark_step_launcher


def _code_packages(root: Path) -> list[Path]:
    """The repository's top-level Python packages (not the virtualenv, .git, caches or data dirs)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / "__init__.py").exists())


def _copy_code(root: Path, target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for package in _code_packages(root):
        shutil.copytree(package, target / package.name, ignore=ignore)


def make_step_launcher(**config):
    """dagster-databricks' ``DatabricksPySparkStepLauncher``, zipping only the repository's Python packages.

    The stock launcher zips ``local_pipeline_package_path`` whole, excluding only ``/venv/``, ``__pycache__`` and
    the like: with the repository root that would upload ``.venv`` (GBs) and ``.git``. Only the zip's contents
    differ; the package path (the repository root) still anchors the job's code pointer.
    """
    base, _ = _launcher_classes()

    class EmissionDatabricksStepLauncher(base):
        def _upload_artifacts(self, log, step_run_ref, run_id, step_key):
            package_root = self.local_dagster_job_package_path
            with tempfile.TemporaryDirectory(prefix="emission_code_") as staged:
                _copy_code(Path(package_root), Path(staged))
                self.local_dagster_job_package_path = staged
                try:
                    super()._upload_artifacts(log, step_run_ref, run_id, step_key)
                finally:
                    self.local_dagster_job_package_path = package_root

    with warnings.catch_warnings():
        # StepLauncher is "superseded" by Pipes (not deprecated); the launcher is the point of this module.
        warnings.simplefilter("ignore", category=SupersessionWarning)
        return EmissionDatabricksStepLauncher(**config)


def emission_databricks_step_launcher() -> ResourceDefinition:
    """``databricks_pyspark_step_launcher`` with the same config schema, building :func:`make_step_launcher`."""
    _, stock = _launcher_classes()

    @resource(config_schema=stock.config_schema, description=stock.description)
    def _launcher(context):
        return make_step_launcher(**context.resource_config)

    return _launcher


def databricks_step_launcher_from_env(sources: Sequence[Source] = ()) -> ResourceDefinition:
    return emission_databricks_step_launcher().configured(step_launcher_config(sources))


# --- attaching the launcher -----------------------------------------------------------------------------------

def _needs_remote(asset: AssetsDefinition, resource_keys: frozenset[str]) -> bool:
    return bool(asset.required_resource_keys & resource_keys)


def _with_resource_key(asset: AssetsDefinition, key: str) -> AssetsDefinition:
    """The asset rebuilt with public constructors around an op that also requires ``key``: the same function,
    ins, outs, config, tags, retry policy and pool; the specs (code version, metadata, automation condition,
    partitions), checks and backfill policy are carried over unchanged."""
    op = asset.op
    node = OpDefinition(
        compute_fn=op.compute_fn,
        name=op.name,
        ins={d.name: In.from_definition(d) for d in op.input_defs},
        outs={d.name: Out.from_definition(d) for d in op.output_defs},
        description=op.description,
        config_schema=op.config_schema,
        required_resource_keys=set(op.required_resource_keys) | {key},
        tags=op.tags,
        retry_policy=op.retry_policy,
        pool=op.pool,
    )
    with warnings.catch_warnings():  # re-declaring an asset repeats the beta/preview notes its decorator gave
        warnings.simplefilter("ignore", category=BetaWarning)
        warnings.simplefilter("ignore", category=PreviewWarning)
        return AssetsDefinition(
            keys_by_input_name=asset.node_keys_by_input_name,
            keys_by_output_name=asset.node_keys_by_output_name,
            node_def=node,
            can_subset=asset.can_subset,
            backfill_policy=asset.backfill_policy,
            check_specs_by_output_name=asset.check_specs_by_output_name,
            specs=list(asset.specs),
        )


def with_step_launcher(
    assets: Iterable[Any], resource_keys: Iterable[str] = REMOTE_RESOURCE_KEYS, launcher_key: str = STEP_LAUNCHER_KEY
) -> list:
    """The assets, with ``launcher_key`` added to the required resources of every asset op that needs any of
    ``resource_keys`` (default: ``spark`` or ``reservoir``). Other definitions are returned unchanged.

    The asset functions are untouched; only the op definition's ``required_resource_keys`` grows by one key.
    Bind that key to a step launcher (databricks) or to :data:`NO_STEP_LAUNCHER` (local).
    """
    keys = frozenset(resource_keys)
    out = []
    for asset in assets:
        if (
            isinstance(asset, AssetsDefinition)
            and asset.is_executable
            and isinstance(asset.node_def, OpDefinition)
            and _needs_remote(asset, keys)
            and launcher_key not in asset.node_def.required_resource_keys
        ):
            asset = _with_resource_key(asset, launcher_key)
        out.append(asset)
    return out
