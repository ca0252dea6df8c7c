"""Pure Tibber transforms on small hand-built bronze frames: sources, DST, live quarter-hours, EV split."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from emission_assets.tibber.bronze import FILE_ROW_SCHEMA, typed_responses
from emission_assets.tibber.silver import consumption_from_bronze, quality_summary, split_ev

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
HOME = "home-1"


def iso(moment: datetime) -> str:
    return moment.astimezone(BERLIN).isoformat(timespec="milliseconds")


def hourly_file(name, fetched_hour, nodes):
    payload = {"data": {"viewer": {"home": {"consumption": {"pageInfo": {}, "nodes": nodes}}}}}
    return (name, "sha", "api", "url", datetime(2023, 1, 2, fetched_hour, tzinfo=UTC),
            datetime(2023, 1, 3, tzinfo=UTC), "run", "hourly", HOME, None, None, json.dumps(payload), date(2022, 10, 1))


def live_file(name, measurements):
    payload = {"home_id": HOME, "measurements": measurements}
    return (name, "sha", "live", None, datetime(2023, 1, 2, tzinfo=UTC), datetime(2023, 1, 3, tzinfo=UTC),
            "run", "live", HOME, None, None, json.dumps(payload), date(2022, 10, 1))


def node(start: datetime, kwh, price=0.3):
    return {"from": iso(start), "to": iso(start + timedelta(hours=1)), "consumption": kwh, "consumptionUnit": "kWh",
            "cost": None if kwh is None else kwh * price, "unitPrice": price, "currency": "EUR"}


def hours_of(day: date) -> list[datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC)
    end = (datetime(day.year, day.month, day.day, tzinfo=BERLIN) + timedelta(days=1)).astimezone(UTC)
    return [start + timedelta(hours=h) for h in range(int((end - start) / timedelta(hours=1)))]


def run(spark, files, first: date, last: date | None = None, ev_kw=11.0):
    df = typed_responses(spark.createDataFrame(files, FILE_ROW_SCHEMA))
    out = consumption_from_bronze(df, first, last or first, ev_kw)
    return out.selectExpr("unix_millis(interval_start) AS start_ms", "unix_millis(interval_end) AS end_ms", "*").orderBy("start_ms").collect()


def test_hourly_latest_wins_nulls_dropped_and_dst_day_has_25_hours(spark):
    day = date(2022, 10, 30)
    hours = hours_of(day)
    assert len(hours) == 25
    old = [node(h, 1.0) for h in hours]
    new = [node(h, 2.0) for h in hours[:20]] + [node(h, None) for h in hours[20:]]
    rows = run(spark, [hourly_file("old", 1, old), hourly_file("new", 2, new)], day)
    assert len(rows) == 25
    assert [float(r.energy_kwh) for r in rows] == [2.0] * 20 + [1.0] * 5
    assert {r.source for r in rows} == {"hourly_api"}
    assert rows[0].start_ms == int(hours[0].timestamp() * 1000)
    assert all((r.year, r.month, r.day) == (2022, 10, 30) for r in rows)
    assert rows[0].unit_price == Decimal("0.300000") and rows[0].currency == "EUR"


def samples(start_local: datetime, minutes: int, kw_at) -> list[dict]:
    """A sample near the end of every minute from local midnight; the counter integrates ``kw_at(minute)``."""
    counter, out = 0.0, []
    for minute in range(minutes):
        counter += kw_at(minute) / 60
        moment = start_local + timedelta(minutes=minute + 1) - timedelta(seconds=2)
        out.append({"timestamp": iso(moment), "power": kw_at(minute) * 1000, "accumulatedConsumption": round(counter, 6),
                    "accumulatedCost": round(counter * 0.3, 6), "currency": "EUR"})
    return out


def test_live_quarter_hours_from_counters_and_the_finer_source_wins_per_hour(spark):
    day = date(2022, 11, 2)
    midnight = datetime(2022, 11, 2, tzinfo=BERLIN)
    # 0.5 kW base; 11 kW EV from 00:30 to 01:00; live covers 00:00-01:50 (the 01:xx hour only partly).
    kw = lambda minute: 0.5 + (11.0 if 30 <= minute < 60 else 0.0)  # noqa: E731
    live = samples(midnight, 110, kw)
    hourly = [node(h, 9.99) for h in hours_of(day)]
    rows = run(spark, [hourly_file("h", 1, hourly), live_file("l", live)], day)

    first_hour = [r for r in rows if r.start_ms < int((midnight + timedelta(hours=1)).timestamp() * 1000)]
    assert [r.source for r in first_hour] == ["live"] * 4
    assert [round(float(r.energy_kwh), 4) for r in first_hour] == [0.125, 0.125, 2.875, 2.875]
    # 01:00-02:00 has only some live quarters (and the last is in progress): the hourly row is used instead.
    second_hour = [r for r in rows if r.start_ms == int((midnight + timedelta(hours=1)).timestamp() * 1000)]
    assert len(second_hour) == 1 and second_hour[0].source == "hourly_api"
    assert len(rows) == 4 + 23


def test_a_live_counter_that_goes_backwards_gives_no_quarter_and_the_hour_falls_back_to_hourly(spark):
    """A counter reset (meter reboot) mid-quarter: that quarter's energy is unknown, never negative."""
    day = date(2022, 11, 2)
    midnight = datetime(2022, 11, 2, tzinfo=BERLIN)
    live = samples(midnight, 110, lambda minute: 2.0)
    for sample in live[20:]:  # the counter restarts at 0 at 00:20
        sample["accumulatedConsumption"] = round(sample["accumulatedConsumption"] - live[19]["accumulatedConsumption"], 6)
    rows = run(spark, [hourly_file("h", 1, [node(h, 1.5) for h in hours_of(day)]), live_file("l", live)], day)

    assert all(r.energy_kwh >= 0 for r in rows)
    first_hour = [r for r in rows if r.start_ms < int((midnight + timedelta(hours=1)).timestamp() * 1000)]
    assert [(r.source, float(r.energy_kwh)) for r in first_hour] == [("hourly_api", 1.5)]
    assert len(rows) == 24  # no hour has all four live quarter-hours now


def test_ev_split_on_quarter_hours_finds_what_hourly_data_hides(spark):
    """A 30-minute 11 kW session over 0.5 kW base: invisible in the hourly average, found in quarter-hours."""
    day = date(2022, 11, 2)
    midnight = datetime(2022, 11, 2, tzinfo=BERLIN)
    kw = lambda minute: 0.5 + (11.0 if 30 <= minute < 60 else 0.0)  # noqa: E731
    hourly_only = run(spark, [hourly_file("h", 1, [node(midnight, 6.0)])], day)
    assert float(hourly_only[0].avg_power_kw) == 6.0 and hourly_only[0].ev_kwh == 0  # EV hidden in the average
    live = run(spark, [live_file("l", samples(midnight, 61, kw))], day)
    assert sum(r.ev_kwh for r in live) == Decimal("5.500000")  # truth: 11 kW x 0.5 h
    assert sum(r.household_kwh for r in live) == Decimal("0.500000")  # truth: 0.5 kW x 1 h
    for r in live:
        assert r.ev_kwh + r.household_kwh == r.energy_kwh


def test_split_ev_rule(spark):
    start = datetime(2022, 1, 1, tzinfo=UTC)
    rows = [(start, start + timedelta(minutes=15), kwh) for kwh in (2.75, 2.751, 3.25, 5.75, 0.0)]
    rows.append((start, start + timedelta(hours=1), 23.0))
    df = spark.createDataFrame(rows, "interval_start timestamp, interval_end timestamp, energy_kwh double")
    got = [(float(r.avg_power_kw), r.ev_kwh, r.household_kwh) for r in split_ev(df, 11.0).collect()]
    assert got == [
        (11.0, Decimal("0E-6"), Decimal("2.750000")),  # exactly 11 kW is not above the charger power
        (11.004, Decimal("2.750000"), Decimal("0.001000")),
        (13.0, Decimal("2.750000"), Decimal("0.500000")),  # 13 kW = 11 EV + 2 household (= 13 mod 11)
        (23.0, Decimal("2.750000"), Decimal("3.000000")),  # one charger: EV stays at 11 kW
        (0.0, Decimal("0E-6"), Decimal("0E-6")),
        (23.0, Decimal("11.000000"), Decimal("12.000000")),
    ]


def test_quality_summary_counts_hours_and_split(spark):
    day = date(2022, 3, 27)  # 23 hours
    rows = run(spark, [hourly_file("h", 1, [node(h, 1.0) for h in hours_of(day)])], day)
    df = spark.createDataFrame(rows).drop("start_ms", "end_ms")
    summary = quality_summary(df).collect()[0]
    assert (summary.hours, summary.intervals, summary.duplicates, summary.negatives, summary.split_mismatches) == (23.0, 23, 0, 0, 0)


def test_unparsed_payloads_names_each_file_of_an_unknown_shape_and_why(spark):
    from emission_assets.tibber.silver import unparsed_payloads

    day = date(2022, 10, 1)
    good_hourly = hourly_file("good_hourly.json", 1, [node(hours_of(day)[0], 0.5)])
    good_live = live_file("good_live.json", [])
    renamed = hourly_file("renamed.json", 1, [])[:11] + (json.dumps({"data": {"viewer": {"home": {"usage": []}}}}),
                                                          day)
    not_json = hourly_file("not_json.json", 1, [])[:11] + ("<html>busy</html>", day)
    no_measurements = live_file("no_measurements.json", [])[:11] + (json.dumps({"home_id": HOME}), day)
    odd_kind = good_live[:7] + ("daily",) + good_live[8:13]
    odd_kind = ("odd_kind.json",) + odd_kind[1:]
    bronze = typed_responses(spark.createDataFrame(
        [good_hourly, good_live, renamed, not_json, no_measurements, odd_kind], FILE_ROW_SCHEMA))

    found = {r.file_name: r.reason for r in unparsed_payloads(bronze).collect()}
    assert set(found) == {"renamed.json", "not_json.json", "no_measurements.json", "odd_kind.json"}
    assert "consumption.nodes" in found["renamed.json"] and "consumption.nodes" in found["not_json.json"]
    assert "measurements" in found["no_measurements.json"]
    assert found["odd_kind.json"] == "unknown kind daily"
    # and the good rows still land: the unknown shapes only lose their own (absent) rows
    assert len(run(spark, [good_hourly, renamed, not_json], day)) == 1
