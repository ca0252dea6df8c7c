"""The materialised gold tables, computed for some local months: ``gold.grid_intensity`` and ``gold.emissions_monthly``.

Both are rewritten a few months per query (:data:`MONTHS_PER_QUERY`) over silver narrowed to those months
(:class:`~emission_assets.gold.months.MonthRegistry`), through the writer's month replacement: exactly the given
months change, every other month keeps its files. Which months to compute is Dagster's decision (monthly partitions
mapped from the daily silver partitions), not this module's.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from emission_assets.gold.aggregates import emissions_sql
from emission_assets.gold.months import Month, MonthRegistry, month_chunks
from emission_assets.gold.scratch import temp_view
from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.writer import DeltaWriter, month_predicate
from emission_assets.models.grid_intensity import grid_intensity_sql
from emission_assets.models.locality import has_input_sql
from emission_assets.models.merit_order import STACK_UNITS, units_sql
from emission_assets.models.production import LOCAL_TIME_ZONE

# Months per query: bounds memory for long histories. A year of 5 regions x 12 types at quarter-hours in one query
# peaked at ~1.5 GB for the process on the embedded engine; 3 months at ~0.85 GB but twice the time (each query
# plans for ~1 s).
MONTHS_PER_QUERY = 6
# gold.grid_intensity is written, not collected: every region x model x basis of a month goes through the write's
# shuffle (the locality and merit order joins hold most of it), so fewer months per query keep the peak near
# silver's. Measured on a year (5 regions x 12 types, quarter-hours, 2 cores, a fresh process writing the 12 months):
# 2, 3, 4, 6 and 12 months per query cost the same CPU (~14-17 s); 3 months peaked at 0.98-1.12 GB, 2 months at
# 0.81-0.93 GB; 1 month (0.73-0.83 GB) planned 12 queries and took ~20 % longer.
GRID_MONTHS_PER_QUERY = 2
MAX_G_PER_KWH = 1500.0  # above any fuel's lifecycle factor (lignite ~1,100-1,200 g/kWh)
SAMPLE = 50
BASES = ("direct", "lifecycle")

GRID_INTENSITY = "gold.grid_intensity"
EMISSIONS_MONTHLY = "gold.emissions_monthly"
PRODUCTION = "silver.production"
FACTORS = "silver.emission_factors"


def _local(part: str, column: str) -> str:
    return f"CAST({part}(from_utc_timestamp({column}, '{LOCAL_TIME_ZONE}')) AS INT)"


def grid_intensity_rows_sql(scope, *, locality: bool = True) -> str:
    """The gold.grid_intensity rows of the scope's months, with their local year and month (partition columns);
    ``locality=False``: without the locality model (see :func:`grid_intensity_sql`)."""
    columns = ", ".join(c for c in spec(GRID_INTENSITY).column_names if c not in ("year", "month"))
    return (f"SELECT {columns}, {_local('year', 'interval_start')} AS year, {_local('month', 'interval_start')} "
            f"AS month FROM ({grid_intensity_sql(scope, locality=locality)}) g")


def emissions_monthly_rows_sql(scope) -> str:
    """The gold.emissions_monthly rows of the scope's months (consumption attributed with gold.grid_intensity)."""
    return f"SELECT {', '.join(spec(EMISSIONS_MONTHLY).column_names)} FROM ({emissions_sql(scope, 'month')}) e"


# The silver.production columns the model SQL reads (the copy leaves out source_file, fetched_at, filter_id, power_mw).
PRODUCTION_COLUMNS = ["interval_start", "interval_end", "region", "production_type", "resolution", "energy_mwh",
                      "year", "month", "day"]


@contextmanager
def staged_table(spark, writer: DeltaWriter, name: str, sql: str, columns: list[str] | None = None) -> Iterator[str]:
    """The rows of ``sql`` (shaped like table ``name``) computed once into a scratch copy
    (:meth:`DeltaWriter.staged`); yields the name of a temporary view over the copy, dropped afterwards.

    Why: Sail inlines every reference to a table, view or CTE (its plans show one scan per reference), so the model
    SQL of one chunk scanned the Delta table silver.production 15 times (locality alone 8) and the factor dimension
    4 times, each scan resolving the Delta log and opening every day partition's files. Over one Parquet copy per
    chunk a year's gold/grid_intensity step took ~30 % less time (measured back to back: 8.8-11.0 s -> 6.4-8.0 s)
    and no more memory. Staging the production x factor join as well did not pay: it costs ~0.2 s a year to compute
    and ~1 s to write."""
    with writer.staged(name, spark.sql(sql), columns) as copy, \
            temp_view(spark, copy, f"staged_{name.replace('.', '_')}") as view:
        yield view


# SQL text -> (its collected rows, their schema), see cached_rows: the text holds every value, so the rows are the
# engine's for it in any session.
_LOCAL_ROWS: dict[str, tuple[list, object]] = {}
_LOCAL_ROWS_LOCK = threading.Lock()


def cached_rows(spark, sql: str) -> tuple[list, object]:
    """The collected rows of ``sql`` (a small relation of literals) and their schema, computed once per process:
    collecting the merit order's VALUES list and analysing it for its schema costs ~1 s on the embedded engine,
    every step. Serialised, so the engine warm-up (:mod:`emission_assets.cli.engine_warmup`) and a step never
    compute it twice."""
    with _LOCAL_ROWS_LOCK:
        if sql not in _LOCAL_ROWS:
            frame = spark.sql(sql)
            rows = frame.collect()
            if len(_LOCAL_ROWS) >= 8:  # other parameters (tests): keep the cache small
                _LOCAL_ROWS.clear()
            _LOCAL_ROWS[sql] = (rows, frame.schema)
        return _LOCAL_ROWS[sql]


def prefetch_units(spark) -> None:
    """Collect the merit order's unit table for the committed parameters (:func:`cached_rows`) ahead of the first
    gold/grid_intensity step."""
    cached_rows(spark, units_sql())


@contextmanager
def local_rows(spark, name: str, sql: str) -> Iterator[str]:
    """The rows of ``sql`` (a small relation) held as local rows in the session (:func:`cached_rows`); yields the
    name of a temporary view over them, dropped afterwards.

    Why: a relation written as a long VALUES list (the merit order's unit table) costs its parsing and planning in
    every query that reads it; local rows (the collected values themselves, so the same figures) cost neither."""
    rows, schema = cached_rows(spark, sql)
    with temp_view(spark, spark.createDataFrame(rows, schema=schema), f"local_{name.replace('.', '_')}") as view:
        yield view


def write_grid_intensity(spark, registry: Registry, months: list[Month], *,
                         months_per_query: int = GRID_MONTHS_PER_QUERY) -> None:
    """Recompute gold.grid_intensity for ``months`` (other months untouched): per chunk of months, over a staged
    copy of the chunk's silver.production and of the factor dimension (see :func:`staged_table`), with the merit
    order's unit table computed once (:func:`local_rows`). A chunk without control-area production leaves the
    locality model out of its query (it would give no rows, yet cost ~0.3-0.5 s of planning per chunk)."""
    writer = DeltaWriter(spark, registry)
    with staged_table(spark, writer, FACTORS, f"SELECT * FROM {registry.sql_name(FACTORS)}") as factors, \
            local_rows(spark, STACK_UNITS, units_sql()) as units:
        for chunk in month_chunks(months, months_per_query):
            narrowed = MonthRegistry(registry, chunk).sql_name(PRODUCTION)
            with staged_table(spark, writer, PRODUCTION, f"SELECT * FROM {narrowed}", PRODUCTION_COLUMNS) as production:
                scope = MonthRegistry(registry, chunk,
                                      staged={PRODUCTION: production, FACTORS: factors, STACK_UNITS: units})
                locality = bool(spark.sql(has_input_sql(scope)).collect())
                rows = spark.sql(grid_intensity_rows_sql(scope, locality=locality))
                writer.replace_months(GRID_INTENSITY, rows, chunk, clip=True)


def write_emissions_monthly(spark, registry: Registry, months: list[Month], *,
                            months_per_query: int = MONTHS_PER_QUERY) -> int:
    """Recompute gold.emissions_monthly for ``months`` from gold.grid_intensity and silver.consumption; returns the
    rows written."""
    return len(write_emissions_monthly_rows(spark, registry, months, months_per_query=months_per_query))


def write_emissions_monthly_rows(spark, registry: Registry, months: list[Month], *,
                                 months_per_query: int = MONTHS_PER_QUERY) -> list:
    """:func:`write_emissions_monthly`, returning the rows written (a few hundred: the asset's metadata is summed
    from them rather than read back)."""
    writer = DeltaWriter(spark, registry)
    table = spec(EMISSIONS_MONTHLY)
    written = []
    for chunk in month_chunks(months, months_per_query):
        # Collected first (a few hundred rows): the writer's range check and the write would each run the query.
        figures = spark.sql(emissions_monthly_rows_sql(MonthRegistry(registry, chunk))).collect()
        writer.replace_months(EMISSIONS_MONTHLY, spark.createDataFrame(figures, schema=table.ddl), chunk)
        written += figures
    return written


def missing_factors_sql(scope) -> str:
    """silver.production rows x basis without an active factor valid at the row's local date."""
    local_date = "make_date(p.year, p.month, p.day)"
    bases = ", ".join(f"('{b}')" for b in BASES)
    return (
        f"SELECT p.production_type, b.basis, {local_date} AS local_date, p.interval_start "
        f"FROM {scope.sql_name('silver.production')} p "
        f"CROSS JOIN (SELECT basis FROM VALUES {bases} AS b(basis)) b "
        f"LEFT ANTI JOIN {scope.sql_name('silver.emission_factors')} f "
        f"ON f.production_type = p.production_type AND f.basis = b.basis AND f.retired_at IS NULL "
        f"AND f.valid_from <= {local_date} AND (f.valid_to IS NULL OR {local_date} < f.valid_to)"
    )


@dataclass
class IntensityChecks:
    """What the two grid_intensity checks found in some months."""

    rows: int = 0
    rows_outside: int = 0
    rows_null: int = 0
    lowest_g_per_kwh: float | None = None
    highest_g_per_kwh: float | None = None
    outside: list[str] = field(default_factory=list)  # sample
    merit_order_rows: int = 0  # for the merit order's check (merit_checks), counted in the same pass
    rows_without_factor: int = 0
    without_factor: list[str] = field(default_factory=list)  # sample, grouped by type and basis


def intensity_checks(spark, registry: Registry, months: list[Month]) -> IntensityChecks:
    """Physical bounds of the written gold.grid_intensity rows of ``months``, and silver.production rows of those
    months without a factor."""
    table = registry.sql_name(GRID_INTENSITY)
    where = month_predicate(months)
    outside = f"g_per_kwh < 0 OR g_per_kwh > {MAX_G_PER_KWH}"
    r = spark.sql(
        f"SELECT count(*) AS n, count_if({outside}) AS outside, count_if(g_per_kwh IS NULL) AS nulls, "
        f"min(g_per_kwh) AS lowest, max(g_per_kwh) AS highest, count_if(model = 'merit_order') AS merit_order_rows "
        f"FROM {table} WHERE {where}").collect()[0]
    found = IntensityChecks(rows=r.n, rows_outside=r.outside, rows_null=r.nulls, lowest_g_per_kwh=r.lowest,
                            highest_g_per_kwh=r.highest, merit_order_rows=r.merit_order_rows)
    if found.rows_outside:
        found.outside = [
            f"{o.interval_start} {o.region} {o.model}/{o.basis}: {o.g_per_kwh:g}"
            for o in spark.sql(
                f"SELECT interval_start, region, model, basis, g_per_kwh FROM {table} WHERE ({where}) AND ({outside}) "
                f"ORDER BY interval_start, region, model, basis LIMIT {SAMPLE}").collect()
        ]
    groups = spark.sql(
        f"SELECT production_type, basis, min(local_date) AS first, max(local_date) AS last, count(*) AS n "
        f"FROM ({missing_factors_sql(MonthRegistry(registry, months))}) "
        f"GROUP BY production_type, basis ORDER BY production_type, basis").collect()
    found.rows_without_factor = sum(g.n for g in groups)
    found.without_factor = [f"{g.production_type} ({g.basis}): {g.n} rows, {g.first}..{g.last}" for g in groups[:SAMPLE]]
    return found


def silver_months(spark, registry: Registry) -> list[Month]:
    """Every local month with silver.production or silver.consumption rows (from the partition columns)."""
    rows = spark.sql(
        f"SELECT DISTINCT year, month FROM {registry.sql_name('silver.production')} UNION "
        f"SELECT DISTINCT year, month FROM {registry.sql_name('silver.consumption')}").collect()
    return sorted((int(r.year), int(r.month)) for r in rows)


def refresh_gold_tables(spark, registry: Registry, months: list[Month] | None = None) -> list[Month]:
    """Recompute both gold tables for ``months`` (default: every month silver holds), grid_intensity first; returns
    the months. What the monthly assets do, for tests and tools."""
    months = silver_months(spark, registry) if months is None else months
    if months:
        write_grid_intensity(spark, registry, months)
        write_emissions_monthly(spark, registry, months)
    return months
