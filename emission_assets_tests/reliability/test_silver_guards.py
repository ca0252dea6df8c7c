"""The silver boundary guards on hand-built Tibber bronze frames and a real lakehouse: negative energy refused
before anything is written, days that would lose a series kept, first-time days passing."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from emission_assets.lakehouse.session import Lakehouse
from emission_assets.orchestration.silver_guards import (
    NegativeEnergyError,
    SeriesGuard,
    guarded_replace,
    stored_series,
    write_ranges,
)
from emission_assets.orchestration.silver_support import run_summary, written_days
from emission_assets.tibber.assets import CONSUMPTION_SERIES, CONSUMPTION_TABLE
from emission_assets.tibber.bronze import FILE_ROW_SCHEMA, typed_responses
from emission_assets.tibber.silver import consumption_from_bronze
from emission_assets.tibber.silver import quality_summary as consumption_quality

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
DAYS = [date(2022, 11, 1), date(2022, 11, 2), date(2022, 11, 3)]  # 24 hours each


def page(name: str, home: str, fetched_hour: int, kwh_of) -> tuple:
    """A bronze row holding a Tibber hourly page for ``home`` over DAYS; ``kwh_of(day, hour)`` None leaves a node out."""
    nodes = []
    for day in DAYS:
        for hour in range(24):
            kwh = kwh_of(day, hour)
            if kwh is None:
                continue
            start = datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)
            nodes.append({"from": start.isoformat(), "to": (start + timedelta(hours=1)).isoformat(),
                          "consumption": kwh, "consumptionUnit": "kWh", "cost": kwh * 0.3, "unitPrice": 0.3,
                          "currency": "EUR"})
    payload = {"data": {"viewer": {"home": {"consumption": {"pageInfo": {}, "nodes": nodes}}}}}
    return (name, "sha", "api", f"https://tibber.test/{name}", datetime(2022, 11, 5, fetched_hour, tzinfo=UTC),
            datetime(2022, 11, 5, 12, tzinfo=UTC), "run", "hourly", home, None, None, json.dumps(payload),
            date(2022, 11, 1))


@pytest.fixture
def lakehouse(spark, registry, writer) -> Lakehouse:
    return Lakehouse(spark, registry, writer)


def replace(lakehouse, files) -> SeriesGuard:
    bronze = typed_responses(lakehouse.spark.createDataFrame(files, FILE_ROW_SCHEMA))
    guard = SeriesGuard(CONSUMPTION_SERIES)
    rows = consumption_from_bronze(bronze, DAYS[0], DAYS[-1])
    guarded_replace(lakehouse, guard, rows, DAYS[0], DAYS[-1], bronze, lambda r: f"home {r['home_id']}",
                    consumption_quality)
    return guard


def stored(lakehouse) -> dict[tuple[int, str], tuple[int, float]]:
    """(day of month, home) -> (rows, kWh) of silver.consumption."""
    rows = lakehouse.table(CONSUMPTION_TABLE).groupBy("day", "home_id").agg({"*": "count", "energy_kwh": "sum"})
    return {(r[0], r[1]): (r[2], float(r[3])) for r in rows.collect()}


def test_first_time_days_pass_and_are_written(lakehouse):
    guard = replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0), page("b1", "B", 1, lambda d, h: 1.0)])
    assert guard.lost == [] and guard.kept_days == []
    assert guard.check_result().passed
    assert stored(lakehouse) == {(d.day, home): (24, 24.0) for d in DAYS for home in "AB"}


def test_a_day_that_would_lose_a_home_keeps_its_rows_and_the_check_names_day_and_home(lakehouse):
    replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0), page("b1", "B", 1, lambda d, h: 1.0)])
    # A newer download for both homes; home B's page no longer holds 2 November (e.g. its file was quarantined).
    guard = replace(lakehouse, [page("a2", "A", 2, lambda d, h: 2.0),
                                page("b2", "B", 2, lambda d, h: None if d == DAYS[1] else 2.0)])

    assert guard.lost == ["2022-11-02 B: 24 rows in silver.consumption, none in the new rows"]
    assert guard.kept_days == [DAYS[1]]
    result = guard.check_result()
    assert not result.passed and result.check_name == "no_series_lost"
    assert result.metadata["days_not_replaced"].value == "2022-11-02"
    assert "2022-11-02 B: 24 rows" in result.metadata["lost"].value
    assert stored(lakehouse) == {
        (1, "A"): (24, 48.0), (1, "B"): (24, 48.0),  # replaced with the new download
        (2, "A"): (24, 24.0), (2, "B"): (24, 24.0),  # not replaced: both homes keep the previous rows
        (3, "A"): (24, 48.0), (3, "B"): (24, 48.0),
    }


def test_a_range_written_day_by_day_against_one_read_of_the_stored_series_keeps_the_day_that_would_lose_one(lakehouse):
    replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0), page("b1", "B", 1, lambda d, h: 1.0)])
    bronze = typed_responses(lakehouse.spark.createDataFrame(
        [page("a2", "A", 2, lambda d, h: 2.0), page("b2", "B", 2, lambda d, h: None if d == DAYS[1] else 2.0)],
        FILE_ROW_SCHEMA))
    stored_before = stored_series(lakehouse, CONSUMPTION_SERIES, DAYS[0], DAYS[-1])  # once, as a month loop does
    assert sorted(stored_before) == [(d, home) for d in DAYS for home in "AB"]
    guard = SeriesGuard(CONSUMPTION_SERIES)
    for day in DAYS:  # each write sees only its own day's part of the one read
        guarded_replace(lakehouse, guard, consumption_from_bronze(bronze, day, day), day, day, bronze,
                        lambda r: f"home {r['home_id']}", consumption_quality, stored_before)

    assert guard.lost == ["2022-11-02 B: 24 rows in silver.consumption, none in the new rows"]
    assert guard.kept_days == [DAYS[1]]
    assert stored(lakehouse) == {
        (1, "A"): (24, 48.0), (1, "B"): (24, 48.0),
        (2, "A"): (24, 24.0), (2, "B"): (24, 24.0),
        (3, "A"): (24, 48.0), (3, "B"): (24, 48.0),
    }


def test_a_negative_consumption_value_is_refused_by_file_and_interval_and_nothing_is_written(lakehouse):
    replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0)])
    before = stored(lakehouse)
    corrupted = page("a2", "A", 2, lambda d, h: -0.5 if (d, h) == (DAYS[2], 7) else 2.0)

    with pytest.raises(NegativeEnergyError, match=(
        r"^silver/consumption: negative energy -0\.5 kWh for home A at 2022-11-03 07:00 CET \(2022-11-03T06:00Z\), "
        r"in reservoir file a2 \(from https://tibber\.test/a2\); nothing of 2022-11-01\.\.2022-11-03 was written")):
        replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0), corrupted])
    assert stored(lakehouse) == before  # every day as it was, not only the one with the negative value


def test_the_rows_are_staged_once_and_no_copy_is_left_after_a_write_a_kept_day_or_a_refusal(lakehouse):
    scratch = lakehouse.registry.lakehouse_root / "_scratch"
    left = lambda: sorted(p.name for p in scratch.iterdir()) if scratch.exists() else []  # noqa: E731
    replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0), page("b1", "B", 1, lambda d, h: 1.0)])
    assert left() == []
    guard = replace(lakehouse, [page("a2", "A", 2, lambda d, h: 2.0),
                                page("b2", "B", 2, lambda d, h: None if d == DAYS[1] else 2.0)])
    assert guard.kept_days == [DAYS[1]] and left() == []
    with pytest.raises(NegativeEnergyError, match="^silver/consumption: negative energy -1 kWh for home A"):
        replace(lakehouse, [page("a3", "A", 3, lambda d, h: -1.0)])
    assert left() == []
    assert stored(lakehouse)[(2, "B")] == (24, 24.0)  # the kept day still holds its first rows


def test_write_ranges_leave_out_the_kept_days():
    first, last = date(2024, 3, 1), date(2024, 3, 6)
    assert write_ranges(first, last, set()) == [(first, last)]
    assert write_ranges(first, last, {date(2024, 3, 1), date(2024, 3, 4)}) == [
        (date(2024, 3, 2), date(2024, 3, 3)), (date(2024, 3, 5), date(2024, 3, 6))]
    assert write_ranges(first, first, {first}) == []


def summary_of(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted(r.items())) for r in rows)


def test_the_staged_rows_summary_is_the_summary_of_the_days_as_stored_without_the_kept_days(lakehouse):
    """guarded_replace(summarise=...) returns what reading the written days back gives (the caller need not read
    them), less the days the guard kept: their stored rows are not the staged ones."""
    replace(lakehouse, [page("a1", "A", 1, lambda d, h: 1.0), page("b1", "B", 1, lambda d, h: 1.0)])
    bronze = typed_responses(lakehouse.spark.createDataFrame(
        [page("a2", "A", 2, lambda d, h: None if h == 5 else 2.0),  # 23 hours a day: an incomplete day for the check
         page("b2", "B", 2, lambda d, h: None if d == DAYS[1] else 2.5)], FILE_ROW_SCHEMA))
    guard = SeriesGuard(CONSUMPTION_SERIES)
    returned = guarded_replace(lakehouse, guard, consumption_from_bronze(bronze, DAYS[0], DAYS[-1]), DAYS[0],
                               DAYS[-1], bronze, lambda r: f"home {r['home_id']}", summarise=consumption_quality)

    assert guard.kept_days == [DAYS[1]]
    _, read_back = written_days(lakehouse, CONSUMPTION_TABLE, DAYS[0], DAYS[-1], consumption_quality)
    assert summary_of(returned) == summary_of([r for r in read_back if r["day"] != DAYS[1].day])
    assert {(r["day"], r["home_id"], r["hours"]) for r in returned} == {
        (1, "A", 23), (1, "B", 24), (3, "A", 23), (3, "B", 24)}
    # With a kept day the run's summary is read back; without one it is the returned rows, as stored.
    assert summary_of(run_summary(lakehouse, CONSUMPTION_TABLE, DAYS[0], DAYS[-1], consumption_quality, returned,
                                  guard.kept_days)[1]) == summary_of(read_back)
    assert run_summary(lakehouse, CONSUMPTION_TABLE, DAYS[0], DAYS[-1], consumption_quality, returned, [])[1] is returned
