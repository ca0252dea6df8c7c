"""The intensity forecast's backtest on a bundled real period: SMARD's realised hourly generation and grid load of
2021-11-15..2022-01-03 (merit_validation/data, Bundesnetzagentur | SMARD.de, CC BY 4.0) through the product's
silver transforms and gold.grid_intensity, and SMARD's real day-ahead forecasts of 2022-01-01..03 (the recorded
forecast fixture) in silver.grid_forecast, backtested by the asset's own code (run_backtest).

What it asserts is what the backtest is for: on real data the fit beats the hour-of-day profile of the same 28 days
for the average model, and the three days with SMARD's forecasts are backtested from those forecasts (the real
forecast error), the others from realised features (the model's error alone), and say so."""
from __future__ import annotations

from datetime import date

import pytest

from emission_assets.forecast.table import run_backtest
from emission_assets.gold.tables import write_grid_intensity
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.smard.silver import grid_load_from_bronze
from emission_assets_tests.support.forecast_fixture import write_recorded_silver
from merit_validation.loading import (
    BRONZE_DDL,
    CONSUMPTION_CSV,
    GENERATION_CSV,
    IMPORTED_AT,
    bronze_rows,
    load_factors,
    load_production,
    parse_export,
)

FIRST, LAST = date(2021, 11, 15), date(2022, 1, 3)  # 28 training days before 2021-12-21, the backtest's first day


@pytest.fixture(scope="module")
def backtest(spark, tmp_path_factory):
    from emission_assets.factors.prices import merge_price_seed, read_price_seed

    lakehouse = open_lakehouse()
    spark, writer = lakehouse.spark, lakehouse.writer
    scratch = tmp_path_factory.mktemp("exports")
    load_production(spark, writer, parse_export(GENERATION_CSV, scratch), FIRST, LAST)
    consumption = spark.createDataFrame(
        bronze_rows(parse_export(CONSUMPTION_CSV, scratch), first_day=FIRST, last_day=LAST), BRONZE_DDL)
    writer.replace_days("silver.grid_load", grid_load_from_bronze(consumption, FIRST, LAST), FIRST, LAST)
    load_factors(spark, writer)
    merge_price_seed(spark, writer, read_price_seed(), IMPORTED_AT)
    write_grid_intensity(spark, lakehouse.registry, [(2021, 11), (2021, 12), (2022, 1)])
    write_recorded_silver(lakehouse)  # SMARD's day-ahead forecasts of 2022-01-01..03
    # a forecast for 2022-01-05 is checked on the 14 days ending on its training window's last day, 2022-01-03
    return run_backtest(spark, lakehouse.registry, date(2022, 1, 5), days=14)


def test_days_with_smard_forecasts_use_them_and_the_rest_say_they_are_realised(backtest):
    assert (backtest.first_day, backtest.last_day) == (date(2021, 12, 21), date(2022, 1, 3))
    inputs = backtest.per_day.groupby("day")["input"].agg(set).to_dict()
    assert set(inputs) == {date(2021, 12, 21 + i) for i in range(11)} | {date(2022, 1, d) for d in (1, 2, 3)}
    assert all(inputs[date(2022, 1, d)] == {"forecast"} for d in (1, 2, 3))
    assert all(value == {"realised"} for day, value in inputs.items() if day.year == 2021)


def test_on_real_data_the_fit_beats_the_hour_of_day_profile_for_the_average_model(backtest):
    summary = backtest.summary.set_index(["model", "basis"])
    average = summary.loc[("average", "direct")]
    assert average["days"] == 14 and average["forecast_input_days"] == 3
    assert average["mae_g_per_kwh"] < average["profile_mae_g_per_kwh"]
    assert 0 < average["mae_g_per_kwh"] < 100  # December 2021: a mean near 400 g/kWh, swinging with the wind
