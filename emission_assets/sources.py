"""Every source of the code location, one descriptor each (``emission_assets/<source>/definitions.py``).

A new source is a new folder with its ``definitions.py`` plus one line here: the code location, the CLI,
retention, the reservoir sensor, the Databricks deployment and the lakehouse registry read this list.
"""
from emission_assets.factors.definitions import SOURCE as FACTORS
from emission_assets.orchestration.source import Source
from emission_assets.redispatch.definitions import SOURCE as REDISPATCH
from emission_assets.smard.definitions import SOURCE as SMARD
from emission_assets.tibber.definitions import SOURCE as TIBBER

SOURCES: tuple[Source, ...] = (SMARD, TIBBER, REDISPATCH, FACTORS)


def resources_for_environment(env: str | None = None) -> dict:
    """The code location's resources for ``EMISSION_ENV``, with every source's API resources."""
    from emission_assets.orchestration.deployment import resources_for_environment as for_environment

    return for_environment(env, SOURCES)
