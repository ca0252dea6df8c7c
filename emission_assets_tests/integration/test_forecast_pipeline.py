"""The SMARD day-ahead forecast source end to end: a fake SMARD on 127.0.0.1 serving the real chart-data shape (the
recorded forecasts of 2022-01-01..03, or synthetic weeks) -> Dagster runs of reservoir -> bronze -> silver.grid_forecast
on the embedded engine; retries, files of an unknown shape, re-runs, and tomorrow's partition (also via the CLI).
"""
from __future__ import annotations

import json
import logging
from datetime import date, timedelta

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, materialize
from werkzeug import Request, Response

from emission_assets.definitions import ASSETS
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.settings import paths
from emission_assets.smard.windows import window_dir
from emission_assets.sources import resources_for_environment
from emission_assets.timeutil import (
    UTC,
    day_bounds_utc,
    expected_intervals,
    local_midnight,
    to_epoch_ms,
    today_in_berlin,
    week_start,
)
from emission_assets_tests.support.cli import run as cli
from emission_assets_tests.support.fake_smard import FakeSmard
from emission_assets_tests.support.forecast_fixture import FILTERS, FIRST_DAY, LAST_DAY, export_points, window_starts
from emission_assets_tests.support.smard_runs import RANGE_END_TAG, RANGE_START_TAG, Outcome, quick, sql

FORECAST = AssetSelection.tag("source", "smard_forecast")
RESERVOIR_OP = "reservoir__smard_forecast_responses"
NAMES = {3791: "wind_offshore", 123: "wind_onshore", 125: "photovoltaics", 411: "grid_load"}


@pytest.fixture
def fake(httpserver, tmp_path) -> FakeSmard:
    api = FakeSmard(httpserver, tmp_path / "smard_api")
    api.publish_recorded_forecast()
    return api


def run(first, last, fake: FakeSmard, **config) -> Outcome:
    """One Dagster run of the forecast source over the days, fetching the recorded filters unless told otherwise."""
    resources = resources_for_environment()
    resources["smard"] = quick(fake)
    ops = {RESERVOIR_OP: {"config": {"filters": list(FILTERS), **config}}}
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            ASSETS, instance=instance, resources=resources, selection=FORECAST, run_config={"ops": ops},
            tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}, raise_on_error=False,
        )
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level >= logging.WARNING]
    return Outcome(result, warnings)


def checks(outcome: Outcome) -> dict[str, object]:
    return {e.check_name: e for e in outcome.result.get_asset_check_evaluations()}


def silver_rows() -> list[tuple[int, int, float]]:
    rows = sql("SELECT filter_id, unix_millis(interval_start) AS t, energy_mwh FROM silver.grid_forecast")
    return sorted((r.filter_id, r.t, r.energy_mwh) for r in rows)


def recorded() -> list[tuple[int, int, float]]:
    return sorted((f, t, v) for f, points in export_points().items() for t, v in points if v is not None)


def bronze_names() -> list[str]:
    return sorted(r.file_name for r in sql("SELECT file_name FROM bronze.smard_forecast_responses"))


def window_file(fake: FakeSmard, filter_id: int, start_ms: int) -> str:
    return f"{fake.base_url}/chart_data/{filter_id}/DE/{filter_id}_DE_quarterhour_{start_ms}.json"


def test_recorded_forecasts_land_in_silver_typed_and_once(spark, fake):
    outcome = run(FIRST_DAY, LAST_DAY, fake)

    assert outcome.success
    assert silver_rows() == recorded()  # every recorded value, exactly once
    assert len(recorded()) == 4 * 288
    assert len(bronze_names()) == 8  # 4 filters x 2 week windows, one file each
    first = sql("SELECT * FROM silver.grid_forecast WHERE filter_id = 3791 ORDER BY interval_start LIMIT 1")[0]
    assert (first.series, first.kind, first.region, first.resolution) == ("wind_offshore", "generation", "DE",
                                                                           "quarterhour")
    assert str(first.interval_start) == "2021-12-31 23:00:00"  # 01.01.2022 00:00 local (the session is UTC)
    assert (first.energy_mwh, first.power_mw) == (1493.25, 5973.0)  # 1.493,25 MWh in 15 minutes
    assert (first.year, first.month, first.day) == (2022, 1, 1)
    kinds = {(r.series, r.kind) for r in sql("SELECT DISTINCT series, kind FROM silver.grid_forecast")}
    assert kinds == {("wind_offshore", "generation"), ("wind_onshore", "generation"),
                     ("photovoltaics", "generation"), ("grid_load", "load")}
    evaluations = checks(outcome)
    assert all(evaluations[name].passed for name in ("no_duplicate_intervals", "complete_days",
                                                     "non_negative_energy", "known_file_shapes", "no_series_lost"))


def test_default_series_smard_does_not_serve_are_left_out_by_name_and_the_others_land(spark, fake):
    outcome = run(FIRST_DAY, LAST_DAY, fake, filters=None)  # the defaults: 123, 3791, 125, 715, 122, 411

    assert outcome.success
    assert silver_rows() == recorded()  # the recording has no 715 (Sonstige) or 122 (Gesamt)
    skipped = [w for w in outcome.warnings if "HTTP 404 on the index" in w]
    assert len(skipped) == 2
    assert "filter 715 (other) for DE" in skipped[0] and "/chart_data/715/DE/index_quarterhour.json" in skipped[0]
    assert "filter 122 (generation_total) for DE" in skipped[1]
    assert outcome.metadata("reservoir", "smard_forecast_responses")["filters"] == "123, 3791, 125, 411"


def test_days_before_smards_first_forecast_window_are_named_and_the_rest_lands(spark, fake):
    outcome = run(date(2021, 12, 20), LAST_DAY, fake)  # the recorded index starts with the week of 2021-12-27

    assert outcome.success
    assert silver_rows() == recorded()
    assert any("forecasts of 3791, 123, 125, 411 start 2021-12-27: no forecast is fetched for 2021-12-20..2021-12-26"
               in w for w in outcome.warnings)
    incomplete = checks(outcome)["complete_days"]  # a warning: the days without data are listed
    assert not incomplete.passed and "2021-12-20" in incomplete.metadata["days_without_data"].value


def test_a_rerun_fetches_nothing_and_changes_nothing_and_a_refresh_lands_each_value_once(spark, fake):
    assert run(FIRST_DAY, LAST_DAY, fake).success
    files, rows = bronze_names(), silver_rows()
    fetched = len(fake.window_requests())

    assert run(FIRST_DAY, LAST_DAY, fake).success
    assert len(fake.window_requests()) == fetched  # published the day before: the stored windows are final
    assert (bronze_names(), silver_rows()) == (files, rows)

    assert run(FIRST_DAY, LAST_DAY, fake, refresh=True).success
    assert len(fake.window_requests()) == 2 * fetched
    assert len(bronze_names()) == 16 and set(files) < set(bronze_names())  # bronze keeps both versions
    assert len(set(bronze_names())) == len(bronze_names())  # each reservoir file exactly once
    assert silver_rows() == recorded()  # the latest download wins: still each value once


def test_a_burst_of_503s_is_retried_and_every_value_lands_once(spark, fake):
    calls = []
    target = window_file(fake, 411, window_starts()[1]).removeprefix(fake.base_url)

    def burst(request: Request) -> Response | None:
        calls.append(request.path)
        if len(calls) <= 3:
            return Response("<html>503 Service Unavailable</html>", status=503, content_type="text/html")
        return None

    fake.hooks[target] = burst
    outcome = run(FIRST_DAY, LAST_DAY, fake)

    assert outcome.success
    assert len(calls) == 4  # three 503s, then the published window
    assert silver_rows() == recorded()
    assert len(bronze_names()) == 8  # no file for the failed attempts


def test_a_served_window_without_series_fails_by_url_and_stores_nothing_of_it(spark, fake):
    start = window_starts()[1]
    url = window_file(fake, 411, start)
    fake.hooks[url.removeprefix(fake.base_url)] = lambda request: Response(
        json.dumps({"meta_data": {"version": 1, "created": 1}}), status=200, content_type="application/json")

    outcome = run(FIRST_DAY, LAST_DAY, fake)

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "SmardRequestError"
    assert url in message and "no 'series' list" in message and "filter 411 (grid_load), region DE" in message
    stored = [p.name for p in (paths().reservoir / "smard_forecast").rglob("*.json")]
    assert not any(name.startswith(f"411_DE_quarterhour_{start}__") for name in stored)


@pytest.mark.parametrize("payload, reason", [
    ({"meta_data": {"version": 1}, "values": []}, "no 'series' list"),
    ({"meta_data": {"version": 1}, "series": "later"}, "no 'series' list"),
    ({"meta_data": {"version": 1}, "series": [[0, "12,5"], [900000, True]]}, "not a number or null (2 value(s)"),
], ids=["renamed_field", "series_not_a_list", "values_of_wrong_type"])
def test_a_reservoir_file_of_unknown_shape_is_kept_in_bronze_and_named_by_a_check(spark, fake, payload, reason):
    assert run(FIRST_DAY, LAST_DAY, fake).success
    start = window_starts()[1]
    body = json.dumps(payload).encode()
    stranger = Reservoir(paths().reservoir).write(  # as another tool or an older client would have stored it
        window_dir(start, "smard_forecast"), f"411_DE_quarterhour_{start}__20270101T000000000000Z", body, {
            "source": "api", "url": window_file(fake, 411, start),
            "fetched_at": (local_midnight(LAST_DAY) + timedelta(days=400)).astimezone(UTC).isoformat(),
            "filter_id": 411, "region": "DE", "resolution": "quarterhour", "window_start_ms": start,
            "series_start_ms": start, "series_end_ms": to_epoch_ms(local_midnight(week_start(LAST_DAY) + timedelta(7))),
        })

    outcome = run(FIRST_DAY, LAST_DAY, fake)

    assert outcome.success  # a warning check: the other files' rows are written
    assert stranger.name in bronze_names()  # bronze keeps what it was given
    assert (paths().reservoir / stranger.name).read_bytes() == body
    assert silver_rows() == recorded()  # nothing of the earlier download lost, nothing added
    check = checks(outcome)["known_file_shapes"]
    assert not check.passed
    listed = check.metadata["unparsed"].value
    assert stranger.name in listed and reason in listed
    warned = [w for w in outcome.warnings if "silver/grid_forecast skipped" in w]
    assert len(warned) == 1 and stranger.name in warned[0]


def test_tomorrow_is_a_partition_and_its_forecast_lands(spark, fake):
    tomorrow = today_in_berlin() + timedelta(days=1)
    fake.publish_weeks(week_start(tomorrow), 1, filters=(123, 411))

    outcome = run(tomorrow, tomorrow, fake, filters=[123, 411])

    assert outcome.success
    start, end = (to_epoch_ms(moment) for moment in day_bounds_utc(tomorrow))
    rows = [r for r in silver_rows() if start <= r[1] < end]
    assert len(rows) == 2 * expected_intervals(tomorrow, "quarterhour")
    assert {r[0] for r in rows} == {123, 411}


def test_the_cli_materialises_tomorrows_forecast_but_no_realised_day_of_tomorrow(spark, httpserver, tmp_path,
                                                                                  monkeypatch):
    tomorrow = (today_in_berlin() + timedelta(days=1)).isoformat()
    api = FakeSmard(httpserver, tmp_path / "smard_api")
    api.publish_weeks(week_start(today_in_berlin() + timedelta(days=1)), 1,
                      filters=(123, 3791, 125, 715, 122, 411))  # the default forecast filters
    monkeypatch.setenv("SMARD_BASE_URL", api.base_url)

    refused = cli("materialize", "--start", tomorrow, "--end", tomorrow, "--select", "tag:source=smard")
    assert refused.exit_code == 2
    assert f"--end {tomorrow} is not a complete day yet" in refused.stderr
    assert "silver/production" in refused.stderr and "tomorrow for the day-ahead forecasts" in refused.stderr

    day_after = (today_in_berlin() + timedelta(days=2)).isoformat()
    beyond = cli("materialize", "--start", tomorrow, "--end", day_after, "--select", "tag:source=smard_forecast")
    assert beyond.exit_code == 2 and f"--end {day_after} is not a complete day yet" in beyond.stderr

    done = cli("materialize", "--start", tomorrow, "--end", tomorrow, "--select", "tag:source=smard_forecast")
    assert done.exit_code == 0, done.output
    counted = {r.series: r.n for r in sql(
        "SELECT series, count(*) AS n FROM silver.grid_forecast GROUP BY series")}
    intervals = expected_intervals(date.fromisoformat(tomorrow), "quarterhour")
    assert counted == {name: intervals for name in
                       ("wind_onshore", "wind_offshore", "photovoltaics", "other", "generation_total", "grid_load")}


def test_forecast_partitions_end_tomorrow_and_the_realised_ones_yesterday():
    graph = Definitions(assets=ASSETS, resources=resources_for_environment()).resolve_asset_graph()
    tomorrow, yesterday = today_in_berlin() + timedelta(days=1), today_in_berlin() - timedelta(days=1)
    for key in FORECAST.resolve(graph):
        assert graph.get(key).partitions_def.get_last_partition_key() == tomorrow.isoformat(), key
    assert graph.get(AssetKey(["silver", "production"])).partitions_def.get_last_partition_key() == yesterday.isoformat()
