"""The code location merges every source folder's definitions, with what spans all sources, and loads."""
from dagster import AssetKey, DefaultScheduleStatus, DefaultSensorStatus, Definitions

from emission_assets.sources import PACKAGES, all_sources
from emission_assets_tests.support.orchestrated import build_orchestrated_definitions


def test_definitions_with_orchestration_validate():
    defs = build_orchestrated_definitions()
    Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == {
        "smard_api_sensor", "tibber_api_sensor", "reservoir_sensor", "automation_sensor"}
    assert {s.name for s in repository.schedule_defs} == {
        "smard_revision_schedule", "tibber_revision_schedule", "lakehouse_maintenance_schedule"}
    smard = repository.get_job("smard_job")
    assert smard.partitions_def.timezone == "Europe/Berlin"
    assert set(smard.asset_layer.executable_asset_keys) == {
        AssetKey(["reservoir", "smard_responses"]), AssetKey(["bronze", "smard_responses"]),
        AssetKey(["silver", "production"]), AssetKey(["silver", "grid_load"])}
    assert repository.get_job("redispatch_job").partitions_def is not None
    forecast = repository.get_job("smard_forecast_job")  # day-ahead forecasts: partitions up to tomorrow
    assert forecast.partitions_def.end_offset == 2 and forecast.partitions_def.timezone == "Europe/Berlin"
    assert set(forecast.asset_layer.executable_asset_keys) == {
        AssetKey(["reservoir", "smard_forecast_responses"]), AssetKey(["bronze", "smard_forecast_responses"]),
        AssetKey(["silver", "grid_forecast"])}
    assert repository.get_job("retention_job").partitions_def is None
    intervals = {s.name: s.minimum_interval_seconds for s in repository.sensor_defs if s.name != "automation_sensor"}
    assert intervals == {"smard_api_sensor": 3600, "tibber_api_sensor": 3600, "reservoir_sensor": 60}


def test_nothing_runs_by_itself_until_switched_on():
    repository = build_orchestrated_definitions().get_repository_def()
    assert {s.default_status for s in repository.sensor_defs} == {DefaultSensorStatus.STOPPED}
    assert {s.default_status for s in repository.schedule_defs} == {DefaultScheduleStatus.STOPPED}


def test_each_source_folder_holds_its_own_definitions():
    """Every asset, job, sensor and schedule of a source comes from its descriptor, tagged with its name."""
    sources = all_sources()
    assert [s.name for s in sources] == list(PACKAGES) == ["smard", "smard_forecast", "tibber", "redispatch", "factors"]
    for source in sources:
        assert {asset.key for asset in source.assets} == {
            k for k in (source.reservoir_key, source.bronze_key, source.silver_key, *source.more_silver_keys)
            if k is not None}
        assert {asset.specs_by_key[asset.key].tags.get("source") for asset in source.assets} == {source.name}
        for job in source.jobs:
            assert job.name == f"{source.name}_job"
    repository = build_orchestrated_definitions().get_repository_def()
    job_names = {job.name for job in repository.get_all_jobs()}
    assert {job.name for s in sources for job in s.jobs} | {"retention_job", "lakehouse_maintenance_job"} <= job_names


def test_the_registry_lists_the_tables_the_sources_declare():
    from emission_assets.lakehouse.registry import TABLES

    declared = {spec.name: spec for source in all_sources() for spec in source.tables}
    assert {name: TABLES[name] for name in declared} == declared
    assert set(declared) == {
        "bronze.smard_responses", "silver.production", "bronze.tibber_responses", "silver.consumption",
        "silver.home_pseudonyms", "bronze.redispatch_responses", "silver.redispatch", "silver.emission_factors",
        "silver.fuel_prices", "silver.grid_load", "bronze.smard_forecast_responses", "silver.grid_forecast"}
