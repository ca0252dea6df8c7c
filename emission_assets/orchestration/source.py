"""The source descriptor: everything about one data source that the code location, the CLI, retention, the
Databricks deployment and the lakehouse registry need, in one frozen value per source folder.

A source folder (``emission_assets/<source>/``) builds its ``SOURCE = Source(...)`` in its ``definitions.py``;
``emission_assets/sources.py`` lists them. Nothing outside the folder names a source's keys, tables, reservoir
folders, secrets or jobs: it reads them from the descriptors.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetKey, Definitions

from emission_assets.lakehouse.registry import TableSpec


def _always() -> bool:
    return True


@dataclass(frozen=True)
class Source:
    """One source: its asset keys per layer, tables, reservoir folders, settings and Dagster definitions."""

    name: str
    silver_key: AssetKey
    tables: tuple[TableSpec, ...]
    reservoir_key: AssetKey | None = None
    bronze_key: AssetKey | None = None
    # Further silver assets beside ``silver_key``: SMARD's silver.grid_load (from the same bronze table), the factors
    # source's second dimension silver/fuel_prices.
    more_silver_keys: tuple[AssetKey, ...] = ()
    # Reservoir-relative folders holding the source's raw files: the reservoir sensor watches them, and retention
    # deletes a file in them once the source's bronze table holds it and it is older than the retention.
    reservoir_folders: tuple[str, ...] = ()
    # Databricks: secrets exported into the job's environment (from $EMISSION_SECRET_SCOPE) and variables passed
    # through as they are set where Dagster runs.
    secrets: tuple[str, ...] = ()
    pass_through_env: tuple[str, ...] = ()
    # Resource key -> a factory building the resource from the environment (API clients; the engine and the
    # reservoir are shared and built by the deployment).
    resources: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    # Exceptions a user can act on from their message alone (the CLI prints them without a traceback).
    expected_errors: tuple[type[BaseException], ...] = ()
    # Whether a plain `emission-tracker materialize` includes the source, and what it prints when it does not.
    configured: Callable[[], bool] = _always
    unconfigured_note: str = ""
    # Whether `emission-tracker materialize --region/--resolution/--refresh` configure the reservoir step (the SMARD
    # chart-data sources: realised data and day-ahead forecasts).
    takes_smard_options: bool = False
    # Days after yesterday the source's daily partitions reach (day-ahead forecasts: 2, up to tomorrow); the
    # reservoir sensor requests the days of new files up to there.
    partition_end_offset_days: int = 0
    assets: Sequence[Any] = ()
    asset_checks: Sequence[Any] = ()
    jobs: Sequence[Any] = ()
    sensors: Sequence[Any] = ()
    schedules: Sequence[Any] = ()

    @property
    def bronze_table(self) -> str | None:
        """The bronze table every reservoir file of the source is ingested into (retention's proof of ingest)."""
        return next((spec.name for spec in self.tables if spec.layer == "bronze"), None)

    @property
    def reservoir_op_name(self) -> str | None:
        """Op name of the reservoir asset (``reservoir__smard_responses``), the key of its run config."""
        return "__".join(self.reservoir_key.path) if self.reservoir_key else None

    def owns_file(self, name: str) -> bool:
        """Whether a reservoir-relative file name lies in one of the source's folders."""
        return any(name.startswith(folder + "/") for folder in self.reservoir_folders)

    def definitions(self, prepare_assets: Callable[[list], list] = list) -> Definitions:
        """The source's Dagster definitions; ``prepare_assets`` may rebuild the assets (the deployment adds its
        step launcher key)."""
        return Definitions(
            assets=prepare_assets(list(self.assets)), asset_checks=list(self.asset_checks), jobs=list(self.jobs),
            sensors=list(self.sensors), schedules=list(self.schedules),
        )


def source_named(sources: Sequence[Source], name: str) -> Source:
    for source in sources:
        if source.name == name:
            return source
    raise KeyError(f"unknown source {name!r}; sources: {', '.join(s.name for s in sources)}")


def source_of_file(sources: Sequence[Source], name: str) -> Source | None:
    """The source whose reservoir folders hold the reservoir-relative file ``name``, if any."""
    return next((source for source in sources if source.owns_file(name)), None)
