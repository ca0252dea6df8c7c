"""How the backfill grows with the data: ``bench.py --growth`` (default sizes 1 week, 1 month, 1 year, 5 years).

Each size runs in a process and a home of its own (``python -m benchmarks.growth --days N --work DIR``, started by
:func:`run`): the window files are generated, one ``run_materialize`` backfills them (the benchmark's selection), the
same-run DuckDB floor computes the same figures from the files, and every figure is compared. A fresh process per size
keeps one size's memory (the allocator keeps freed pages, the engine its caches) out of the next size's peak, and
gives every size the same engine start. The peak RSS is the worker's kernel high-water mark during the backfill.

Every window ends on :data:`LAST_DAY`, 2022-12-31, and reaches back N days: a backfill cannot reach past yesterday
(the last day partition), the bundled Tibber household covers 2022 only, and so every size has household
consumption on its last days; the year is 2022 (the headline's window), five years (1826 days) are 2018-2022,
10.5 million values for 12 types x 5 regions. The years without consumption (2018-2021) are compared by their grid
intensity: the household's kg CO2 figures are compared over the hours with consumption (2022), the home region's
intensity (three models x two bases: quarter-hours and generation-weighted mean) over every quarter-hour.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

LAST_DAY = date(2022, 12, 31)  # the Tibber sample household's last day
FIRST_PARTITION = date(2015, 1, 1)  # emission_assets.orchestration.partitions.FIRST_DAY
DEFAULT_SIZES = (7, 31, 365, 1826)
SIZE_NAMES = {7: "1 week", 31: "1 month", 365: "1 year", 1826: "5 years"}
ONE_YEAR, FIVE_YEARS = 365, 1826
RESULT_FILE = "growth_figures.json"


@dataclass
class SizeFigures:
    days: int
    first_day: str
    last_day: str
    windows: int = 0
    values: int = 0
    generate_s: float = float("nan")
    backfill_s: float = float("nan")
    steps_s: float = float("nan")
    peak_rss_mb: float = float("nan")  # the worker's high-water mark during the backfill
    sampled_rss_mb: float = float("nan")  # its largest 50 ms sample
    children_rss_mb: float = float("nan")
    floor_s: float = float("nan")
    household_hours: int = 0  # hours with consumption in the window, compared as kg CO2 and kWh
    quarter_hours: int = 0  # DE quarter-hours compared as grid intensity
    disk_mb: float = float("nan")  # window files + home after the backfill
    same_numbers: bool = False
    error: str | None = None

    @property
    def ratio(self) -> float:
        return self.backfill_s / self.floor_s if self.floor_s else float("nan")


def parse_sizes(text: str) -> list[int]:
    """``"7,31,365,1826"`` -> [7, 31, 365, 1826] (ascending); raises ValueError naming a size that is not a whole
    number of days from 1 to the days between the first partition and :data:`LAST_DAY`, or is listed twice."""
    most = (LAST_DAY - FIRST_PARTITION).days + 1
    sizes = []
    for part in (p.strip() for p in text.split(",")):
        if not part.isdigit() or not 1 <= int(part) <= most:
            raise ValueError(f"--sizes {text!r}: {part!r} is not a number of days from 1 to {most} "
                             f"(windows end on {LAST_DAY} and start on {FIRST_PARTITION} at the earliest)")
        if int(part) in sizes:
            raise ValueError(f"--sizes {text!r}: {part} is listed twice")
        sizes.append(int(part))
    return sorted(sizes)


def window(days: int, last_day: date = LAST_DAY) -> tuple[date, date]:
    return last_day - timedelta(days=days - 1), last_day


def size_name(days: int) -> str:
    return SIZE_NAMES.get(days, f"{days} days")


# --- one size, in its own process --------------------------------------------------------------------------------

def measure(days: int, work: Path, storage: str, last_day: date = LAST_DAY) -> SizeFigures:
    """Generate, backfill and check one size in ``work`` (fresh); run in a process of its own."""
    from benchmarks import bench, storage_bench
    from emission_assets.tibber.sample import SAMPLE_API_URL

    first, last = window(days, last_day)
    figures = SizeFigures(days, str(first), str(last))
    tree, home = work / "smard_replay", work / "home"
    os.environ.update({"SMARD_BASE_URL": tree.as_uri(), "TIBBER_API_URL": SAMPLE_API_URL,
                       "EMISSION_HOME_REGION": "DE"})
    for name in ("EMISSION_RESERVOIR", "SPARK_REMOTE", "EMISSION_ENGINE"):
        os.environ.pop(name, None)
    servers = storage_bench.Servers(work)
    try:
        started = time.perf_counter()
        figures.windows, figures.values = bench.publish(tree, first, last)
        figures.generate_s = time.perf_counter() - started
        print(f"growth {days} days: generated {figures.windows:,} window files, {figures.values:,} values in "
              f"{figures.generate_s:.1f} s", flush=True)
        if not storage_bench.use_storage(storage, home, servers):
            figures.error = f"storage {storage}: {servers.unavailable}"
            return figures
        with bench.MemorySampler() as memory:  # resets the high-water mark: the generation's memory is not counted
            figures.backfill_s, runs = bench.materialize(first, last)
            steps = bench.step_stats(runs)
        figures.steps_s = sum(seconds for *_, seconds in steps)
        figures.peak_rss_mb, figures.children_rss_mb = memory.peak_mb()
        figures.sampled_rss_mb = memory.largest_sample_mb()
        lake = bench.lakehouse_figures()
        figures.floor_s, floor = bench.duckdb_floor(tree, first, last)
        figures.same_numbers = bench.compare(f"growth {days} days check", lake, floor)
        figures.household_hours = max((f["hours"] for f in floor["figures"].values()), default=0)
        figures.quarter_hours = max((f["quarter_hours"] for f in floor["intensity"].values()), default=0)
        figures.disk_mb = disk_bytes(work) / 1e6
        return figures
    finally:
        servers.close()


def disk_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def worker(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one size of the growth table (started by bench.py --growth)")
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--work", type=Path, required=True, help="a fresh directory for this size")
    parser.add_argument("--storage", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--last-day", type=date.fromisoformat, default=LAST_DAY,
                        help=f"the window's last day (default {LAST_DAY}; another one tries e.g. a window with days "
                        "without consumption at a small size)")
    args = parser.parse_args(argv)
    if args.days < 1 or window(args.days, args.last_day)[0] < FIRST_PARTITION:
        parser.error(f"--days {args.days}: the window must hold a day and start on {FIRST_PARTITION} or later")
    work = args.work.resolve()
    if work.exists() and any(work.iterdir()):
        parser.error(f"--work {work} is not empty: use a fresh directory")
    work.mkdir(parents=True, exist_ok=True)
    figures = measure(args.days, work, args.storage, args.last_day)
    (work / RESULT_FILE).write_text(json.dumps(asdict(figures)))
    return 0 if figures.same_numbers and not figures.error else 1


# --- all sizes (the benchmark process) ---------------------------------------------------------------------------

def run(sizes: list[int], root: Path, *, storage: str, environment: dict[str, str], keep: bool) -> list[SizeFigures]:
    """Each size in a new worker process and a fresh ``root/growth_<N>d``, removed after measuring unless ``keep``."""
    results = []
    repository = Path(__file__).resolve().parents[1]
    for days in sizes:
        work = root / f"growth_{days}d"
        first, last = window(days)
        free_gb = shutil.disk_usage(root).free / 1e9
        print(f"\ngrowth: {size_name(days)} ({first}..{last}) in a new process and home {work} "
              f"({free_gb:,.1f} GB free)", flush=True)
        command = [sys.executable, "-m", "benchmarks.growth", "--days", str(days), "--work", str(work),
                   "--storage", storage]
        done = subprocess.run(command, env=environment, cwd=repository, check=False)
        try:  # written at the end of a measurement, also when the numbers disagree (exit 1)
            figures = SizeFigures(**json.loads((work / RESULT_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            figures = SizeFigures(days, str(first), str(last),
                                  error=f"failed: worker exit {done.returncode} (see its output above)")
        results.append(figures)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return results


def table(results: list[SizeFigures]) -> str:
    """The growth table (GitHub markdown): one row per size."""
    from tabulate import tabulate

    def number(value: float, digits: int = 1) -> str:
        return "n/a" if value != value else f"{value:,.{digits}f}"  # NaN: not measured

    rows = []
    year = next((r for r in results if r.days == ONE_YEAR and not r.error), None)
    for r in results:
        rows.append({
            "size": size_name(r.days),
            "days": f"{r.first_day}..{r.last_day}",
            "window files": f"{r.windows:,}",
            "values": f"{r.values:,}",
            "backfill wall s": number(r.backfill_s),
            "x 1-year wall": number(r.backfill_s / year.backfill_s, 2) if year else "n/a",
            "values / s": number(r.values / r.backfill_s, 0) if r.backfill_s == r.backfill_s else "n/a",
            "peak RSS MB (largest sample)": f"{number(r.peak_rss_mb, 0)} ({number(r.sampled_rss_mb, 0)})",
            "DuckDB floor s": number(r.floor_s, 2),
            "ratio to floor": number(r.ratio),
            "compared: household hours / DE quarter-hours": f"{r.household_hours:,} / {r.quarter_hours:,}",
            "disk MB": number(r.disk_mb, 0),
            "same numbers": r.error or ("yes" if r.same_numbers else "NO"),
        })
    return tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True)


def wall_ratio_line(results: list[SizeFigures]) -> str | None:
    """``five-year wall / one-year wall: X.X`` when both were measured; else the largest over the smallest size."""
    ok = {r.days: r for r in results if not r.error and r.backfill_s == r.backfill_s}
    if ONE_YEAR in ok and FIVE_YEARS in ok:
        return f"five-year wall / one-year wall: {ok[FIVE_YEARS].backfill_s / ok[ONE_YEAR].backfill_s:.1f}"
    if len(ok) >= 2:
        small, large = ok[min(ok)], ok[max(ok)]
        return (f"growth: {size_name(large.days)} wall / {size_name(small.days)} wall: "
                f"{large.backfill_s / small.backfill_s:.1f} (values x{large.values / small.values:.1f})")
    return None


if __name__ == "__main__":
    sys.exit(worker())
