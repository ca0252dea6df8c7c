"""Rolling backtest of the intensity forecast (emission_assets/forecast) over a period of the home's lakehouse.

The same code as the backtest of ``gold/intensity_forecast`` (:func:`emission_assets.forecast.backtest.backtest`),
over any range: for each day, fit on the 28 days ending two days before, predict the day from its features and
compare with gold.grid_intensity. Days without forecast rows in silver.grid_forecast use the realised features
("perfect input forecast": the model's error alone). Needs gold.grid_intensity and silver.grid_load for the period
(the demo's 2022 data has both: ``emission-tracker demo`` first).

Usage (from the repository root, EMISSION_HOME set):
    .venv/bin/python scripts/backtest_forecast.py 2022-01-01 2022-12-31
"""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(first: date, last: date) -> None:
    from tabulate import tabulate

    from emission_assets.forecast import backtest
    from emission_assets.forecast.features import forecast_features, intensity_history, realised_features
    from emission_assets.forecast.fit import training_window
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.sources import declare_tables
    from emission_assets.timeutil import days_between

    declare_tables()
    lakehouse = open_lakehouse()
    spark, registry = lakehouse.spark, lakehouse.registry
    history_first = training_window(first)[0]
    intensity = intensity_history(spark, registry, history_first, last)
    realised = realised_features(spark, registry, history_first, last)
    forecast = forecast_features(spark, registry, first, last)
    per_day = backtest.backtest(intensity, realised, forecast, days_between(first, last))
    if per_day.empty:
        sys.exit(f"nothing to backtest in {first}..{last}: no day had gold.grid_intensity, features and a fit")
    inputs = per_day["input"].value_counts().to_dict()
    print(f"backtest {min(per_day['day'])}..{max(per_day['day'])}; inputs (day x model x basis): {inputs}")
    print(tabulate(backtest.summary(per_day), headers="keys", tablefmt="github", floatfmt=".3f", showindex=False))


if __name__ == "__main__":
    main(date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2]))
