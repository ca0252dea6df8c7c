"""The reservoir fills alone (no Dagster): wall time of the SMARD and Tibber fills on the benchmark's replay tree.

``python -m benchmarks.reservoir_fill [--days N] [--tree DIR]`` writes the quarter-hour windows of 12 types x 5
regions for N days from 2022-01-01 (as :mod:`benchmarks.bench` does; ``--tree`` reuses one), fills a fresh reservoir
from it and from the sample Tibber household, and prints both wall times with the number of files and fsyncs.
Run it from two checkouts back to back for an A/B of the reservoir writes without the cost of Dagster's events.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=31, help="days from 2022-01-01 (default 31, max 365)")
    parser.add_argument("--tree", type=Path, help="replay tree to reuse (written there if it holds none)")
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 365:
        parser.error("--days must be 1..365 (the Tibber sample covers 2022)")
    from benchmarks.bench import FIRST_DAY, RESOLUTION, publish

    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1)
    work = Path(tempfile.mkdtemp(prefix="reservoir_fill_"))
    tree = args.tree or work / "smard_replay"
    if not (tree / "chart_data").is_dir():
        publish(tree, first, last)

    fsyncs = 0
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1  # a race between the pool's threads can miss a count; the figure is for orientation
        real_fsync(fd)

    os.fsync = counted_fsync
    from emission_assets.lakehouse.reservoir import Reservoir
    from emission_assets.smard import reservoir as smard_fill
    from emission_assets.smard.catalog import GENERATION_FILTERS, REGIONS
    from emission_assets.smard.client import SmardClient
    from emission_assets.tibber import reservoir as tibber_fill
    from emission_assets.tibber.resources import TibberResource
    from emission_assets.tibber.sample import SAMPLE_API_URL

    store = Reservoir(work / "reservoir")
    with SmardClient(tree.as_uri()) as client:
        started = time.perf_counter()
        smard = smard_fill.fill(client, store, first, last, regions=list(REGIONS), filters=list(GENERATION_FILTERS),
                                resolution=RESOLUTION)
        smard_wall = time.perf_counter() - started
    smard_fsyncs = fsyncs
    tibber_client = TibberResource(api_url=SAMPLE_API_URL).client()
    home_id = tibber_client.resolve_home(None)
    started = time.perf_counter()
    tibber = tibber_fill.fill(tibber_client, store, first, last, home_id=home_id, source="sample")
    tibber_wall = time.perf_counter() - started
    print(f"SMARD fill: {smard_wall:.2f} s, {len(smard.written):,} windows, {smard_fsyncs:,} fsyncs")
    print(f"Tibber fill: {tibber_wall:.2f} s, {len(tibber.written):,} pages, {fsyncs - smard_fsyncs:,} fsyncs")
    print(f"reservoir: {store.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
