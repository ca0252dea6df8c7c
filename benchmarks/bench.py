"""Benchmark: single-run backfill reservoir -> bronze -> silver -> gold (+ report) against a DuckDB floor.

Run with ``make bench`` or ``.venv/bin/python -m benchmarks.bench [--days N] [--home DIR]``. Not a test: it prints
wall time per layer (from the Dagster run step stats), rows per second, peak memory, the wall time of a one-day
incremental update, and a hand-written DuckDB pass over the same window files computing the same gold figure
(average model, direct basis, home region DE, the sample household's kg CO2). It checks that both agree and ends
with one line ``full-year ratio to DuckDB floor: X.X`` (lakehouse backfill wall / DuckDB wall; for ``--days`` other
than 365 the ratio is for that many days).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

FIRST_DAY = date(2022, 1, 1)  # the Tibber sample household's year
RESOLUTION = "quarterhour"
SELECTION = ["tag:source=smard", "tag:source=tibber", "tag:source=factors", "tag:source=gold"]
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
TOLERANCE = 1e-6  # relative, DuckDB vs lakehouse kg CO2


# --- input -----------------------------------------------------------------------------------------------------------

def region_value(filter_id: int, region_index: int, epoch_ms: int, version: int) -> float:
    """Deterministic per filter, region, interval and data version (exact in binary floating point)."""
    from emission_assets_tests.fake_smard import synthetic_value

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


def step_stats(ids: list[str]) -> list[tuple[str, float]]:
    """(step key, seconds) of every step of the runs, in execution order."""
    from dagster import DagsterInstance

    steps = []
    with DagsterInstance.get() as instance:
        for run_id in ids:
            for s in instance.get_run_step_stats(run_id):
                if s.start_time is not None and s.end_time is not None:
                    steps.append((s.start_time, s.step_key, s.end_time - s.start_time))
    return [(key, seconds) for _, key, seconds in sorted(steps)]


def lakehouse_figures() -> dict:
    from emission_assets.lakehouse.session import open_lakehouse

    sql = open_lakehouse().spark.sql
    production = sql("SELECT count(*) AS n FROM silver.production").collect()[0].n
    consumption = sql("SELECT count(*) AS n FROM silver.consumption").collect()[0].n
    gold = sql(
        "SELECT sum(emissions_kg) AS kg, sum(energy_kwh) AS kwh FROM gold.emissions_yearly "
        "WHERE model = 'average' AND basis = 'direct'"
    ).collect()[0]
    return {"silver_production_rows": production, "silver_consumption_rows": consumption,
            "kg": None if gold.kg is None else float(gold.kg), "kwh": None if gold.kwh is None else float(gold.kwh)}


# --- DuckDB floor ----------------------------------------------------------------------------------------------------

def duckdb_floor(tree: Path, first: date, last: date) -> tuple[float, dict]:
    """Same gold figure straight from the window files, the factors CSV and the Tibber sample (hourly sums)."""
    import duckdb
    import pandas as pd

    from emission_assets.smard.catalog import GENERATION_FILTERS, series
    from emission_assets.tibber.sample import load_quarter_hours
    from emission_assets.timeutil import local_midnight, to_epoch_ms

    factors_csv = Path(__file__).resolve().parents[1] / "emission_assets" / "data" / "emission_factors.csv"
    lo, hi = to_epoch_ms(local_midnight(first)), to_epoch_ms(local_midnight(last + timedelta(days=1)))
    types = ", ".join(f"({f}, '{series(f).name}')" for f in GENERATION_FILTERS)
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
    row = con.execute(f"""
        WITH types(filter_id, production_type) AS (VALUES {types}),
        factors AS (
            SELECT production_type, g_per_kwh FROM read_csv('{factors_csv}', header = true)
            WHERE basis = 'direct' AND valid_from <= DATE '{first}'
            QUALIFY row_number() OVER (PARTITION BY production_type ORDER BY valid_from DESC) = 1
        ),
        intensity AS (  -- per region and hour: sum(E * EF) / sum(E) (= the energy-weighted quarter-hours)
            SELECT p.region, p.t_ms // 3600000 AS hour,
                   sum(p.mwh * f.g_per_kwh) / nullif(sum(p.mwh), 0) AS g_per_kwh
            FROM production p JOIN types USING (filter_id) JOIN factors f USING (production_type)
            GROUP BY ALL
        ),
        consumption AS (
            SELECT hour, kwh FROM hourly WHERE hour >= {lo // 3_600_000} AND hour < {hi // 3_600_000}
        )
        SELECT sum(c.kwh * i.g_per_kwh) / 1000 AS kg, sum(c.kwh) AS kwh, count(*) AS hours,
               (SELECT count(*) FROM production) AS values_read,
               (SELECT count(DISTINCT region) FROM intensity) AS regions
        FROM consumption c JOIN intensity i ON i.hour = c.hour AND i.region = 'DE'
    """).fetchone()
    wall = time.perf_counter() - started
    con.close()
    return wall, {"kg": row[0], "kwh": row[1], "hours": row[2], "values_read": row[3], "regions": row[4]}


# --- report ----------------------------------------------------------------------------------------------------------

def peak_rss_mb() -> tuple[float, float]:
    """(this process, its waited-for children) peak resident set size in MB (ru_maxrss is KB on Linux)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def layer_of(step_key: str) -> str:
    head = step_key.split("__", 1)[0]
    return head if head in ("reservoir", "bronze", "silver", "gold") else step_key


def compare(label: str, lake: dict, floor: dict) -> bool:
    if lake["kg"] is None or floor["kg"] is None:
        print(f"{label}: no figure (lakehouse {lake['kg']}, DuckDB {floor['kg']}): MISMATCH")
        return False
    diff = abs(lake["kg"] - floor["kg"]) / max(abs(floor["kg"]), 1e-12)
    same = diff <= TOLERANCE and abs(lake["kwh"] - floor["kwh"]) <= 1e-6 * max(floor["kwh"], 1)
    print(f"{label}: lakehouse {lake['kg']:,.6f} kg / {lake['kwh']:,.3f} kWh, "
          f"DuckDB {floor['kg']:,.6f} kg / {floor['kwh']:,.3f} kWh, relative difference {diff:.2e}: "
          f"{'MATCH' if same else 'MISMATCH'}")
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days from 2022-01-01 (default 365, max 365)")
    parser.add_argument("--home", type=Path, help="work directory (kept); default a temp dir, removed afterwards")
    args = parser.parse_args(argv)
    if not 1 <= args.days <= 365:
        parser.error("--days must be 1..365 (the Tibber sample covers 2022)")
    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=args.days - 1)

    work = args.home.resolve() if args.home else Path(tempfile.mkdtemp(prefix="emission_bench_"))
    tree, home = work / "smard_replay", work / "home"
    if home.exists() or tree.exists():
        parser.error(f"{work} already holds a benchmark (smard_replay/ or home/): use a fresh --home")
    from emission_assets.tibber.sample import SAMPLE_API_URL

    os.environ.update({"EMISSION_HOME": str(home), "SMARD_BASE_URL": tree.as_uri(),
                       "TIBBER_API_URL": SAMPLE_API_URL, "EMISSION_HOME_REGION": "DE"})
    os.environ.pop("EMISSION_RESERVOIR", None)
    os.environ.pop("SPARK_REMOTE", None)
    os.environ.pop("EMISSION_ENGINE", None)
    try:
        print(f"machine: {os.cpu_count()} CPUs, {_memory_gb():.1f} GB RAM, Python {platform.python_version()}, "
              f"{platform.platform()}")
        print(f"work dir: {work}\ndays: {first}..{last} ({args.days}), 12 types x 5 regions, {RESOLUTION}")

        started = time.perf_counter()
        windows, values = publish(tree, first, last)
        generate = time.perf_counter() - started
        print(f"generated {windows:,} window files, {values:,} values in {generate:.1f} s")

        backfill_wall, backfill_runs = materialize(first, last)
        rss_self, rss_children = peak_rss_mb()
        steps = step_stats(backfill_runs)
        lake = lakehouse_figures()
        floor_wall, floor = duckdb_floor(tree, first, last)
        same = compare("backfill check (average, direct, DE)", lake, floor)

        publish(tree, first, last, changed_day=last)
        incremental_wall, incremental_runs = materialize(last, last, refresh=True)
        incremental_steps = step_stats(incremental_runs)
        lake_after = lakehouse_figures()
        floor_wall_after, floor_after = duckdb_floor(tree, first, last)
        same_after = compare("incremental check (last day changed)", lake_after, floor_after)

        _print_table(args.days, windows, values, backfill_wall, steps, lake, floor_wall, floor, rss_self,
                     rss_children, incremental_wall, incremental_steps, floor_wall_after)
        print(f"same numbers: {'yes' if same and same_after else 'NO'}")
        print(f"full-year ratio to DuckDB floor: {backfill_wall / floor_wall:.1f}")
        return 0 if same and same_after else 1
    finally:
        if not args.home:
            shutil.rmtree(work, ignore_errors=True)


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    except (ValueError, OSError):
        return float("nan")


def _print_table(days, windows, values, backfill_wall, steps, lake, floor_wall, floor, rss_self, rss_children,
                 incremental_wall, incremental_steps, floor_wall_after) -> None:
    from tabulate import tabulate

    layers: dict[str, float] = {}
    for key, seconds in steps:
        layers[layer_of(key)] = layers.get(layer_of(key), 0.0) + seconds
    silver_production = sum(s for k, s in steps if k == "silver__production")
    in_steps = sum(s for _, s in steps)
    print(f"\nbackfill steps ({days} days, one Dagster run for the range plus the factor / report runs):")
    print(tabulate([{"step": k, "seconds": f"{s:,.1f}"} for k, s in steps], headers="keys", tablefmt="github"))
    print("\nincremental steps (1 day, refresh):")
    print(tabulate([{"step": k, "seconds": f"{s:,.1f}"} for k, s in incremental_steps], headers="keys",
                   tablefmt="github"))
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
        ("peak RSS (process incl. embedded Sail)", f"{rss_self:,.0f} MB"),
        ("peak RSS (child processes)", f"{rss_children:,.0f} MB"),
        ("incremental 1 day (refresh) wall", f"{incremental_wall:,.1f} s"),
        ("DuckDB floor wall (backfill / after update)", f"{floor_wall:,.2f} s / {floor_wall_after:,.2f} s"),
        ("DuckDB values read", f"{floor['values_read']:,}"),
        ("lakehouse gold kg CO2 (average, direct, DE)", f"{lake['kg']:,.3f}" if lake["kg"] is not None else "none"),
        ("DuckDB kg CO2", f"{floor['kg']:,.3f}" if floor["kg"] is not None else "none"),
        ("ratio backfill wall / DuckDB wall", f"{backfill_wall / floor_wall:,.1f}"),
    ]
    print()
    print(tabulate(rows, headers=["figure", "value"], tablefmt="github"))


if __name__ == "__main__":
    sys.exit(main())
