"""The code location with the orchestration added, for sensor/schedule contexts that resolve partitioned jobs."""
from dagster import Definitions, in_process_executor


def resources_for_tests() -> dict:
    """The code location's resources (the deployment helper where it exists, else ``resources_from_env``)."""
    try:
        from emission_assets.orchestration.deployment import resources_for_environment
    except ImportError:
        from emission_assets.orchestration.resources import resources_from_env as resources_for_environment
    return resources_for_environment()


def build_orchestrated_definitions() -> Definitions:
    from emission_assets.definitions import ASSETS
    from emission_assets.orchestration import ORCHESTRATION

    return Definitions(
        assets=ASSETS, jobs=ORCHESTRATION["jobs"], sensors=ORCHESTRATION["sensors"],
        schedules=ORCHESTRATION["schedules"], resources=resources_for_tests(), executor=in_process_executor,
    )
