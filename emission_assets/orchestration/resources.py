"""Dagster resources: thin configuration wrappers over the engine, the reservoir and the SMARD client."""
from __future__ import annotations

import os
from typing import Optional

from dagster import ConfigurableResource

from emission_assets.engine.session import EngineConfig
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import Lakehouse, open_lakehouse
from emission_assets.settings import paths
from emission_assets.smard.client import BASE_URL_ENV, DEFAULT_BASE_URL, SmardClient
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
        return open_lakehouse(EngineConfig(self.engine, self.spark_remote, self.catalog))


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
    """Tibber GraphQL API. The token is read from the environment (``TIBBER_TOKEN``) or a Databricks secret
    scope when a client is made, never stored in configuration. ``sample://tibber`` serves the bundled household."""

    api_url: str = DEFAULT_TIBBER_URL
    home_id: Optional[str] = None
    max_requests: int = 60

    def client(self) -> TibberClient:
        token = SAMPLE_TOKEN if self.api_url.startswith("sample://") else token_from_environment()
        return TibberClient(token, self.api_url, max_requests=self.max_requests)


def resources_from_env() -> dict:
    engine = EngineConfig.from_env()
    return {
        "spark": SparkResource(engine=engine.engine, spark_remote=engine.spark_remote, catalog=engine.catalog),
        "reservoir": ReservoirResource(root=os.environ.get("EMISSION_RESERVOIR") or None),
        "smard": SmardResource(base_url=os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
        "tibber": TibberResource(
            api_url=os.environ.get(TIBBER_URL_ENV) or DEFAULT_TIBBER_URL,
            home_id=os.environ.get("TIBBER_HOME_ID") or None,
        ),
    }
