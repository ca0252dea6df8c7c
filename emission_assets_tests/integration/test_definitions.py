"""The code location loads, with the layers, partitions, checks and lineage the UI shows."""
from __future__ import annotations

from datetime import timezone

from dagster import AssetKey, PartitionKeyRange

from emission_assets.definitions import build_definitions
from emission_assets.lakehouse.registry import Registry

RESERVOIR = AssetKey(["reservoir", "smard_responses"])
BRONZE = AssetKey(["bronze", "smard_responses"])
SILVER = AssetKey(["silver", "production"])


def test_graph_lineage_groups_and_partitions():
    graph = build_definitions().resolve_asset_graph()
    assert graph.get(BRONZE).parent_keys == {RESERVOIR}
    assert graph.get(SILVER).parent_keys == {BRONZE}
    assert {key: graph.get(key).group_name for key in (RESERVOIR, BRONZE, SILVER)} == {
        RESERVOIR: "reservoir", BRONZE: "bronze", SILVER: "silver"
    }
    for key in (RESERVOIR, BRONZE, SILVER):
        node = graph.get(key)
        assert node.partitions_def.timezone == "Europe/Berlin"
        assert node.backfill_policy.max_partitions_per_run is None  # single run per range
    checks = {check.name for check in graph.get(SILVER).check_keys}
    assert checks == {"no_duplicate_intervals", "complete_days", "non_negative_energy", "no_series_lost"}


def test_error_checks_block_and_warnings_do_not():
    """A failed ERROR check stops everything downstream of its asset; complete_days, every_hour_has_intervals, the
    forecast's known_file_shapes and the EV shift's partial-result checks (WARN) never do."""
    from emission_assets.definitions import ASSETS

    specs = {(key.to_user_string(), spec.name): spec.blocking
             for asset in ASSETS if hasattr(asset, "check_specs") for spec in asset.check_specs
             for key in [spec.asset_key]}
    ev_checks = {"every_session_fits_its_window", "every_window_reaches_its_ready_by_time",
                 "every_window_hour_has_intensity", "every_session_interval_has_intensity"}
    # the forecast's backtest check warns: the forecast is advice, nothing downstream depends on it
    assert {name for (_, name), blocking in specs.items() if not blocking} == {
        "complete_days", "every_hour_has_intervals", "known_file_shapes", "forecast_beats_historical_profile",
        *ev_checks}
    assert {name for (key, name) in specs if key == "gold/ev_shift_savings"} == ev_checks  # partial results: WARN
    assert not specs[("silver/grid_forecast", "known_file_shapes")] and specs[("silver/grid_forecast", "no_series_lost")]
    assert specs[("silver/production", "no_series_lost")] and specs[("silver/consumption", "no_series_lost")]
    assert specs[("silver/grid_load", "no_series_lost")] and not specs[("silver/grid_load", "complete_days")]
    assert specs[("gold/grid_intensity", "intensities_within_physical_bounds")]
    assert specs[("gold/grid_intensity", "every_production_interval_has_a_factor")]
    assert specs[("gold/grid_intensity", "merit_order_marginal_unit_is_fossil")]
    assert not specs[("gold/intensity_profile", "every_hour_has_intervals")]
    # consumption 5, production 4, grid load 4, grid forecast 5, emission_factors 3, fuel_prices 3, grid_intensity 3,
    # intensity_profile 1, ev_shift_savings 4, intensity_forecast 1
    assert len(specs) == 33


def test_tibber_lineage_and_checks():
    graph = build_definitions().resolve_asset_graph()
    reservoir, bronze, silver = (AssetKey([layer, name]) for layer, name in (
        ("reservoir", "tibber_responses"), ("bronze", "tibber_responses"), ("silver", "consumption")))
    assert graph.get(bronze).parent_keys == {reservoir}
    assert graph.get(silver).parent_keys == {bronze}
    assert {c.name for c in graph.get(silver).check_keys} == {
        "no_duplicate_intervals", "complete_days", "non_negative_energy", "ev_plus_household_is_total", "no_series_lost"}
    assert all(graph.get(k).tags.get("source") == "tibber" for k in (reservoir, bronze, silver))


def test_resources_hold_no_secrets(monkeypatch):
    """The Tibber token is read when a client is made, never stored in the (UI-visible) resource config."""
    monkeypatch.setenv("TIBBER_TOKEN", "secret-token-value-123")
    defs = build_definitions()
    config = repr(defs.resources) + repr({k: getattr(v, "__dict__", v) for k, v in defs.resources.items()})
    assert "secret-token-value-123" not in config


def test_dst_partitions_exist_as_single_days():
    partitions = build_definitions().resolve_asset_graph().get(SILVER).partitions_def
    keys = partitions.get_partition_keys_in_range(PartitionKeyRange("2024-03-30", "2024-04-01"))
    assert keys == ["2024-03-30", "2024-03-31", "2024-04-01"]
    window = partitions.time_window_for_partition_key("2024-03-31")
    # Same-zone datetime subtraction is wall-clock time in Python; compare instants.
    assert (window.end.astimezone(timezone.utc) - window.start.astimezone(timezone.utc)).total_seconds() == 23 * 3600


def test_unity_catalog_names_on_databricks():
    registry = Registry(catalog="energy")
    assert registry.sql_name("silver.production") == "energy.silver.production"
    assert registry.path("silver.production") is None
    local = Registry(lakehouse_root="/data/lakehouse")
    assert local.sql_name("bronze.smard_responses") == "bronze.smard_responses"
    assert local.path("bronze.smard_responses") == "/data/lakehouse/bronze/smard_responses"
