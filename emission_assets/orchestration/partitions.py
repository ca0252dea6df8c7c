"""Day partitions in Europe/Berlin (23/24/25-hour days); a range of them backfills in one run."""
from __future__ import annotations

import warnings
from datetime import date

from dagster import BackfillPolicy, BetaWarning, DailyPartitionsDefinition

# Single-run backfills (one Spark job per range) and tag selections (`tag:source=smard`) are used on purpose;
# Dagster still labels both beta.
warnings.filterwarnings("ignore", category=BetaWarning)

# SMARD's quarter-hour generation series start in 2015.
FIRST_DAY = "2015-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="Europe/Berlin")
single_run_backfill = BackfillPolicy.single_run()
# What every day-partitioned asset shares: a range of days backfills as one run (one Spark job).
DAILY = {"partitions_def": daily_partitions, "backfill_policy": single_run_backfill}


def day_range(context) -> tuple[date, date]:
    """First and last local day of the run's partition (key range)."""
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)
