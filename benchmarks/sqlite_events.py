"""What one materialisation event costs on Dagster's SQLite storage, with and without the project's tuning.

``python -m benchmarks.sqlite_events [--partitions 365] [--assets 2] [--repeat 2]``. Not a test: per round it runs,
in a fresh process and a fresh Dagster home each, a single-run backfill of ``--partitions`` daily partitions of
``--assets`` assets that do nothing, so the wall time is Dagster's: run creation, planning (one planned event per
asset, as the CLI sets it) and one materialisation event per asset and partition, as the pipeline's day assets write
them. It runs once with Dagster's SQLite defaults and once with ``emission_assets.orchestration.sqlite_storage``
installed (``synchronous=NORMAL`` and a keeper connection per file), alternating, and prints the wall time per
materialisation of each. The rounds alternate so that a busy machine burdens both alike: compare within a round.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("dagster-default", "project")


def backfill(variant: str, partitions: int, assets: int) -> float:
    """In this process: the single-run backfill in a new home; returns the wall seconds of ``materialize``."""
    import dagster as dg
    import yaml

    home = Path(tempfile.mkdtemp(prefix="sqlite-events-"))  # this child process's; removed by the parent
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": {"sqlite": {"base_dir": str(home)}},
                                                       "telemetry": {"enabled": False}}))
    os.environ["DAGSTER_HOME"] = str(home)
    # as the CLI does for every run (cli/environment.py): one planned event per asset, not one per partition
    os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "true"
    if variant == "project":
        from emission_assets.orchestration.sqlite_storage import install

        install()
    days = dg.DailyPartitionsDefinition(start_date="2022-01-01", timezone="Europe/Berlin")
    keys = days.get_partition_keys()[:partitions]

    def make(name):
        @dg.asset(name=name, partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
        def _empty():
            return dg.MaterializeResult(metadata={"files_written": 1, "source": "file:///benchmark"})
        return _empty

    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        result = dg.materialize([make(f"day_asset_{i}") for i in range(assets)], instance=instance,
                                tags={"dagster/asset_partition_range_start": keys[0],
                                      "dagster/asset_partition_range_end": keys[-1]},
                                raise_on_error=True)
        wall = time.perf_counter() - started
        stored = len(instance.fetch_materializations(dg.AssetKey("day_asset_0"), limit=partitions + 1).records)
    if not result.success or stored != partitions:
        raise SystemExit(f"{variant}: the backfill stored {stored} of {partitions} materialisations")
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=365)
    parser.add_argument("--assets", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one backfill, in a child process
    args = parser.parse_args(argv)
    if args.variant:
        print(f"{backfill(args.variant, args.partitions, args.assets):.3f}")
        return 0
    events = args.partitions * args.assets
    tempfile.tempdir = tempfile.mkdtemp(prefix="sqlite-events-")  # the children's homes go below it
    os.environ["TMPDIR"] = tempfile.tempdir
    print(f"single-run backfill of {args.partitions} daily partitions x {args.assets} empty assets = {events} "
          f"materialisation events, SQLite storage, a new process and home each")
    print("| round | " + " | ".join(f"{v}: wall s, ms per event" for v in VARIANTS) + " |")
    print("|---|" + "---|" * len(VARIANTS))
    for round_number in range(1, args.repeat + 1):
        cells = []
        for variant in VARIANTS:
            done = subprocess.run([sys.executable, "-W", "ignore", "-m", "benchmarks.sqlite_events", "--variant",
                                   variant, "--partitions", str(args.partitions), "--assets", str(args.assets)],
                                  capture_output=True, text=True, check=True)
            wall = float(done.stdout.strip().splitlines()[-1])
            cells.append(f"{wall:.2f} s, {1000 * wall / events:.2f} ms")
        print(f"| {round_number} | " + " | ".join(cells) + " |")
    shutil.rmtree(tempfile.tempdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
