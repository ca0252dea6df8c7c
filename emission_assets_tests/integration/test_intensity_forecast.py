"""gold/intensity_forecast end to end: realised history + gold.grid_intensity that follows a known function of the
features, SMARD forecast rows in the real silver.grid_forecast shape, the asset, its metadata and its check."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import numpy as np
import pytest
from dagster import DagsterInstance, materialize

from emission_assets.forecast.assets import CHECK_NAME, intensity_forecast_asset
from emission_assets.forecast.fit import TRAINING_DAYS
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.timeutil import BERLIN
from emission_assets_tests.support.forecast_rows import (
    days,
    intensity_rows,
    known_intensity,
    synthetic_features,
    write_forecast,
    write_intensity,
    write_realised,
)

FORECAST_DAY = date(2024, 3, 31)  # the spring DST day: 23 hours
HISTORY = days(FORECAST_DAY - timedelta(days=TRAINING_DAYS + 12), TRAINING_DAYS + 12)  # up to the day before


def run(day: date, backtest_days: int = 7, instance=None):
    from emission_assets.sources import resources_for_environment

    return materialize([intensity_forecast_asset], partition_key=day.isoformat(), resources=resources_for_environment(),
                       run_config={"ops": {"gold__intensity_forecast": {"config": {"backtest_days": backtest_days}}}},
                       raise_on_error=False, instance=instance)


def materialization(result):
    return next(e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION") \
        .event_specific_data.materialization


@pytest.fixture
def lakehouse(spark):
    lakehouse = open_lakehouse()
    history = synthetic_features(HISTORY)
    write_realised(spark, lakehouse.writer, history)
    write_intensity(spark, lakehouse.writer, intensity_rows(history))
    # SMARD's forecast for the forecast day, and for two days of the backtest period a forecast that was right
    backtested = {FORECAST_DAY - timedelta(days=3), FORECAST_DAY - timedelta(days=4)}
    write_forecast(spark, lakehouse.writer, synthetic_features([FORECAST_DAY], seed=11)
                   + [row for row in history if row[0].astimezone(BERLIN).date() in backtested])
    return lakehouse


def test_forecast_of_the_dst_day_from_smard_forecast_rows_with_backtest_and_check(lakehouse):
    result = run(FORECAST_DAY)
    assert result.success
    rows = lakehouse.spark.sql(
        "SELECT interval_start, model, basis, g_per_kwh, load_mw, wind_pv_mw, fit_id, fit_last_day, fit_rows "
        "FROM gold.intensity_forecast").toPandas()
    assert len(rows) == 23 * 2 * 2  # 23 hours x (average, merit_order) x (direct, lifecycle)
    assert set(rows["fit_last_day"]) == {FORECAST_DAY - timedelta(days=2)}  # history ends two days before
    assert set(rows["fit_rows"]) == {TRAINING_DAYS * 24}  # 2024-03-01..28 at 24 hours
    # the synthetic intensity is exactly linear in the features: the fit recovers it, clipped to the range of the
    # intensities it was fitted on
    fitted_on = [known_intensity(load, wind_pv) for start, _, load, wind_pv in synthetic_features(HISTORY)
                 if date(2024, 3, 1) <= start.astimezone(BERLIN).date() <= date(2024, 3, 28)]
    direct = rows[rows["basis"] == "direct"]
    expected = np.clip([known_intensity(load, wind_pv) for load, wind_pv in
                        zip(direct["load_mw"], direct["wind_pv_mw"], strict=True)], min(fitted_on), max(fitted_on))
    assert direct["g_per_kwh"].to_numpy() == pytest.approx(expected, abs=1e-6)
    assert all("ols_residual_share_hour_v1 DE/" in fit for fit in rows["fit_id"])

    metadata = materialization(result).metadata
    assert metadata["dagster/row_count"].value == 92
    assert metadata["backtest_period"].value == "2024-03-23..2024-03-29"
    assert metadata["backtest_input"].value.startswith("mixed: 8 day-models with forecast features, 20 with realised")
    assert metadata["backtest_DE_average_direct_mae_g_per_kwh"].value < 1.0
    assert metadata["backtest_DE_average_direct_hit_rate"].value == 1.0
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == CHECK_NAME and check.passed


def test_a_day_without_forecast_rows_writes_nothing_and_says_so(lakehouse):
    day = FORECAST_DAY - timedelta(days=1)
    instance = DagsterInstance.ephemeral()
    result = run(day, instance=instance)
    assert result.success
    assert lakehouse.spark.sql("SELECT count(*) AS n FROM gold.intensity_forecast").collect()[0].n == 0
    metadata = materialization(result).metadata
    assert metadata["days_without_forecast"].value == str(day)
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert any("no forecast features in silver.grid_forecast for 1 day(s) (2024-03-30)" in m for m in warnings)


def test_check_fails_when_the_hour_of_day_profile_beats_the_fit(spark):
    """Intensity with a spike at 03:00 local only, unrelated to the features: the hour-of-day mean is exact, the
    fit (two daily harmonics) cannot follow a one-hour spike, so the check fails and names the models."""
    lakehouse = open_lakehouse()
    history = synthetic_features(HISTORY)
    write_realised(spark, lakehouse.writer, history)
    spike = lambda start, load, wind_pv: 900.0 if start.astimezone(BERLIN).hour == 3 else 300.0  # noqa: E731
    write_intensity(spark, lakehouse.writer, intensity_rows(history, models=("merit_order",), bases=("direct",),
                                                            function=spike))
    write_forecast(spark, lakehouse.writer, synthetic_features([FORECAST_DAY], seed=11))
    result = run(FORECAST_DAY)
    assert result.success  # the check warns, it does not block
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed
    assert check.metadata["not_better_than_profile"].value.startswith("DE/merit_order/direct: MAE")


def test_check_fails_without_history_to_backtest(spark):
    lakehouse = open_lakehouse()
    write_forecast(spark, lakehouse.writer, synthetic_features([FORECAST_DAY], seed=11))
    result = run(FORECAST_DAY)
    assert result.success
    metadata = materialization(result).metadata
    assert metadata["days_without_fit"].value == str(FORECAST_DAY)
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and "nothing to backtest" in check.metadata["not_better_than_profile"].value


def test_materialize_runs_the_forecast_days_after_the_months(lakehouse):
    """``emission-tracker materialize --select key:gold/intensity_forecast``: the forecast-day partitions (daily, up
    to tomorrow) run as their own run, after any month run."""
    from emission_assets.cli import run_materialize

    runs = []
    day = FORECAST_DAY - timedelta(days=3)  # a backtest day that has SMARD forecast rows
    result = run_materialize(day, day, ["key:gold/intensity_forecast"], {}, runs)
    assert result.success and len(runs) == 1
    assert runs[0].dagster_run.tags["dagster/asset_partition_range_start"] == day.isoformat()
    rows = lakehouse.spark.sql("SELECT count(*) AS n, min(day) AS d FROM gold.intensity_forecast").collect()[0]
    assert (rows.n, rows.d) == (24 * 2 * 2, day.day)
