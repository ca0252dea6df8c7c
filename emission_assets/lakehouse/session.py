"""Open the lakehouse: the engine's session with every table registered and the gold views the gold assets created
re-created (:mod:`emission_assets.lakehouse.view_catalog`), plus the writer."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from emission_assets.engine.session import EngineConfig, get_spark
from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.schema_upgrade import check_layout
from emission_assets.lakehouse.view_catalog import restore_views
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.settings import Paths, paths


@dataclass(frozen=True)
class Lakehouse:
    spark: object
    registry: Registry
    writer: DeltaWriter

    def table(self, name: str):
        return self.spark.table(self.registry.sql_name(name))


def registry_for(config: EngineConfig, home: Paths) -> Registry:
    if config.engine == "databricks":
        return Registry(catalog=config.catalog)
    return Registry(lakehouse_root=home.lakehouse)


# One opening at a time: registering drops and re-creates the session's catalog entries, which a concurrent opening
# (the CLI's background start, emission_assets/cli/engine_warmup.py, and a step) must not interleave with.
_OPENING = threading.Lock()


def open_lakehouse(config: EngineConfig | None = None, home: Paths | None = None) -> Lakehouse:
    config = config or EngineConfig.from_env()
    with _OPENING:
        spark = get_spark(config)
        registry = registry_for(config, home or paths())
        if registry.register(spark, check_layout=check_layout):
            restore_views(spark, registry)
    return Lakehouse(spark, registry, DeltaWriter(spark, registry))
