"""Dagster resources shared by every source: thin configuration wrappers over the engine and the reservoir. The API
resources live with their source (``emission_assets/<source>/resources.py``) and come in through its descriptor.

:func:`from_env` binds each field that a variable sets to ``EnvVar(<variable>)``: Dagster reads the value where the
resource starts, the UI shows the field as coming from that variable, and no value (a token least of all) is stored
in run config or run storage. The variables are validated by :mod:`emission_assets.settings` first.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from dagster import ConfigurableResource, EnvVar

from emission_assets.engine.session import EngineConfig
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import Lakehouse, open_lakehouse
from emission_assets.settings import paths, settings


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


def from_env(group, field: str, default: Any = None) -> Any:
    """``EnvVar`` of the variable behind ``group.field`` when that variable is set, else ``default``."""
    return EnvVar(group.variable(field)) if field in group.model_fields_set else default


def source_resources(sources: Iterable = ()) -> dict:
    """The resources the sources' descriptors declare (API clients), each built from the environment."""
    return {key: build() for source in sources for key, build in source.resources.items()}


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


def resources_from_env(sources: Iterable = ()) -> dict:
    """The shared engine and reservoir resources, plus those of ``sources``."""
    EngineConfig.from_env()  # an engine setting that does not fit the others fails the code location, naming it
    return {"spark": spark_resource(), "reservoir": reservoir_resource(), **source_resources(sources)}
