"""TibberClient against a fake Tibber GraphQL endpoint on 127.0.0.1, a new server per test.

The fake (:mod:`emission_assets_tests.support.fake_tibber`) serves a year of hourly nodes built from a real Tibber demo-account
response, in Tibber's wire format, with Relay paging; tests install a handler for a fault: GraphQL errors, HTTP
401/429/503, an HTML page, a token echoed back, several homes. The product's ``sample`` module is not involved.
"""
from __future__ import annotations

import base64
import json
import logging
import math
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from emission_assets.tibber import client as client_module
from emission_assets.tibber.client import (
    CONSUMPTION_QUERY,
    DEFAULT_API_URL,
    FetchedPage,
    TibberAuthError,
    TibberClient,
    TibberError,
    TibberGraphQLError,
    TibberHomeError,
    TibberRequestBudgetError,
    TibberRequestError,
    cursor_for,
    node_time_ms,
    parse_nodes,
    token_from_environment,
)
from emission_assets.timeutil import BERLIN, UTC, local_date_of_ms, to_epoch_ms
from emission_assets_tests.support import fake_tibber
from emission_assets_tests.support.fake_tibber import FakeTibber, recorded_history, recorded_hourly_nodes
from emission_assets_tests.support.paths import FIXTURES

TOKEN = "tbr-FAKE-7f3c9e1d2a4b-SECRET-do-not-log"
PATH = fake_tibber.PATH
HOME = fake_tibber.DEMO_HOME_ID
DEMO = FIXTURES / "tibber" / "tibber_demo_consumption_response_2023-04-10.json"


@pytest.fixture(autouse=True)
def _no_tibber_environment(monkeypatch):
    for name in ("TIBBER_TOKEN", "TIBBER_API_URL", "TIBBER_SECRET_SCOPE", "TIBBER_SECRET_KEY", "TIBBER_HOME_ID",
                 "DATABRICKS_RUNTIME_VERSION"):
        monkeypatch.delenv(name, raising=False)


def json_response(document, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json", headers=headers)


@pytest.fixture
def tibber() -> FakeTibber:
    """The account: one home with hourly nodes for 2022 (local time), the values of the real demo response."""
    return FakeTibber(recorded_history(local(2022, 1, 1), local(2023, 1, 1)), token=TOKEN)


def client_for(server: HTTPServer, **kwargs) -> TibberClient:
    kwargs.setdefault("backoff_factor", 0.01)
    kwargs.setdefault("timeout", (2, 5))
    return TibberClient(TOKEN, server.url_for(PATH), **kwargs)


def bodies(server: HTTPServer) -> list[dict]:
    return [json.loads(request.get_data()) for request, _ in server.log]


def local(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=BERLIN)


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[8:24] not in text  # not even a part of it


# --- paging ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("direction", ["backward", "forward"])
@pytest.mark.parametrize(
    ("first_day", "end_day", "dst_day", "dst_hours"),
    [(date(2022, 3, 20), date(2022, 4, 10), date(2022, 3, 27), 23),
     (date(2022, 10, 23), date(2022, 11, 13), date(2022, 10, 30), 25)],
    ids=["spring", "autumn"],
)
def test_paging_covers_every_hour_once_in_order(httpserver, tibber, direction, first_day, end_day, dst_day,
                                                dst_hours):
    tibber.serve(httpserver)
    client = client_for(httpserver)
    start, end = local(*first_day.timetuple()[:3]), local(*end_day.timetuple()[:3])
    fetch = client.consumption_range if direction == "backward" else client.consumption_range_forward

    pages = fetch(HOME, start, end, page_size=100)

    hours = (to_epoch_ms(end) - to_epoch_ms(start)) // 3_600_000  # real hours: 503 in spring, 505 in autumn
    assert hours == 21 * 24 + dst_hours - 24
    assert len(httpserver.log) == len(pages) <= math.ceil(hours / 100) + 2
    assert all(isinstance(page, FetchedPage) and len(page.nodes) <= 100 for page in pages)
    nodes = [node for page in pages for node in page.nodes]
    starts = [node_time_ms(node["from"]) for node in nodes]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # oldest page first, no overlap
    inside = [node for node in nodes if to_epoch_ms(start) <= node_time_ms(node["from"]) < to_epoch_ms(end)]
    assert inside[0]["from"] == start.isoformat(timespec="milliseconds")
    assert inside[-1]["to"] == end.isoformat(timespec="milliseconds")
    assert all(a["to"] == b["from"] for a, b in zip(inside, inside[1:]))  # contiguous
    per_day = Counter(local_date_of_ms(node_time_ms(node["from"])) for node in inside)
    assert len(inside) == sum(per_day.values()) == hours
    assert per_day[dst_day] == dst_hours
    assert {count for day, count in per_day.items() if day != dst_day} == {24}
    for page in pages:  # page metadata as the reservoir stores it
        assert page.series_start_ms == node_time_ms(page.nodes[0]["from"])
        assert page.series_end_ms == node_time_ms(page.nodes[-1]["to"])
        assert page.non_null_nodes == len(page.nodes)
        assert page.url == httpserver.url_for(PATH) and page.fetched_at.tzinfo is not None
        assert json.loads(page.payload)["data"]["viewer"]["home"]["consumption"]["nodes"] == page.nodes

    sent = bodies(httpserver)
    variables = [body["variables"] for body in sent]
    if direction == "backward":
        assert variables[0] == {"homeId": HOME, "last": 100, "before": cursor_for(end)}
        assert all(v["before"] == json.loads(p.payload)["data"]["viewer"]["home"]["consumption"]["pageInfo"]
                   ["startCursor"] for v, p in zip(variables[1:], reversed(pages)))
    else:
        assert variables[0] == {"homeId": HOME, "first": 100,
                                "after": cursor_for(start.astimezone(UTC) - timedelta(hours=1))}
        assert all("after" in v and "before" not in v for v in variables)
    assert all(body["query"] == CONSUMPTION_QUERY for body in sent)
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"].startswith("energy-emission-tracker/")
    assert request.headers["Content-Type"] == "application/json"


def test_the_fake_serves_the_real_demo_response_as_recorded(httpserver):
    """Where the fake's history covers 2023-04-10 00:00-13:00 its nodes are the real demo response's, field for
    field (integer zeros included): the client is checked against Tibber's own bytes, not a model of them."""
    recorded = recorded_hourly_nodes()
    end = datetime(2023, 4, 10, 13, tzinfo=BERLIN)
    tibber = FakeTibber(recorded_history(local(2023, 4, 9), end), token=TOKEN)
    tibber.serve(httpserver)

    pages = client_for(httpserver).consumption_range(HOME, local(2023, 4, 10), end, page_size=13)

    assert len(pages) == 1 and len(pages[0].nodes) == 13 == len(recorded)
    nodes = pages[0].nodes
    assert [{field: node[field] for field in recorded_node} for node, recorded_node in zip(nodes, recorded)] == recorded
    assert {node["currency"] for node in nodes} == {"SEK"}  # asked for by the client, not in the recorded query
    assert type(nodes[8]["consumption"]) is int and nodes[8]["consumption"] == 0  # Tibber sends 0, not 0.0
    assert pages[0].non_null_nodes == 13
    assert (pages[0].series_start_ms, pages[0].series_end_ms) == (to_epoch_ms(local(2023, 4, 10)), to_epoch_ms(end))
    assert pages[0].page_info == {
        "startCursor": "MjAyMy0wNC0xMFQwMDowMDowMC4wMDArMDI6MDA=",  # base64("2023-04-10T00:00:00.000+02:00")
        "endCursor": base64.b64encode(recorded[-1]["from"].encode()).decode(),
        "hasNextPage": False, "hasPreviousPage": True, "count": 13,
    }
    assert tibber.requests[0]["variables"] == {"homeId": HOME, "last": 13, "before": cursor_for(end)}


def test_range_ending_in_the_future_and_before_the_data(httpserver, tibber):
    tibber.serve(httpserver)
    client = client_for(httpserver)
    pages = client.consumption_range(HOME, local(2022, 12, 20), local(2023, 2, 1), page_size=744)
    assert len(pages) == 1 and len(pages[0].nodes) == 744 and pages[0].nodes[-1]["to"] == "2023-01-01T00:00:00.000+01:00"
    assert pages[0].page_info["hasNextPage"] is False
    assert client.consumption_range(HOME, local(2021, 1, 1), local(2021, 2, 1)) == []  # an empty page: nothing
    assert client.consumption_range_forward(HOME, local(2023, 1, 1), local(2023, 2, 1)) == []
    assert len(httpserver.log) == 3


def test_cursor_format_matches_tibber():
    assert base64.b64decode(cursor_for(local(2023, 4, 10))) == b"2023-04-10T00:00:00.000+02:00"
    assert base64.b64decode(cursor_for(datetime(2022, 1, 1, 5, 30, tzinfo=UTC))) == b"2022-01-01T06:30:00.000+01:00"
    assert base64.b64decode(cursor_for(local(2022, 1, 1), "Europe/Oslo")) == b"2022-01-01T00:00:00.000+01:00"
    client = TibberClient(TOKEN, "http://127.0.0.1:9")  # never contacted
    assert client.cursor_for(local(2023, 4, 10)) == cursor_for(local(2023, 4, 10))
    with pytest.raises(ValueError, match="naive"):
        cursor_for(datetime(2023, 4, 10))


def test_null_nodes_are_kept_and_counted(httpserver, tibber):
    for node in tibber.history[-5:]:  # the most recent hours, not metered yet
        node["consumption"] = node["cost"] = None
    tibber.serve(httpserver)
    page = client_for(httpserver).consumption_page(HOME, last=24)
    assert len(page.nodes) == 24 and page.non_null_nodes == 19
    assert [node["consumption"] for node in page.nodes[-5:]] == [None] * 5
    assert page.series_end_ms == to_epoch_ms(local(2023, 1, 1))
    assert page.series_start_ms == to_epoch_ms(local(2022, 12, 31))
    assert bodies(httpserver)[0]["query"].count("filterEmptyNodes: false") == 1


def test_page_size_is_checked_before_sending():
    client = TibberClient(TOKEN, "http://127.0.0.1:9")
    for kwargs, message in (({"first": 0}, "page size must be an integer 1..744"),
                            ({"last": 745}, "page size must be an integer 1..744.*got 745"),
                            ({"first": 10, "last": 10}, "give exactly one of first"), ({}, "give exactly one of first"),
                            ({"first": True}, "page size must be an integer 1..744.*got True")):
        with pytest.raises(ValueError, match=message):
            client.consumption_page(HOME, **kwargs)
    with pytest.raises(ValueError, match="1..744"):
        client.consumption_range(HOME, local(2022, 1, 1), local(2022, 2, 1), page_size=800)
    with pytest.raises(ValueError, match="empty range"):
        client.consumption_range(HOME, local(2022, 2, 1), local(2022, 1, 1))
    assert client.requests_sent == 0


# --- errors ----------------------------------------------------------------------------------------------------------

def test_graphql_errors_with_partial_data_are_rejected(httpserver, tibber):
    def partial(request):
        document = tibber.answer(request.get_json())
        document["errors"] = [
            {"message": "Could not fetch prices", "path": ["viewer", "home", "consumption", "nodes", 3, "unitPrice"],
             "extensions": {"code": "INTERNAL_SERVER_ERROR"}},
            {"message": "second problem"},
        ]
        return json_response(document)

    tibber.serve(httpserver, partial)
    with pytest.raises(TibberGraphQLError, match=r"2 GraphQL error\(s\) next to partial data") as caught:
        client_for(httpserver).consumption_page(HOME, last=24)
    message = str(caught.value)
    assert "2 GraphQL error(s)" in message and "partial data (not accepted)" in message
    assert "Could not fetch prices (path viewer.home.consumption.nodes.3.unitPrice, code INTERNAL_SERVER_ERROR)" in message
    assert "second problem (path -, code -)" in message
    assert f"home {HOME}" in message and "last 24" in message and httpserver.url_for(PATH) in message
    assert len(caught.value.errors) == 2 and caught.value.status == 200


def test_unknown_home_is_a_graphql_error(httpserver, tibber):
    tibber.serve(httpserver)
    with pytest.raises(TibberGraphQLError, match="Could not find home.*code NOT_FOUND"):
        client_for(httpserver).consumption_page("no-such-home", first=10)


@pytest.mark.parametrize("status", [401, 403])
def test_http_auth_failure_never_shows_the_token(httpserver, caplog, status):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(PATH).respond_with_data(f"denied for Bearer {TOKEN}", status=status)
    client = client_for(httpserver)
    with pytest.raises(TibberAuthError, match=rf"HTTP {status} .*wrong or expired") as caught:
        client.homes()
    message = str(caught.value)
    assert f"HTTP {status}" in message and "wrong or expired" in message and "TIBBER_TOKEN" in message
    assert caught.value.status == status
    assert len(httpserver.log) == 1  # not retried
    assert_no_token(message, repr(caught.value), repr(client), str(vars(client)), caplog.text)


def test_graphql_unauthenticated_never_shows_the_token(httpserver, tibber, caplog):
    caplog.set_level(logging.DEBUG)
    tibber.serve(httpserver, lambda request: json_response({"errors": [{
        "message": f"Context creation failed: invalid token {TOKEN}", "path": None,
        "extensions": {"code": "UNAUTHENTICATED"}}]}))
    client = client_for(httpserver)
    with pytest.raises(TibberAuthError, match="UNAUTHENTICATED.*wrong or expired") as caught:
        client.consumption_page(HOME, last=5)
    message = str(caught.value)
    assert "UNAUTHENTICATED" in message and "wrong or expired" in message and "TIBBER_TOKEN" in message
    assert "invalid token ***" in message
    assert_no_token(message, repr(client), caplog.text)


def test_token_echoed_in_an_error_body_is_scrubbed(httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(PATH).respond_with_data(f"upstream saw Authorization: Bearer {TOKEN}", status=500)
    client = client_for(httpserver, retries=1)
    with pytest.raises(TibberRequestError, match=r"HTTP 500 .*after 1 retries") as caught:
        client.websocket_url()
    message = str(caught.value)
    assert "HTTP 500" in message and "after 1 retries" in message and "Bearer ***" in message
    assert_no_token(message, repr(client), caplog.text)


def test_token_is_never_an_attribute_or_in_repr():
    client = TibberClient(TOKEN, DEFAULT_API_URL)
    assert TOKEN not in repr(client)
    assert all(TOKEN not in repr(value) for name, value in vars(client).items() if name != "session")
    assert client.session.headers["Authorization"] == f"Bearer {TOKEN}"  # its only home
    assert TibberClient(f" {TOKEN}\n").session.headers["Authorization"] == f"Bearer {TOKEN}"
    for bad in ("", "   ", f"{TOKEN[:10]}\n{TOKEN[10:]}", f"Bearer {TOKEN}", f"{TOKEN}\x00"):
        with pytest.raises(TibberAuthError, match="the token is empty|token contains whitespace or control") as caught:
            TibberClient(bad)
        assert_no_token(str(caught.value))


def test_429_honours_retry_after(httpserver, tibber):
    calls = []

    def handler(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return tibber.respond(request)

    tibber.serve(httpserver, handler)
    client = client_for(httpserver)
    started = time.monotonic()
    assert client.homes() == [{"id": HOME, "timeZone": "Europe/Stockholm"}]
    # a lower bound on the deliberate wait Retry-After asks for (never an upper bound on speed)
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95 and time.monotonic() - started >= 0.95
    assert client.requests_sent == 2  # the retry counts against the budget


def test_503_then_success(httpserver, tibber):
    calls = []

    def handler(request):
        calls.append(request.path)
        return Response("busy", status=503) if len(calls) == 1 else tibber.respond(request)

    tibber.serve(httpserver, handler)
    page = client_for(httpserver).consumption_page(HOME, first=48)
    assert len(page.nodes) == 48 and len(calls) == 2


def test_503_exhausted(httpserver):
    httpserver.expect_request(PATH).respond_with_data("busy", status=503)
    with pytest.raises(TibberRequestError, match=r"HTTP 503 .*after 2 retries") as caught:
        client_for(httpserver, retries=2).consumption_page(HOME, first=48)
    assert "HTTP 503" in str(caught.value) and "after 2 retries" in str(caught.value)
    assert caught.value.status == 503 and len(httpserver.log) == 3


def test_html_page_with_status_200(httpserver):
    html = "<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head><body>back soon</body></html>"
    httpserver.expect_request(PATH).respond_with_data(html, status=200, content_type="text/html")
    with pytest.raises(TibberRequestError, match=r"HTTP 200 with a body that is not JSON \(text/html") as caught:
        client_for(httpserver).consumption_page(HOME, first=24)
    message = str(caught.value)
    assert "HTTP 200" in message and "not JSON" in message and "text/html" in message
    assert "<!DOCTYPE html>" in message and f"home {HOME}" in message


def test_json_without_data_or_connection(httpserver):
    httpserver.expect_request(PATH).respond_with_json({"data": {"viewer": {"home": None}}})
    with pytest.raises(TibberRequestError, match=r"no data\.viewer\.home\.consumption"):
        client_for(httpserver).consumption_page(HOME, first=24)
    httpserver.clear()
    httpserver.expect_request(PATH).respond_with_json([1, 2])
    with pytest.raises(TibberRequestError, match="not a GraphQL response object"):
        client_for(httpserver).homes()


def test_read_timeout(httpserver, tibber):
    attempts = []

    def slow(request):
        attempts.append(request.path)  # on arrival: the client gives up before this handler answers
        time.sleep(0.8)
        return tibber.respond(request)

    tibber.serve(httpserver, slow)
    with pytest.raises(TibberRequestError, match="Tibber homes: POST .* timed out"):
        client_for(httpserver, timeout=(1, 0.3), retries=1).homes()
    assert attempts == [PATH, PATH]  # the first try and one retry


def test_connection_refused():
    client = TibberClient(TOKEN, "http://127.0.0.1:9/v1-beta/gql", retries=1, backoff_factor=0.01)
    with pytest.raises(TibberRequestError, match=r"POST http://127\.0\.0\.1:9/v1-beta/gql failed") as caught:
        client.homes()
    message = str(caught.value)
    assert "failed" in message and "timed out" not in message and "127.0.0.1:9" in message
    assert_no_token(message)


def test_request_budget(httpserver, tibber):
    tibber.serve(httpserver)
    client = client_for(httpserver, max_requests=3)
    with pytest.raises(TibberRequestBudgetError, match="request budget of 3 Tibber requests") as caught:
        client.consumption_range(HOME, local(2022, 1, 1), local(2023, 1, 1), page_size=100)
    assert "budget of 3" in str(caught.value) and "100 requests in 5 minutes" in str(caught.value)
    assert isinstance(caught.value, TibberError)
    assert len(httpserver.log) == 3
    with pytest.raises(TibberRequestBudgetError, match=r"Tibber homes: request budget of 3 .* \(3 sent"):
        client.homes()
    assert len(httpserver.log) == 3


def test_range_is_bounded_even_if_the_server_never_ends(httpserver, tibber):
    def endless(request):  # the same February page every time, claiming ever new earlier pages
        body = request.get_json()
        body["variables"]["before"] = cursor_for(local(2022, 3, 1))
        document = tibber.answer(body)
        info = document["data"]["viewer"]["home"]["consumption"]["pageInfo"]
        info["startCursor"] = base64.b64encode(str(len(tibber.requests)).encode()).decode()
        info["hasPreviousPage"] = True
        return json_response(document)

    tibber.serve(httpserver, endless)
    with pytest.raises(TibberRequestError, match="not covered within 4 pages"):
        client_for(httpserver).consumption_range(HOME, local(2022, 1, 1), local(2022, 3, 1), page_size=744)
    assert len(httpserver.log) == 4  # ceil(1416 / 744) + 2


# --- homes -----------------------------------------------------------------------------------------------------------

def homes_server(server: HTTPServer, homes: list[dict]) -> None:
    server.expect_request(PATH).respond_with_json({"data": {"viewer": {"homes": homes}}})


def test_one_home_is_the_default_and_only_ids_are_returned(httpserver):
    homes_server(httpserver, [{"id": "home-a", "timeZone": "Europe/Oslo", "address": {"address1": "Secret 1"}}])
    client = client_for(httpserver)
    assert client.homes() == [{"id": "home-a", "timeZone": "Europe/Oslo"}]
    assert client.resolve_home(None) == "home-a"
    assert client.resolve_home("home-a") == "home-a"
    assert bodies(httpserver)[0]["query"] == "query Homes { viewer { homes { id timeZone } } }"


def test_several_homes_need_a_choice(httpserver):
    homes_server(httpserver, [{"id": "home-a", "timeZone": "Europe/Berlin"}, {"id": "home-b", "timeZone": None}])
    client = client_for(httpserver)
    with pytest.raises(TibberHomeError, match="this Tibber token has 2 homes") as caught:
        client.resolve_home(None)
    assert "2 homes" in str(caught.value) and "TIBBER_HOME_ID / --home-id" in str(caught.value)
    assert "home-a, home-b" in str(caught.value)
    assert client.resolve_home("home-b") == "home-b"
    with pytest.raises(TibberHomeError, match=r"'home-c' is not one of .*known home ids: home-a, home-b"):
        client.resolve_home("home-c")


def test_no_home(httpserver):
    homes_server(httpserver, [])
    with pytest.raises(TibberHomeError, match="no homes"):
        client_for(httpserver).resolve_home(None)


def test_homes_and_websocket_url(httpserver, tibber):
    tibber.serve(httpserver)
    client = client_for(httpserver)
    assert client.resolve_home(None) == HOME
    with pytest.raises(TibberHomeError, match=HOME):
        client.resolve_home("unknown")
    assert client.websocket_url() == fake_tibber.WEBSOCKET_URL
    # the home's time zone from Tibber is the one cursors are built in from now on
    assert client.cursor_for(local(2023, 4, 10)) == base64.b64encode(b"2023-04-10T00:00:00.000+02:00").decode()


# --- the real demo response ------------------------------------------------------------------------------------------

def test_real_demo_response_nodes_parse(httpserver):
    httpserver.expect_request(PATH).respond_with_data(DEMO.read_bytes(), content_type="application/json")
    client = client_for(httpserver)
    demo_query = "{ viewer { homes { hourly: consumption(resolution: HOURLY, last: 13) { nodes { from to cost " \
                 "unitPrice unitPriceVAT consumption consumptionUnit } } } } }"
    data = client.query(demo_query)
    nodes = data["viewer"]["homes"][0]["hourly"]["nodes"]
    assert all("currency" not in node for node in nodes)
    assert parse_nodes(nodes) == (
        to_epoch_ms(datetime(2023, 4, 10, tzinfo=BERLIN)), to_epoch_ms(datetime(2023, 4, 10, 13, tzinfo=BERLIN)), 13
    )
    # the real node strings are what cursor_for builds
    assert base64.b64decode(cursor_for(local(2023, 4, 10))).decode() == nodes[0]["from"]
    daily = data["viewer"]["homes"][0]["daily"]["nodes"]
    assert parse_nodes(daily)[2] == 9
    # the aliased layout is no data.viewer.home.consumption connection: a clear error, not a silent empty page
    with pytest.raises(TibberRequestError, match=r"no data\.viewer\.home\.consumption"):
        client.consumption_page(HOME, last=13)


def test_parse_nodes_rejects_bad_nodes():
    assert parse_nodes([]) == (None, None, 0)
    good = {"from": "2023-04-10T00:00:00.000+02:00", "to": "2023-04-10T01:00:00.000+02:00", "consumption": None}
    assert parse_nodes([good]) == (1681077600000, 1681081200000, 0)
    with pytest.raises(ValueError, match="overlaps"):
        parse_nodes([good, good])
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_nodes([{**good, "from": "2023-04-10T00:00:00"}])
    with pytest.raises(ValueError, match="not a number"):
        parse_nodes([{**good, "consumption": "3.2"}])
    with pytest.raises(ValueError, match="ends"):
        parse_nodes([{**good, "to": good["from"]}])


# --- token from the environment --------------------------------------------------------------------------------------

def test_token_from_environment(monkeypatch):
    with pytest.raises(TibberAuthError, match="no Tibber token: set TIBBER_TOKEN"):
        token_from_environment()
    monkeypatch.setenv("TIBBER_TOKEN", f"  {TOKEN} ")
    assert token_from_environment() == TOKEN


def test_token_from_databricks_secret(monkeypatch):
    monkeypatch.setenv("TIBBER_SECRET_SCOPE", "emission")
    monkeypatch.setenv("TIBBER_SECRET_KEY", "tibber-token")
    with pytest.raises(TibberAuthError, match="dbutils"):  # not on Databricks here
        token_from_environment()
    asked = []

    class Secrets:
        def get(self, scope, key):
            asked.append((scope, key))
            return TOKEN

    monkeypatch.setattr(client_module, "_databricks_dbutils", lambda: type("DBUtils", (), {"secrets": Secrets()})())
    assert token_from_environment() == TOKEN and asked == [("emission", "tibber-token")]

    class Failing:
        def get(self, scope, key):
            raise RuntimeError("secret does not exist")

    monkeypatch.setattr(client_module, "_databricks_dbutils", lambda: type("DBUtils", (), {"secrets": Failing()})())
    with pytest.raises(TibberAuthError, match="scope 'emission' key 'tibber-token' failed"):
        token_from_environment()


def test_from_env(monkeypatch, httpserver, tibber):
    tibber.serve(httpserver)
    monkeypatch.setenv("TIBBER_TOKEN", TOKEN)
    monkeypatch.setenv("TIBBER_API_URL", httpserver.url_for(PATH))
    client = TibberClient.from_env(backoff_factor=0.01)
    assert client.api_url == httpserver.url_for(PATH) and client.resolve_home(None) == HOME
    monkeypatch.delenv("TIBBER_API_URL")
    assert TibberClient(TOKEN).api_url == DEFAULT_API_URL
