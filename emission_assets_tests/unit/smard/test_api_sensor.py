"""The SMARD API sensor against the fake SMARD API: exactly the days with new values, idempotent run keys."""
from datetime import date, datetime, timedelta

import pytest
from dagster import DagsterInstance, build_sensor_context

from emission_assets.smard.resources import SmardResource
from emission_assets.smard.sensors import smard_api_sensor
from emission_assets.timeutil import BERLIN
from emission_assets_tests.support.orchestrated import build_orchestrated_definitions

DEFS = build_orchestrated_definitions()

FILTERS = (1223, 4068)
MONDAY = date(2022, 6, 6)


@pytest.fixture
def watch(monkeypatch):
    monkeypatch.setenv("SMARD_SENSOR_FILTERS", ",".join(map(str, FILTERS)))
    monkeypatch.delenv("SMARD_SENSOR_REGIONS", raising=False)
    monkeypatch.delenv("SMARD_SENSOR_RESOLUTIONS", raising=False)


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as instance:
        yield instance


def evaluate(fake_smard, instance, cursor=None):
    context = build_sensor_context(
        cursor=cursor, instance=instance, definitions=DEFS,
        resources={"smard": SmardResource(base_url=fake_smard.base_url, retries=0)},
    )
    return smard_api_sensor.evaluate_tick(context)


def days(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def partitions(result) -> list[str]:
    return [r.partition_key for r in result.run_requests]


def test_new_week_requests_its_days_then_skips(fake_smard, instance, watch):
    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS)
    first = evaluate(fake_smard, instance)
    assert partitions(first) == days(MONDAY, 7)
    assert all(r.run_key.startswith(f"smard:{r.partition_key}:") for r in first.run_requests)
    assert len({r.run_key for r in first.run_requests}) == 7
    # Only the index of one representative filter is asked; one window per filter.
    assert sum("/index_" in p for p in fake_smard.requests) == 1
    assert len(fake_smard.window_requests()) == len(FILTERS)

    again = evaluate(fake_smard, instance, first.cursor)
    assert not again.run_requests
    assert "no new or grown windows" in again.skip_message
    assert again.cursor == first.cursor

    fake_smard.publish_weeks(MONDAY + timedelta(days=7), 1, filters=FILTERS)
    next_week = evaluate(fake_smard, instance, again.cursor)
    assert partitions(next_week) == days(MONDAY + timedelta(days=7), 7)


def test_grown_window_requests_only_the_affected_days_and_restarts_dedupe(fake_smard, instance, watch):
    cut = datetime(2022, 6, 8, 12, 0, tzinfo=BERLIN)
    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS, null_from=cut)
    first = evaluate(fake_smard, instance)
    assert partitions(first) == days(MONDAY, 3)  # Mon, Tue and the half-published Wednesday

    unchanged = evaluate(fake_smard, instance, first.cursor)
    assert not unchanged.run_requests and unchanged.skip_message

    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS)  # trailing nulls filled
    grown = evaluate(fake_smard, instance, unchanged.cursor)
    assert partitions(grown) == days(MONDAY + timedelta(days=2), 5)  # Wednesday (afternoon) .. Sunday
    assert all(r.tags["trigger"] == "smard_api" for r in grown.run_requests)

    # A restart from the stored (older) cursor sees the same SMARD state: the same run keys, so no duplicate runs.
    restarted = evaluate(fake_smard, instance, unchanged.cursor)
    assert [r.run_key for r in restarted.run_requests] == [r.run_key for r in grown.run_requests]
    assert restarted.cursor == grown.cursor
    # ... and the keys differ from the first evaluation's key for the shared day (Wednesday got new values).
    wednesday = (MONDAY + timedelta(days=2)).isoformat()
    key = {r.partition_key: r.run_key for r in first.run_requests}[wednesday]
    assert key != {r.partition_key: r.run_key for r in grown.run_requests}[wednesday]


def test_lagging_filter_catching_up_gets_a_new_run_key(fake_smard, instance, watch):
    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS[:1])
    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS[1:], null_from=datetime(2022, 6, 12, 0, 0, tzinfo=BERLIN))
    first = evaluate(fake_smard, instance)
    assert partitions(first) == days(MONDAY, 7)
    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS[1:])
    caught_up = evaluate(fake_smard, instance, first.cursor)
    assert partitions(caught_up) == ["2022-06-12"]
    assert caught_up.run_requests[0].run_key != first.run_requests[-1].run_key


def test_today_waits_as_pending_until_the_partition_exists(fake_smard, instance, watch, monkeypatch):
    from emission_assets.orchestration import sensors

    fake_smard.publish_weeks(MONDAY, 1, filters=FILTERS, null_from=datetime(2022, 6, 8, 12, 0, tzinfo=BERLIN))
    monkeypatch.setattr(sensors, "now_berlin", lambda: datetime(2022, 6, 8, 13, 0, tzinfo=BERLIN))
    during = evaluate(fake_smard, instance)
    assert partitions(during) == days(MONDAY, 2)
    monkeypatch.setattr(sensors, "now_berlin", lambda: datetime(2022, 6, 9, 0, 5, tzinfo=BERLIN))
    after = evaluate(fake_smard, instance, during.cursor)
    assert partitions(after) == ["2022-06-08"]
    assert after.run_requests[0].run_key.startswith("smard:2022-06-08:")
    final = evaluate(fake_smard, instance, after.cursor)
    assert not final.run_requests and final.skip_message
