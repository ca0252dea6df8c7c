"""Benchmark: parse time of SMARD CSV exports (``read_smard_csv``), the figure the test suite no longer asserts.

Run with ``.venv/bin/python -m benchmarks.csv_import [FILE ...] [--repeat N]``. Not a test: it prints, per file,
rows, series, values, the best and median wall time of N parses and values per second. Without files it parses
the committed real 2022 excerpt (8,760 hourly rows, 12 series; decompressed to a temporary file first, not timed);
pass a full download-center export, e.g. the 2019-01-01..2023-02-27 hourly generation file, to measure that.
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

from emission_assets.smard.csv_import import read_smard_csv

DEFAULT = (Path(__file__).resolve().parents[1] / "emission_assets_tests" / "fixtures" / "smard"
           / "smard_realisierte_erzeugung_DE_hour_2022-01-01_2022-12-31.csv.gz")


def plain_copy(path: Path, directory: Path) -> Path:
    """``path`` itself, or for a ``.gz`` its decompressed copy in ``directory`` (the parser reads plain CSV)."""
    if path.suffix != ".gz":
        return path
    target = directory / path.name.removesuffix(".gz")
    target.write_bytes(gzip.decompress(path.read_bytes()))
    return target


def measure(path: Path, repeat: int) -> dict:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        parsed = read_smard_csv(path)
        walls.append(time.perf_counter() - started)
    values = sum(1 for points in parsed.series.values() for _, value in points if value is not None)
    rows = max(len(points) for points in parsed.series.values())
    return {"rows": rows, "series": len(parsed.series), "values": values, "best_s": min(walls),
            "median_s": statistics.median(walls)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help=f"SMARD CSV exports (default: {DEFAULT.name})")
    parser.add_argument("--repeat", type=int, default=5, help="parses per file (default 5)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    files = args.files or [DEFAULT]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    print(f"{'file':<70} {'rows':>7} {'series':>6} {'values':>9} {'best s':>8} {'median s':>9} {'values/s':>10}")
    with tempfile.TemporaryDirectory(prefix="csv-bench-") as scratch:
        for path in files:
            figures = measure(plain_copy(path, Path(scratch)), args.repeat)
            print(f"{path.name:<70} {figures['rows']:>7,} {figures['series']:>6} {figures['values']:>9,} "
                  f"{figures['best_s']:>8.3f} {figures['median_s']:>9.3f} "
                  f"{figures['values'] / figures['best_s']:>10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
