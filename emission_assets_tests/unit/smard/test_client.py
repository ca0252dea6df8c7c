"""SmardClient against a real local HTTP server (127.0.0.1) serving SMARD's JSON shapes, and a file:// replay."""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from emission_assets.smard.client import FetchedWindow, SmardClient, SmardRequestError
from emission_assets.smard.windows import parse_window
from emission_assets.timeutil import UTC, local_midnight, to_epoch_ms

FILTER, REGION, RES = 4068, "DE", "quarterhour"
WEEK1 = to_epoch_ms(local_midnight(date(2024, 3, 18)))  # 2024-03-17T23:00Z
WEEK2 = to_epoch_ms(local_midnight(date(2024, 3, 25)))  # 2024-03-24T23:00Z, the DST week
INDEX_PATH = f"/app/chart_data/{FILTER}/{REGION}/index_{RES}.json"


def window_path(start_ms: int, filter_id: int = FILTER, region: str = REGION, resolution: str = RES) -> str:
    return f"/app/chart_data/{filter_id}/{region}/{filter_id}_{region}_{resolution}_{start_ms}.json"


def window_json(points: list[list]) -> str:
    return json.dumps({"meta_data": {"version": 1, "created": 1711900000000}, "series": points})


def week_points(monday: date, step: timedelta = timedelta(minutes=15)) -> list[list]:
    """Every interval start of a Berlin week, stepped in UTC so DST shortens or lengthens it as SMARD does."""
    start = local_midnight(monday).astimezone(UTC)
    end = local_midnight(monday + timedelta(days=7)).astimezone(UTC)
    points, moment = [], start
    while moment < end:
        points.append([to_epoch_ms(moment), 1000.25])
        moment += step
    return points


def client_for(server: HTTPServer, **kwargs) -> SmardClient:
    kwargs.setdefault("backoff_factor", 0.01)
    kwargs.setdefault("timeout", (2, 5))
    return SmardClient(server.url_for("/app/"), **kwargs)  # trailing slash is tolerated


def requests_to(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def test_index_window_nulls_and_cached_window_for(httpserver):
    httpserver.expect_request(INDEX_PATH).respond_with_json({"timestamps": [WEEK2, WEEK1]})
    points = [[WEEK1, 12.5], [WEEK1 + 900_000, None], [WEEK1 + 1_800_000, 7]]
    httpserver.expect_request(window_path(WEEK1)).respond_with_data(window_json(points), content_type="application/json")
    client = client_for(httpserver)

    assert client.index(FILTER, REGION, RES) == [WEEK1, WEEK2]
    before = datetime.now(UTC)
    fetched = client.window(FILTER, REGION, RES, WEEK1)
    assert isinstance(fetched, FetchedWindow)
    assert fetched.url == httpserver.url_for(window_path(WEEK1))
    assert before <= fetched.fetched_at <= datetime.now(UTC) and fetched.fetched_at.tzinfo is not None
    assert parse_window(fetched.payload, "test") == [(WEEK1, 12.5), (WEEK1 + 900_000, None), (WEEK1 + 1_800_000, 7.0)]
    assert fetched.points == parse_window(fetched.payload, "test")  # the series as validated, for the fill to reuse

    httpserver.clear_log()
    assert client.window_for(FILTER, REGION, RES, WEEK1 + 3 * 86_400_000) == WEEK1
    assert client.window_for(FILTER, REGION, RES, WEEK2 + 1) == WEEK2
    assert client.window_for(FILTER, REGION, RES, WEEK1 - 1) is None
    assert requests_to(httpserver, INDEX_PATH) == 1


def test_dst_week_returns_all_668_points(httpserver):
    points = week_points(date(2024, 3, 25))
    assert len(points) == 668  # 7 * 96 minus the hour skipped on 2024-03-31
    assert datetime.fromtimestamp(points[0][0] / 1000, UTC) == datetime(2024, 3, 24, 23, tzinfo=UTC)
    httpserver.expect_request(window_path(WEEK2)).respond_with_data(window_json(points))

    fetched = client_for(httpserver).window(FILTER, REGION, RES, WEEK2)

    series = parse_window(fetched.payload, "test")
    assert len(series) == 668
    assert [t for t, _ in series] == [p[0] for p in points]


def test_retries_5xx_then_succeeds(httpserver):
    calls = []

    def handler(request):
        calls.append(request.path)
        if len(calls) <= 2:
            return Response("busy", status=503)
        return Response(window_json([[WEEK1, 1.0]]), status=200, content_type="application/json")

    httpserver.expect_request(window_path(WEEK1)).respond_with_handler(handler)
    fetched = client_for(httpserver).window(FILTER, REGION, RES, WEEK1)
    assert parse_window(fetched.payload, "test") == [(WEEK1, 1.0)]
    assert len(calls) == 3


def test_429_respects_retry_after(httpserver):
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response(window_json([[WEEK1, 2.0]]), status=200)

    httpserver.expect_request(window_path(WEEK1)).respond_with_handler(handler)
    started = time.monotonic()
    client_for(httpserver).window(FILTER, REGION, RES, WEEK1)
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.95
    assert time.monotonic() - started >= 0.95


def test_retries_exhausted_names_series_window_and_status(httpserver):
    httpserver.expect_request(window_path(WEEK1)).respond_with_data("boom", status=500)
    with pytest.raises(SmardRequestError, match="HTTP 500") as caught:
        client_for(httpserver, retries=2).window(FILTER, REGION, RES, WEEK1)
    message = str(caught.value)
    assert "HTTP 500" in message and caught.value.status == 500
    assert "filter 4068 (photovoltaics)" in message and "region DE" in message and "quarterhour" in message
    assert "2024-03-17T23:00:00+00:00" in message and str(WEEK1) in message
    assert window_path(WEEK1) in message
    assert requests_to(httpserver, window_path(WEEK1)) == 3  # first try + 2 retries
    assert "User-Agent" not in message


def test_truncated_body_is_rejected(httpserver):
    body = window_json(week_points(date(2024, 3, 18)))
    httpserver.expect_request(window_path(WEEK1)).respond_with_data(body[: len(body) // 2], status=200)
    with pytest.raises(SmardRequestError, match="not valid JSON") as caught:
        client_for(httpserver).window(FILTER, REGION, RES, WEEK1)
    message = str(caught.value)
    assert "not valid JSON" in message
    assert "filter 4068" in message and str(WEEK1) in message and "HTTP 200" in message


def test_404_hints_missing_window(httpserver):
    httpserver.expect_request(window_path(WEEK1)).respond_with_data("not found", status=404)
    with pytest.raises(SmardRequestError, match="does not exist") as caught:
        client_for(httpserver).window(FILTER, REGION, RES, WEEK1)
    message = str(caught.value)
    assert "404" in message and "does not exist" in message and caught.value.status == 404
    assert "filter 4068 (photovoltaics)" in message and "region DE" in message and str(WEEK1) in message
    assert requests_to(httpserver, window_path(WEEK1)) == 1  # 404 is not retried


def test_read_timeout(httpserver):
    attempts = []

    def slow(request):
        attempts.append(request.path)  # counted on arrival: the client gives up before the handler returns
        time.sleep(1.0)
        return Response(window_json([]), status=200)

    httpserver.expect_request(window_path(WEEK1)).respond_with_handler(slow)
    with pytest.raises(SmardRequestError, match="timed out") as caught:
        client_for(httpserver, timeout=(1, 0.3), retries=1).window(FILTER, REGION, RES, WEEK1)
    message = str(caught.value)
    assert "timed out" in message and "filter 4068" in message and str(WEEK1) in message
    assert attempts == [window_path(WEEK1)] * 2  # the first try and one retry (retries=1), then it gave up


def test_connection_refused():
    client = SmardClient("http://127.0.0.1:9", retries=1, backoff_factor=0.01)  # discard port: nothing listens
    with pytest.raises(SmardRequestError, match="failed") as caught:
        client.index(FILTER, REGION, RES)
    message = str(caught.value)
    assert "failed" in message and "timed out" not in message
    assert "filter 4068" in message and "index" in message and "127.0.0.1:9/chart_data" in message


def test_file_base_url_replays_recorded_tree(tmp_path, monkeypatch):
    folder = tmp_path / "chart_data" / str(FILTER) / REGION
    folder.mkdir(parents=True)
    (folder / f"index_{RES}.json").write_text(json.dumps({"timestamps": [WEEK1]}))
    (folder / f"{FILTER}_{REGION}_{RES}_{WEEK1}.json").write_text(window_json([[WEEK1, 3.5], [WEEK1 + 900_000, None]]))
    monkeypatch.setenv("SMARD_BASE_URL", tmp_path.as_uri() + "/")

    client = SmardClient.from_env()
    assert client.index(FILTER, REGION, RES) == [WEEK1]
    assert client.window_for(FILTER, REGION, RES, WEEK1 + 60_000) == WEEK1
    fetched = client.window(FILTER, REGION, RES, WEEK1)
    assert fetched.url.startswith("file://")
    assert parse_window(fetched.payload, "test") == [(WEEK1, 3.5), (WEEK1 + 900_000, None)]
    with pytest.raises(SmardRequestError, match="404"):
        client.window(FILTER, REGION, RES, WEEK2)


def test_from_env_defaults_to_live_api(monkeypatch):
    monkeypatch.delenv("SMARD_BASE_URL", raising=False)
    assert SmardClient.from_env().base_url == "https://www.smard.de/app"


@pytest.mark.parametrize(
    ("args", "bad"),
    [((9999, REGION, RES), "9999"), ((FILTER, "Mars", RES), "Mars"), ((FILTER, REGION, "minute"), "minute")],
)
def test_invalid_arguments(args, bad):
    client = SmardClient("http://127.0.0.1:9")  # never contacted
    for call in (
        lambda: client.index(*args),
        lambda: client.window(*args, WEEK1),
        lambda: client.window_for(*args, WEEK1),
    ):
        with pytest.raises(ValueError, match=bad):
            call()
