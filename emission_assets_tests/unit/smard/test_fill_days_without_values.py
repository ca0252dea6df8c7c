"""Which requested days of a fetched SMARD window have no value at all, and why (the fill reports them by day)."""
from __future__ import annotations

from datetime import date

from emission_assets.smard.reservoir import _days_without_values
from emission_assets.timeutil import day_bounds_utc, to_epoch_ms

MONDAY, TUESDAY, WEDNESDAY, THURSDAY = (date(2024, 4, d) for d in (1, 2, 3, 4))
HOUR = 3_600_000


def hours(day: date, values) -> list[tuple[int, float | None]]:
    start = to_epoch_ms(day_bounds_utc(day)[0])
    return [(start + i * HOUR, value) for i, value in enumerate(values)]


def test_days_with_one_value_pass_and_the_others_say_why():
    points = hours(MONDAY, [None] * 23 + [4.0]) + hours(TUESDAY, [None] * 24)  # nothing at all on Wednesday

    assert _days_without_values(points, [MONDAY, TUESDAY, WEDNESDAY]) == [
        (TUESDAY, "all 24 values null"),
        (WEDNESDAY, "no points"),
    ]


def test_an_empty_series_has_no_value_on_any_day():
    assert _days_without_values([], [MONDAY, TUESDAY]) == [(MONDAY, "empty series"), (TUESDAY, "empty series")]


def test_points_out_of_order_are_judged_the_same():
    points = hours(WEDNESDAY, [1.0] + [None] * 23) + hours(MONDAY, [None] * 24) + hours(THURSDAY, [None] * 5 + [0.0])

    assert _days_without_values(points, [MONDAY, WEDNESDAY, THURSDAY]) == [(MONDAY, "all 24 values null")]
