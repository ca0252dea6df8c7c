"""The Tibber API sensor against the bundled sample API (its "now" is 2023-01-01 00:00 Berlin)."""
from datetime import datetime

import pytest
from dagster import DagsterInstance, build_sensor_context

from emission_assets.orchestration import sensors
from emission_assets.tibber.resources import TibberResource
from emission_assets.tibber.sample import SAMPLE_API_URL
from emission_assets.tibber.sensors import tibber_api_sensor
from emission_assets.timeutil import BERLIN, to_epoch_ms
from emission_assets_tests.support.orchestrated import build_orchestrated_definitions

DEFS = build_orchestrated_definitions()

LAST_HOUR_MS = to_epoch_ms(datetime(2022, 12, 31, 23, 0, tzinfo=BERLIN))


@pytest.fixture(autouse=True)
def no_token(monkeypatch):
    for name in ("TIBBER_TOKEN", "TIBBER_SECRET_SCOPE", "TIBBER_SECRET_KEY", "DATABRICKS_RUNTIME_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIBBER_API_URL", SAMPLE_API_URL)


def evaluate(cursor=None, api_url=SAMPLE_API_URL):
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(cursor=cursor, instance=instance, definitions=DEFS,
                                       resources={"tibber": TibberResource(api_url=api_url)})
        return tibber_api_sensor.evaluate_tick(context)


def test_sample_requests_the_days_of_new_complete_hours_then_skips():
    first = evaluate()
    assert [r.partition_key for r in first.run_requests] == ["2022-12-30", "2022-12-31"]
    assert first.run_requests[-1].run_key == f"tibber:2022-12-31:{LAST_HOUR_MS}"
    again = evaluate(first.cursor)
    assert not again.run_requests
    assert "no new complete hours" in again.skip_message
    # Restarting from no cursor asks for the same runs (same run keys): no duplicates.
    assert [r.run_key for r in evaluate().run_requests] == [r.run_key for r in first.run_requests]


def test_day_that_is_no_partition_yet_is_requested_later(monkeypatch):
    monkeypatch.setattr(sensors, "now_berlin", lambda: datetime(2022, 12, 31, 23, 30, tzinfo=BERLIN))
    during = evaluate()
    assert [r.partition_key for r in during.run_requests] == ["2022-12-30"]
    monkeypatch.setattr(sensors, "now_berlin", lambda: datetime(2023, 1, 1, 6, 0, tzinfo=BERLIN))
    after = evaluate(during.cursor)
    assert [(r.partition_key, r.run_key) for r in after.run_requests] == [("2022-12-31", f"tibber:2022-12-31:{LAST_HOUR_MS}")]
    assert evaluate(after.cursor).skip_message


def test_without_token_the_real_api_is_not_asked():
    result = evaluate(api_url="https://api.tibber.com/v1-beta/gql")
    assert not result.run_requests
    assert "no token" in result.skip_message and "TIBBER_TOKEN" in result.skip_message
