"""Fault injection, end to end: faults at the fake SMARD and Tibber servers (on 127.0.0.1, real wire format) and in
the reservoir, then real Dagster runs through reservoir -> bronze -> silver on the embedded engine.

After every fault the lakehouse must hold each value the fake server published exactly once (nothing lost, nothing
duplicated, compared value by value), data landed before the fault must be untouched, and the error or warning must
name the bad input (URL, file, day). How the clients word single errors is tested in smard/test_client.py and
tibber/test_client.py; this suite is about what the lakehouse looks like afterwards.
"""
from __future__ import annotations

import json
import shutil
import time
from datetime import date, datetime, timedelta

import pytest
from werkzeug import Request, Response

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.settings import paths
from emission_assets.smard.bronze import FILE_ROW_SCHEMA, typed_responses
from emission_assets.smard.silver import unparsed_payloads
from emission_assets.smard.windows import window_dir
from emission_assets.timeutil import UTC, day_bounds_utc, local_midnight, to_epoch_ms, week_start
from emission_assets_tests.support.fake_smard import FakeSmard
from emission_assets_tests.support.fake_tibber import FakeTibber, recorded_history
from emission_assets_tests.support.smard_runs import (
    DAY,
    EARLIER,
    FILTERS,
    PV,
    TIBBER,
    TIBBER_PATH,
    bronze_files,
    published,
    published_file,
    quick,
    run,
    silver,
    silver_snapshot,
    smard_api_for,
    sql,
    window_name,
    window_stem,
)

TIBBER_TOKEN = "tbr-FAULT-INJECTION-token-do-not-log"


@pytest.fixture
def smard(httpserver, tmp_path) -> FakeSmard:
    """The fake SMARD API on the shared threaded server: a handler sleeping past a timeout blocks no other request."""
    return smard_api_for(httpserver, tmp_path / "smard_api")


def reservoir_payloads() -> dict[str, bytes]:
    root = paths().reservoir
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.json")
            if not p.name.endswith(".meta.json")}


def assert_landed_once(fake: FakeSmard, *days: date) -> None:
    for day in days:
        expected = published(fake, day)
        assert len(expected) == 96 * len(FILTERS)  # the fake published whole days
        assert silver(day) == expected
    names = [name for name, _ in bronze_files()]
    assert len(names) == len(set(names))  # bronze: each reservoir file once


# --- SMARD: transient HTTP faults ------------------------------------------------------------------------------------

def test_a_burst_of_503s_is_retried_and_every_value_lands_once(spark, smard):
    calls = []

    def burst(request: Request) -> Response | None:
        calls.append(request.path)
        if len(calls) <= 3:
            return Response("<html>503 Service Unavailable</html>", status=503, content_type="text/html")
        return None

    smard.hooks[window_name(PV, DAY)] = burst
    outcome = run(DAY, DAY, smard=quick(smard))

    assert outcome.success
    assert len(calls) == 4  # three 503s, then the published window
    assert_landed_once(smard, DAY)
    assert len(bronze_files()) == len(FILTERS)  # one stored response per window, none for the failed attempts


def test_429_with_retry_after_is_waited_out_and_every_value_lands_once(spark, smard):
    calls = []

    def throttle(request: Request) -> Response | None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("Too Many Requests", status=429, headers={"Retry-After": "1"})
        return None

    smard.hooks[window_name(PV, DAY)] = throttle
    outcome = run(DAY, DAY, smard=quick(smard, backoff_factor=0.0))  # any wait measured is Retry-After's

    assert outcome.success
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.95
    assert_landed_once(smard, DAY)


def test_a_timeout_then_success_lands_every_value_once(spark, smard):
    calls = []

    def slow_once(request: Request) -> Response | None:
        calls.append(request.path)
        if len(calls) == 1:
            time.sleep(2.0)  # past the read timeout: the client gives up on this attempt and retries
        return None

    smard.hooks[window_name(PV, DAY)] = slow_once
    outcome = run(DAY, DAY, smard=quick(smard, read_timeout=1.0))

    assert outcome.success
    assert len(calls) == 2
    assert_landed_once(smard, DAY)
    assert len(bronze_files()) == len(FILTERS)


def test_a_persistent_timeout_names_the_url_and_half_writes_nothing(spark, smard):
    assert run(EARLIER, EARLIER, smard=quick(smard)).success
    before = (bronze_files(), silver_snapshot(EARLIER))
    slow = True

    def hang(request: Request) -> Response | None:
        if slow:
            time.sleep(2.0)
        return None

    smard.hooks[window_name(PV, DAY)] = hang
    outcome = run(DAY, DAY, smard=quick(smard, read_timeout=0.5, retries=1))

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "SmardRequestError"
    assert "timed out" in message and f"{smard.base_url}/chart_data/{PV}/DE/{window_name(PV, DAY)}" in message
    assert not any(window_stem(PV, DAY) in name for name in reservoir_payloads())  # none for the silent window
    assert not list(paths().reservoir.rglob("*.tmp"))
    assert (bronze_files(), silver_snapshot(EARLIER)) == before  # the run stopped before bronze and silver
    assert silver(DAY) == []

    slow = False  # the server recovers; a rerun fetches only what is missing
    requests_before = len(smard.window_requests())
    assert run(DAY, DAY, smard=quick(smard)).success
    assert smard.window_requests()[requests_before:] == [f"/app/chart_data/{PV}/DE/{window_name(PV, DAY)}"]
    assert_landed_once(smard, EARLIER, DAY)
    assert silver_snapshot(EARLIER) == before[1]
    assert len(bronze_files()) == 2 * len(FILTERS)


# --- SMARD: bodies that are not a window, with status 200 ------------------------------------------------------------

def _malformed(fake: FakeSmard) -> tuple[bytes, str]:
    return b'{"meta_data": {"version": 1, "created": 1}, "series": [[1713132000000, 12.5],, ]}', "application/json"


def _truncated(fake: FakeSmard) -> tuple[bytes, str]:
    body = published_file(fake, PV, DAY).read_bytes()
    return body[: len(body) // 2], "application/json"  # the connection dropped mid-way, status already sent


def _html(fake: FakeSmard) -> tuple[bytes, str]:
    return b"<!DOCTYPE html><html><body><h1>Wartungsarbeiten</h1></body></html>", "text/html; charset=utf-8"


@pytest.mark.parametrize("bad_body", [_malformed, _truncated, _html], ids=["malformed", "truncated", "html"])
def test_a_200_body_that_is_not_a_window_fails_by_url_stores_nothing_and_a_rerun_lands_once(spark, smard, bad_body):
    assert run(EARLIER, EARLIER, smard=quick(smard)).success
    before = (bronze_files(), silver_snapshot(EARLIER), reservoir_payloads())
    body, content_type = bad_body(smard)
    broken = True
    smard.hooks[window_name(PV, DAY)] = lambda request: (
        Response(body, status=200, content_type=content_type) if broken else None
    )

    outcome = run(DAY, DAY, smard=quick(smard))

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "SmardRequestError"
    url = f"{smard.base_url}/chart_data/{PV}/DE/{window_name(PV, DAY)}"
    assert url in message and "HTTP 200" in message and "not valid JSON" in message
    assert "filter 4068 (photovoltaics), region DE" in message and content_type in message
    # Rejected before storing: the bad body is no reservoir file; the lignite window fetched before it is (valid).
    payloads = reservoir_payloads()
    assert body not in payloads.values()
    assert not any(window_stem(PV, DAY) in name for name in payloads)
    assert {name: data for name, data in payloads.items() if name in before[2]} == before[2]
    assert (bronze_files(), silver_snapshot(EARLIER)) == before[:2]
    assert silver(DAY) == []

    broken = False
    assert run(DAY, DAY, smard=quick(smard)).success
    assert_landed_once(smard, EARLIER, DAY)
    assert silver_snapshot(EARLIER) == before[1]


# --- SMARD: no values yet --------------------------------------------------------------------------------------------

def _empty_series(window: dict) -> dict:
    return {**window, "series": []}


def _all_null(window: dict) -> dict:
    return {**window, "series": [[t, None] for t, _ in window["series"]]}


@pytest.mark.parametrize("unpublished", [_empty_series, _all_null], ids=["empty_series", "all_null"])
def test_a_window_without_values_warns_by_day_and_url_and_a_refresh_fills_it_once(spark, smard, unpublished):
    pending = True

    def not_yet(request: Request) -> Response | None:
        if not pending:
            return None
        window = json.loads(published_file(smard, PV, DAY).read_bytes())
        return Response(json.dumps(unpublished(window)), status=200, content_type="application/json")

    smard.hooks[window_name(PV, DAY)] = not_yet
    outcome = run(DAY, DAY, smard=quick(smard))

    assert outcome.success  # no crash: the lignite values land, photovoltaics waits
    assert silver(DAY) == published(smard, DAY, filters=[1223])
    url = f"{smard.base_url}/chart_data/{PV}/DE/{window_name(PV, DAY)}"
    named = [w for w in outcome.warnings if f"{DAY} DE photovoltaics" in w and url in w]
    assert len(named) == 1
    assert ("empty series" in named[0]) == (unpublished is _empty_series)
    assert ("values null" in named[0]) == (unpublished is _all_null)
    assert outcome.metadata("reservoir", "smard_responses")["series_days_without_values"] == 1

    pending = False  # SMARD publishes the values; the revision schedule (or the user) refreshes the day
    refreshed = run(DAY, DAY, smard=quick(smard), refresh=True)
    assert refreshed.success
    assert not any("photovoltaics" in w for w in refreshed.warnings)
    assert_landed_once(smard, DAY)


# --- Tibber: GraphQL errors next to partial data ----------------------------------------------------------------------

def test_tibber_graphql_errors_with_partial_data_land_nothing_and_a_rerun_lands_the_day_once(
    spark, httpserver, monkeypatch
):
    monkeypatch.setenv("TIBBER_API_URL", httpserver.url_for(TIBBER_PATH))
    monkeypatch.setenv("TIBBER_TOKEN", TIBBER_TOKEN)
    day = date(2022, 5, 18)
    served: list[dict] = []  # every consumption node the fake sent in a response without errors
    broken = False
    account = FakeTibber(recorded_history(local_midnight(day - timedelta(days=7)), local_midnight(day + timedelta(days=7))),
                         token=TIBBER_TOKEN)

    def graphql(request: Request) -> Response:
        assert request.headers.get("Authorization") == f"Bearer {TIBBER_TOKEN}"
        document = account.answer(request.get_json())
        consumption = document.get("data", {}).get("viewer", {}).get("home", {}).get("consumption")
        if consumption is not None and broken:
            consumption["nodes"][3]["cost"] = None  # what Tibber sends when a field resolver fails
            document["errors"] = [{"message": "Could not fetch cost", "path": ["viewer", "home", "consumption",
                                   "nodes", 3, "cost"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
        elif consumption is not None:
            served.extend(consumption["nodes"])
        return Response(json.dumps(document), status=200, content_type="application/json")

    httpserver.expect_request(TIBBER_PATH, method="POST").respond_with_handler(graphql)
    assert run(day - timedelta(days=1), day - timedelta(days=1), TIBBER).success
    before = sorted(sql("SELECT interval_start, energy_kwh, source_file FROM silver.consumption"))
    reservoir_before = reservoir_payloads()
    assert len(before) == 24

    broken = True
    outcome = run(day, day, TIBBER)

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "TibberGraphQLError"
    assert "Could not fetch cost (path viewer.home.consumption.nodes.3.cost, code INTERNAL_SERVER_ERROR)" in message
    assert "partial data (not accepted)" in message and httpserver.url_for(TIBBER_PATH) in message
    assert TIBBER_TOKEN not in message and not any(TIBBER_TOKEN in w for w in outcome.warnings)
    assert reservoir_payloads() == reservoir_before  # nothing of the partial response is stored
    assert sorted(sql("SELECT interval_start, energy_kwh, source_file FROM silver.consumption")) == before

    broken = False
    served.clear()
    assert run(day, day, TIBBER).success
    start, end = day_bounds_utc(day)
    expected = sorted(
        (to_epoch_ms(datetime.fromisoformat(n["from"])), n["consumption"]) for n in served
        if start <= datetime.fromisoformat(n["from"]) < end
    )
    rows = sql(
        "SELECT unix_millis(interval_start) AS t, energy_kwh FROM silver.consumption "
        f"WHERE year = {day.year} AND month = {day.month} AND day = {day.day}"
    )
    assert len(expected) == 24
    assert sorted((r.t, float(r.energy_kwh)) for r in rows) == expected
    assert sorted(sql("SELECT interval_start, energy_kwh, source_file FROM silver.consumption "
                      f"WHERE NOT (year = {day.year} AND month = {day.month} AND day = {day.day})")) == before


# --- the reservoir: a copied file, a file of unknown shape -----------------------------------------------------------

def test_a_copied_reservoir_file_is_one_more_bronze_row_and_no_silver_duplicate(spark, smard):
    assert run(DAY, DAY, smard=quick(smard)).success
    original = next(paths().reservoir.rglob(f"{window_stem(PV, DAY)}__*.meta.json"))
    stem = original.name.removesuffix(".meta.json")
    for suffix in (".json", ".meta.json"):  # a user's copy of the pair, under a new name
        shutil.copy(original.with_name(stem + suffix), original.with_name(f"{stem}-copy{suffix}"))

    outcome = run(DAY, DAY, smard=quick(smard))

    assert outcome.success
    files = bronze_files()
    assert len(files) == len(FILTERS) + 1 and len({sha for _, sha in files}) == len(FILTERS)
    assert any(name.endswith(f"{stem}-copy.json") for name, _ in files)
    assert_landed_once(smard, DAY)


def test_a_reservoir_file_of_unknown_shape_is_kept_reported_by_name_and_breaks_nothing(spark, smard):
    assert run(DAY, DAY, smard=quick(smard)).success
    landed = silver_snapshot(DAY)
    window_start = to_epoch_ms(local_midnight(week_start(DAY)))
    store = Reservoir(paths().reservoir)
    renamed = json.loads(published_file(smard, PV, DAY).read_bytes())
    renamed["values"] = renamed.pop("series")  # SMARD renamed a field
    strangers = {"unknown": b'{"foo": 1}', "renamed": json.dumps(renamed).encode()}
    names = []
    for label, payload in strangers.items():  # as an older client or another tool would have stored them
        stored = store.write(window_dir(window_start), f"{PV}_DE_quarterhour_{window_start}__{label}", payload, {
            "source": "api", "url": f"{smard.base_url}/chart_data/{PV}/DE/{window_name(PV, DAY)}",
            "fetched_at": (local_midnight(DAY) + timedelta(days=30)).astimezone(UTC).isoformat(),
            "filter_id": PV, "region": "DE", "resolution": "quarterhour", "window_start_ms": window_start,
            "series_start_ms": window_start, "series_end_ms": to_epoch_ms(local_midnight(week_start(DAY) + timedelta(7))),
        })
        names.append(stored.name)

    outcome = run(DAY, DAY, smard=quick(smard))

    assert outcome.success
    assert all((paths().reservoir / name).read_bytes() == strangers[label]  # kept as they were
               for name, label in zip(names, strangers))
    assert set(names) <= {name for name, _ in bronze_files()}  # ingested: bronze keeps what it was given
    assert silver_snapshot(DAY) == landed  # the other files' rows are all there, and only they
    assert_landed_once(smard, DAY)
    metadata = outcome.metadata("silver", "production")
    assert metadata["unparsed_bronze_files"] == 2
    assert all(name in metadata["unparsed"] for name in names)
    reported = [w for w in outcome.warnings if "silver/production skipped" in w]
    assert len(reported) == 1 and all(name in reported[0] for name in names)
    assert "no 'series' list" in reported[0]


def test_unparsed_payloads_names_each_file_and_why(spark):
    """The bronze parse behind the report above, on the shapes a reservoir file can take: bad files keep their
    text and give no series."""
    good = '{"meta_data": {"version": 1, "created": 1}, "series": [[1713132000000, 1.5], [1713132900000, null]]}'
    rows = [("good", good), ("empty", '{"series": []}'), ("foo", '{"foo": 1}'), ("cut", good[:40]),
            ("html", "<html>maintenance</html>"), ("text_time", '{"series": [["2024-04-15", 1.5]]}'),
            ("short_point", '{"series": [[1713132000000]]}'), ("object_point", '{"series": [{"t": 1, "v": 2}]}'),
            ("long_point", '{"series": [[1713132000000, 1.5, 2]]}'),
            ("null_point", '{"series": [[1713132000000, 1.5], null]}'),
            ("null_time", '{"series": [[1713132000000, 1.5], [null, 2]]}'),
            ("three_and_one", '{"series": [[1713132000000, 1.5, 2], [1713132900000]]}')]  # four values, two points
    files = [(name, "sha", "api", "url", datetime(2024, 4, 16, tzinfo=UTC), datetime(2024, 4, 17, tzinfo=UTC), "run",
              PV, "DE", "quarterhour", datetime(2024, 4, 14, 22, tzinfo=UTC), text, date(2024, 4, 15))
             for name, text in rows]
    bronze = typed_responses(spark.createDataFrame(files, FILE_ROW_SCHEMA))
    found = unparsed_payloads(bronze).collect()
    no_series, bad_point = "no 'series' list (not JSON, or not the SMARD window shape)", "a series point is not [epoch_ms, value]"
    assert sorted((r.file_name, r.reason) for r in found) == [
        ("cut", no_series), ("foo", no_series), ("html", no_series), ("long_point", bad_point),
        ("null_point", bad_point), ("null_time", bad_point), ("object_point", bad_point), ("short_point", bad_point),
        ("text_time", bad_point), ("three_and_one", bad_point),
    ]
    kept = {r.file_name: (r.series, r.raw_payload) for r in bronze.collect()}
    bad = {name for name, _ in found}
    assert all(kept[name] == (None, dict(rows)[name]) for name in bad)  # the text kept, nothing of it typed
    assert kept["good"] == ([(1713132000000, 1.5), (1713132900000, None)], None)
    assert kept["empty"] == ([], None)
