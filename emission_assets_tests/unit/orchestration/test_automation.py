"""Declarative automation on the real asset graph: a bronze update requests exactly its silver days, a range
backfill is not repeated, the daily cron condition asks for yesterday's reservoir, and a range from the UI stays one
run per partitions definition.

The conditions, keys, deps, partitions and backfill policies are the code location's own; only the compute is a
stub (``multi_asset`` over the real specs), so no engine runs.
"""
from datetime import datetime, timedelta

import dagster as dg
import pytest

from emission_assets.orchestration.automation import AUTOMATION_SENSOR, historical_eager
from emission_assets.timeutil import BERLIN
from emission_assets_tests.unit.orchestration.conftest import build_orchestrated_definitions

REAL = build_orchestrated_definitions()
RESERVOIR = dg.AssetKey(["reservoir", "smard_responses"])
BRONZE = dg.AssetKey(["bronze", "smard_responses"])
SILVER = dg.AssetKey(["silver", "production"])
GRID_LOAD = dg.AssetKey(["silver", "grid_load"])
RANGE = {"dagster/asset_partition_range_start": "2022-01-01", "dagster/asset_partition_range_end": "2022-01-31"}


def stub(asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    specs = list(asset.specs)

    @dg.multi_asset(specs=specs, name=asset.op.name, backfill_policy=asset.backfill_policy, can_subset=True)
    def _stub(context: dg.AssetExecutionContext):
        for key in context.selected_asset_keys:
            yield dg.MaterializeResult(asset_key=key)

    return _stub


STUBS = [stub(asset) for asset in REAL.assets]
DEFS = dg.Definitions(assets=STUBS)


def requested(result) -> dict[str, list[str]]:
    """Ingest asset -> requested partition keys (["<unpartitioned>"] for an unpartitioned asset). Gold follows silver
    by the same condition; what it requests is asserted in unit/gold/test_assets.py."""
    found = {}
    for entry in result.results:
        if entry.true_subset.size and entry.key.path[0] != "gold":
            key = entry.key.to_user_string()
            found[key] = sorted(entry.true_subset.expensively_compute_partition_keys() or []) or ["<unpartitioned>"]
    return found


def materialize(instance, keys, **kwargs):
    assert dg.materialize(STUBS, instance=instance, selection=keys, **kwargs).success


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


def test_bronze_and_silver_propagate_historically_and_reservoirs_run_daily():
    graph = REAL.resolve_asset_graph()
    conditions = {key.to_user_string(): graph.get(key).automation_condition for key in graph.get_all_asset_keys()}
    eager = historical_eager().get_label()
    ingest = {k for k, c in conditions.items() if c is not None and c.get_label() == eager and not k.startswith("gold/")}
    assert ingest == {
        "bronze/smard_responses", "silver/production", "silver/grid_load", "bronze/tibber_responses", "silver/consumption",
        "bronze/redispatch_responses", "silver/redispatch", "bronze/smard_forecast_responses", "silver/grid_forecast"}
    assert {k: c.get_label() for k, c in conditions.items() if k.startswith("reservoir/")} == {
        "reservoir/smard_responses": "on_cron(30 6 * * *, Europe/Berlin)",
        "reservoir/tibber_responses": "on_cron(45 6 * * *, Europe/Berlin)",
        "reservoir/redispatch_responses": "on_cron(0 7 * * *, Europe/Berlin)",
        # its newest partition is tomorrow: tomorrow's forecast, once published the evening before
        "reservoir/smard_forecast_responses": "on_cron(30 18 * * *, Europe/Berlin)",
    }


def test_one_bronze_day_requests_that_silver_day_only_and_a_backfill_is_not_repeated(instance):
    first = dg.evaluate_automation_conditions(defs=DEFS, instance=instance)
    assert requested(first) == {}  # nothing on the first evaluation, though nothing is materialised

    materialize(instance, [BRONZE], partition_key="2022-03-15")
    after_bronze = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=first.cursor)
    assert requested(after_bronze) == {"silver/production": ["2022-03-15"], "silver/grid_load": ["2022-03-15"]}

    materialize(instance, [SILVER, GRID_LOAD], partition_key="2022-03-15")  # what the automation sensor's run does
    handled = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=after_bronze.cursor)
    assert requested(handled) == {}

    # A range backfill of the whole SMARD path in one run: nothing of it is requested again.
    materialize(instance, [RESERVOIR, BRONZE, SILVER, GRID_LOAD], tags=RANGE)
    after_backfill = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=handled.cursor)
    assert requested(after_backfill) == {}

    # A range of bronze alone: silver is requested for exactly those days, in one request.
    materialize(instance, [BRONZE], tags={**RANGE, "dagster/asset_partition_range_end": "2022-01-03"})
    later = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=after_backfill.cursor)
    days = ["2022-01-01", "2022-01-02", "2022-01-03"]
    assert requested(later) == {"silver/production": days, "silver/grid_load": days}


def test_the_daily_cron_condition_fetches_yesterday_once(instance):
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    before = datetime(day.year, day.month, day.day, 6, 0, tzinfo=BERLIN)
    cursor = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, evaluation_time=before).cursor
    at_tick = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=cursor,
                                                evaluation_time=before + timedelta(minutes=31))
    yesterday = (day - timedelta(days=1)).isoformat()
    # The reservoir fetch of yesterday, and in the same tick (hence one run) its bronze and silver day.
    assert requested(at_tick) == {
        "reservoir/smard_responses": [yesterday], "bronze/smard_responses": [yesterday],
        "silver/production": [yesterday], "silver/grid_load": [yesterday]}
    again = dg.evaluate_automation_conditions(defs=DEFS, instance=instance, cursor=at_tick.cursor,
                                              evaluation_time=before + timedelta(minutes=35))
    assert requested(again) == {}  # handled for this tick


def test_the_automation_sensor_is_the_only_one_and_starts_stopped():
    repository = REAL.get_repository_def()
    automation = [s for s in repository.sensor_defs if isinstance(s, dg.AutomationConditionSensorDefinition)]
    assert [s.name for s in automation] == [AUTOMATION_SENSOR]
    assert automation[0].default_status == dg.DefaultSensorStatus.STOPPED


def test_every_partitioned_asset_backfills_a_range_in_one_run():
    """A range launched from the UI is one run per partitions definition: every partitioned asset has the single-run
    backfill policy, the ten ingest assets share the daily partitions, the three forecast-source assets and the
    intensity forecast the daily ones up to tomorrow, and the five monthly gold tables the monthly ones."""
    graph = REAL.resolve_asset_graph()
    partitioned = [graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None]
    assert {node.backfill_policy for node in partitioned} == {dg.BackfillPolicy.single_run()}
    by_definition: dict = {}
    for node in partitioned:
        by_definition.setdefault(type(node.partitions_def).__name__, set()).add(node.key.to_user_string())
    assert {name: len(keys) for name, keys in by_definition.items()} == {
        "DailyPartitionsDefinition": 14, "MonthlyPartitionsDefinition": 5}
    assert by_definition["MonthlyPartitionsDefinition"] == {"gold/grid_intensity", "gold/emissions_monthly",
                                                            "gold/intensity_profile", "gold/ev_sessions",
                                                            "gold/ev_shift_savings"}
    assert {node.key.to_user_string() for node in partitioned if node.partitions_def.end_offset == 2} == {
        "reservoir/smard_forecast_responses", "bronze/smard_forecast_responses", "silver/grid_forecast",
        "gold/intensity_forecast"}
    assert len({node.partitions_def for node in partitioned}) == 3
