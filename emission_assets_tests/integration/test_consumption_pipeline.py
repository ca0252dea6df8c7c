"""Tibber consumption through reservoir, bronze and silver in real Dagster runs: the sample API and a live session."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from emission_assets.cli import run_materialize
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths
from emission_assets.tibber.live import LiveRecorder
from emission_assets.tibber.sample import SAMPLE_API_URL, SAMPLE_HOME_ID, load_quarter_hours
from emission_assets.tibber.silver import split_ev
from emission_assets.timeutil import BERLIN, UTC
from emission_assets_tests.support.fake_tibber_ws import TOKEN, FakeTibber

TIBBER = ["tag:source=tibber"]


@pytest.fixture
def sample_api(monkeypatch):
    monkeypatch.setenv("TIBBER_API_URL", SAMPLE_API_URL)


def sql(query: str) -> list:
    return open_lakehouse().spark.sql(query).collect()


def test_sample_days_over_both_dst_switches(spark, sample_api):
    first, last = date(2022, 3, 26), date(2022, 3, 28)
    result = run_materialize(first, last, TIBBER, {})
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "no_duplicate_intervals": True, "complete_days": True, "non_negative_energy": True,
        "ev_plus_household_is_total": True, "no_series_lost": True,
    }
    per_day = {(r.day): r.n for r in sql("SELECT day, count(*) AS n FROM silver.consumption GROUP BY day")}
    assert per_day == {26: 24, 27: 23, 28: 24}
    assert run_materialize(date(2022, 10, 30), date(2022, 10, 30), TIBBER, {}).success
    assert sql("SELECT count(*) FROM silver.consumption WHERE month = 10 AND day = 30")[0][0] == 25
    # Sample truth for the same days, summed in Python: silver matches it to the Wh the API rounds to.
    truth = load_quarter_hours()
    start = int(datetime(2022, 3, 26, tzinfo=BERLIN).timestamp() * 1000)
    end = int(datetime(2022, 3, 29, tzinfo=BERLIN).timestamp() * 1000)
    window = truth[(truth.interval_start_ms >= start) & (truth.interval_start_ms < end)]
    expected = float(((window.household_kw + window.ev_kw) * 0.25).sum())
    got = float(sql("SELECT sum(energy_kwh) FROM silver.consumption WHERE month = 3")[0][0])
    assert abs(got - expected) < 0.001 * 71  # each hourly node is rounded to 1 Wh


def test_rerun_adds_no_rows_and_no_requests(spark, sample_api):
    day = date(2022, 7, 14)
    assert run_materialize(day, day, TIBBER, {}).success
    files = sorted(p.name for p in paths().reservoir.rglob("*.meta.json"))
    assert run_materialize(day, day, TIBBER, {}).success
    assert sorted(p.name for p in paths().reservoir.rglob("*.meta.json")) == files  # settled day: no new fetch
    assert sql("SELECT count(*), count(DISTINCT interval_start) FROM silver.consumption")[0][:] == (24, 24)
    totals = sql("SELECT sum(energy_kwh) AS e, sum(ev_kwh) AS ev, sum(household_kwh) AS hh FROM silver.consumption")[0]
    assert totals.ev + totals.hh == totals.e


def test_live_session_against_a_fake_websocket_lands_quarter_hours_in_silver(spark, sample_api):
    """Pulse samples every 10 s from local midnight to 02:20 on 2022-06-01; then the day is materialised."""
    midnight = datetime(2022, 6, 1, tzinfo=BERLIN)
    counter, measurements = 0.0, []
    for i in range(1, 2 * 360 + 121):  # 02:20 local
        kw = 0.6 + (11.0 if 360 + 90 <= i < 360 + 270 else 0.0)  # EV 01:15-01:45 (samples every 10 s)
        counter += kw * 10 / 3600
        moment = midnight + timedelta(seconds=10 * i - 1)
        measurements.append({"timestamp": moment.isoformat(timespec="milliseconds"), "power": kw * 1000,
                             "accumulatedConsumption": round(counter, 6), "accumulatedCost": round(counter * 0.3, 6),
                             "currency": "EUR"})
    done = threading.Event()

    def script(conn):
        conn.handshake()
        for item in measurements:
            conn.send_next(item)
        done.set()
        conn.hold()

    fake = FakeTibber(script, token=TOKEN)
    try:
        recorder = LiveRecorder(fake.url, TOKEN, SAMPLE_HOME_ID, Reservoir(paths().reservoir), flush_seconds=0.2)
        stop = threading.Event()
        worker = threading.Thread(target=lambda: recorder.run(stop=stop))
        worker.start()
        assert done.wait(20)
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while recorder.stats.measurements_received < len(measurements) and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        stop.set()
        worker.join(20)
    finally:
        fake.close()
    assert recorder.stats.measurements_received == len(measurements)

    result = run_materialize(date(2022, 6, 1), date(2022, 6, 1), TIBBER, {})
    assert result.success
    rows = sql(
        "SELECT source, count(*) AS n, sum(energy_kwh) AS e, sum(ev_kwh) AS ev FROM silver.consumption "
        "GROUP BY source ORDER BY source"
    )
    by_source = {r.source: r for r in rows}
    assert by_source["live"].n == 8  # 00:00-02:00 fully covered; 02:00-02:20 partly -> hourly API row
    assert by_source["hourly_api"].n == 22
    assert by_source["live"].ev == Decimal("5.500000")  # the two quarter-hours at 11.6 kW
    assert abs(float(by_source["live"].e) - (0.6 * 2 + 11.0 * 0.5)) < 1e-5
    bronze = sql("SELECT kind, count(*) AS n FROM bronze.tibber_responses GROUP BY kind")
    assert {r.kind for r in bronze} == {"hourly", "live"}


def test_quarter_hour_split_is_closer_to_the_truth_than_hourly(spark):
    """On the sample year: the seed rule on quarter-hours recovers all the EV energy that hourly averages hide.

    The figures are exact (decimal sums): 2,381.5 kWh of EV energy, all found in quarter-hours, 1,364.0 in hours.
    """
    truth = load_quarter_hours()
    truth_ev = sum(Decimal(str(kw)) * Decimal("0.25") for kw in truth.ev_kw)
    rows = [
        (datetime.fromtimestamp(ms / 1000, UTC), datetime.fromtimestamp(ms / 1000 + 900, UTC), (h + e) * 0.25)
        for ms, h, e in zip(truth.interval_start_ms, truth.household_kw, truth.ev_kw)
    ]
    quarters = spark.createDataFrame(rows, "interval_start timestamp, interval_end timestamp, energy_kwh double")
    hours = quarters.selectExpr("date_trunc('hour', interval_start) AS interval_start", "energy_kwh").groupBy(
        "interval_start").agg({"energy_kwh": "sum"}).withColumnRenamed("sum(energy_kwh)", "energy_kwh").selectExpr(
        "interval_start", "interval_start + INTERVAL 1 HOUR AS interval_end", "energy_kwh")
    ev_quarter = split_ev(quarters).agg({"ev_kwh": "sum"}).collect()[0][0]
    ev_hourly = split_ev(hours).agg({"ev_kwh": "sum"}).collect()[0][0]
    assert isinstance(ev_quarter, Decimal) and isinstance(ev_hourly, Decimal)  # exact sums, no float rounding
    assert truth_ev == Decimal("2381.5")
    assert ev_quarter == Decimal("2381.5")  # every EV quarter-hour is above 11 kW: the rule finds all of it
    assert ev_hourly == Decimal("1364.0")  # short and unaligned sessions vanish in hourly averages
