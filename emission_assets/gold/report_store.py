"""The report's store: gold.emissions_monthly kept in ``gold.report_monthly``, recomputed only where inputs changed.

Each local month gets a fingerprint of everything its figures depend on: its silver.production and silver.consumption
data (locally the month's live Delta files, read from the log; in Unity Catalog a count and an order-independent hash
of the rows), the whole factor dimension and redispatch table (small: hashed), and the text of the model SQL (which holds the home region, the control area and the capacity figures). :func:`refresh` recomputes the
months whose fingerprint differs from the stored one, a few months per query (bounded memory), over silver narrowed
to those months (:class:`~emission_assets.gold.scope.MonthScope`), and drops months whose inputs are gone. A month's
figures are written before its fingerprint, so a run that dies in between recomputes that month next time.

The report's two checks are computed with the figures and kept per month in ``gold.report_inputs``, so every run
reports on every month while computing only the changed ones.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from emission_assets.gold.aggregates import control_area, home_region
from emission_assets.gold.report import BASES
from emission_assets.gold.scope import Month, MonthScope
from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.models.intensity import LOCAL_TIME_ZONE

# Months per query: bounds memory for long histories. A year of 5 regions x 12 types at quarter-hours in one query
# peaked at ~1.5 GB for the process on the embedded engine; 3 months at ~0.85 GB but twice the time (each query
# plans for ~1 s).
MONTHS_PER_QUERY = 6
MAX_G_PER_KWH = 1500.0  # above any fuel's lifecycle factor (lignite ~1,100-1,200 g/kWh)
SAMPLE = 50

_PRODUCTION_HASH = "xxhash64(interval_start, interval_end, region, production_type, resolution, energy_mwh)"
_CONSUMPTION_HASH = ("xxhash64(interval_start, interval_end, home_id, source, energy_kwh, ev_kwh, household_kwh, "
                     "cost, currency)")
_FACTORS_HASH = ("xxhash64(factor_id, production_type, basis, g_per_kwh, valid_from, valid_to, recorded_at, "
                 "retired_at)")
_REDISPATCH_HASH = ("xxhash64(measure_start, measure_end, direction, avg_power_mw, energy_mwh, instructing_tso, "
                    "primary_energy)")


@dataclass
class Refresh:
    """What one :func:`refresh` did."""

    months: list[Month]  # every month with inputs, after the refresh
    recomputed: list[Month]
    dropped: list[Month]
    seconds: float
    intensity_offenders: list[str] = field(default_factory=list)  # sample, from the recomputed months
    factor_offenders: list[str] = field(default_factory=list)


def _month_sums(spark, table: str, row_hash: str) -> dict[Month, str]:
    rows = spark.sql(
        f"SELECT year, month, count(*) AS n, bit_xor({row_hash}) AS h FROM {table} GROUP BY year, month"
    ).collect()
    return {(int(r.year), int(r.month)): f"{r.n}:{r.h}" for r in rows}


def _table_sum(spark, table: str, row_hash: str) -> str:
    row = spark.sql(f"SELECT count(*) AS n, bit_xor({row_hash}) AS h FROM {table}").collect()[0]
    return f"{row.n}:{row.h}"


def model_sql_digest(registry: Registry) -> str:
    """Changes whenever the report's SQL does: model code, home region, control area, capacities, check bounds."""
    scope = MonthScope(registry, [(2000, 1)])
    text = "\n".join((scope.sql_name("gold.emissions_monthly"), _intensity_sql(scope), _missing_factors_sql(scope),
                      str(MAX_G_PER_KWH)))
    return hashlib.sha256(text.encode()).hexdigest()


def _month_files(path: str) -> dict[Month, str]:
    """Per (year, month): the table's live data files there, from the Delta log alone (no data is read).

    The writer rewrites a partition with new files, so any change to a month's rows changes its file list."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(path).get_add_actions(flatten=True))
    files: dict[Month, list[str]] = {}
    for row in actions.select(["path", "size_bytes", "partition.year", "partition.month"]).to_pylist():
        month = (int(row["partition.year"]), int(row["partition.month"]))
        files.setdefault(month, []).append(f"{row['path']}:{row['size_bytes']}")
    return {month: hashlib.sha256("\n".join(sorted(paths)).encode()).hexdigest() for month, paths in files.items()}


def _month_fingerprints(spark, registry: Registry, name: str, row_hash: str) -> dict[Month, str]:
    """Local Delta tables: from the log (a one-day update reads no table in full); Unity Catalog tables (no path):
    a count and an order-independent hash of the rows per month."""
    path = registry.path(name)
    if path is not None:
        return _month_files(path)
    return _month_sums(spark, registry.sql_name(name), row_hash)


def input_fingerprints(spark, registry: Registry) -> dict[Month, str]:
    """Per local month that has production or consumption rows: the fingerprint of what its figures depend on."""
    production = _month_fingerprints(spark, registry, "silver.production", _PRODUCTION_HASH)
    consumption = _month_fingerprints(spark, registry, "silver.consumption", _CONSUMPTION_HASH)
    shared = "|".join((
        _table_sum(spark, registry.sql_name("silver.emission_factors"), _FACTORS_HASH),
        _table_sum(spark, registry.sql_name("silver.redispatch"), _REDISPATCH_HASH),
        model_sql_digest(registry),
    ))
    return {
        month: hashlib.sha256(f"{production.get(month)}|{consumption.get(month)}|{shared}".encode()).hexdigest()
        for month in sorted(set(production) | set(consumption))
    }


def _local_month(column: str) -> str:
    return f"CAST(date_format(from_utc_timestamp({column}, '{LOCAL_TIME_ZONE}'), 'yyyyMM') AS INT)"


def _intensity_sql(scope: MonthScope) -> str:
    """The intensities the attribution uses (home region: average, merit order, worst emitter; control area:
    locality) of the scope's months, with their local month."""
    return (
        f"SELECT *, {_local_month('interval_start')} AS month_key FROM {scope.sql_name('gold.grid_intensity')} "
        f"WHERE (model <> 'locality' AND region = '{home_region()}') "
        f"OR (model = 'locality' AND region = '{control_area()}')"
    )


def _missing_factors_sql(scope: MonthScope) -> str:
    """silver.production rows x basis without an active factor valid at the row's local date."""
    local_date = "make_date(p.year, p.month, p.day)"
    bases = ", ".join(f"('{b}')" for b in BASES)
    return (
        f"SELECT p.production_type, b.basis, {local_date} AS local_date, p.interval_start, "
        f"p.year * 100 + p.month AS month_key "
        f"FROM {scope.sql_name('silver.production')} p "
        f"CROSS JOIN (SELECT basis FROM VALUES {bases} AS b(basis)) b "
        f"LEFT ANTI JOIN {scope.sql_name('silver.emission_factors')} f "
        f"ON f.production_type = p.production_type AND f.basis = b.basis AND f.retired_at IS NULL "
        f"AND f.valid_from <= {local_date} AND (f.valid_to IS NULL OR {local_date} < f.valid_to)"
    )


def _check_counts(spark, scope: MonthScope) -> tuple[dict[int, dict], list[str], list[str]]:
    """Per month key: the intensity and factor check counts; and samples of the offenders."""
    outside = f"g_per_kwh < 0 OR g_per_kwh > {MAX_G_PER_KWH}"
    counts: dict[int, dict] = {}
    for r in spark.sql(
        f"SELECT month_key, count(*) AS n, count_if({outside}) AS outside, count_if(g_per_kwh IS NULL) AS nulls, "
        f"min(g_per_kwh) AS lowest, max(g_per_kwh) AS highest FROM ({_intensity_sql(scope)}) GROUP BY month_key"
    ).collect():
        counts[int(r.month_key)] = {"intensity_rows": r.n, "intensity_outside": r.outside, "intensity_null": r.nulls,
                                    "lowest_g_per_kwh": r.lowest, "highest_g_per_kwh": r.highest}
    intensity_offenders = []
    if any(c["intensity_outside"] for c in counts.values()):
        intensity_offenders = [
            f"{r.interval_start} {r.region} {r.model}/{r.basis}: {r.g_per_kwh:g}"
            for r in spark.sql(
                f"SELECT interval_start, region, model, basis, g_per_kwh FROM ({_intensity_sql(scope)}) "
                f"WHERE {outside} ORDER BY interval_start, region, model, basis LIMIT {SAMPLE}"
            ).collect()
        ]
    missing = _missing_factors_sql(scope)
    groups = spark.sql(
        f"SELECT month_key, production_type, basis, min(local_date) AS first, max(local_date) AS last, "
        f"count(*) AS n FROM ({missing}) GROUP BY month_key, production_type, basis "
        f"ORDER BY month_key, production_type, basis"
    ).collect()
    for g in groups:
        month = counts.setdefault(int(g.month_key), {})
        month["rows_without_factor"] = month.get("rows_without_factor", 0) + g.n
    factor_offenders = [f"{g.production_type} ({g.basis}): {g.n} rows, {g.first}..{g.last}" for g in groups[:SAMPLE]]
    return counts, intensity_offenders, factor_offenders


def refresh(spark, registry: Registry, *, months_per_query: int = MONTHS_PER_QUERY) -> Refresh:
    """Bring gold.report_monthly and gold.report_inputs up to date with silver (see the module docstring)."""
    started = time.perf_counter()
    writer = DeltaWriter(spark, registry)
    current = input_fingerprints(spark, registry)
    stored = {(int(r.year), int(r.month)): r.fingerprint for r in spark.sql(
        f"SELECT year, month, fingerprint FROM {registry.sql_name('gold.report_inputs')}").collect()}
    stale = [m for m, fingerprint in current.items() if stored.get(m) != fingerprint]
    gone = sorted(set(stored) - set(current))
    result = Refresh(months=sorted(current), recomputed=stale, dropped=gone, seconds=0.0)
    report = spec("gold.report_monthly")
    for index in range(0, len(stale), months_per_query):
        chunk = stale[index:index + months_per_query]
        scope = MonthScope(registry, chunk)
        # Collected first (a few hundred rows): the writer's range check and the write would each run the models.
        figures = spark.sql(
            f"SELECT {', '.join(report.column_names)} FROM {scope.sql_name('gold.emissions_monthly')}").collect()
        writer.replace_months("gold.report_monthly", spark.createDataFrame(figures, schema=report.ddl), chunk)
        counts, intensity_offenders, factor_offenders = _check_counts(spark, scope)
        result.intensity_offenders += intensity_offenders[:SAMPLE - len(result.intensity_offenders)]
        result.factor_offenders += factor_offenders[:SAMPLE - len(result.factor_offenders)]
        writer.replace_months("gold.report_inputs", _inputs_frame(spark, chunk, current, counts), chunk)
    if gone:
        for name in ("gold.report_monthly", "gold.report_inputs"):
            writer.replace_months(name, spark.createDataFrame([], schema=spec(name).ddl), gone)
    result.seconds = time.perf_counter() - started
    return result


def _inputs_frame(spark, months: list[Month], fingerprints: dict[Month, str], counts: dict[int, dict]):
    rows = []
    for year, month in months:
        c = counts.get(year * 100 + month, {})
        rows.append(
            f"('{fingerprints[(year, month)]}', {c.get('intensity_rows', 0)}, {c.get('intensity_outside', 0)}, "
            f"{c.get('intensity_null', 0)}, {_double(c.get('lowest_g_per_kwh'))}, "
            f"{_double(c.get('highest_g_per_kwh'))}, {c.get('rows_without_factor', 0)}, {year}, {month})"
        )
    return spark.sql(
        "SELECT fingerprint, CAST(intensity_rows AS BIGINT) AS intensity_rows, "
        "CAST(intensity_outside AS BIGINT) AS intensity_outside, CAST(intensity_null AS BIGINT) AS intensity_null, "
        "CAST(lowest AS DOUBLE) AS lowest_g_per_kwh, CAST(highest AS DOUBLE) AS highest_g_per_kwh, "
        "CAST(without_factor AS BIGINT) AS rows_without_factor, current_timestamp() AS computed_at, "
        "CAST(year AS INT) AS year, CAST(month AS INT) AS month "
        f"FROM VALUES {', '.join(rows)} AS t(fingerprint, intensity_rows, intensity_outside, intensity_null, lowest, "
        "highest, without_factor, year, month)"
    )


def _double(value) -> str:
    return "CAST(NULL AS DOUBLE)" if value is None else repr(float(value))
