"""``emission-tracker advise`` on a recorded forecast fixture (SMARD forecast rows in the real silver.grid_forecast
shape, through gold/intensity_forecast) over the spring DST night, its fallback to the historical profile, and bad
input."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from dagster import materialize

from emission_assets.cli import main
from emission_assets.forecast.assets import intensity_forecast_asset
from emission_assets.forecast.fit import TRAINING_DAYS
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.timeutil import BERLIN, UTC
from emission_assets_tests.support.forecast_rows import (
    days,
    declare_profile,
    intensity_rows,
    synthetic_features,
    write_forecast,
    write_intensity,
    write_profile,
    write_realised,
)

NIGHT = date(2024, 3, 31)  # Sat 30 18:00 CET .. Sun 31 07:00 CEST: 12 hours
HISTORY = days(NIGHT - timedelta(days=TRAINING_DAYS + 3), TRAINING_DAYS + 2)


def advise(*args):
    return CliRunner().invoke(main, ["advise", *args])


def forecast_home(spark):
    lakehouse = open_lakehouse()
    history = synthetic_features(HISTORY)
    write_realised(spark, lakehouse.writer, history)
    write_intensity(spark, lakehouse.writer, intensity_rows(history))
    write_forecast(spark, lakehouse.writer, synthetic_features([NIGHT - timedelta(days=1), NIGHT], seed=5))
    from emission_assets.sources import resources_for_environment

    for day in (NIGHT - timedelta(days=1), NIGHT):
        run_config = {"ops": {"gold__intensity_forecast": {"config": {"backtest_days": 2}}}}
        assert materialize([intensity_forecast_asset], partition_key=day.isoformat(), run_config=run_config,
                           resources=resources_for_environment()).success
    return lakehouse


def table_row(output: str, model: str) -> dict[str, str]:
    """The printed table's row of ``model``, by header."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header = cells[0]
    return next(dict(zip(header, row, strict=True)) for row in cells[2:] if row[0] == model)


def brute_force_cleanest(hourly: list[tuple[datetime, float]], hours: float) -> tuple[datetime, float]:
    """The start and mean g/kWh of the cleanest ``hours`` window over hourly values, by trying every start."""
    best = None
    for i in range(len(hourly)):
        remaining, total, j = hours, 0.0, i
        while remaining > 1e-9 and j < len(hourly):
            used = min(1.0, remaining)
            total, remaining, j = total + used * hourly[j][1], remaining - used, j + 1
        if remaining <= 1e-9 and (best is None or total / hours < best[1] - 1e-12):
            best = (hourly[i][0], total / hours)
    return best


def test_advise_on_the_forecast_over_the_dst_night(spark):
    lakehouse = forecast_home(spark)
    result = advise("--date", "2024-03-31", "--kwh", "30")
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("plug-in window: Sat 2024-03-30 18:00 .. Sun 2024-03-31 07:00 (Europe/Berlin, 12 h); 30 kWh "
                        "at 11 kW = 2.73 h of charging; region DE, direct basis")
    assert lines[1].startswith("source: FORECAST (gold.intensity_forecast: SMARD day-ahead forecast fetched ")
    start, end = datetime(2024, 3, 30, 17, tzinfo=UTC), datetime(2024, 3, 31, 5, tzinfo=UTC)
    for model in ("average", "merit_order"):
        rows = lakehouse.spark.sql(
            f"SELECT interval_start, g_per_kwh FROM gold.intensity_forecast WHERE model = '{model}' AND "
            f"basis = 'direct' ORDER BY interval_start").collect()
        hourly = [(r.interval_start.replace(tzinfo=UTC), r.g_per_kwh) for r in rows
                  if start <= r.interval_start.replace(tzinfo=UTC) < end]
        assert len(hourly) == 12  # the night lost an hour
        best_start, best_g = brute_force_cleanest(hourly, 30 / 11)
        row = table_row(result.stdout, model)
        assert row["charge from"] == f"{best_start.astimezone(BERLIN):%a %H:%M %Z}"
        assert row["until"] == f"{(best_start + timedelta(hours=30 / 11)).astimezone(BERLIN):%a %H:%M %Z}"
        assert row["expected g/kWh"] == f"{best_g:,.1f}"
        assert row["kg CO2"] == f"{best_g * 30 / 1000:,.1f}"
        assert row["charging at plug-in g/kWh"] == f"{brute_force_cleanest(hourly[:3], 30 / 11)[1]:,.1f}"
    assert result.stderr == ""  # the forecast covers the whole window: no warning


def test_advise_without_forecast_falls_back_to_the_historical_profile_labelled(spark):
    declare_profile()
    lakehouse = open_lakehouse()
    # weekend hours: cleanest 01:00-03:00 local; weekday hours flat (the night is Sat -> Sun: weekend throughout)
    g_by_hour = {(t, h): (100.0 if (t == "weekend" and 1 <= h <= 3) else 400.0) for t in ("weekday", "weekend")
                 for h in range(24)}
    write_profile(spark, lakehouse.writer, 2023, 3, g_by_hour)
    result = advise("--date", "2024-03-31", "--kwh", "22")  # 2 h at 11 kW
    assert result.exit_code == 0, result.output + result.stderr
    assert "source: HISTORICAL PROFILE, NOT A FORECAST (gold.intensity_profile 2023-03, weekday/weekend hours)" \
        in result.stdout
    assert "warning: no forecast data for this window in gold.intensity_forecast (offline, or not materialised): " \
        "falling back to the historical profile, not a forecast" in result.stderr
    row = table_row(result.stdout, "average")
    # 01:00 CET and 03:00 CEST are one hour apart on this night (02:00 does not exist): a 2-hour window from 01:00
    # runs to 04:00 wall clock, through the 01:00 hour (100) and the 03:00 hour (100)
    assert (row["charge from"], row["until"], row["expected g/kWh"]) == ("Sun 01:00 CET", "Sun 04:00 CEST", "100.0")
    assert row["charging at plug-in g/kWh"] == "400.0" and row["kg saved"] == "6.6"  # (400 - 100) g x 22 kWh


@pytest.mark.parametrize(("args", "message"), [
    (["--date", "31.03.2024"], "Error: --date '31.03.2024' is not a date in the form YYYY-MM-DD"),
    (["--kwh", "0"], "Error: --kwh 0 must be more than 0 (the energy to charge, kWh)"),
    (["--by", "7 Uhr"], "Error: --by '7 Uhr' is not a time of day in the form HH:MM (e.g. 07:00)"),
    (["--date", "2024-03-31", "--kwh", "200"], "Error: window too short: 200 kWh at 11 kW need 18.18 h, the plug-in "
     "window Sat 2024-03-30 18:00 .. Sun 2024-03-31 07:00 (Europe/Berlin, 12 h) has 12 h"),
    (["--date", "2024-03-31"], "Error: no forecast for Sat 2024-03-30 18:00 .. Sun 2024-03-31 07:00 (Europe/Berlin, "
     "12 h) in gold.intensity_forecast (DE, direct) and no historical profile for month 03"),
])
def test_bad_input_is_one_line_with_exit_code_2(spark, args, message):
    result = advise(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
