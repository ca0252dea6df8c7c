"""The Databricks deployment reads the secrets, pass-through variables and resources from the source descriptors,
and attaches its step launcher key with public Dagster constructors only."""
import pytest
from dagster import AssetKey

from emission_assets.orchestration.deployment import STEP_LAUNCHER_KEY, step_launcher_config, with_step_launcher
from emission_assets.orchestration.source import Source
from emission_assets.smard.assets import silver_production
from emission_assets.sources import all_sources, resources_for_environment

WORKSPACE = {
    "EMISSION_CATALOG": "main", "EMISSION_RESERVOIR": "/Volumes/main/emission/reservoir",
    "DATABRICKS_HOST": "https://adb-1.2.azuredatabricks.net", "DATABRICKS_TOKEN": "dapi-not-a-real-token",
    "EMISSION_DATABRICKS_CLUSTER_ID": "0101-000000-cluster", "EMISSION_SECRET_SCOPE": "emission",
}


@pytest.fixture
def workspace(monkeypatch):
    for name, value in WORKSPACE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EMISSION_SECRETS", raising=False)
    monkeypatch.setenv("TIBBER_HOME_ID", "home-7")
    monkeypatch.setenv("NETZTRANSPARENZ_API_URL", "https://example.invalid/api")


def test_secrets_and_pass_through_come_from_the_descriptors(workspace):
    config = step_launcher_config(all_sources())
    assert [s["key"] for s in config["secrets_to_env_variables"]] == [
        "TIBBER_TOKEN", "NETZTRANSPARENZ_CLIENT_ID", "NETZTRANSPARENZ_CLIENT_SECRET"]
    env = config["env_variables"]
    assert env["TIBBER_HOME_ID"] == "home-7" and env["NETZTRANSPARENZ_API_URL"] == "https://example.invalid/api"
    assert "dapi-not-a-real-token" not in repr(config)  # referenced as {"env": ...}, never copied

    extra = Source(name="weather", silver_key=AssetKey(["silver", "weather"]), tables=(), secrets=("WEATHER_KEY",),
                   pass_through_env=("WEATHER_URL",))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEATHER_URL", "https://weather.invalid")
        config = step_launcher_config([*all_sources(), extra])
    assert config["secrets_to_env_variables"][-1] == {"name": "WEATHER_KEY", "key": "WEATHER_KEY", "scope": "emission"}
    assert config["env_variables"]["WEATHER_URL"] == "https://weather.invalid"


def test_the_code_location_gets_every_source_resource():
    resources = resources_for_environment("local")
    assert {"spark", "reservoir", "smard", "tibber", STEP_LAUNCHER_KEY} <= set(resources)


def test_the_launcher_key_is_added_and_the_asset_keeps_its_definition():
    [wrapped] = with_step_launcher([silver_production])
    assert STEP_LAUNCHER_KEY in wrapped.op.required_resource_keys
    assert STEP_LAUNCHER_KEY not in silver_production.op.required_resource_keys
    before, after = silver_production.get_asset_spec(), wrapped.get_asset_spec()
    assert after == before  # key, deps, metadata, code version, automation condition, partitions
    assert wrapped.check_specs_by_output_name == silver_production.check_specs_by_output_name
    assert wrapped.backfill_policy == silver_production.backfill_policy
    assert wrapped.op.compute_fn is silver_production.op.compute_fn
