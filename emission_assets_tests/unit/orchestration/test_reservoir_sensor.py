"""The reservoir sensor: new files (API windows, live batches, CSV imports) -> bronze/silver runs of their days."""
from datetime import date, datetime, timedelta
from pathlib import Path

from dagster import AssetKey, DagsterInstance, build_sensor_context

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.orchestration.resources import ReservoirResource
from emission_assets.orchestration.sensors import file_days, reservoir_sensor_for
from emission_assets.redispatch.layout import import_redispatch_csv
from emission_assets.smard.csv_import import import_smard_csv
from emission_assets.smard.windows import build_window, store_window
from emission_assets.tibber.layout import store_live_batch
from emission_assets.timeutil import BERLIN, UTC, local_midnight, to_epoch_ms
from emission_assets_tests.support.orchestrated import build_orchestrated_definitions
from emission_assets_tests.support.paths import FIXTURES

DEFS = build_orchestrated_definitions()
reservoir_sensor = DEFS.get_repository_def().get_sensor_def("reservoir_sensor")
MONDAY = date(2022, 6, 6)


def evaluate(root: Path, cursor=None, sensor=reservoir_sensor):
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(cursor=cursor, instance=instance, definitions=DEFS,
                                       resources={"reservoir": ReservoirResource(root=str(root))})
        return sensor.evaluate_tick(context)


def store_week(reservoir: Reservoir, monday: date, filter_id: int = 1223):
    start = to_epoch_ms(local_midnight(monday))
    end = to_epoch_ms(local_midnight(monday + timedelta(days=7)))
    points = [(t, 100.0) for t in range(start, end, 3_600_000)]
    return store_window(
        reservoir, filter_id=filter_id, region="DE", resolution="hour", window_start_ms=start,
        payload=build_window(points, datetime.now(UTC)), url="test://smard", fetched_at=datetime.now(UTC),
        source="api",
    )


def by_source(result) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for request in result.run_requests:
        found.setdefault(request.job_name.removesuffix("_job"), []).append(request.partition_key)
    return found


def week(first: date, count: int = 7) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def test_new_files_request_bronze_and_silver_of_their_days(tmp_path):
    root = tmp_path / "reservoir"
    reservoir = Reservoir(root)
    store_week(reservoir, MONDAY, 1223)
    store_week(reservoir, MONDAY, 4068)  # a second series of the same days: still one run per day
    store_live_batch(reservoir, home_id="home-1", written_at=datetime.now(UTC), measurements=[
        {"timestamp": "2022-06-07T10:00:00+02:00", "power": 500.0},
        {"timestamp": "2022-06-07T10:00:10+02:00", "power": 510.0},
    ])
    imported = import_smard_csv(FIXTURES / "smard" / "smard_realisierte_erzeugung_DE_hour_2022-03-26_2022-03-28.csv",
                                "DE", reservoir)
    redispatch = import_redispatch_csv(
        [FIXTURES / "redispatch" / "redispatch_synthetic_2024-03-25_2024-04-03.csv"], reservoir)

    first = evaluate(root)
    sources = by_source(first)
    assert sources["smard"] == ["2022-03-26", "2022-03-27", "2022-03-28", *week(MONDAY)]
    assert {d.isoformat() for f in imported.written for d in file_days(f)} == {"2022-03-26", "2022-03-27", "2022-03-28"}
    assert sources["tibber"] == ["2022-06-07"]
    expected_redispatch = sorted({d.isoformat() for f in redispatch.written for d in file_days(f)})
    assert sources["redispatch"] == expected_redispatch
    assert expected_redispatch[0] == "2024-03-25" and len(expected_redispatch) >= 9

    selections = {r.job_name: r.asset_selection for r in first.run_requests}
    assert selections == {
        "smard_job": [AssetKey(["bronze", "smard_responses"]), AssetKey(["silver", "production"]),
                      AssetKey(["silver", "grid_load"])],
        "tibber_job": [AssetKey(["bronze", "tibber_responses"]), AssetKey(["silver", "consumption"])],
        "redispatch_job": [AssetKey(["bronze", "redispatch_responses"]), AssetKey(["silver", "redispatch"])],
    }
    keys = [r.run_key for r in first.run_requests]
    assert len(set(keys)) == len(keys)
    assert all(r.run_key.startswith(f"{r.job_name.removesuffix('_job')}:{r.partition_key}:") for r in first.run_requests)

    again = evaluate(root, first.cursor)
    assert not again.run_requests
    assert again.skip_message.startswith("reservoir: no new files")

    # A new version of one window: only its days, with new run keys; a restart from the old cursor repeats them.
    store_week(reservoir, MONDAY, 1223)
    newer = evaluate(root, again.cursor)
    assert by_source(newer) == {"smard": week(MONDAY)}
    assert not {r.run_key for r in newer.run_requests} & set(keys)
    restarted = evaluate(root, again.cursor)
    assert [r.run_key for r in restarted.run_requests] == [r.run_key for r in newer.run_requests]


def test_days_that_are_no_partition_are_skipped_with_a_reason(tmp_path):
    root = tmp_path / "reservoir"
    today = datetime.now(BERLIN)
    store_live_batch(Reservoir(root), home_id="home-1", written_at=datetime.now(UTC),
                     measurements=[{"timestamp": today.isoformat(), "power": 1.0}])
    result = evaluate(root)
    assert not result.run_requests
    assert "cover no existing partition" in result.skip_message


def test_empty_reservoir_skips(tmp_path):
    result = evaluate(tmp_path / "nothing")
    assert not result.run_requests and "no new files" in result.skip_message


def test_the_sensor_watches_the_folders_its_source_descriptors_name(tmp_path):
    """Built from the SMARD descriptor alone, the sensor neither sees Tibber's files nor requests Tibber's job."""
    from emission_assets.smard.definitions import SOURCE as SMARD

    root = tmp_path / "reservoir"
    reservoir = Reservoir(root)
    store_week(reservoir, MONDAY)
    store_live_batch(reservoir, home_id="home-1", written_at=datetime.now(UTC),
                     measurements=[{"timestamp": "2022-06-07T10:00:00+02:00", "power": 500.0}])
    assert by_source(evaluate(root)) == {"smard": week(MONDAY), "tibber": ["2022-06-07"]}
    only_smard = evaluate(root, sensor=reservoir_sensor_for([SMARD]))
    assert by_source(only_smard) == {"smard": week(MONDAY)}


def test_a_forecast_window_requests_its_days_up_to_tomorrow_and_a_realised_one_up_to_yesterday(tmp_path):
    """Day-ahead forecasts have partitions up to tomorrow (Source.partition_end_offset_days); SMARD's realised data up
    to yesterday. One window of each over the current week: the forecast's days reach one day further."""
    from emission_assets.smard_forecast.layout import FAMILY
    from emission_assets.timeutil import today_in_berlin, week_start

    reservoir = Reservoir(tmp_path / "reservoir")
    today = today_in_berlin()
    monday = week_start(today)
    store_week(reservoir, monday, 1223)
    start = to_epoch_ms(local_midnight(monday))
    points = [(t, 100.0) for t in range(start, to_epoch_ms(local_midnight(monday + timedelta(days=7))), 3_600_000)]
    store_window(reservoir, filter_id=411, region="DE", resolution="hour", window_start_ms=start,
                 payload=build_window(points, datetime.now(UTC)), url="test://smard", fetched_at=datetime.now(UTC),
                 source="api", family=FAMILY)

    requested = by_source(evaluate(tmp_path / "reservoir"))

    days = [d for d in week(monday) if d <= (today + timedelta(days=1)).isoformat()]
    assert requested["smard_forecast"] == days  # up to tomorrow
    assert requested.get("smard", []) == [d for d in days if d < today.isoformat()]  # up to yesterday
