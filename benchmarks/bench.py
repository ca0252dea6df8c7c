"""Benchmark: single-run backfill reservoir -> bronze -> silver -> gold (+ report) against a DuckDB floor.

Run with ``make bench`` or ``.venv/bin/python -m benchmarks.bench [--days N] [--home DIR]``. Not a test: it prints
wall time per layer (from the Dagster run step stats), rows per second, peak memory, the wall time of a one-day
incremental update, and a hand-written DuckDB pass over the same window files computing the same gold figures
(the sample household's kg CO2 per model -- average, merit order, worst emitter -- and basis, home region DE). It
checks that they agree with the gold.emissions_monthly table. With ``--storages`` (default ``sqlite,postgres``) the
backfill also runs on the other Dagster storages, each in a home of its own, with their event counts and time per
event (:mod:`benchmarks.storage_bench`). It ends
with one line ``full-year ratio to DuckDB floor: X.X`` (lakehouse backfill wall / DuckDB wall; for ``--days`` other
than 365 the ratio is for that many days).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from benchmarks import storage_bench

FIRST_DAY = date(2022, 1, 1)  # the Tibber sample household's year
RESOLUTION = "quarterhour"
SELECTION = ["tag:source=smard", "tag:source=tibber", "tag:source=factors", "tag:source=gold"]
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
TOLERANCE = 1e-6  # relative, DuckDB vs lakehouse kg CO2


# --- input -----------------------------------------------------------------------------------------------------------

def region_value(filter_id: int, region_index: int, epoch_ms: int, version: int) -> float:
    """Deterministic per filter, region, interval and data version (exact in binary floating point)."""
    from emission_assets_tests.support.fake_smard import synthetic_value

    return synthetic_value(filter_id, epoch_ms, version) + region_index * 50


def publish(root: Path, first: date, last: date, *, changed_day: date | None = None) -> tuple[int, int]:
    """Write the weekly quarter-hour windows that overlap ``first..last`` for 12 types x 5 regions.

    Slots on ``first..last`` get values (``changed_day``'s slots version 1), the rest of each week null (not
    published). With ``changed_day`` only the week holding that day is rewritten. Returns (windows, values).
    """
    from emission_assets.smard.catalog import GENERATION_FILTERS, REGIONS
    from emission_assets.smard.replay import write_tree
    from emission_assets.timeutil import local_midnight, to_epoch_ms, week_start

    step = 900_000
    lo, hi = to_epoch_ms(local_midnight(first)), to_epoch_ms(local_midnight(last + timedelta(days=1)))
    change = ((to_epoch_ms(local_midnight(changed_day)), to_epoch_ms(local_midnight(changed_day + timedelta(days=1))))
              if changed_day else None)
    mondays = []
    monday = week_start(changed_day or first)
    while monday <= (changed_day or last):
        mondays.append(monday)
        monday += timedelta(days=7)
    windows = values = 0
    for region_index, region in enumerate(REGIONS):
        batch = []
        for monday in mondays:
            start = to_epoch_ms(local_midnight(monday))
            end = to_epoch_ms(local_midnight(monday + timedelta(days=7)))
            for filter_id in GENERATION_FILTERS:
                points = []
                for t in range(start, end, step):
                    if lo <= t < hi:
                        version = 1 if change and change[0] <= t < change[1] else 0
                        points.append((t, region_value(filter_id, region_index, t, version)))
                        values += 1
                    else:
                        points.append((t, None))
                batch.append((filter_id, start, points))
        windows += write_tree(root, region, RESOLUTION, batch, CREATED)
    return windows, values


# --- lakehouse -------------------------------------------------------------------------------------------------------

def run_ids(instance) -> set[str]:
    return {r.run_id for r in instance.get_runs()}


def materialize(first: date, last: date, refresh: bool = False) -> tuple[float, list[str]]:
    """One ``run_materialize`` call; returns wall seconds and the ids of the runs it made (oldest first)."""
    from dagster import DagsterInstance

    from emission_assets.cli import prepare_dagster_home, run_materialize
    from emission_assets.smard.catalog import REGIONS

    prepare_dagster_home()
    with DagsterInstance.get() as instance:
        before = run_ids(instance)
    config = {"regions": list(REGIONS), "resolution": RESOLUTION}
    if refresh:
        config["refresh"] = True
    started = time.perf_counter()
    result = run_materialize(first, last, SELECTION, config)
    wall = time.perf_counter() - started
    if result is None or not result.success:
        sys.exit(f"materialise {first}..{last} failed (see the message above)")
    with DagsterInstance.get() as instance:
        runs = [r for r in reversed(instance.get_runs()) if r.run_id not in before]
    return wall, [r.run_id for r in runs]


def step_stats(ids: list[str]) -> list[tuple[str, float, float, float]]:
    """(step key, start, end, seconds) of every step of the runs, in execution order (times: epoch seconds)."""
    from dagster import DagsterInstance

    steps = []
    with DagsterInstance.get() as instance:
        for run_id in ids:
            for s in instance.get_run_step_stats(run_id):
                if s.start_time is not None and s.end_time is not None:
                    steps.append((s.step_key, s.start_time, s.end_time, s.end_time - s.start_time))
    return sorted(steps, key=lambda step: step[1])


class MemorySampler:
    """Resident memory of this process (the embedded Sail engine runs in it) and of its live child processes,
    sampled every 50 ms from /proc. ``ru_maxrss`` of children is no use here: Dagster forks ``tail`` for its compute
    logs, and a forked child reports the parent's resident pages until it execs."""

    PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __init__(self):
        self.samples: list[tuple[float, int, int]] = []  # (epoch, own bytes, children bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(pid) -> int:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                return int(handle.read().split()[1]) * MemorySampler.PAGE
        except (OSError, IndexError, ValueError):
            return 0

    def _children(self) -> list[str]:
        pids = []
        for task in Path("/proc/self/task").iterdir():
            try:
                pids += (task / "children").read_text().split()
            except OSError:
                pass
        return pids

    def _run(self):
        while not self._stop.wait(0.05):
            self.samples.append((time.time(), self._rss("self"), sum(self._rss(p) for p in self._children())))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def peak_mb(self, start: float = 0.0, end: float = float("inf")) -> tuple[float, float]:
        inside = [(own, children) for at, own, children in self.samples if start <= at <= end]
        if not inside:
            return float("nan"), float("nan")
        return max(o for o, _ in inside) / 1e6, max(c for _, c in inside) / 1e6


def cli_update(day: date) -> float:
    """``emission-tracker materialize`` of one day (refresh) in a new process; returns its wall seconds."""
    import subprocess

    from emission_assets.smard.catalog import REGIONS

    command = [str(Path(sys.executable).with_name("emission-tracker")), "materialize", "--start", str(day), "--end",
               str(day), "--resolution", RESOLUTION, "--refresh", *[f"--region={r}" for r in REGIONS]]
    for selected in SELECTION:
        command += ["--select", selected]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def lakehouse_figures() -> dict:
    from emission_assets.lakehouse.session import open_lakehouse

    sql = open_lakehouse().spark.sql
    production = sql("SELECT count(*) AS n FROM silver.production").collect()[0].n
    consumption = sql("SELECT count(*) AS n FROM silver.consumption").collect()[0].n
    # The gold.emissions_monthly table, summed over the months: the figures the user sees.
    figures = {(r.model, r.basis): {"kg": float(r.kg), "kwh": float(r.kwh)} for r in sql(
        "SELECT model, basis, sum(emissions_kg) AS kg, sum(energy_kwh) AS kwh FROM gold.emissions_monthly "
        "GROUP BY model, basis").collect()}
    return {"silver_production_rows": production, "silver_consumption_rows": consumption, "figures": figures}


# --- DuckDB floor ----------------------------------------------------------------------------------------------------

def duckdb_floor(tree: Path, first: date, last: date) -> tuple[float, dict]:
    """The same gold figures straight from the window files, the factors CSV, the plant capacities and the Tibber
    sample (hourly sums): the household's kg CO2 per model (average, merit order, worst emitter) and basis for the
    home region DE. Locality is left out (it needs redispatch data, which the benchmark has none of), so the floor
    does less than the lakehouse, which computes it too."""
    import duckdb
    import pandas as pd

    from emission_assets.models.merit_order import (
        DISPATCHABLE_ORDER,
        FLEXIBLE_MARGIN_SHARE,
        MUST_RUN_PERCENTILE,
        RENEWABLE_TYPES,
        plant_capacity,
    )
    from emission_assets.smard.catalog import GENERATION_FILTERS, series
    from emission_assets.tibber.sample import load_quarter_hours
    from emission_assets.timeutil import local_midnight, to_epoch_ms

    factors_csv = Path(__file__).resolve().parents[1] / "emission_assets" / "data" / "emission_factors.csv"
    lo, hi = to_epoch_ms(local_midnight(first)), to_epoch_ms(local_midnight(last + timedelta(days=1)))
    types = ", ".join(f"({f}, '{series(f).name}')" for f in GENERATION_FILTERS)
    ranks = ", ".join([f"('{t}', 0)" for t in RENEWABLE_TYPES]
                      + [f"('{t}', {rank})" for rank, t in enumerate(DISPATCHABLE_ORDER, start=1)])
    capacity = ", ".join(f"('{t}', {plant_capacity().get(t, 0.0)!r})" for t in DISPATCHABLE_ORDER)
    started = time.perf_counter()
    # The household's hourly kWh as the (sample) Tibber API serves them: the sum of the four quarter-hours,
    # rounded to Wh with Python's round() (summing in DuckDB changes the float order and so an odd rounding).
    quarters = load_quarter_hours()
    sums = ((quarters["household_kw"] + quarters["ev_kw"]) * 0.25).groupby(
        quarters["interval_start_ms"] // 3_600_000, sort=True).sum()
    hourly = pd.DataFrame({"hour": sums.index.astype("int64"), "kwh": [round(float(v), 3) for v in sums]})
    con = duckdb.connect()
    con.register("hourly", hourly)
    con.execute(f"""
        CREATE TABLE production AS
        SELECT CAST(regexp_extract(filename, '(\\d+)_([A-Za-z0-9]+)_quarterhour_\\d+\\.json$', 1) AS INTEGER) AS filter_id,
               regexp_extract(filename, '(\\d+)_([A-Za-z0-9]+)_quarterhour_\\d+\\.json$', 2) AS region,
               CAST(p[1] AS BIGINT) AS t_ms, p[2] AS mwh
        FROM (SELECT filename, unnest(series) AS p
              FROM read_json('{tree}/chart_data/*/*/*_quarterhour_*.json', filename = true,
                             columns = {{'meta_data': 'JSON', 'series': 'DOUBLE[][]'}}))
        WHERE p[2] IS NOT NULL AND p[1] >= {lo} AND p[1] < {hi}
    """)
    rows = con.execute(f"""
        WITH types(filter_id, production_type) AS (VALUES {types}),
        ranks(production_type, merit_rank) AS (VALUES {ranks}),
        capacity(production_type, capacity_mw) AS (VALUES {capacity}),
        factors AS (
            SELECT production_type, basis, g_per_kwh FROM read_csv('{factors_csv}', header = true)
            WHERE valid_from <= DATE '{first}'
            QUALIFY row_number() OVER (PARTITION BY production_type, basis ORDER BY valid_from DESC) = 1
        ),
        p AS (  -- DE quarter-hours with type, merit rank, power and local month
            SELECT p.t_ms, t.production_type, p.mwh, p.mwh * 4 AS power_mw, r.merit_rank,
                   date_trunc('month', to_timestamp(p.t_ms / 1000) AT TIME ZONE 'Europe/Berlin') AS local_month
            FROM production p JOIN types t USING (filter_id) LEFT JOIN ranks r USING (production_type)
            WHERE p.region = 'DE'
        ),
        totals AS (SELECT t_ms, sum(mwh) AS total_mwh FROM p GROUP BY t_ms),
        must_run AS (
            SELECT production_type, local_month, quantile_cont(power_mw, {MUST_RUN_PERCENTILE}) AS must_run_mw
            FROM p WHERE merit_rank >= 1 GROUP BY ALL
        ),
        marginal AS (
            SELECT p.t_ms, coalesce(
                max(CASE WHEN p.merit_rank >= 1
                          AND p.power_mw > m.must_run_mw + {FLEXIBLE_MARGIN_SHARE} * c.capacity_mw
                         THEN p.merit_rank END),
                min(CASE WHEN p.merit_rank >= 1 AND p.mwh > 0 THEN p.merit_rank END)) AS marginal_rank
            FROM p LEFT JOIN must_run m USING (production_type, local_month) LEFT JOIN capacity c USING (production_type)
            GROUP BY p.t_ms
        ),
        e AS (SELECT p.*, f.basis, f.g_per_kwh FROM p JOIN factors f USING (production_type)),
        intensity AS (  -- per quarter-hour, basis and model
            SELECT t_ms, basis, 'average' AS model, sum(mwh * g_per_kwh) / nullif(sum(mwh), 0) AS g FROM e GROUP BY ALL
            UNION ALL
            SELECT t_ms, basis, 'worst_emitter', max(g_per_kwh) FROM e WHERE mwh > 0 GROUP BY ALL
            UNION ALL
            SELECT e.t_ms, e.basis, 'merit_order',
                   CASE WHEN any_value(m.marginal_rank) IS NULL  -- renewable surplus: the renewables' mix
                        THEN sum(CASE WHEN e.merit_rank = 0 THEN e.mwh * e.g_per_kwh END)
                             / nullif(sum(CASE WHEN e.merit_rank = 0 THEN e.mwh END), 0)
                        ELSE max(CASE WHEN e.merit_rank = m.marginal_rank THEN e.g_per_kwh END) END
            FROM e JOIN marginal m USING (t_ms) GROUP BY ALL
        ),
        hourly_intensity AS (  -- quarter-hours weighted by their total generation
            SELECT i.t_ms // 3600000 AS hour, i.basis, i.model,
                   sum(i.g * t.total_mwh) / sum(t.total_mwh) AS g
            FROM intensity i JOIN totals t USING (t_ms) WHERE i.g IS NOT NULL GROUP BY ALL
        ),
        consumption AS (
            SELECT hour, kwh FROM hourly WHERE hour >= {lo // 3_600_000} AND hour < {hi // 3_600_000}
        )
        SELECT i.model, i.basis, sum(c.kwh * i.g) / 1000 AS kg, sum(c.kwh) AS kwh, count(*) AS hours
        FROM consumption c JOIN hourly_intensity i ON i.hour = c.hour
        GROUP BY ALL ORDER BY ALL
    """).fetchall()
    values_read = con.execute("SELECT count(*) FROM production").fetchone()[0]
    wall = time.perf_counter() - started
    con.close()
    figures = {(model, basis): {"kg": kg, "kwh": kwh, "hours": hours} for model, basis, kg, kwh, hours in rows}
    return wall, {"figures": figures, "values_read": values_read}


# --- report ----------------------------------------------------------------------------------------------------------

def layer_of(step_key: str) -> str:
    head = step_key.split("__", 1)[0]
    return head if head in ("reservoir", "bronze", "silver", "gold") else step_key


def compare(label: str, lake: dict, floor: dict) -> bool:
    """Every (model, basis) DuckDB computes must match the lakehouse's figure."""
    same = True
    for key, expected in sorted(floor["figures"].items()):
        got = lake["figures"].get(key)
        if got is None:
            print(f"{label} {key[0]}/{key[1]}: no lakehouse figure: MISMATCH")
            same = False
            continue
        diff = abs(got["kg"] - expected["kg"]) / max(abs(expected["kg"]), 1e-12)
        ok = diff <= TOLERANCE and abs(got["kwh"] - expected["kwh"]) <= 1e-6 * max(expected["kwh"], 1)
        same = same and ok
        print(f"{label} {key[0]}/{key[1]}: lakehouse {got['kg']:,.6f} kg / {got['kwh']:,.3f} kWh, "
              f"DuckDB {expected['kg']:,.6f} kg / {expected['kwh']:,.3f} kWh, relative difference {diff:.1e}: "
              f"{'MATCH' if ok else 'MISMATCH'}")
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days from 2022-01-01 (default 365, max 365)")
    parser.add_argument("--home", type=Path, help="work directory (kept); default a temp dir, removed afterwards")
    parser.add_argument("--storages", default="sqlite,postgres",
                        help="comma-separated Dagster storages to backfill on: sqlite (files), postgres (a PostgreSQL "
                        "server from pgserver); the first runs the whole benchmark (default sqlite,postgres)")
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 365:
        parser.error("--days must be 1..365 (the Tibber sample covers 2022)")
    try:
        storages = storage_bench.parse_storages(args.storages)
    except ValueError as error:
        parser.error(str(error))
    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1)

    work = args.home.resolve() if args.home else Path(tempfile.mkdtemp(prefix="emission_bench_"))
    tree, home = work / "smard_replay", work / "home"
    if home.exists() or tree.exists():
        parser.error(f"{work} already holds a benchmark (smard_replay/ or home/): use a fresh --home")
    from emission_assets.tibber.sample import SAMPLE_API_URL
    from emission_assets.timeutil import week_start

    os.environ.update({"EMISSION_HOME": str(home), "SMARD_BASE_URL": tree.as_uri(),
                       "TIBBER_API_URL": SAMPLE_API_URL, "EMISSION_HOME_REGION": "DE"})
    os.environ.pop("EMISSION_RESERVOIR", None)
    os.environ.pop("SPARK_REMOTE", None)
    os.environ.pop("EMISSION_ENGINE", None)
    servers = storage_bench.Servers(work)
    try:
        print(f"machine: {os.cpu_count()} CPUs, {_memory_gb():.1f} GB RAM, Python {platform.python_version()}, "
              f"{platform.platform()}")
        print(f"work dir: {work}\ndays: {first}..{last} ({args.days}), 12 types x 5 regions, {RESOLUTION}")

        started = time.perf_counter()
        windows, values = publish(tree, first, last)
        generate = time.perf_counter() - started
        print(f"generated {windows:,} window files, {values:,} values in {generate:.1f} s")

        if not storage_bench.use_storage(storages[0], home, servers):
            sys.exit(f"storage {storages[0]}: {servers.unavailable}")
        primary = storage_bench.environment()
        with MemorySampler() as memory:
            backfill_wall, backfill_runs = materialize(first, last)
            steps = step_stats(backfill_runs)
        lake = lakehouse_figures()
        floor_wall, floor = duckdb_floor(tree, first, last)
        same = compare("backfill check", lake, floor)
        by_storage = [storage_bench.measure(storages[0], backfill_wall, backfill_runs, steps, memory.peak_mb()[0],
                                            same)]
        skipped = {}
        for name in storages[1:]:  # the same backfill in a home of its own, on another storage
            if not storage_bench.use_storage(name, work / f"home_{name}", servers):
                skipped[name] = servers.unavailable
                continue
            with MemorySampler() as other_memory:
                other_wall, other_runs = materialize(first, last)
                other_steps = step_stats(other_runs)
            other_same = compare(f"backfill check ({name})", lakehouse_figures(), floor)
            by_storage.append(storage_bench.measure(name, other_wall, other_runs, other_steps,
                                                    other_memory.peak_mb()[0], other_same))
        storage_bench.restore(primary)

        publish(tree, first, last, changed_day=last)
        with MemorySampler() as incremental_memory:
            incremental_wall, incremental_runs = materialize(last, last, refresh=True)
            incremental_steps = step_stats(incremental_runs)
        # The same update as a user's command in a fresh process (what a cron job or `emission-tracker` costs;
        # the in-process figure above keeps the backfill's memory).
        # Its day lies in another weekly window than the day changed above: re-publishing a window resets the
        # other days in it to their first version, which the lakehouse (not refreshed for them) would not follow.
        cli_day = first
        if week_start(cli_day) == week_start(last):
            parser.error("--days must reach into a second week (the fresh-process update changes the first day)")
        publish(tree, first, last, changed_day=cli_day)
        with MemorySampler() as cli_memory:
            cli_wall = cli_update(cli_day)
        lake_after = lakehouse_figures()
        floor_wall_after, floor_after = duckdb_floor(tree, first, last)
        same_after = compare("incremental check (last day changed)", lake_after, floor_after)

        _print_table(args.days, windows, values, backfill_wall, steps, lake, floor_wall, floor, memory,
                     incremental_wall, incremental_steps, incremental_memory, floor_wall_after, cli_wall, cli_memory)
        storage_bench.print_comparison(by_storage, skipped, args.days)
        same_everywhere = same and same_after and all(r.same_numbers for r in by_storage)
        print(f"same numbers: {'yes' if same_everywhere else 'NO'}")
        print(f"full-year ratio to DuckDB floor: {backfill_wall / floor_wall:.1f}")
        return 0 if same_everywhere else 1
    finally:
        servers.close()
        if not args.home:
            shutil.rmtree(work, ignore_errors=True)


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    except (ValueError, OSError):
        return float("nan")


def _print_table(days, windows, values, backfill_wall, steps, lake, floor_wall, floor, memory, incremental_wall,
                 incremental_steps, incremental_memory, floor_wall_after, cli_wall, cli_memory) -> None:
    from tabulate import tabulate

    def step_rows(step_list, sampler):
        return [{"step": key, "seconds": f"{seconds:,.1f}", "peak RSS MB": f"{sampler.peak_mb(start, end)[0]:,.0f}"}
                for key, start, end, seconds in step_list]

    layers: dict[str, float] = {}
    for key, _, _, seconds in steps:
        layers[layer_of(key)] = layers.get(layer_of(key), 0.0) + seconds
    silver_production = sum(s for k, _, _, s in steps if k == "silver__production")
    in_steps = sum(s for _, _, _, s in steps)
    rss_self, rss_children = memory.peak_mb()
    print(f"\nbackfill steps ({days} days, one Dagster run for the range plus the factor / report runs):")
    print(tabulate(step_rows(steps, memory), headers="keys", tablefmt="github"))
    print("\nincremental steps (1 day, refresh):")
    print(tabulate(step_rows(incremental_steps, incremental_memory), headers="keys", tablefmt="github"))
    rows = [("input", f"{windows:,} window files, {values:,} values")]
    rows += [(f"backfill: {layer} (sum of steps)", f"{seconds:,.1f} s") for layer, seconds in layers.items()]
    rows += [
        ("backfill: Dagster / session overhead (wall - steps)", f"{backfill_wall - in_steps:,.1f} s"),
        ("backfill: total wall", f"{backfill_wall:,.1f} s"),
        ("silver.production rows", f"{lake['silver_production_rows']:,}"),
        ("silver.consumption rows", f"{lake['silver_consumption_rows']:,}"),
        ("silver rows / s (silver/production step)",
         f"{lake['silver_production_rows'] / silver_production:,.0f}" if silver_production else "n/a"),
        ("input values / s (backfill wall)", f"{values / backfill_wall:,.0f}"),
        ("peak RSS, backfill (process incl. embedded Sail)", f"{rss_self:,.0f} MB"),
        ("peak RSS, backfill (child processes, sampled)", f"{rss_children:,.0f} MB"),
        ("peak RSS, one-day update in the benchmark process (keeps the backfill's memory)",
         f"{incremental_memory.peak_mb()[0]:,.0f} MB"),
        ("one-day update as `emission-tracker materialize` in a new process: wall, peak RSS",
         f"{cli_wall:,.1f} s, {cli_memory.peak_mb()[1]:,.0f} MB"),
        ("one-day update (refresh) in the benchmark process: wall incl. Dagster", f"{incremental_wall:,.1f} s"),
        ("DuckDB floor wall (backfill / after update)", f"{floor_wall:,.2f} s / {floor_wall_after:,.2f} s"),
        ("DuckDB values read", f"{floor['values_read']:,}"),
        ("figures compared (DuckDB = lakehouse)", ", ".join(f"{m}/{b}" for m, b in sorted(floor["figures"]))),
        ("kg CO2 average/direct (lakehouse, DuckDB)",
         f"{lake['figures'].get(('average', 'direct'), {}).get('kg', float('nan')):,.3f}, "
         f"{floor['figures'].get(('average', 'direct'), {}).get('kg', float('nan')):,.3f}"),
        ("ratio backfill wall / DuckDB wall", f"{backfill_wall / floor_wall:,.1f}"),
    ]
    print()
    print(tabulate(rows, headers=["figure", "value"], tablefmt="github"))


if __name__ == "__main__":
    sys.exit(main())
