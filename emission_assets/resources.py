"""Dagster resources: thin configuration wrappers over the engine, the reservoir and the SMARD client."""
from __future__ import annotations

import os
from typing import Optional

from dagster import ConfigurableResource

from emission_assets.engine.session import EngineConfig
from emission_assets.lakehouse.session import Lakehouse, open_lakehouse
from emission_assets.reservoir.store import Reservoir
from emission_assets.settings import paths
from emission_assets.smard.client import BASE_URL_ENV, DEFAULT_BASE_URL, SmardClient


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


def resources_from_env() -> dict:
    engine = EngineConfig.from_env()
    return {
        "spark": SparkResource(engine=engine.engine, spark_remote=engine.spark_remote, catalog=engine.catalog),
        "reservoir": ReservoirResource(root=os.environ.get("EMISSION_RESERVOIR") or None),
        "smard": SmardResource(base_url=os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
    }
