"""Dagster resources shared by every source: thin configuration wrappers over the engine and the reservoir. The API
resources live with their source (``emission_assets/<source>/resources.py``) and come in through its descriptor."""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Optional

from dagster import ConfigurableResource

from emission_assets.engine.session import EngineConfig
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import Lakehouse, open_lakehouse
from emission_assets.settings import paths


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


def source_resources(sources: Iterable = ()) -> dict:
    """The resources the sources' descriptors declare (API clients), each built from the environment."""
    return {key: build() for source in sources for key, build in source.resources.items()}


def resources_from_env(sources: Iterable = ()) -> dict:
    """The shared engine and reservoir resources, plus those of ``sources``."""
    engine = EngineConfig.from_env()
    return {
        "spark": SparkResource(engine=engine.engine, spark_remote=engine.spark_remote, catalog=engine.catalog),
        "reservoir": ReservoirResource(root=os.environ.get("EMISSION_RESERVOIR") or None),
        **source_resources(sources),
    }
