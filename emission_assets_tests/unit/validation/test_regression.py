"""The regression cross-check of docs/validation.md on hand numbers (pure pandas, no engine)."""
from __future__ import annotations

import pandas as pd
import pytest

from merit_validation.regression import average_intensity_per_year, slopes_per_year


def frame(starts, emissions_t, fossil_mwh, **extra):
    index = pd.DatetimeIndex(pd.to_datetime(starts, utc=True), name="interval_start")
    return pd.DataFrame({"emissions_t": emissions_t, "fossil_mwh": fossil_mwh, **extra}, index=index)


def test_slope_is_delta_co2_over_delta_mwh_in_g_per_kwh_with_intercept():
    # Δ fossil: +100, -50, +200 MWh; Δ CO2: 0.8 t per MWh plus a constant 5 t drift (the intercept).
    hourly = frame(["2021-06-01 10:00", "2021-06-01 11:00", "2021-06-01 12:00", "2021-06-01 13:00"],
                   [1000.0, 1085.0, 1050.0, 1215.0], [2000.0, 2100.0, 2050.0, 2250.0])
    (slope,) = slopes_per_year(hourly, regressors=("fossil_mwh",))
    assert (slope.year, slope.regressor, slope.pairs) == (2021, "fossil_mwh", 3)
    assert slope.slope_g_per_kwh == pytest.approx(800.0)
    assert slope.r_squared == pytest.approx(1.0)


def test_only_pairs_one_hour_apart_count_and_a_pair_belongs_to_the_local_year_of_its_later_hour():
    # 2019-12-31 22:00 and 23:00 UTC are 23:00 (2019) and 00:00 (2020) local: that pair is a 2020 pair.
    # The two-hour gap to 2020-01-01 01:00 UTC is no step; a missing regressor value drops its pairs.
    hourly = frame(
        ["2019-12-31 21:00", "2019-12-31 22:00", "2019-12-31 23:00", "2020-01-01 01:00", "2020-01-01 02:00",
         "2020-01-01 03:00"],
        [100.0, 200.0, 150.0, 900.0, 1000.0, 1100.0],
        [1000.0, 1200.0, 1100.0, 5000.0, 5100.0, 5200.0],
        residual_mwh=[10.0, 20.0, None, 40.0, 50.0, 70.0],
    )
    slopes = {(s.year, s.regressor): s for s in slopes_per_year(hourly, regressors=("fossil_mwh", "residual_mwh"))}
    # 2019: one pair (21->22 UTC) -> fewer than two points, no slope; 2020: 22->23 UTC (Δ -100 MWh, -50 t),
    # 01->02 (+100, +100), 02->03 (+100, +100)
    assert (2019, "fossil_mwh") not in slopes
    fossil = slopes[(2020, "fossil_mwh")]
    assert fossil.pairs == 3
    assert fossil.slope_g_per_kwh == pytest.approx(750.0)  # OLS through (-100,-50), (100,100), (100,100)
    residual = slopes[(2020, "residual_mwh")]
    assert residual.pairs == 2  # the 22->23 pair lacks the 23:00 value
    assert residual.slope_g_per_kwh == pytest.approx(0.0)  # Δ residual 10 and 20 with Δ CO2 100 and 100


def test_a_regressor_missing_from_the_frame_is_skipped_and_average_intensity_is_weighted():
    hourly = frame(["2022-03-01 00:00", "2022-03-01 01:00"], [300.0, 100.0], [400.0, 200.0],
                   generation_mwh=[1000.0, 1000.0])
    assert slopes_per_year(hourly, regressors=("not_there",)) == []
    assert average_intensity_per_year(hourly) == {2022: pytest.approx(200.0)}  # 400 t / 2000 MWh
