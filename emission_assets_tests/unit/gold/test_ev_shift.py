"""gold.ev_shift_savings: hand-computed windows (over midnight, DST nights, a partial last slot, a session that starts
mid-hour), the partial results (window too short, no following morning, missing production hours), the ready-by
config, and invariants over generated sessions: never before the start, never beyond the window, never above the
charger power, every kWh accounted for, no cleaner slot left unused."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from emission_assets.errors import UserInputError
from emission_assets.gold.ev_savings import ev_savings_sql
from emission_assets.gold.ev_sessions import write_ev_sessions
from emission_assets.gold.ev_shift import ev_shift_rows_sql, shift_slots_sql, write_ev_shift_savings
from emission_assets_tests.support.ev_rows import (
    BERLIN,
    consumption_row,
    ev_hours,
    intensity_row,
    local,
    write_consumption,
    write_intensity,
)

JUNE = [(2022, 6)]


def naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def by_local_hour(first: datetime, hours: int, table: dict[str, dict[int, float | None]]) -> list[tuple]:
    """Hourly intensity rows from ``first`` (UTC instant) for ``hours``: model -> {local wall-clock hour: g}; an
    hour a model's dict lacks gets ``default`` (key -1), None is a missing production hour."""
    rows = []
    for h in range(hours):
        start = first + timedelta(hours=h)
        for model, grams in table.items():
            g = grams.get(start.astimezone(BERLIN).hour, grams.get(-1))
            if g is not None:
                rows.append(intensity_row(start, 60, model, g))
    return rows


def shift(spark, registry, writer, consumption, intensity, months=JUNE, ready_by="07:00"):
    write_consumption(spark, writer, consumption)
    write_intensity(spark, writer, intensity)
    write_ev_sessions(spark, registry, months)
    return {(r.session_start, r.model): r for r in spark.sql(ev_shift_rows_sql(registry, months, ready_by)).collect()}


# Local hour -> g/kWh of the night 2022-06-14 22:00 .. 2022-06-15 07:00 (see the first test).
NIGHT = {
    "average": {22: 300, 23: 250, 0: 200, 1: 150, 2: 120, 3: 100, 4: 110, 5: 180, 6: 260, -1: 500},
    "merit_order": {22: 700, 23: 650, 0: 400, 1: 410, 2: 600, -1: 700},
    "worst_emitter": {0: 150, 3: 100, -1: 900},
}
EVENING = local(2022, 6, 14, 22)


def night_rows(table=NIGHT):
    return by_local_hour(local(2022, 6, 14, 12), 24, table)


def test_a_session_over_midnight_moves_to_each_models_cleanest_hours(spark, registry, writer):
    found = shift(spark, registry, writer, ev_hours(EVENING, 2), night_rows())
    average, merit, worst = (found[(naive(EVENING), m)] for m in ("average", "merit_order", "worst_emitter"))
    assert average.window_start == naive(EVENING) and average.window_end == naive(local(2022, 6, 15, 7))
    assert average.ready_by == average.window_end and average.window_hours == 9 and average.ready_by_local == "07:00"
    # average: charged 22:00 + 23:00 (300 + 250 g), cleanest 03:00 + 04:00 (100 + 110 g), 11 kWh each
    assert average.actual_kg == pytest.approx(11 * 550 / 1000) and average.shifted_kg == pytest.approx(11 * 210 / 1000)
    assert average.saved_kg == pytest.approx(11 * 340 / 1000) and average.shifted_g_per_kwh == pytest.approx(105.0)
    assert (average.shifted_start, average.shifted_end) == (naive(local(2022, 6, 15, 3)), naive(local(2022, 6, 15, 5)))
    assert average.cleanest_slot_start == naive(local(2022, 6, 15, 3)) and average.cleanest_slot_g_per_kwh == 100
    # merit order: charged 700 + 650 g, its cleanest hours are 00:00 and 01:00 (400 + 410 g)
    assert merit.actual_kg == pytest.approx(11 * 1350 / 1000) and merit.shifted_kg == pytest.approx(11 * 810 / 1000)
    assert merit.cleanest_slot_start == naive(local(2022, 6, 15, 0))
    # where the models disagree: merit order shares no slot with the average model, worst emitter one of two
    assert (average.same_slots_as_average_share, merit.same_slots_as_average_share) == (1.0, 0.0)
    assert worst.same_slots_as_average_share == pytest.approx(0.5)
    assert worst.shifted_kg == pytest.approx(11 * 250 / 1000)
    assert {r.status for r in found.values()} == {"complete"}
    assert average.note == "every kWh shifted within the window" and average.unfit_kwh == 0


def test_the_last_slot_is_filled_partially_at_below_charger_power(spark, registry, writer):
    start = local(2022, 6, 14, 19)
    quarters = [consumption_row(start + timedelta(minutes=15 * q), 15, 2.75) for q in range(6)]  # 16.5 kWh
    found = shift(spark, registry, writer, quarters,
                  by_local_hour(local(2022, 6, 14, 12), 24, {"average": {2: 50, 4: 60, -1: 300}}))
    row = found[(naive(start), "average")]
    assert row.energy_kwh == pytest.approx(16.5) and row.shifted_kg == pytest.approx((11 * 50 + 5.5 * 60) / 1000)
    slots = [s for s in spark.sql(shift_slots_sql(registry, JUNE)).collect() if s.allocated_kwh > 0]
    assert sorted((s.slot_start, s.allocated_kwh, s.power_kw) for s in slots) == [
        (naive(local(2022, 6, 15, 2)), 11.0, 11.0), (naive(local(2022, 6, 15, 4)), 5.5, 5.5)]


def test_a_session_that_starts_mid_hour_never_charges_before_its_start(spark, registry, writer):
    start = local(2022, 6, 14, 19, 15)  # the 19:00 hour is the cleanest, but only 45 minutes of it are plugged in
    quarters = [consumption_row(start + timedelta(minutes=15 * q), 15, 2.75) for q in range(4)]
    found = shift(spark, registry, writer, quarters,
                  by_local_hour(local(2022, 6, 14, 12), 24, {"average": {19: 10, 20: 500, -1: 300}}))
    row = found[(naive(start), "average")]
    slots = sorted((s.slot_start, s.slot_end, s.allocated_kwh) for s in spark.sql(shift_slots_sql(registry, JUNE))
                   .collect() if s.allocated_kwh > 0)
    assert slots == [(naive(start), naive(local(2022, 6, 14, 20)), 8.25),
                     (naive(local(2022, 6, 14, 21)), naive(local(2022, 6, 14, 22)), 2.75)]  # earliest 300 g hour
    assert row.shifted_kg == pytest.approx((8.25 * 10 + 2.75 * 300) / 1000)
    assert row.window_hours == pytest.approx(11.75)


@pytest.mark.parametrize(("start", "months", "hours", "cleanest"), [
    # autumn: 22:00 CEST .. 07:00 CET is 10 real hours; the cleanest is the second 02:00 (CET, 01:00Z)
    (local(2022, 10, 29, 22), [(2022, 10)], 10, datetime(2022, 10, 30, 1)),
    # spring: 22:00 CET .. 07:00 CEST is 8 real hours; the cleanest is 03:00 CEST (01:00Z), right after the gap
    (local(2022, 3, 26, 22), [(2022, 3)], 8, datetime(2022, 3, 27, 1)),
])
def test_a_dst_night_window_has_the_real_hours_of_the_clock(spark, registry, writer, start, months, hours, cleanest):
    intensity = [intensity_row(start + timedelta(hours=h), 60, "average",
                               50.0 if start + timedelta(hours=h) == cleanest.replace(tzinfo=UTC) else 300.0 + h)
                 for h in range(-2, 14)]
    found = shift(spark, registry, writer, ev_hours(start, 1), intensity, months)
    row = found[(naive(start), "average")]
    assert row.window_hours == hours and row.window_end == naive(start + timedelta(hours=hours))
    assert row.window_end.replace(tzinfo=UTC).astimezone(BERLIN).hour == 7
    assert row.cleanest_slot_start == cleanest and row.shifted_kg == pytest.approx(11 * 50 / 1000)
    assert row.saved_kg == pytest.approx(11 * (300 - 50) / 1000) and row.status == "complete"


def test_a_window_shorter_than_the_session_shifts_what_fits_and_keeps_the_rest(spark, registry, writer):
    start = local(2022, 6, 15, 4)  # 04:00..08:00: 44 kWh, the window to 07:00 holds 33 kWh at 11 kW
    found = shift(spark, registry, writer, ev_hours(start, 4),
                  by_local_hour(local(2022, 6, 14, 12), 24, {"average": {4: 200, 5: 100, 6: 300, 7: 400}}))
    row = found[(naive(start), "average")]
    assert row.actual_kg == pytest.approx(11.0) and row.actual_g_per_kwh == pytest.approx(250.0)
    assert row.unfit_kwh == pytest.approx(11.0) and row.window_hours == 3
    assert row.shifted_kg == pytest.approx(11 * 600 / 1000 + 11 * 250 / 1000)  # the rest at the session's own g/kWh
    assert row.saved_kg == pytest.approx(1.65)
    assert row.status == "window_too_short"
    assert row.note == "11.000 kWh did not fit the window at 11.0 kW and stay as charged (250.0 g/kWh)"


def test_a_session_without_a_following_morning_is_cut_at_the_last_intensity(spark, registry, writer):
    start = local(2022, 12, 31, 20)
    found = shift(spark, registry, writer, ev_hours(start, 2),
                  by_local_hour(local(2022, 12, 31, 12), 12, {"average": {22: 100, 23: 200, -1: 300}}),
                  months=[(2022, 12)])
    row = found[(naive(start), "average")]
    assert row.ready_by == naive(local(2023, 1, 1, 7)) and row.window_end == naive(local(2023, 1, 1, 0))
    assert row.window_hours == 4 and row.shifted_kg == pytest.approx(11 * 300 / 1000)
    assert row.status == "no_following_morning" and row.unfit_kwh == 0
    assert row.note == ("no intensity after 2022-12-31 23:00Z: window cut 7.00 h before the ready-by time "
                        "2023-01-01 06:00Z")


def test_missing_production_hours_are_not_used_and_named(spark, registry, writer):
    table = {**NIGHT, "average": {**NIGHT["average"], 3: None}}  # the average model's cleanest hour is missing
    found = shift(spark, registry, writer, ev_hours(EVENING, 2), night_rows(table))
    average, merit = found[(naive(EVENING), "average")], found[(naive(EVENING), "merit_order")]
    assert average.shifted_kg == pytest.approx(11 * (110 + 120) / 1000)  # 04:00 and 02:00 instead
    assert average.window_hours_without_intensity == pytest.approx(1.0)
    assert average.status == "window_hours_without_intensity"
    assert average.note == "1.00 window hours without intensity not used"
    assert merit.status == "complete"  # per model: the merit order has that hour


def test_a_session_hour_without_intensity_is_left_out_of_both_sides(spark, registry, writer):
    table = {"average": {**NIGHT["average"], 23: None}}
    found = shift(spark, registry, writer, ev_hours(EVENING, 2), night_rows(table))
    row = found[(naive(EVENING), "average")]
    assert row.energy_kwh == pytest.approx(11.0) and row.actual_kg == pytest.approx(3.3)
    assert row.shifted_kg == pytest.approx(1.1)  # 11 kWh moved to 03:00
    assert set(row.status.split(",")) == {"session_intervals_without_intensity", "window_hours_without_intensity"}
    assert "session partial: 1 of 2 intervals without intensity (first 2022-06-14 21:00Z)" in row.note


def test_the_ready_by_time_is_configurable_and_checked(spark, registry, writer):
    found = shift(spark, registry, writer, ev_hours(EVENING, 2), night_rows(), ready_by="03:30")
    row = found[(naive(EVENING), "average")]
    assert row.window_end == naive(local(2022, 6, 15, 3, 30)) and row.ready_by_local == "03:30"
    # 03:00-03:30 holds 5.5 kWh at 100 g, then 02:00 (120 g) 11 kWh, then 01:00 (150 g) the last 5.5 kWh
    assert row.shifted_kg == pytest.approx((5.5 * 100 + 11 * 120 + 5.5 * 150) / 1000)
    with pytest.raises(UserInputError, match=r"ready_by='7am' is not a local time HH:MM"):
        write_ev_shift_savings(spark, registry, JUNE, "7am")


def test_the_table_and_the_monthly_view(spark, registry, writer):
    write_consumption(spark, writer, ev_hours(EVENING, 2) + ev_hours(local(2022, 6, 20, 18), 1))
    write_intensity(spark, writer, by_local_hour(local(2022, 6, 14, 0), 8 * 24, NIGHT))
    write_ev_sessions(spark, registry, JUNE)
    written = write_ev_shift_savings(spark, registry, JUNE)
    assert len(written) == 2 * 3  # sessions x models
    monthly = {r.model: r for r in spark.sql(ev_savings_sql(registry, "month")).collect()}
    assert monthly["average"].sessions == 2 and monthly["average"].energy_kwh == pytest.approx(33.0)
    assert monthly["average"].saved_kg == pytest.approx(sum(r.saved_kg for r in written if r.model == "average"))
    assert monthly["average"].partial_sessions == 0
    yearly = spark.sql(ev_savings_sql(registry, "year")).collect()
    assert {r.model: r.saved_kg for r in yearly} == pytest.approx({m: r.saved_kg for m, r in monthly.items()})


# --- invariants over generated sessions ----------------------------------------------------------------------------

def generated_home(seed: int):
    """A session every other day of June 2022 (quarter-hours at 11 kW from any quarter of the day, 45 min to 7 h,
    so some run past 07:00), random hourly intensities of three models over June and the first days of July, about
    3 % of the hours missing."""
    rng = random.Random(seed)
    consumption = []
    for day in range(1, 31, 2):
        start = local(2022, 6, day, rng.randrange(24), rng.choice((0, 15, 30, 45)))
        quarters = rng.randrange(3, 4 * 7)
        consumption += [consumption_row(start + timedelta(minutes=15 * q), 15, 2.75) for q in range(quarters)]
    intensity = []
    first = local(2022, 6, 1)
    for h in range(33 * 24):
        for model in ("average", "merit_order", "worst_emitter"):
            if rng.random() > 0.03:
                intensity.append(intensity_row(first + timedelta(hours=h), 60, model, rng.choice(range(50, 900, 25))))
    return consumption, intensity


@pytest.mark.parametrize("seed", [1, 2])
def test_never_before_the_start_never_beyond_the_window_never_above_the_charger_power(spark, registry, writer, seed):
    consumption, intensity = generated_home(seed)
    rows = shift(spark, registry, writer, consumption, intensity)
    slots = spark.sql(shift_slots_sql(registry, JUNE)).collect()
    assert len({start for start, _ in rows}) == 15 and len(rows) == 45
    by_session: dict = {}
    for s in slots:
        by_session.setdefault((s.session_start, s.model), []).append(s)
    for key, row in rows.items():
        chosen = by_session.get(key, [])
        assert row.window_start == row.session_start < row.window_end <= row.ready_by
        assert timedelta(0) < row.ready_by - row.session_start <= timedelta(hours=25)
        assert row.ready_by.replace(tzinfo=UTC).astimezone(BERLIN).strftime("%H:%M") == "07:00"
        for s in chosen:
            assert s.slot_start >= row.session_start and s.slot_end <= row.window_end  # never outside the window
            assert 0 <= s.allocated_kwh <= s.capacity_kwh + 1e-9
            assert s.power_kw <= row.charger_kw + 1e-9  # never above the charger power
        ordered = sorted(chosen, key=lambda s: s.slot_start)
        assert all(a.slot_end <= b.slot_start for a, b in zip(ordered, ordered[1:]))  # slots never overlap
        assert sum(s.allocated_kwh for s in chosen) + row.unfit_kwh == pytest.approx(row.energy_kwh)
        # greedy: no slot with room left is cleaner than a slot that was used
        used = [s.g_per_kwh for s in chosen if s.allocated_kwh > 1e-9]
        room = [s.g_per_kwh for s in chosen if s.allocated_kwh < s.capacity_kwh - 1e-9]
        if used and room:
            assert max(used) <= min(room)
        if row.unfit_kwh > 1e-6:
            assert "window_too_short" in row.status and not room  # only when every slot is full
        if row.status == "complete" and row.session_end <= row.window_end:
            assert row.saved_kg >= -1e-9  # the charged hours are in the window: shifting can only help
        assert row.same_slots_as_average_share is None or 0.0 <= row.same_slots_as_average_share <= 1.0
        if key[1] == "average" and row.same_slots_as_average_share is not None:
            assert row.same_slots_as_average_share == pytest.approx(1.0)
