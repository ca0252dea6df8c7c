"""gold.ev_sessions on hand-computed sessions: contiguity over midnight and DST switches, the attribution of
gold.consumption_emissions, the grid-average reference, missing production hours, and the month boundary."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emission_assets.gold.ev_sessions import ev_session_rows_sql, write_ev_sessions
from emission_assets_tests.support.ev_rows import (
    consumption_row,
    ev_hours,
    hourly_intensity,
    intensity_row,
    local,
    write_consumption,
    write_intensity,
)


def sessions(spark, registry, months, basis="direct"):
    rows = spark.sql(ev_session_rows_sql(registry, months)).collect()
    return {(r.session_start, r.model): r for r in rows if r.basis == basis}


def naive(moment: datetime) -> datetime:
    """The engine returns UTC instants as naive datetimes."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_a_session_over_midnight_and_the_autumn_dst_switch_stays_one_session(spark, registry, writer):
    # 2022-10-30: 02:00 CEST becomes 02:00 CET. Session A charges 23:00 CEST .. 03:00 CET: 4 wall-clock hours, 5 real.
    evening = datetime(2022, 10, 29, 16, tzinfo=UTC)  # 18:00 CEST
    rows = ev_hours(evening, 2)  # session B: 18:00-20:00 CEST
    rows += [consumption_row(evening + timedelta(hours=h), 60, 0.0, 0.5) for h in (2, 3, 4)]  # household only
    rows += ev_hours(evening + timedelta(hours=5), 5)  # session A
    rows += [consumption_row(evening + timedelta(hours=10), 60, 0.0, 0.5)]
    write_consumption(spark, writer, rows)
    write_intensity(spark, writer, hourly_intensity(
        evening, 12, lambda h, m: 100.0 + 10 * h if m == "average" else 600.0, models=("average", "merit_order")))

    found = sessions(spark, registry, [(2022, 10)])
    assert {start for start, _ in found} == {naive(evening), naive(evening + timedelta(hours=5))}
    a = found[(naive(evening + timedelta(hours=5)), "average")]
    assert a.session_start == naive(local(2022, 10, 29, 23)) and a.session_end == naive(local(2022, 10, 30, 3))
    assert a.interval_count == 5 and a.energy_kwh == pytest.approx(55.0) and a.avg_power_kw == pytest.approx(11.0)
    # hours 5..9 from 16:00Z: 150, 160, 170, 180, 190 g/kWh, 11 kWh each
    assert a.emissions_kg == pytest.approx(11 * (150 + 160 + 170 + 180 + 190) / 1000)
    assert a.g_per_kwh == pytest.approx(170.0) and a.grid_average_g_per_kwh == pytest.approx(170.0)
    assert a.status == "complete" and a.intervals_without_intensity == 0 and a.attributed_kwh == pytest.approx(55.0)
    assert a.session_id == "home@2022-10-29T21:00:00Z" and (a.year, a.month) == (2022, 10)
    merit = found[(naive(evening + timedelta(hours=5)), "merit_order")]
    assert merit.emissions_kg == pytest.approx(55 * 600 / 1000)
    assert merit.grid_average_g_per_kwh == pytest.approx(170.0)  # the reference is the average model's, per basis
    b = found[(naive(evening), "average")]
    assert b.interval_count == 2 and b.emissions_kg == pytest.approx(11 * (100 + 110) / 1000)


def test_a_session_over_the_spring_dst_switch_stays_one_session(spark, registry, writer):
    # 2022-03-27: 02:00 CET becomes 03:00 CEST. 01:00 CET .. 05:00 CEST is 3 real hours.
    start = local(2022, 3, 27, 1)
    write_consumption(spark, writer, ev_hours(start, 3))
    write_intensity(spark, writer, hourly_intensity(start, 3, lambda h, m: 200.0))
    (row,) = sessions(spark, registry, [(2022, 3)]).values()
    assert row.session_end == naive(local(2022, 3, 27, 5)) and row.interval_count == 3
    assert row.energy_kwh == pytest.approx(33.0) and row.emissions_kg == pytest.approx(6.6)


def test_the_reference_is_the_time_mean_of_the_grid_average_not_the_energy_weighted_one(spark, registry, writer):
    """Quarter-hours at 11 kW in a 100 g hour, then at 4 kW in a 300 g hour."""
    start = datetime(2022, 3, 10, 18, tzinfo=UTC)
    rows = [consumption_row(start + timedelta(minutes=15 * q), 15, 2.75 if q < 4 else 1.0) for q in range(8)]
    write_consumption(spark, writer, rows)
    write_intensity(spark, writer, hourly_intensity(start, 2, lambda h, m: (100.0, 300.0)[h] if m == "average"
                                                    else 400.0, models=("average", "merit_order")))
    found = sessions(spark, registry, [(2022, 3)])
    average, merit = found[(naive(start), "average")], found[(naive(start), "merit_order")]
    assert average.interval_count == 8 and average.energy_kwh == pytest.approx(15.0)
    assert average.avg_power_kw == pytest.approx(7.5)
    assert average.g_per_kwh == pytest.approx((11 * 100 + 4 * 300) / 15)  # what the car drew: energy-weighted
    assert average.grid_average_g_per_kwh == pytest.approx(200.0)  # what the grid was: the mean of the two hours
    assert merit.g_per_kwh == pytest.approx(400.0) and merit.grid_average_g_per_kwh == pytest.approx(200.0)


def test_the_attribution_is_that_of_gold_consumption_emissions(spark, registry, writer):
    """Hourly consumption over quarter-hour intensity: the production-weighted mean, as the view computes it."""
    start = datetime(2022, 5, 4, 17, tzinfo=UTC)
    write_consumption(spark, writer, ev_hours(start, 2) + [consumption_row(start + timedelta(hours=2), 60, 0.0)])
    quarters = [intensity_row(start + timedelta(minutes=15 * q), 15, "average", g, production_mwh=mwh)
                for q, (g, mwh) in enumerate([(100, 10), (200, 10), (300, 20), (400, 0), (50, 5), (60, 5), (70, 5),
                                              (80, 5), (10, 1), (10, 1), (10, 1), (10, 1)])]
    write_intensity(spark, writer, quarters)
    (row,) = sessions(spark, registry, [(2022, 5)]).values()
    view = spark.sql("SELECT sum(ev_emissions_g) / 1000 AS kg FROM gold.consumption_emissions "
                     "WHERE model = 'average' AND ev_kwh > 0").collect()[0]
    assert row.emissions_kg == pytest.approx(view.kg)
    assert row.emissions_kg == pytest.approx(11 * (225 + 65) / 1000)  # (100*10+200*10+300*20)/40, mean of 50..80


def test_missing_production_hours_are_named_and_left_out_never_zero(spark, registry, writer):
    start = datetime(2022, 3, 10, 20, tzinfo=UTC)
    write_consumption(spark, writer, ev_hours(start, 3))
    write_intensity(spark, writer, hourly_intensity(start, 3, lambda h, m: None if h == 1 else 100.0 * (h + 1)))
    (row,) = sessions(spark, registry, [(2022, 3)]).values()
    assert row.energy_kwh == pytest.approx(33.0) and row.attributed_kwh == pytest.approx(22.0)
    assert row.intervals_without_intensity == 1 and row.first_interval_without_intensity == naive(start + timedelta(hours=1))
    assert row.emissions_kg == pytest.approx(11 * (100 + 300) / 1000) and row.g_per_kwh == pytest.approx(200.0)
    assert row.status == "partial: 1 of 3 intervals without intensity (first 2022-03-10 21:00Z), 11.000 kWh left out"


def test_a_session_over_a_month_boundary_belongs_to_its_start_month_whole(spark, registry, writer):
    over = local(2022, 1, 31, 22)  # to 2022-02-01 02:00 local
    february = local(2022, 2, 1, 5)
    write_consumption(spark, writer, ev_hours(over, 4) + ev_hours(february, 1))
    write_intensity(spark, writer, hourly_intensity(over, 10, lambda h, m: 100.0 + h))

    only_february = write_ev_sessions(spark, registry, [(2022, 2)])
    assert [r.session_start for r in only_february] == [naive(february)]  # the one started in January is not its
    only_january = write_ev_sessions(spark, registry, [(2022, 1)])
    assert [(r.session_start, r.interval_count, r.session_end) for r in only_january] == [
        (naive(over), 4, naive(local(2022, 2, 1, 2)))]
    assert only_january[0].emissions_kg == pytest.approx(11 * (100 + 101 + 102 + 103) / 1000)

    table = "SELECT session_id, year, month, energy_kwh, emissions_kg FROM gold.ev_sessions ORDER BY session_id"
    month_by_month = spark.sql(table).collect()
    assert [(r.year, r.month) for r in month_by_month] == [(2022, 1), (2022, 2)]
    write_ev_sessions(spark, registry, [(2022, 1), (2022, 2)], months_per_query=6)  # one query over both
    assert spark.sql(table).collect() == month_by_month


def test_a_model_without_any_intensity_has_no_rows_and_other_homes_are_separate(spark, registry, writer):
    start = datetime(2022, 6, 1, 18, tzinfo=UTC)
    write_consumption(spark, writer, ev_hours(start, 2) + ev_hours(start + timedelta(hours=1), 1, home="other"))
    write_intensity(spark, writer, hourly_intensity(start, 3, lambda h, m: 100.0))
    rows = spark.sql(ev_session_rows_sql(registry, [(2022, 6)])).collect()
    assert {(r.home_id, r.model, r.interval_count) for r in rows} == {("home", "average", 2), ("other", "average", 1)}


def test_a_session_still_charging_past_the_days_read_is_cut_and_says_so(spark, registry, writer):
    start = local(2022, 1, 31, 20)  # charging without a break to 2022-02-04 02:00 local: past the 3 days read
    write_consumption(spark, writer, ev_hours(start, 4 * 24 - 18))
    write_intensity(spark, writer, hourly_intensity(start, 4 * 24, lambda h, m: 100.0))
    (row,) = sessions(spark, registry, [(2022, 1)]).values()
    assert row.session_end == naive(local(2022, 2, 4)) and row.interval_count == 3 * 24 + 4
    assert row.status == "cut: still charging at 2022-02-03 23:00Z, the end of the days read (3 after its month)"
