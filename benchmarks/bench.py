"""Benchmark: single-run backfill reservoir -> bronze -> silver -> gold (+ report) against a DuckDB floor.

Run with ``make bench`` or ``.venv/bin/python -m benchmarks.bench [--days N] [--home DIR] [--growth] [--sizes ...]
[--with-make-times]``. Not a test: it prints wall time per layer (from the Dagster run step stats), rows per second,
peak memory, the wall time of a one-day incremental update, and a hand-written DuckDB pass over the same window files
computing the same gold figures (the sample household's kg CO2 per model -- average, merit order, worst emitter -- and
basis, home region DE, and the region's grid intensity per model and basis over every quarter-hour). It checks that
they agree with the gold.emissions_monthly and gold.grid_intensity tables. With ``--storages`` (default
``sqlite,postgres``) the backfill also runs on the other Dagster storages, each in a home of its own, with their event
counts and time per event (:mod:`benchmarks.storage_bench`). With ``--growth`` a backfill per size (1 week .. 5
years, :mod:`benchmarks.growth`), each in a new process and home and checked the same way, gives the growth table;
``--with-make-times`` times ``make demo`` and ``make test`` (:mod:`benchmarks.make_times`). It ends with one line
``full-year ratio to DuckDB floor: X.X`` (lakehouse backfill wall / DuckDB wall; for ``--days`` other than 365 the
ratio is for that many days), after ``five-year wall / one-year wall: X.X`` when both sizes ran. Exit code 1 when
any figure disagrees (any storage, any size) or a make target fails.
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

from benchmarks import growth, make_times, storage_bench

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
    """Write the weekly quarter-hour windows that overlap ``first..last`` for 12 types x 5 regions (and the control
    areas' grid load, which a default fetch requests for the locality model's balance).

    Slots on ``first..last`` get values (``changed_day``'s slots version 1), the rest of each week null (not
    published). With ``changed_day`` only the week holding that day is rewritten. Returns (windows, generation values).
    """
    from emission_assets.smard.catalog import GENERATION_FILTERS, REGIONS, default_filters
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

    def region_windows(region_index):  # a generator: five years of points are never in memory at once
        nonlocal values
        for monday in mondays:
            start = to_epoch_ms(local_midnight(monday))
            end = to_epoch_ms(local_midnight(monday + timedelta(days=7)))
            for filter_id in default_filters(REGIONS[region_index]):
                points = []
                for t in range(start, end, step):
                    if lo <= t < hi:
                        version = 1 if change and change[0] <= t < change[1] else 0
                        points.append((t, region_value(filter_id, region_index, t, version)))
                        values += filter_id in GENERATION_FILTERS
                    else:
                        points.append((t, None))
                yield filter_id, start, points

    for region_index, region in enumerate(REGIONS):
        windows += write_tree(root, region, RESOLUTION, region_windows(region_index), CREATED)
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
        from emission_assets.cli.runs import failure_message

        reason = failure_message(result) if result is not None else "no run was started"
        sys.exit(f"materialise {first}..{last} failed: {reason}")
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
    """Resident memory of this process (the embedded Sail engine runs in it) and of its live child processes.

    The process's peak is the kernel's own high-water mark (``VmHWM``, reset on entry through
    ``/proc/self/clear_refs``), so no allocation burst between two samples is missed however long the run. Samples
    (own resident set every 50 ms, children every 0.5 s: listing them costs ~0.7 ms, the own ``statm`` ~0.02 ms)
    attribute memory to steps by their times. ``ru_maxrss`` of children is no use here: Dagster forks ``tail`` for
    its compute logs, and a forked child reports the parent's resident pages until it execs."""

    PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    INTERVAL_S = 0.05
    CHILDREN_EVERY = 10  # samples

    def __init__(self):
        from array import array

        # Parallel arrays (epoch s, own bytes, children bytes): 8 bytes a figure, a sample per 50 ms for hours.
        self._at, self._own, self._children_bytes = array("d"), array("q"), array("q")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.high_water_bytes: int | None = None  # the kernel's peak for this process while sampling, if readable
        self._hwm_reset = False

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

    def _sample(self, index: int) -> None:
        if index % self.CHILDREN_EVERY == 0 or not self._children_bytes:
            children = sum(self._rss(p) for p in self._children())
        else:
            children = self._children_bytes[-1]
        self._at.append(time.time())
        self._own.append(self._rss("self"))
        self._children_bytes.append(children)

    def _run(self):
        index = 0
        while not self._stop.wait(self.INTERVAL_S):
            self._sample(index)
            index += 1

    def __enter__(self):
        self._hwm_reset = reset_high_water_mark()
        self._sample(0)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample(0)
        self.high_water_bytes = high_water_mark_bytes() if self._hwm_reset else None

    def peak_mb(self, start: float = 0.0, end: float = float("inf")) -> tuple[float, float]:
        """(own, children) peak MB between two epoch times; over the whole sampling the own peak is the kernel's
        high-water mark where it could be reset (never below the largest sample)."""
        inside = [i for i, at in enumerate(self._at) if start <= at <= end]
        if not inside:
            return float("nan"), float("nan")
        own = max(self._own[i] for i in inside)
        if start <= self._at[0] and end >= self._at[-1] and self.high_water_bytes is not None:
            own = max(own, self.high_water_bytes)
        return own / 1e6, max(self._children_bytes[i] for i in inside) / 1e6

    def largest_sample_mb(self) -> float:
        """The largest 50 ms sample of this process (what the tables before the high-water mark showed)."""
        return max(self._own, default=float("nan")) / 1e6


def reset_high_water_mark() -> bool:
    """Reset this process's ``VmHWM`` to its current resident set (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def high_water_mark_bytes() -> int | None:
    """The kernel's peak resident set of this process since start or the last reset (``VmHWM``), None if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


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
    # gold.grid_intensity for the home region over every quarter-hour: the figures a window without consumption
    # still has (the DuckDB floor computes the same three models per quarter-hour).
    intensity = {(r.model, r.basis): {"quarter_hours": int(r.n), "g_sum": float(r.g_sum),
                                      "weighted_g": float(r.weighted_g)} for r in sql(
        "SELECT model, basis, count(g_per_kwh) AS n, sum(g_per_kwh) AS g_sum, "
        "sum(g_per_kwh * production_mwh) / sum(production_mwh) AS weighted_g FROM gold.grid_intensity "
        "WHERE region = 'DE' AND g_per_kwh IS NOT NULL GROUP BY model, basis").collect()}
    return {"silver_production_rows": production, "silver_consumption_rows": consumption, "figures": figures,
            "intensity": intensity}


# --- DuckDB floor ----------------------------------------------------------------------------------------------------

def duckdb_floor(tree: Path, first: date, last: date) -> tuple[float, dict]:
    """The same gold figures straight from the window files, the factors CSV, the unit table, the price CSV, the
    merit-order parameter file and the Tibber sample (hourly sums): the household's kg CO2 per model (average, merit
    order, worst emitter) and basis for the home region DE. The merit order is written again here in DuckDB SQL from
    the files (not from the model's code): the unit stack per local month, short-run marginal cost from the prices
    valid on the month's first day, availability derated to the type's monthly output quantile, must-run per type
    locking the cheapest units, the marginal unit per quarter-hour.
    Locality is left out (it needs redispatch data, which the benchmark has none of), so the floor does less than the
    lakehouse, which computes it too."""
    import duckdb
    import pandas as pd
    import yaml

    from emission_assets.smard.catalog import GENERATION_FILTERS, series
    from emission_assets.tibber.sample import load_quarter_hours
    from emission_assets.timeutil import local_midnight, to_epoch_ms

    data = Path(__file__).resolve().parents[1] / "emission_assets" / "data"
    factors_csv, prices_csv = data / "emission_factors.csv", data / "fuel_prices.csv"
    merit = {k: v["value"] for k, v in yaml.safe_load((data / "merit_order.yaml").read_text())["parameters"].items()}
    units_csv = Path(merit["plant_units_file"]) if Path(merit["plant_units_file"]).is_absolute() \
        else data / merit["plant_units_file"]
    lo, hi = to_epoch_ms(local_midnight(first)), to_epoch_ms(local_midnight(last + timedelta(days=1)))
    types = ", ".join(f"({f}, '{series(f).name}')" for f in GENERATION_FILTERS)
    fuel_kinds = {"lignite": ("lignite", "NULL"), "hard_coal": ("hard_coal", "'hard_coal'"),
                  "natural_gas_ccgt": ("natural_gas", "'natural_gas'"),
                  "natural_gas_other": ("natural_gas", "'natural_gas'"), "oil": ("other_conventional", "'oil'")}
    fuel_rows = ", ".join(
        f"('{fuel}', '{kind}', {commodity}, {float(merit['availability'][fuel])!r}, "
        f"{float(merit['variable_om'][fuel])!r}, {float(merit['co2_factor'][fuel])!r}, "
        f"{float(merit['min_efficiency'][fuel])!r})" for fuel, (kind, commodity) in fuel_kinds.items())
    quantile = {kind: float(q) for kind, q in merit["must_run_quantile"].items()}
    must_run_columns = ", ".join(
        f"coalesce(quantile_cont(power_mw, {q!r}) FILTER (WHERE production_type = '{kind}'), 0) AS mr_{kind}"
        for kind, q in quantile.items())
    derated = {kind: float(q) for kind, q in merit["availability_quantile"].items() if q is not None}
    must_run_columns += "".join(  # the type's available MW in the month from the data (NULL: not derated)
        f", quantile_cont(power_mw, {q!r}) FILTER (WHERE production_type = '{kind}') AS av_{kind}"
        for kind, q in derated.items())
    available_whens = " ".join(f"WHEN '{kind}' THEN m.av_{kind}" for kind in derated)
    available_case = f"CASE u.production_type {available_whens} END" if derated else "NULL"
    must_run_case = " ".join(f"WHEN '{kind}' THEN m.mr_{kind}" for kind in quantile)
    must_run_sum = " + ".join(f"m.mr_{kind}" for kind in quantile)
    residual_types = ", ".join(f"'{kind}'" for kind in quantile)
    eic = "u.eic_code_block IS NOT NULL" if merit["require_eic_code"] else "true"
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
    models = f"""
        types(filter_id, production_type) AS (VALUES {types}),
        fuel_parameters(fuel, production_type, commodity, availability, vom, co2, min_efficiency) AS (VALUES {fuel_rows}),
        factors AS (  -- every version with its validity [valid_from, valid_until) in local days, as the SCD2 dimension
            SELECT production_type, basis, g_per_kwh, CAST(valid_from AS DATE) AS valid_from,
                   coalesce(lead(CAST(valid_from AS DATE)) OVER (PARTITION BY production_type, basis
                                                                 ORDER BY valid_from), DATE '9999-12-31') AS valid_until
            FROM read_csv('{factors_csv}', header = true)
        ),
        p AS (  -- DE quarter-hours with type, power and local month
            SELECT p.t_ms, t.production_type, p.mwh, p.mwh * 4 AS power_mw,
                   date_trunc('month', to_timestamp(p.t_ms / 1000) AT TIME ZONE 'Europe/Berlin') AS local_month,
                   CAST(to_timestamp(p.t_ms / 1000) AT TIME ZONE 'Europe/Berlin' AS DATE) AS local_date
            FROM production p JOIN types t USING (filter_id)
            WHERE p.region = 'DE'
        ),
        totals AS (SELECT t_ms, sum(mwh) AS total_mwh FROM p GROUP BY t_ms),
        must_run AS (SELECT local_month, {must_run_columns} FROM p GROUP BY local_month),
        units AS (  -- the unit table with the CCGT split, the EIC and efficiency rules, availability, O&M, CO2
            SELECT u.unit_id, f.fuel, f.production_type, f.commodity, u.capacity_net_mw,
                   u.capacity_net_mw * f.availability AS ceiling_mw,
                   u.efficiency, f.co2, f.vom, u.commissioned_year, u.shutdown_year
            FROM (SELECT *, CASE WHEN fuel LIKE 'natural_gas%'
                                 THEN CASE WHEN efficiency >= {float(merit['ccgt_min_efficiency'])!r}
                                           THEN 'natural_gas_ccgt' ELSE 'natural_gas_other' END
                                 ELSE fuel END AS stack_fuel
                  FROM read_csv('{units_csv}', header = true,
                                types = {{'unit_id': 'VARCHAR', 'eic_code_block': 'VARCHAR', 'efficiency': 'DOUBLE',
                                          'capacity_net_mw': 'DOUBLE', 'commissioned_year': 'INTEGER',
                                          'shutdown_year': 'INTEGER'}})) u
            JOIN fuel_parameters f ON f.fuel = u.stack_fuel
            WHERE u.efficiency >= f.min_efficiency AND {eic}
        ),
        prices AS (
            SELECT commodity, price, valid_from,
                   coalesce(lead(valid_from) OVER (PARTITION BY commodity ORDER BY valid_from), DATE '9999-12-31')
                     AS valid_until
            FROM read_csv('{prices_csv}', header = true, types = {{'valid_from': 'DATE', 'price': 'DOUBLE'}})
        ),
        costed AS (  -- every operating unit per local month with its short-run marginal cost (EUR/MWh_el)
            SELECT m.local_month, u.*, CASE u.production_type {must_run_case} ELSE 0 END AS type_must_run,
                   {available_case} AS type_available,
                   sum(u.capacity_net_mw) OVER (PARTITION BY m.local_month, u.production_type) AS type_capacity,
                   (CASE WHEN u.fuel = 'lignite' THEN {float(merit['lignite_fuel_cost'])!r} ELSE fp.price END)
                     / u.efficiency + u.co2 / u.efficiency * eua.price + u.vom AS srmc
            FROM must_run m
            JOIN units u ON u.commissioned_year <= year(m.local_month)
                        AND (u.shutdown_year IS NULL OR u.shutdown_year > year(m.local_month))
            JOIN prices eua ON eua.commodity = 'eua' AND eua.valid_from <= CAST(m.local_month AS DATE)
                           AND CAST(m.local_month AS DATE) < eua.valid_until
            LEFT JOIN prices fp ON fp.commodity = u.commodity AND fp.valid_from <= CAST(m.local_month AS DATE)
                               AND CAST(m.local_month AS DATE) < fp.valid_until
            WHERE u.fuel = 'lignite' OR fp.price IS NOT NULL
        ),
        flexible AS (  -- must-run locks the cheapest units of its type; the rest is the flexible stack
            SELECT *, available_mw - least(available_mw, greatest(0, type_must_run - coalesce(sum(available_mw) OVER (
                      PARTITION BY local_month, production_type ORDER BY srmc, unit_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS flexible_mw
            FROM (  -- availability: the fuel's ceiling, derated to the type's available MW in the month pro rata
                SELECT *, CASE WHEN type_available IS NULL THEN ceiling_mw
                               ELSE least(ceiling_mw, capacity_net_mw * type_available / type_capacity) END AS available_mw
                FROM costed)
        ),
        stacked AS (
            SELECT *, sum(flexible_mw) OVER w AS cumulative_mw, row_number() OVER w AS position,
                   count(*) OVER (PARTITION BY local_month) AS stack_units
            FROM flexible WHERE flexible_mw > 1e-9
            WINDOW w AS (PARTITION BY local_month ORDER BY srmc, unit_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        ),
        stack AS (
            SELECT *, coalesce(lag(cumulative_mw) OVER (PARTITION BY local_month ORDER BY srmc, unit_id), 0)
                        AS cumulative_before_mw
            FROM stacked
        ),
        residual AS (
            SELECT q.t_ms, q.local_month, q.fossil_mw - ({must_run_sum}) AS residual_mw
            FROM (SELECT t_ms, local_month,
                         sum(CASE WHEN production_type IN ({residual_types}) THEN power_mw ELSE 0 END) AS fossil_mw
                  FROM p GROUP BY ALL) q
            JOIN must_run m USING (local_month)
        ),
        marginal AS (  -- the first unit whose cumulative capacity reaches the residual (cheapest / last at the ends),
            -- up to 1e-6 MW: at a month's peak quarter-hour the residual ties exactly with a type's derated capacity,
            -- and DuckDB's windowed sum lands a few ulp either side of it, from one query to the next
            SELECT r.t_ms, s.production_type, s.co2 / s.efficiency * 1000 AS direct_g
            FROM residual r JOIN stack s ON s.local_month = r.local_month
             AND (s.cumulative_before_mw < r.residual_mw - 1e-6 OR s.position = 1)
             AND (r.residual_mw - 1e-6 <= s.cumulative_mw OR s.position = s.stack_units)
        ),
        e AS (SELECT p.*, f.basis, f.g_per_kwh FROM p JOIN factors f ON f.production_type = p.production_type
                 AND f.valid_from <= p.local_date AND p.local_date < f.valid_until),
        intensity AS (  -- per quarter-hour, basis and model
            SELECT t_ms, basis, 'average' AS model, sum(mwh * g_per_kwh) / nullif(sum(mwh), 0) AS g FROM e GROUP BY ALL
            UNION ALL
            SELECT t_ms, basis, 'worst_emitter', max(g_per_kwh) FROM e WHERE mwh > 0 GROUP BY ALL
            UNION ALL
            SELECT m.t_ms, 'direct', 'merit_order', m.direct_g FROM marginal m
            UNION ALL  -- lifecycle: the unit's own factor plus its type's upstream share
            SELECT m.t_ms, 'lifecycle', 'merit_order', m.direct_g + fl.g_per_kwh - fd.g_per_kwh
            FROM (SELECT *, CAST(to_timestamp(t_ms / 1000) AT TIME ZONE 'Europe/Berlin' AS DATE) AS local_date
                  FROM marginal) m
            JOIN factors fd ON fd.production_type = m.production_type AND fd.basis = 'direct'
             AND fd.valid_from <= m.local_date AND m.local_date < fd.valid_until
            JOIN factors fl ON fl.production_type = m.production_type AND fl.basis = 'lifecycle'
             AND fl.valid_from <= m.local_date AND m.local_date < fl.valid_until
        )"""
    # The household's figures over the hours it has consumption for (the Tibber sample covers 2022: in a longer
    # window the 2022 hours; the other years are compared by the grid intensity figures below).
    rows = con.execute(f"""
        WITH {models},
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
    # The grid's own figures over every quarter-hour of the window, with or without consumption: a check, computed
    # after the timed pass (the floor's wall stays the household pass it has always been).
    intensity = {(model, basis): {"quarter_hours": n, "g_sum": g_sum, "weighted_g": weighted}
                 for model, basis, n, g_sum, weighted in con.execute(f"""
        WITH {models}
        SELECT i.model, i.basis, count(i.g), sum(i.g), sum(i.g * t.total_mwh) / sum(t.total_mwh)
        FROM intensity i JOIN totals t USING (t_ms) WHERE i.g IS NOT NULL GROUP BY ALL ORDER BY ALL
    """).fetchall()}
    con.close()
    figures = {(model, basis): {"kg": kg, "kwh": kwh, "hours": hours} for model, basis, kg, kwh, hours in rows}
    return wall, {"figures": figures, "intensity": intensity, "values_read": values_read}


# --- report ----------------------------------------------------------------------------------------------------------

def layer_of(step_key: str) -> str:
    head = step_key.split("__", 1)[0]
    return head if head in ("reservoir", "bronze", "silver", "gold") else step_key


def compare(label: str, lake: dict, floor: dict) -> bool:
    """Every (model, basis) DuckDB computes must match the lakehouse's figure: the household's kg CO2 and kWh (the
    hours with consumption) and the home region's grid intensity over every quarter-hour of the window."""
    same = True
    if not floor["figures"]:
        print(f"{label}: no consumption in the window (the Tibber sample covers 2022): household figures not compared")
    for key, expected in sorted(floor["figures"].items()):
        got = lake["figures"].get(key)
        if got is None:
            print(f"{label} {key[0]}/{key[1]}: no lakehouse figure: MISMATCH")
            same = False
            continue
        diff = relative_difference(got["kg"], expected["kg"])
        ok = diff <= TOLERANCE and abs(got["kwh"] - expected["kwh"]) <= 1e-6 * max(expected["kwh"], 1)
        same = same and ok
        print(f"{label} {key[0]}/{key[1]}: lakehouse {got['kg']:,.6f} kg / {got['kwh']:,.3f} kWh, "
              f"DuckDB {expected['kg']:,.6f} kg / {expected['kwh']:,.3f} kWh, relative difference {diff:.1e}: "
              f"{'MATCH' if ok else 'MISMATCH'}")
    for key, expected in sorted(floor["intensity"].items()):
        got = lake["intensity"].get(key)
        if got is None:
            print(f"{label} grid intensity DE {key[0]}/{key[1]}: no lakehouse figure: MISMATCH")
            same = False
            continue
        diff = max(relative_difference(got["g_sum"], expected["g_sum"]),
                   relative_difference(got["weighted_g"], expected["weighted_g"]))
        ok = diff <= TOLERANCE and got["quarter_hours"] == expected["quarter_hours"]
        same = same and ok
        print(f"{label} grid intensity DE {key[0]}/{key[1]}: lakehouse {got['quarter_hours']:,} quarter-hours, "
              f"mean {got['weighted_g']:,.6f} g/kWh (generation-weighted), DuckDB {expected['quarter_hours']:,}, "
              f"{expected['weighted_g']:,.6f} g/kWh, relative difference {diff:.1e}: {'MATCH' if ok else 'MISMATCH'}")
    if not floor["intensity"]:
        print(f"{label}: DuckDB computed no grid intensity: MISMATCH")
        same = False
    return same


def relative_difference(got: float, expected: float) -> float:
    return abs(got - expected) / max(abs(expected), 1e-12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days from 2022-01-01 (default 365, max 365)")
    parser.add_argument("--home", type=Path, help="work directory (kept); default a temp dir, removed afterwards")
    parser.add_argument("--storages", default="sqlite,postgres",
                        help="comma-separated Dagster storages to backfill on: sqlite (files), postgres (a PostgreSQL "
                        "server from pgserver); the first runs the whole benchmark (default sqlite,postgres)")
    parser.add_argument("--growth", action="store_true",
                        help="after the headline run, the growth table: a backfill per size in a new process and home, "
                        "each checked against the DuckDB floor (make bench turns it on)")
    parser.add_argument("--sizes", help="growth sizes in days, windows ending 2022-12-31 (default "
                        f"{','.join(map(str, growth.DEFAULT_SIZES))}: 1 week, 1 month, 1 year, 5 years); implies --growth")
    parser.add_argument("--keep", action="store_true", help="keep each growth size's files (needs --home)")
    parser.add_argument("--with-make-times", action="store_true",
                        help="time `make demo` and `make test` in this checkout at the end (make bench turns it on)")
    args = parser.parse_args(argv)
    startup_environment = dict(os.environ)  # for the growth workers and make: none of the benchmark's settings
    if not 1 <= args.days <= 365:
        parser.error("--days must be 1..365 (the Tibber sample covers 2022)")
    try:
        storages = storage_bench.parse_storages(args.storages)
        sizes = growth.parse_sizes(args.sizes or ",".join(map(str, growth.DEFAULT_SIZES)))
    except ValueError as error:
        parser.error(str(error))
    run_growth = args.growth or args.sizes is not None
    if args.keep and not args.home:
        parser.error("--keep needs --home (without it the work directory is removed at the end)")
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
        servers.close()

        sized = []
        if run_growth:
            sized = growth.run(sizes, work, storage=storages[0], environment=startup_environment, keep=args.keep)
            same_everywhere = same_everywhere and all(r.same_numbers for r in sized if not r.error)
        failed_sizes = [growth.size_name(r.days) for r in sized if r.error]
        make_ok = True
        timings = []
        if args.with_make_times:
            try:
                timings = make_times.time_targets(list(make_times.TARGETS),
                                                  Path(tempfile.mkdtemp(prefix="emission_bench_make_")),
                                                  startup_environment)
            except FileNotFoundError as error:
                print(f"\n{error}")
                make_ok = False
            make_ok = make_ok and all(t.exit_code == 0 for t in timings)

        if sized:
            print(f"\ngrowth ({storages[0]} storage; each size a new process and home, windows ending "
                  f"{growth.LAST_DAY}; peak RSS: the process's high-water mark during the backfill; target: five "
                  "years <= 5x the year's wall):")
            print(growth.table(sized))
        if timings:
            print("\nmake targets in this checkout (after the install, a fresh EMISSION_HOME each):")
            print(make_times.table(timings))
            if not make_ok:
                print("make: a target FAILED (see its log)")
        if failed_sizes:
            print(f"growth: not measured (failed): {', '.join(failed_sizes)}")
        print(f"same numbers: {'yes' if same_everywhere else 'NO'}")
        ratio_line = growth.wall_ratio_line(sized)
        if ratio_line:
            print(ratio_line)
        print(f"full-year ratio to DuckDB floor: {backfill_wall / floor_wall:.1f}")
        return 0 if same_everywhere and make_ok and not failed_sizes else 1
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
        ("peak RSS, backfill (process incl. embedded Sail; the kernel's high-water mark)", f"{rss_self:,.0f} MB"),
        ("peak RSS, backfill: largest 50 ms sample (how the earlier tables of docs/benchmarks.md measured it)",
         f"{memory.largest_sample_mb():,.0f} MB"),
        ("peak RSS, backfill (child processes, sampled)", f"{rss_children:,.0f} MB"),
        ("peak RSS, one-day update in the benchmark process (keeps the backfill's memory)",
         f"{incremental_memory.peak_mb()[0]:,.0f} MB"),
        ("one-day update as `emission-tracker materialize` in a new process: wall, peak RSS",
         f"{cli_wall:,.1f} s, {cli_memory.peak_mb()[1]:,.0f} MB"),
        ("one-day update (refresh) in the benchmark process: wall incl. Dagster", f"{incremental_wall:,.1f} s"),
        ("DuckDB floor wall (backfill / after update)", f"{floor_wall:,.2f} s / {floor_wall_after:,.2f} s"),
        ("DuckDB values read", f"{floor['values_read']:,}"),
        ("figures compared (DuckDB = lakehouse)", ", ".join(f"{m}/{b}" for m, b in sorted(floor["figures"]))
         + f"; the same for DE's grid intensity over "
         f"{max((f['quarter_hours'] for f in floor['intensity'].values()), default=0):,} quarter-hours"),
        ("kg CO2 average/direct (lakehouse, DuckDB)",
         f"{lake['figures'].get(('average', 'direct'), {}).get('kg', float('nan')):,.3f}, "
         f"{floor['figures'].get(('average', 'direct'), {}).get('kg', float('nan')):,.3f}"),
        ("ratio backfill wall / DuckDB wall", f"{backfill_wall / floor_wall:,.1f}"),
    ]
    print()
    print(tabulate(rows, headers=["figure", "value"], tablefmt="github"))


if __name__ == "__main__":
    sys.exit(main())
