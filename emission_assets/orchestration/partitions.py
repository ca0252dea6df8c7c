"""Day and month partitions in Europe/Berlin (23/24/25-hour days); a range of them backfills in one run."""
from __future__ import annotations

import warnings
from datetime import date

from dagster import BackfillPolicy, BetaWarning, DailyPartitionsDefinition, MonthlyPartitionsDefinition

# Single-run backfills (one Spark job per range) and tag selections (`tag:source=smard`) are used on purpose;
# Dagster still labels both beta.
warnings.filterwarnings("ignore", category=BetaWarning)

# SMARD's quarter-hour generation series start in 2015.
FIRST_DAY = "2015-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="Europe/Berlin")
single_run_backfill = BackfillPolicy.single_run()
# What every day-partitioned asset shares: a range of days backfills as one run (one Spark job).
DAILY = {"partitions_def": daily_partitions, "backfill_policy": single_run_backfill}
# Day-ahead forecasts (emission_assets.smard_forecast) are published the day before the day they are for, so their
# assets (and the forecast model's) reach two days further: end_offset=2 makes today and tomorrow partitions (the
# default last partition is yesterday, the last complete day). Only forecast assets use it: a realised day is not
# over before its end.
forecast_daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="Europe/Berlin", end_offset=2)
FORECAST_DAILY = {"partitions_def": forecast_daily_partitions, "backfill_policy": single_run_backfill}
FORECAST_END_OFFSET_DAYS = 2  # days after yesterday that FORECAST_DAILY has partitions for
# The gold tables' local months. end_offset=1: the current month exists as a partition, so yesterday's day (the
# daily schedules' partition) always has its month to recompute.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_DAY, timezone="Europe/Berlin", end_offset=1)
MONTHLY = {"partitions_def": monthly_partitions, "backfill_policy": single_run_backfill}


def day_range(context) -> tuple[date, date]:
    """First and last local day of the run's partition (key range)."""
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


def month_range(context) -> list[tuple[int, int]]:
    """Every (year, month) of the run's month partition (key range), in order."""
    return [(int(key[:4]), int(key[5:7])) for key in context.partition_keys]
