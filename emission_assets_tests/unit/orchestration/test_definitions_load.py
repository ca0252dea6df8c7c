"""The asset graph with the orchestration's jobs, sensors and schedules loads as a code location."""
from dagster import AssetKey, DefaultSensorStatus, Definitions

from emission_assets.orchestration import ORCHESTRATION
from emission_assets_tests.unit.orchestration.conftest import build_orchestrated_definitions


def test_definitions_with_orchestration_validate():
    defs = build_orchestrated_definitions()
    Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    # Dagster adds the sensor that evaluates the assets' automation conditions; it starts stopped (off until turned on)
    assert {s.name for s in repository.sensor_defs} == {"smard_api_sensor", "tibber_api_sensor", "reservoir_sensor",
                                                       "default_automation_condition_sensor"}
    automation = repository.get_sensor_def("default_automation_condition_sensor")
    assert automation.default_status == DefaultSensorStatus.STOPPED
    assert {s.name for s in repository.schedule_defs} == {
        "smard_daily_schedule", "tibber_daily_schedule", "redispatch_daily_schedule",
        "smard_revision_schedule", "tibber_revision_schedule", "lakehouse_maintenance_schedule"}
    smard = repository.get_job("smard_job")
    assert smard.partitions_def.timezone == "Europe/Berlin"
    assert set(smard.asset_layer.executable_asset_keys) == {
        AssetKey(["reservoir", "smard_responses"]), AssetKey(["bronze", "smard_responses"]),
        AssetKey(["silver", "production"])}
    assert repository.get_job("redispatch_job").partitions_def is not None
    assert repository.get_job("retention_job").partitions_def is None
    intervals = {s.name: s.minimum_interval_seconds for s in ORCHESTRATION["sensors"]}
    assert intervals == {"smard_api_sensor": 3600, "tibber_api_sensor": 3600, "reservoir_sensor": 60}


def test_orchestration_exports_lists():
    assert set(ORCHESTRATION) == {"jobs", "sensors", "schedules"}
    assert [j.name for j in ORCHESTRATION["jobs"]] == [
        "smard_job", "tibber_job", "redispatch_job", "retention_job", "lakehouse_maintenance_job"]
