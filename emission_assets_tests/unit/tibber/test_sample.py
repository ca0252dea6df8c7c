"""The bundled synthetic household and its Tibber-like GraphQL answers (served with no network)."""
from __future__ import annotations

import base64
import re
import socket
from collections import Counter
from datetime import datetime

import numpy as np
import pytest

from emission_assets.tibber import sample
from emission_assets.tibber.client import (
    CONSUMPTION_QUERY,
    TibberAuthError,
    TibberClient,
    TibberGraphQLError,
    node_time_ms,
)
from emission_assets.timeutil import BERLIN, local_date_of_ms, to_epoch_ms

HOME = sample.SAMPLE_HOME_ID
QUARTER_MS = 900_000
LOCAL_ISO = re.compile(r"^2022-\d\d-\d\dT\d\d:00:00\.000\+0[12]:00$|^2023-01-01T00:00:00\.000\+01:00$")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """The sample transport must never open a socket."""
    def refuse(*args, **kwargs):
        raise AssertionError("the Tibber sample tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("TIBBER_TOKEN", raising=False)
    monkeypatch.delenv("TIBBER_API_URL", raising=False)


def consumption(variables: dict, query: str = CONSUMPTION_QUERY) -> dict:
    return sample.answer({"query": query, "variables": {"homeId": HOME, **variables}})


def connection(variables: dict) -> dict:
    return consumption(variables)["data"]["viewer"]["home"]["consumption"]


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def year_nodes() -> list[dict]:
    pages = TibberClient("sample", sample.SAMPLE_API_URL).consumption_range_forward(
        HOME, local(2022, 1, 1), local(2023, 1, 1))
    return [node for page in pages for node in page.nodes]


def test_year_totals_and_ev_sessions():
    truth = sample.load_quarter_hours()
    assert list(truth.columns) == ["interval_start_ms", "household_kw", "ev_kw"]
    assert len(truth) == 35_040
    starts = truth["interval_start_ms"].to_numpy()
    assert starts[0] == to_epoch_ms(local(2022, 1, 1)) and starts[-1] + QUARTER_MS == to_epoch_ms(local(2023, 1, 1))
    assert (np.diff(starts) == QUARTER_MS).all()
    per_day = Counter(local_date_of_ms(int(ms)) for ms in starts)
    assert per_day[local(2022, 3, 27).date()] == 92 and per_day[local(2022, 10, 30).date()] == 100
    assert len(per_day) == 365 and sum(count == 96 for count in per_day.values()) == 363

    household_kwh = truth["household_kw"].sum() * 0.25
    ev_kwh = truth["ev_kw"].sum() * 0.25
    assert 3500 * 0.95 <= household_kwh <= 3500 * 1.05
    assert 1800 <= ev_kwh <= 2600
    assert set(truth["ev_kw"].unique()) == {0.0, 11.0}
    assert truth["household_kw"].between(0.0, 11.0, inclusive="neither").all()

    charging = truth["ev_kw"].to_numpy() > 0
    edges = np.flatnonzero(np.diff(np.r_[0, charging.astype(int), 0]))
    lengths = edges[1::2] - edges[::2]
    assert 2 * 52 <= len(lengths) <= 3 * 53  # 2-3 sessions a week
    assert lengths.min() >= 3 and lengths.max() <= 16  # 45 min .. 4 h
    session_starts = starts[edges[::2]]
    assert len({(ms // QUARTER_MS) % 4 for ms in session_starts}) == 4  # not only on full hours


def test_hourly_nodes_cover_local_2022_and_sum_to_the_truth(year_nodes):
    assert len(year_nodes) == 8760
    assert year_nodes[0]["from"] == "2022-01-01T00:00:00.000+01:00"
    assert year_nodes[-1]["to"] == "2023-01-01T00:00:00.000+01:00"
    assert all(a["to"] == b["from"] for a, b in zip(year_nodes, year_nodes[1:]))
    per_day = Counter(local_date_of_ms(node_time_ms(node["from"])) for node in year_nodes)
    assert per_day[local(2022, 3, 27).date()] == 23 and per_day[local(2022, 10, 30).date()] == 25
    assert [node["from"] for node in year_nodes if node["from"].startswith("2022-10-30T02")] == [
        "2022-10-30T02:00:00.000+02:00", "2022-10-30T02:00:00.000+01:00"]
    assert not any(node["from"].startswith("2022-03-27T02") for node in year_nodes)

    truth = sample.load_quarter_hours()
    kwh = ((truth["household_kw"] + truth["ev_kw"]) * 0.25).groupby(truth["interval_start_ms"] // 3_600_000).sum()
    served = np.array([node["consumption"] for node in year_nodes])
    assert [node_time_ms(node["from"]) // 3_600_000 for node in year_nodes] == list(kwh.index)
    assert np.abs(served - kwh.to_numpy()).max() <= 0.0005 + 1e-9  # rounded to Wh like a meter
    assert served.sum() == pytest.approx(kwh.sum(), abs=0.5)


def test_node_format_and_synthetic_tariff(year_nodes):
    for node in year_nodes:
        assert list(node) == ["from", "to", "consumption", "consumptionUnit", "cost", "unitPrice", "unitPriceVAT",
                              "currency"]
        assert LOCAL_ISO.match(node["from"]) and LOCAL_ISO.match(node["to"])
        assert node["consumptionUnit"] == "kWh" and node["currency"] == "EUR"
        assert 0.25 <= node["unitPrice"] <= 0.40
        assert node["unitPriceVAT"] == pytest.approx(node["unitPrice"] * 19 / 119, abs=1e-6)
        assert node["cost"] == pytest.approx(node["consumption"] * node["unitPrice"], abs=1e-9)
    prices = {node["from"][11:13]: [] for node in year_nodes}
    for node in year_nodes:
        prices[node["from"][11:13]].append(node["unitPrice"])
    assert np.mean(prices["18"]) > np.mean(prices["12"]) > np.mean(prices["03"]) - 0.01  # evening peak, solar dip
    january = [n["unitPrice"] for n in year_nodes if n["from"].startswith("2022-01")]
    july = [n["unitPrice"] for n in year_nodes if n["from"].startswith("2022-07")]
    assert np.mean(january) > np.mean(july)


def test_relay_paging_semantics():
    jan = connection({"first": 3})
    assert [n["from"] for n in jan["nodes"]] == [f"2022-01-01T0{h}:00:00.000+01:00" for h in range(3)]
    assert jan["pageInfo"] == {"startCursor": cursor("2022-01-01T00:00:00.000+01:00"),
                               "endCursor": cursor("2022-01-01T02:00:00.000+01:00"),
                               "hasNextPage": True, "hasPreviousPage": False, "count": 3}
    after = connection({"first": 2, "after": jan["pageInfo"]["endCursor"]})  # excludes the cursor's node
    assert [n["from"][11:13] for n in after["nodes"]] == ["03", "04"] and after["pageInfo"]["hasPreviousPage"]

    end = connection({"last": 2})  # without before: the end of the connection (the sample's "now")
    assert [n["from"] for n in end["nodes"]] == ["2022-12-31T22:00:00.000+01:00", "2022-12-31T23:00:00.000+01:00"]
    assert end["pageInfo"]["hasNextPage"] is False and end["pageInfo"]["hasPreviousPage"] is True
    before = connection({"last": 2, "before": end["pageInfo"]["startCursor"]})  # the 2 nodes just before
    assert [n["from"][11:13] for n in before["nodes"]] == ["20", "21"]

    autumn = connection({"first": 3, "after": cursor("2022-10-30T01:00:00.000+02:00")})
    assert [n["from"] for n in autumn["nodes"]] == [
        "2022-10-30T02:00:00.000+02:00", "2022-10-30T02:00:00.000+01:00", "2022-10-30T03:00:00.000+01:00"]
    # cursors between or outside the nodes work by time
    assert connection({"first": 1, "after": cursor("2021-06-01T00:00:00.000+02:00")})["nodes"][0]["from"] == \
        "2022-01-01T00:00:00.000+01:00"
    empty = connection({"last": 5, "before": cursor("2021-06-01T00:00:00.000+02:00")})
    assert empty["nodes"] == [] and empty["pageInfo"]["count"] == 0 and empty["pageInfo"]["startCursor"] is None
    assert connection({"first": 744})["pageInfo"]["count"] == 744


def test_graphql_errors_in_tibbers_shape():
    too_big = consumption({"last": 745})
    assert too_big["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "744" in too_big["errors"][0]["message"] and too_big["data"] == {"viewer": {"home": {"consumption": None}}}
    unknown = sample.answer({"query": CONSUMPTION_QUERY, "variables": {"homeId": "nope", "first": 1}})
    assert unknown["errors"][0]["path"] == ["viewer", "home"] and "nope" in unknown["errors"][0]["message"]
    assert "errors" in consumption({})  # neither first nor last
    assert "errors" in consumption({"first": 1, "after": "not a cursor"})
    daily = CONSUMPTION_QUERY.replace("resolution: HOURLY", "resolution: DAILY")
    assert "HOURLY" in consumption({"first": 1}, daily)["errors"][0]["message"]
    for query in ("{ viewer { homes { id address { address1 } } } }", "{ viewer { name } }",
                  "mutation { sendPushNotification }", "{ viewer { homes { hourly: consumption { nodes { from } } } } }"):
        assert sample.answer({"query": query})["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "errors" in sample.answer({"variables": {}})


def test_answers_only_the_requested_fields():
    query = ('query { viewer { home(id: "%s") { consumption(resolution: HOURLY, first: 2) '
             '{ nodes { from consumption } } } } }' % HOME)  # literal arguments work too
    nodes = sample.answer({"query": query})["data"]["viewer"]["home"]["consumption"]["nodes"]
    assert [list(node) for node in nodes] == [["from", "consumption"]] * 2
    assert [node["from"] for node in nodes] == ["2022-01-01T00:00:00.000+01:00", "2022-01-01T01:00:00.000+01:00"]
    assert sample.answer({"query": "{ viewer { homes { id } } }"}) == {"data": {"viewer": {"homes": [{"id": HOME}]}}}


def test_client_pages_the_sample_without_network():
    client = TibberClient(token="sample", api_url="sample://tibber", max_requests=20)
    assert client.resolve_home(None) == HOME
    assert client.homes() == [{"id": HOME, "timeZone": "Europe/Berlin"}]
    assert client.websocket_url() == sample.SAMPLE_WEBSOCKET_URL
    start, end = local(2022, 3, 1), local(2022, 4, 1)
    backward = client.consumption_range(HOME, start, end, page_size=200)
    forward = client.consumption_range_forward(HOME, start, end, page_size=200)
    for pages in (backward, forward):
        nodes = [n for page in pages for n in page.nodes if start <= datetime.fromisoformat(n["from"]) < end]
        assert len(nodes) == 31 * 24 - 1 and len({n["from"] for n in nodes}) == len(nodes)
        assert all(a["to"] == b["from"] for a, b in zip(nodes, nodes[1:]))
        assert all(page.url == "sample://tibber" and page.payload.startswith(b'{"data"') for page in pages)
    assert client.requests_sent == 3 + len(backward) + len(forward) <= 3 + 2 * (4 + 2)
    with pytest.raises(TibberGraphQLError, match="Could not find home"):
        client.consumption_page("other-home", last=1)


def test_from_env_serves_the_sample_without_a_token(monkeypatch):
    monkeypatch.setenv("TIBBER_API_URL", sample.SAMPLE_API_URL)
    client = TibberClient.from_env()
    page = client.consumption_page(client.resolve_home(None), last=24)
    assert page.series_end_ms == to_epoch_ms(local(2023, 1, 1)) and page.non_null_nodes == 24


def test_sample_rejects_a_request_without_token():
    client = TibberClient("sample", sample.SAMPLE_API_URL)
    del client.session.headers["Authorization"]
    with pytest.raises(TibberAuthError, match="UNAUTHENTICATED"):
        client.homes()
