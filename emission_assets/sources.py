"""Every source of the code location: one folder each, described by its ``emission_assets/<source>/definitions.py``
(``SOURCE``, a :class:`emission_assets.orchestration.source.Source`).

A new source is a new folder plus one entry in :data:`PACKAGES`: the code location, the CLI, retention, the
reservoir sensor, the Databricks deployment and the lakehouse registry read the descriptors.
"""
from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emission_assets.orchestration.source import Source

PACKAGES = ("smard", "smard_forecast", "tibber", "redispatch", "factors")


def declare_tables() -> None:
    """Import every source package, which declares its tables in the lakehouse registry (no Dagster import: cheap
    enough for every CLI command)."""
    for package in PACKAGES:
        import_module(f"emission_assets.{package}")


@cache
def all_sources() -> tuple[Source, ...]:
    """The descriptors, in :data:`PACKAGES` order (imports every source's Dagster definitions)."""
    return tuple(import_module(f"emission_assets.{package}.definitions").SOURCE for package in PACKAGES)


def resources_for_environment(env: str | None = None) -> dict:
    """The code location's resources for ``EMISSION_ENV``, with every source's API resources."""
    from emission_assets.orchestration.deployment import resources_for_environment as for_environment

    return for_environment(env, all_sources())
