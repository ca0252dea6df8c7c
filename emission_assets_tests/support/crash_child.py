"""A writer process for the crash tests: runs real lakehouse writes on $EMISSION_HOME until it finishes or is killed.

``python -m emission_assets_tests.support.crash_child bronze FIRST LAST BATCH`` ingests the SMARD reservoir files of the days
FIRST..LAST into bronze, BATCH files per MERGE (one commit each), ordered by filter and then name, so that each batch
of one filter's weeks writes into every window-date partition; ``silver FIRST LAST [TIMES]`` replaces the days
FIRST..LAST of silver.production from bronze, in one write, TIMES times (default once). Each process has its own
embedded Sail engine, as a Dagster run would. It prints ``writing <n>`` before and ``committed <n>`` after every
write (flushed), so a test sees how far it got.
"""
from __future__ import annotations

import sys
from datetime import date

from pyspark.sql import functions as F

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths
from emission_assets.smard import bronze as bronze_smard
from emission_assets.smard.silver import production_from_bronze
from emission_assets.smard.windows import stored_windows


def batch_order(file) -> tuple:
    return file.meta["filter_id"], file.name


def ingest_bronze(first: date, last: date, batch: int) -> None:
    lakehouse = open_lakehouse()
    files = sorted(stored_windows(Reservoir(paths().reservoir), first, last), key=batch_order)
    for n, start in enumerate(range(0, len(files), batch)):
        print(f"writing {n}", flush=True)
        bronze_smard.ingest(lakehouse.spark, lakehouse.writer, files[start:start + batch], f"crash-child-{n}")
        print(f"committed {n}", flush=True)


def replace_silver(first: date, last: date, times: int) -> None:
    lakehouse = open_lakehouse()
    window_from, window_to = bronze_smard.window_date_range(first, last)
    bronze = lakehouse.table(bronze_smard.TABLE).where(F.col("window_date").between(window_from, window_to))
    for n in range(times):
        print(f"writing {n}", flush=True)
        lakehouse.writer.replace_days("silver.production", production_from_bronze(bronze, first, last), first, last)
        print(f"committed {n}", flush=True)


if __name__ == "__main__":
    mode, first_day, last_day, *rest = sys.argv[1:]
    first_day, last_day = date.fromisoformat(first_day), date.fromisoformat(last_day)
    if mode == "bronze":
        ingest_bronze(first_day, last_day, int(rest[0]))
    elif mode == "silver":
        replace_silver(first_day, last_day, int(rest[0]) if rest else 1)
    else:
        raise SystemExit(f"unknown mode {mode!r}: bronze or silver")
