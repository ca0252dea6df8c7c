"""The code location with every source's jobs, sensors and schedules, for contexts that resolve partitioned jobs."""
from dagster import Definitions


def resources_for_tests() -> dict:
    """The code location's resources (every source's, as the code location builds them)."""
    from emission_assets.sources import resources_for_environment

    return resources_for_environment()


def build_orchestrated_definitions() -> Definitions:
    from emission_assets.definitions import build_definitions

    return build_definitions()
