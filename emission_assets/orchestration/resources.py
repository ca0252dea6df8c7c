"""Dagster resources: thin configuration wrappers over the engine, the reservoir and the SMARD client.

:func:`resources_from_env` binds each field that a variable sets to ``EnvVar(<variable>)``: Dagster reads the value
where the resource starts, the UI shows the field as coming from that variable, and no value (a token least of all)
is stored in run config or run storage. The variables are validated by :mod:`emission_assets.settings` first.
"""
from __future__ import annotations

from typing import Any, Optional

from dagster import ConfigurableResource, EnvVar

from emission_assets.engine.session import EngineConfig
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import Lakehouse, open_lakehouse
from emission_assets.settings import paths, settings
from emission_assets.smard.client import BASE_URL_ENV, DEFAULT_BASE_URL, SmardClient  # noqa: F401 - re-exported
from emission_assets.tibber.client import DEFAULT_API_URL as DEFAULT_TIBBER_URL
from emission_assets.tibber.client import TibberClient, token_from_environment

TIBBER_URL_ENV = "TIBBER_API_URL"
SAMPLE_TOKEN = "sample-household"  # the bundled sample API ignores tokens


class SparkResource(ConfigurableResource):
    """The Spark engine: ``embedded`` Sail (default), ``remote`` (any sc:// URL) or ``databricks``."""

    engine: str = "embedded"
    spark_remote: Optional[str] = None
    catalog: Optional[str] = None

    def open(self) -> Lakehouse:
        return open_lakehouse(EngineConfig(self.engine.strip().lower(), self.spark_remote, self.catalog))


class ReservoirResource(ConfigurableResource):
    """Raw response files; ``root`` defaults to ``$EMISSION_HOME/reservoir`` (or ``$EMISSION_RESERVOIR``)."""

    root: Optional[str] = None

    def store(self) -> Reservoir:
        return Reservoir(self.root or paths().reservoir)


class SmardResource(ConfigurableResource):
    """SMARD chart-data API; a ``file://`` base URL replays recorded responses through the same client."""

    base_url: str = DEFAULT_BASE_URL
    retries: int = 5

    def client(self) -> SmardClient:
        return SmardClient(self.base_url, retries=self.retries)


class TibberResource(ConfigurableResource):
    """Tibber GraphQL API. ``token`` is only ever ``EnvVar("TIBBER_TOKEN")`` (never a value in configuration);
    without it the token comes from a Databricks secret scope when a client is made. ``sample://tibber`` serves
    the bundled household."""

    api_url: str = DEFAULT_TIBBER_URL
    home_id: Optional[str] = None
    token: Optional[str] = None
    max_requests: int = 60

    def client(self) -> TibberClient:
        if self.api_url.startswith("sample://"):
            token = SAMPLE_TOKEN
        else:
            token = (self.token or "").strip() or token_from_environment()
        return TibberClient(token, self.api_url, max_requests=self.max_requests)


def from_env(group, field: str, default: Any = None) -> Any:
    """``EnvVar`` of the variable behind ``group.field`` when that variable is set, else ``default``."""
    return EnvVar(group.variable(field)) if field in group.model_fields_set else default


def source_resources() -> dict:
    """The API resources (no Spark settings: the code location must load without them on a cluster)."""
    smard, tibber = settings().smard, settings().tibber
    return {
        "smard": SmardResource(base_url=from_env(smard, "base_url", DEFAULT_BASE_URL)),
        "tibber": TibberResource(
            api_url=from_env(tibber, "api_url", DEFAULT_TIBBER_URL),
            home_id=from_env(tibber, "home_id"),
            token=from_env(tibber, "token"),
        ),
    }


def spark_resource(default_engine: str | None = None) -> SparkResource:
    """The engine from ``EMISSION_ENGINE``/``SPARK_REMOTE``/``EMISSION_CATALOG`` (``default_engine`` when
    ``EMISSION_ENGINE`` is unset, else remote with ``SPARK_REMOTE``, else embedded)."""
    engine = settings().engine
    return SparkResource(
        engine=from_env(engine, "engine", default_engine or engine.selected_engine),
        spark_remote=from_env(engine, "spark_remote"),
        catalog=from_env(engine, "catalog"),
    )


def reservoir_resource() -> ReservoirResource:
    return ReservoirResource(root=from_env(settings().storage, "reservoir"))


def resources_from_env() -> dict:
    EngineConfig.from_env()  # an engine setting that does not fit the others fails the code location, naming it
    return {"spark": spark_resource(), "reservoir": reservoir_resource(), **source_resources()}
