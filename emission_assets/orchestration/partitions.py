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
# The gold tables' local months. end_offset=1: the current month exists as a partition, so yesterday's day (the
# daily schedules' partition) always has its month to recompute.
monthly_partitions = MonthlyPartitionsDefinition(start_date=FIRST_DAY, timezone="Europe/Berlin", end_offset=1)
MONTHLY = {"partitions_def": monthly_partitions, "backfill_policy": single_run_backfill}
# Forecast days: daily like DAILY, but up to tomorrow (end_offset=2), the day SMARD's day-ahead forecasts are for.
forecast_day_partitions = DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="Europe/Berlin", end_offset=2)
FORECAST_DAILY = {"partitions_def": forecast_day_partitions, "backfill_policy": single_run_backfill}


def day_range(context) -> tuple[date, date]:
    """First and last local day of the run's partition (key range)."""
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


def month_range(context) -> list[tuple[int, int]]:
    """Every (year, month) of the run's month partition (key range), in order."""
    return [(int(key[:4]), int(key[5:7])) for key in context.partition_keys]
