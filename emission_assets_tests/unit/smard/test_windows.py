"""SMARD window files: payload validation, storage metadata, finding windows for days and deciding day coverage."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from emission_assets.lakehouse.reservoir import Reservoir, covers_day
from emission_assets.smard import windows
from emission_assets.smard.windows import SmardFormatError
from emission_assets.timeutil import BERLIN, UTC, day_bounds_utc, expected_intervals, local_midnight, to_epoch_ms

HOUR_MS = 3_600_000
QUARTER_MS = 900_000
WIND_ONSHORE = 4067
FETCHED = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
CONTEXT = "filter 4067 (wind_onshore), region DE, resolution hour, window W"


@pytest.fixture
def reservoir(tmp_path):
    return Reservoir(tmp_path / "reservoir")


def local_ms(day: date, hour: int = 0) -> int:
    return to_epoch_ms(local_midnight(day)) + hour * HOUR_MS


def hourly(start_ms: int, count: int, value: float | None = 1.0) -> list[tuple[int, float | None]]:
    return [(start_ms + i * HOUR_MS, value) for i in range(count)]


def store(reservoir, points, *, window_start_ms=None, resolution="hour", fetched_at=FETCHED, filter_id=WIND_ONSHORE):
    window_start_ms = points[0][0] if window_start_ms is None else window_start_ms
    return windows.store_window(
        reservoir,
        filter_id=filter_id,
        region="DE",
        resolution=resolution,
        window_start_ms=window_start_ms,
        payload=windows.build_window(points, created=FETCHED),
        url=f"https://example.invalid/{filter_id}/{window_start_ms}",
        fetched_at=fetched_at,
        source="test",
    )


# --- parse_window / parse_index ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, expected",
    [
        (b"<html>Service unavailable</html>", r"response is not valid JSON .*first bytes: b'<html>"),
        (b"\xff\xfe not utf-8", "response is not valid JSON"),
        (b'{"meta_data": {}}', r"JSON has no 'series' list; keys: \['meta_data'\]"),
        (b'{"series": {"a": 1}}', "JSON has no 'series' list"),
        (b"[[1, 2]]", "JSON has no 'series' list; keys: list"),
        (b'{"series": [[1, 2], [3]]}', r"series\[1\] is \[3\], expected \[epoch_ms, number or null\]"),
        (b'{"series": [[1, 2, 3]]}', r"series\[0\] is \[1, 2, 3\]"),
        (b'{"series": [["1", 2]]}', r"series\[0\] is \['1', 2\]"),
        (b'{"series": [[1.5, 2]]}', r"series\[0\] is \[1.5, 2\]"),
        (b'{"series": [[1, "2,5"]]}', r"series\[0\] is \[1, '2,5'\]"),
        (b'{"series": [null]}', r"series\[0\] is None"),
        (b'{"series": [{"t": 1, "v": 2}]}', r"series\[0\] is \{"),
    ],
)
def test_parse_window_errors_name_the_context(payload, expected):
    with pytest.raises(SmardFormatError, match=expected) as info:
        windows.parse_window(payload, CONTEXT)
    assert str(info.value).startswith(CONTEXT + ": ")
    assert isinstance(info.value, ValueError)


def test_parse_window_accepts_ints_floats_and_nulls():
    payload = b'{"meta_data": {"version": 1}, "series": [[1000, 5], [2000, null], [3000, 2.25]]}'
    points = windows.parse_window(payload, CONTEXT)
    assert points == [(1000, 5.0), (2000, None), (3000, 2.25)]
    assert isinstance(points[0][1], float)
    assert windows.parse_window(b'{"series": []}', CONTEXT) == []



def test_parse_window_floats_are_those_of_json_loads_bit_for_bit():
    """orjson parses the windows: each value is the float json.loads gives for the same text (rounding-sensitive
    decimals, subnormals, the largest double, 17 significant digits)."""
    texts = ["0.1", "2.675", "1e-320", "4.9e-324", "1.7976931348623157e308", "0.30000000000000004", "123456.78901234567",
             "9007199254740993", "-0.0", "5e-7", "1234.5678e-3", "33.333333333333336"]
    payload = ('{"series": [' + ", ".join(f"[{i}, {t}]" for i, t in enumerate(texts)) + "]}").encode()
    parsed = [value for _, value in windows.parse_window(payload, CONTEXT)]
    expected = [float(json.loads(t)) for t in texts]
    assert [v.hex() for v in parsed] == [v.hex() for v in expected]


def test_parse_window_refuses_nan_which_json_does_not_have():
    with pytest.raises(SmardFormatError, match=r"response is not valid JSON .*first bytes: b'\{\"series\": \[\[1, NaN"):
        windows.parse_window(b'{"series": [[1, NaN]]}', CONTEXT)

@pytest.mark.parametrize(
    "payload, expected",
    [
        (b"not json", "index is not valid JSON"),
        (b'{"stamps": [1, 2]}', "index has no 'timestamps' list"),
        (b'{"timestamps": [1, "2"]}', "index has no 'timestamps' list of epoch milliseconds"),
        (b'{"timestamps": 5}', "index has no 'timestamps' list"),
        (b"[1, 2, 3]", "index has no 'timestamps' list"),
    ],
)
def test_parse_index_errors_name_the_context(payload, expected):
    with pytest.raises(SmardFormatError, match=expected) as info:
        windows.parse_index(payload, "index of filter 410")
    assert str(info.value).startswith("index of filter 410: ")


def test_parse_index_returns_sorted_stamps():
    assert windows.parse_index(b'{"timestamps": [3000, 1000, 2000]}', "ctx") == [1000, 2000, 3000]


def test_build_window_round_trips_through_parse_window():
    points = [(1_700_000_000_000, 12.5), (1_700_003_600_000, None), (1_700_007_200_000, 0.0), (1_700_010_800_000, -3.0)]
    created = datetime(2025, 9, 1, 8, 30, tzinfo=BERLIN)

    payload = windows.build_window(points, created)

    assert windows.parse_window(payload, "ctx") == points
    document = json.loads(payload)
    assert document["meta_data"]["created"] == to_epoch_ms(created)
    assert document["series"] == [[t, v] for t, v in points]


# --- store_window ----------------------------------------------------------------------------------------------


def test_store_window_records_span_and_counts_under_the_local_date(reservoir):
    # Monday 2024-10-21 00:00 Berlin is 2024-10-20 22:00 UTC: the folder must use the local date.
    window_start = local_ms(date(2024, 10, 21))
    assert datetime.fromtimestamp(window_start / 1000, UTC).date() == date(2024, 10, 20)
    points = [(window_start, 10.0), (window_start + HOUR_MS, None), (window_start + 2 * HOUR_MS, 7.5)]
    fetched_local = datetime(2024, 10, 22, 14, 0, tzinfo=BERLIN)

    written = store(reservoir, points, fetched_at=fetched_local)

    assert written.name.startswith("smard/2024-10-21/")
    assert written.path.parent == reservoir.root / "smard" / "2024-10-21"
    meta = written.meta
    assert meta["series_start_ms"] == window_start
    assert meta["series_end_ms"] == window_start + 3 * HOUR_MS  # exclusive: last point + one hour
    assert meta["points"] == 3
    assert meta["non_null_points"] == 2
    assert meta["window_start_ms"] == window_start
    assert meta["filter_id"] == WIND_ONSHORE and meta["region"] == "DE" and meta["resolution"] == "hour"
    assert meta["source"] == "test"
    assert datetime.fromisoformat(meta["fetched_at"]) == fetched_local
    assert datetime.fromisoformat(meta["fetched_at"]).utcoffset() == timedelta(0)
    assert written.name.endswith("__20241022T120000000000Z.json")
    # what list() reads back from disk is the same
    [listed] = reservoir.list("smard/2024-10-21")
    assert listed.meta == meta and listed.name == written.name
    assert windows.parse_window(listed.read_bytes(), "ctx") == points


def test_store_window_quarterhour_end_is_last_point_plus_15_minutes(reservoir):
    start = local_ms(date(2025, 8, 25))
    points = [(start + i * QUARTER_MS, float(i)) for i in range(5)]
    meta = store(reservoir, points, resolution="quarterhour").meta
    assert meta["series_end_ms"] == start + 5 * QUARTER_MS
    assert meta["points"] == 5 and meta["non_null_points"] == 5


def test_store_window_empty_series_has_no_span(reservoir):
    start = local_ms(date(2025, 8, 25))
    meta = store(reservoir, [], window_start_ms=start).meta
    assert meta["series_start_ms"] is None and meta["series_end_ms"] is None
    assert meta["points"] == 0 and meta["non_null_points"] == 0


def test_store_window_rejects_bad_payload_and_writes_nothing(reservoir):
    start = local_ms(date(2025, 8, 25))
    with pytest.raises(SmardFormatError, match=r"filter 4067 \(wind_onshore\), region DE, resolution hour, window 2025-08-24T22:00:00\+00:00"):
        windows.store_window(
            reservoir, filter_id=WIND_ONSHORE, region="DE", resolution="hour", window_start_ms=start,
            payload=b"<html>", url="u", fetched_at=FETCHED, source="test",
        )
    assert not reservoir.root.exists() or not any(reservoir.root.rglob("*.json"))


def test_store_window_twice_with_new_fetch_time_keeps_both_versions(reservoir):
    start = local_ms(date(2025, 8, 25))
    store(reservoir, hourly(start, 2), fetched_at=FETCHED)
    store(reservoir, hourly(start, 3), fetched_at=FETCHED + timedelta(microseconds=1))
    with pytest.raises(FileExistsError, match=r"reservoir file .*2025-08-25.* exists already; versions are never overwritten"):
        store(reservoir, hourly(start, 4), fetched_at=FETCHED)
    assert sorted(f.meta["points"] for f in reservoir.list("smard/2025-08-25")) == [2, 3]


# --- stored_windows --------------------------------------------------------------------------------------------


def test_stored_windows_finds_overlapping_windows_only(reservoir):
    first_day, last_day = date(2024, 10, 27), date(2024, 10, 28)
    # week window from Monday 2024-10-21, 6 days before first_day; 169 hours (the week has the 25-hour Sunday)
    week = store(reservoir, hourly(local_ms(date(2024, 10, 21)), 169), filter_id=4067)
    # a window in the scanned folder 7 days earlier that ends before first_day
    early = store(reservoir, hourly(local_ms(date(2024, 10, 20)), 24), filter_id=4068)
    # ends exactly where first_day starts (end is exclusive)
    touching = store(reservoir, hourly(local_ms(date(2024, 10, 26)), 24), filter_id=4069)
    # starts on last_day
    late = store(reservoir, hourly(local_ms(date(2024, 10, 28), 23), 1), filter_id=4070)
    # starts the day after last_day
    after = store(reservoir, hourly(local_ms(date(2024, 10, 29)), 24), filter_id=4071)
    # a window with no points in a scanned folder
    empty = store(reservoir, [], window_start_ms=local_ms(date(2024, 10, 27)), filter_id=1223)
    # a week window 8 days before first_day: its folder is not scanned
    old = store(reservoir, hourly(local_ms(date(2024, 10, 19)), 24), filter_id=1224)

    found = {f.name for f in windows.stored_windows(reservoir, first_day, last_day)}

    assert found == {week.name, late.name}
    for excluded in (early, touching, after, empty, old):
        assert excluded.name not in found


def test_stored_windows_empty_reservoir(reservoir):
    assert windows.stored_windows(reservoir, date(2024, 1, 1), date(2024, 1, 31)) == []


# --- covers_day ------------------------------------------------------------------------------------------------

SETTLE = timedelta(hours=2)


def test_covers_day_needs_the_whole_day_and_a_settled_fetch(reservoir):
    day = date(2025, 8, 27)  # a Wednesday, 24 hours
    start, end = day_bounds_utc(day)
    week_start = local_ms(date(2025, 8, 25))
    full = hourly(week_start, 7 * 24)

    settled = store(reservoir, full, fetched_at=end + SETTLE)
    early = store(reservoir, full, fetched_at=end + SETTLE - timedelta(seconds=1))
    assert covers_day(settled, day, SETTLE)
    assert not covers_day(early, day, SETTLE)

    # fetched long after, but the series stops one hour before the day ends / starts one hour into it
    cut_end = [p for p in full if p[0] < to_epoch_ms(end) - HOUR_MS]
    cut_start = [p for p in full if p[0] >= to_epoch_ms(start) + HOUR_MS]
    late = end + timedelta(days=30)
    assert not covers_day(store(reservoir, cut_end, fetched_at=late, window_start_ms=week_start), day, SETTLE)
    assert not covers_day(store(reservoir, cut_start, fetched_at=late + timedelta(seconds=1), window_start_ms=week_start), day, SETTLE)
    # exactly the day is enough
    exact = [p for p in full if to_epoch_ms(start) <= p[0] < to_epoch_ms(end)]
    assert covers_day(store(reservoir, exact, fetched_at=late + timedelta(seconds=2), window_start_ms=week_start), day, SETTLE)
    # the neighbouring days are covered by the full window too, the day after the window is not
    assert covers_day(settled, date(2025, 8, 25), SETTLE)
    assert not covers_day(settled, date(2025, 9, 1), SETTLE)


def test_covers_day_empty_window_never_covers(reservoir):
    empty = store(reservoir, [], window_start_ms=local_ms(date(2025, 8, 25)), fetched_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert not covers_day(empty, date(2025, 8, 25), SETTLE)


def test_covers_day_on_the_25_hour_dst_day(reservoir):
    day = date(2024, 10, 27)
    start, end = day_bounds_utc(day)
    assert expected_intervals(day, "hour") == 25
    assert end - start == timedelta(hours=25)
    week_start = local_ms(date(2024, 10, 21))
    week = hourly(week_start, 169)  # Monday 00:00 .. next Monday 00:00 Berlin, 6 x 24 + 25 hours
    assert week[-1][0] + HOUR_MS == local_ms(date(2024, 10, 28))

    whole = store(reservoir, week, fetched_at=end + SETTLE)
    assert whole.meta["series_end_ms"] == to_epoch_ms(end)
    assert covers_day(whole, day, SETTLE)
    assert not covers_day(whole, day, SETTLE + timedelta(minutes=1))

    # a window that assumed a 24-hour Sunday misses the day's last hour
    short = store(reservoir, week[:-1], fetched_at=end + timedelta(days=1), window_start_ms=week_start)
    assert short.meta["series_end_ms"] == to_epoch_ms(end) - HOUR_MS
    assert not covers_day(short, day, SETTLE)

    # covers_day works on what list() reads back from disk, too
    [found] = [f for f in windows.stored_windows(reservoir, day, day) if f.name == whole.name]
    assert covers_day(found, day, SETTLE)


def test_covered_days_lists_each_fully_covered_settled_day(tmp_path):
    monday = date(2024, 10, 21)  # week with the autumn DST switch: 169 hours
    start_ms = to_epoch_ms(local_midnight(monday))
    points = [(start_ms + h * 3_600_000, 1.0) for h in range(169 - 5)]  # the last 5 hours are not in the file
    stored = windows.store_window(
        Reservoir(tmp_path), filter_id=1223, region="DE", resolution="hour", window_start_ms=start_ms,
        payload=windows.build_window(points, created=datetime(2024, 11, 1, tzinfo=UTC)), url="u",
        fetched_at=datetime(2024, 11, 1, tzinfo=UTC), source="api",
    )
    covered = windows.covered_days([stored], timedelta(hours=6))
    assert covered == {("DE", 1223, monday + timedelta(days=d)) for d in range(6)}  # Sunday is cut short
