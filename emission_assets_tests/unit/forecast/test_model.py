"""The pure forecast code: the fit recovers known coefficients, the cleanest-window search (hand-computed, gaps,
DST nights), the hit rate and regret, the backtest's inputs, the plug-in window."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from emission_assets.errors import UserInputError
from emission_assets.forecast.advice import parse_clock, plug_in_window
from emission_assets.forecast.backtest import backtest, hit_and_regret, summary
from emission_assets.forecast.features import align_features, derived
from emission_assets.forecast.fit import MIN_TRAINING_HOURS, TERMS, design, fit_one
from emission_assets.forecast.windows import cleanest_window, longest_run_hours
from emission_assets.timeutil import BERLIN, UTC
from emission_assets_tests.support.forecast_rows import hours_of, known_intensity, synthetic_features


def feature_frame(features) -> pd.DataFrame:
    return derived(pd.DataFrame([(s, e, "DE", "hour", load, wind_pv) for s, e, load, wind_pv in features],
                                columns=["interval_start", "interval_end", "region", "resolution", "load_mw",
                                         "wind_pv_mw"]))


def hourly(start: datetime, values: list[float], minutes: int = 60) -> pd.DataFrame:
    step = timedelta(minutes=minutes)
    return pd.DataFrame({"interval_start": [start + i * step for i in range(len(values))],
                         "interval_end": [start + (i + 1) * step for i in range(len(values))],
                         "g_per_kwh": values})


# --- the fit ---------------------------------------------------------------------------------------------------------

def test_fit_recovers_known_coefficients_on_synthetic_data():
    frame = feature_frame(synthetic_features([date(2024, 1, 1) + timedelta(days=i) for i in range(14)]))
    known = np.array([120.0, 6.5, 0.04, -80.0, 12.0, -7.0, 3.0, 1.5])
    frame["g_per_kwh"] = design(frame) @ known
    frame["model"], frame["basis"] = "average", "direct"
    fit = fit_one(frame, "DE", "average", "direct")
    assert len(fit.coefficients) == len(TERMS)
    assert fit.coefficients == pytest.approx(known, rel=1e-6, abs=1e-6)
    assert fit.mae_g_per_kwh == pytest.approx(0.0, abs=1e-6)
    assert (fit.first_day, fit.last_day, fit.rows) == (date(2024, 1, 1), date(2024, 1, 14), 14 * 24)
    assert fit.predict(frame) == pytest.approx(frame["g_per_kwh"].to_numpy(), abs=1e-6)


def test_fit_weights_intervals_by_hours_and_clips_forecasts_to_the_fitted_range():
    frame = feature_frame(synthetic_features([date(2024, 1, 1) + timedelta(days=i) for i in range(8)]))
    frame["g_per_kwh"] = [known_intensity(a, b) for a, b in zip(frame["load_mw"], frame["wind_pv_mw"], strict=True)]
    fit = fit_one(frame, "DE", "average", "direct")
    far = frame.head(1).copy()
    far["residual_mw"], far["renewable_share"] = 500_000.0, 0.0  # far beyond any fleet
    assert fit.predict(far)[0] == pytest.approx(frame["g_per_kwh"].max())


def test_no_fit_on_less_than_a_week_of_history():
    frame = feature_frame(synthetic_features([date(2024, 1, 1) + timedelta(days=i) for i in range(6)]))
    frame["g_per_kwh"] = 300.0
    assert frame["hours"].sum() < MIN_TRAINING_HOURS
    assert fit_one(frame, "DE", "average", "direct") is None


# --- the cleanest window ---------------------------------------------------------------------------------------------

def test_cleanest_window_hand_computed_with_a_partial_last_interval():
    start = datetime(2024, 1, 10, 17, tzinfo=UTC)
    frame = hourly(start, [500, 400, 100, 200, 300, 600])
    # 2.5 h: from 19:00 UTC 100 + 200 + half of 300 -> (100 + 200 + 150) / 2.5 = 180; from 18:00: (400+100+100)/2.5=240
    window = cleanest_window(frame, 2.5)
    assert (window.start, window.end, window.g_per_kwh) == (start + timedelta(hours=2), start + timedelta(hours=4.5),
                                                            pytest.approx(180.0))
    assert cleanest_window(frame, 6.5) is None  # longer than the data


def test_a_gap_ends_a_run_and_no_window_spans_it():
    start = datetime(2024, 1, 10, 0, tzinfo=UTC)
    frame = hourly(start, [300, 10, 10, 300, 300, 300])
    frame = frame.drop(index=2)  # 02:00 is missing: 01:00 (10) and 03:00 (300) do not touch
    window = cleanest_window(frame, 2)
    assert window.start == start  # (300 + 10) / 2 = 155 beats (300 + 300) / 2; 01:00 + 03:00 is not a window
    assert window.g_per_kwh == pytest.approx(155.0)
    assert longest_run_hours(frame) == 3.0


def test_cleanest_window_over_the_autumn_dst_night_uses_the_repeated_hour():
    """2022-10-29 18:00 .. 10-30 07:00 local is 14 hours: the 02:00 hour happens twice (CEST, then CET)."""
    window = plug_in_window(date(2022, 10, 30))
    assert window.hours == 14.0
    hours = [s for s, _ in hours_of([date(2022, 10, 29), date(2022, 10, 30)]) if window.start <= s < window.end]
    assert len(hours) == 14
    local = [h.astimezone(BERLIN) for h in hours]
    values = [100.0 if (t.hour == 2) else 400.0 for t in local]  # both 02:00 hours clean
    frame = pd.DataFrame({"interval_start": hours, "interval_end": [h + timedelta(hours=1) for h in hours],
                          "g_per_kwh": values})
    best = cleanest_window(frame, 2)
    assert best.start.astimezone(BERLIN).isoformat() == "2022-10-30T02:00:00+02:00"  # the first 02:00 (CEST)
    # ... to the end of the second: two hours later, one hour later on the wall clock
    assert best.end.astimezone(BERLIN).isoformat() == "2022-10-30T03:00:00+01:00"
    assert best.g_per_kwh == pytest.approx(100.0)


def test_plug_in_window_spring_dst_night_and_a_daytime_window():
    night = plug_in_window(date(2024, 3, 31))
    assert night.hours == 12.0 and night.start == datetime(2024, 3, 30, 17, tzinfo=UTC)
    day = plug_in_window(date(2024, 6, 1), time(9, 0), time(17, 0))  # --from before --by: the same day
    assert day.start == datetime(2024, 6, 1, 7, tzinfo=UTC) and day.hours == 8.0


@pytest.mark.parametrize("value", ["7", "24:00", "07:60", "7 Uhr", ""])
def test_parse_clock_rejects_what_is_not_hh_mm(value):
    with pytest.raises(UserInputError, match=r"--by .* is not a time of day in the form HH:MM"):
        parse_clock(value, "--by")


# --- hit rate and backtest -------------------------------------------------------------------------------------------

def test_hit_and_regret_hand_cases():
    start = datetime(2024, 1, 10, 0, tzinfo=UTC)
    day = hourly(start, [300, 300, 100, 100, 100, 100, 300, 300])
    day["right"] = [9, 9, 1, 1, 1, 1, 9, 9]  # same ranking: hit, no regret
    day["shifted"] = [9, 9, 9, 1, 1, 1, 1, 9]  # picks 03:00..07:00: true mean (100*3 + 300)/4 = 150, best 100
    day["flat"] = 5.0  # ties go to the earliest window: 00:00..04:00, true mean 200
    assert hit_and_regret(day, "right") == (True, 0.0)
    assert hit_and_regret(day, "shifted") == (False, pytest.approx(50.0))
    assert hit_and_regret(day, "flat") == (False, pytest.approx(100.0))
    assert hit_and_regret(day.head(3), "right") == (None, None)  # no 4-hour window in 3 hours


def test_summary_hit_rate_counts_days():
    per_day = pd.DataFrame({
        "region": "DE", "model": "average", "basis": "direct", "day": [date(2024, 1, d) for d in (1, 2, 3, 4)],
        "input": ["realised", "forecast", "realised", "realised"], "intervals": 24,
        "mae_g_per_kwh": [10.0, 20.0, 30.0, 40.0], "hit": [True, False, True, True], "regret_g_per_kwh": 1.0,
        "profile_mae_g_per_kwh": 50.0, "profile_hit": [False, False, True, False], "profile_regret_g_per_kwh": 2.0})
    row = summary(per_day).iloc[0]
    assert (row.days, row.forecast_input_days, row.mae_g_per_kwh, row.hit_rate, row.profile_hit_rate) == \
        (4, 1, 25.0, 0.75, 0.25)


def test_backtest_uses_forecast_features_where_they_exist_and_realised_ones_otherwise():
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(40)]
    realised = feature_frame(synthetic_features(days))
    intensity = realised[["interval_start", "interval_end", "region"]].copy()
    intensity["g_per_kwh"] = [known_intensity(a, b) for a, b in zip(realised["load_mw"], realised["wind_pv_mw"],
                                                                    strict=True)]
    intensity["model"], intensity["basis"] = "average", "direct"
    tested = [date(2024, 2, 5), date(2024, 2, 6)]
    wrong = feature_frame(synthetic_features([tested[1]], seed=99))  # a forecast that missed
    wrong["fetched_at"] = pd.Timestamp("2024-02-05", tz="UTC")
    per_day = backtest(intensity, realised, wrong, tested).set_index("day")
    assert per_day.loc[tested[0], "input"] == "realised" and per_day.loc[tested[0], "mae_g_per_kwh"] < 1e-6
    assert per_day.loc[tested[1], "input"] == "forecast" and per_day.loc[tested[1], "mae_g_per_kwh"] > 10
    assert per_day.loc[tested[0], "profile_mae_g_per_kwh"] > 10  # the hour-of-day mean misses the weather


def test_quarter_hourly_forecasts_meet_an_hourly_history_as_the_time_weighted_mean_power():
    start = datetime(2022, 1, 1, 0, tzinfo=UTC)
    quarters = derived(pd.DataFrame({
        "interval_start": [start + timedelta(minutes=15 * i) for i in range(6)],
        "interval_end": [start + timedelta(minutes=15 * (i + 1)) for i in range(6)],
        "region": "DE", "resolution": "quarterhour",
        "load_mw": [40_000.0, 44_000.0, 48_000.0, 52_000.0, 60_000.0, 60_000.0],
        "wind_pv_mw": [10_000.0, 10_000.0, 20_000.0, 20_000.0, 5_000.0, 5_000.0]}))
    hours = pd.DataFrame({"interval_start": [start, start + timedelta(hours=1)],
                          "interval_end": [start + timedelta(hours=1), start + timedelta(hours=2)]})

    aligned = align_features(quarters, hours)

    # the second hour has only two of its four quarters: not covered, left out (never a mean of half an hour)
    assert aligned["interval_start"].tolist() == [start]
    row = aligned.iloc[0]
    assert (row["load_mw"], row["wind_pv_mw"], row["hours"]) == (46_000.0, 15_000.0, 1.0)
    assert row["residual_mw"] == 31_000.0 and row["renewable_share"] == pytest.approx(15 / 46)
    assert align_features(quarters, quarters).equals(quarters)  # same intervals: unchanged
