"""Dagster definitions of the SMARD source: API windows into the reservoir, bronze.smard_responses (exactly once per
file), and silver.production and silver.grid_load, per local day (one :class:`SilverSeries` descriptor each)."""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.lakehouse.bronze_ingest import checked_ingest
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.orchestration.automation import daily_at, historical_eager
from emission_assets.orchestration.metadata import OWNERS, preview, table_metadata
from emission_assets.orchestration.partitions import DAILY, day_range
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.orchestration.silver_guards import (
    SERIES_CHECK,
    SERIES_CHECK_DESCRIPTION,
    SeriesGuard,
    SeriesKind,
    guarded_replace,
    stored_series,
)
from emission_assets.orchestration.silver_support import (
    REFETCHED,
    check_specs,
    report_unparsed,
    run_summary,
    sample_list,
    written_metadata,
)
from emission_assets.smard import autoloader
from emission_assets.smard import bronze as bronze_smard
from emission_assets.smard import reservoir as smard_fill
from emission_assets.smard.bronze import TABLE as BRONZE_TABLE
from emission_assets.smard.bronze import window_date_range
from emission_assets.smard.catalog import (
    DEFAULT_RESOLUTION,
    GENERATION_FILTERS,
    GRID_LOAD_FILTER,
    SmardSeries,
    check_region,
    check_resolution,
    series,
)
from emission_assets.smard.integrity import SMARD_RULES
from emission_assets.smard.resources import SmardResource
from emission_assets.smard.silver import (
    grid_load_from_bronze,
    production_from_bronze,
    quality_summary,
    unparsed_payloads,
)
from emission_assets.smard.windows import stored_windows
from emission_assets.timeutil import days_between, expected_intervals, month_spans


class SmardReservoirConfig(Config):
    regions: list[str] = Field(default=["DE"], description="DE and/or the control areas 50Hertz, Amprion, TenneT, TransnetBW")
    filters: list[int] | None = Field(
        default=None, description="SMARD filter ids; default: the 12 generation types, and 410 (grid load) for the "
        "control areas (the locality model's balance)")
    resolution: str = Field(default=DEFAULT_RESOLUTION, description="quarterhour or hour, for windows fetched now")
    refresh: bool = Field(default=False, description="fetch again even when the reservoir holds the days")
    settle_hours: float = Field(
        ge=0, default=6.0, description="a stored window counts as final for a day only if fetched this long after it"
    )


@asset(
    key_prefix="reservoir",
    name="smard_responses",
    tags={"source": "smard"},
    group_name="reservoir",
    **DAILY,
    automation_condition=daily_at(6, 30),
    pool="smard_api",
    kinds={"json"},
    owners=OWNERS,
    description="Raw SMARD chart-data window responses (one file + sidecar per download), versioned, atomic.",
)
def smard_reservoir(
    context: AssetExecutionContext, config: SmardReservoirConfig, smard: SmardResource, reservoir: ReservoirResource
) -> MaterializeResult:
    for region in config.regions:
        check_region(region)
    for filter_id in config.filters or ():
        series(filter_id)
    check_resolution(config.resolution)
    first_day, last_day = day_range(context)
    store = reservoir.store()
    inspector = Inspector(store, SMARD_RULES, "reservoir/smard_responses", context.run.run_id)
    try:
        with smard.client() as client:
            report = smard_fill.fill(
                client,
                store,
                first_day,
                last_day,
                regions=config.regions,
                filters=config.filters,
                resolution=config.resolution,
                refresh=config.refresh,
                settle=timedelta(hours=config.settle_hours),
                inspector=inspector,
            )
    finally:  # named even when a fetch fails afterwards
        integrity = inspector.conclude(context.log, then=REFETCHED)
    for text in report.days_without_values:  # the run log a backfill's reader sees, not only the Python log
        context.log.warning(f"SMARD sent no values for {text}: silver has no rows for it until a refresh brings them")
    return MaterializeResult(metadata=fill_metadata(report, client.base_url, integrity))


def fill_metadata(report, source: str, integrity: dict, **more) -> dict:
    """What a reservoir fill of SMARD windows records (the realised series and the day-ahead forecasts alike)."""
    return {
        **integrity,
        "days": report.days,
        **more,
        "series_days_already_present": report.series_days_present,
        "series_days_fetched": report.series_days_fetched,
        "files_written": len(report.written),
        "source": source,
        "series_days_without_values": len(report.days_without_values),
        "without_values": MetadataValue.md("\n".join(f"- {t}" for t in report.days_without_values[:50]) or "none"),
    }



@asset(
    key_prefix="bronze",
    name="smard_responses",
    tags={"source": "smard"},
    group_name="bronze",
    deps=[AssetKey(["reservoir", "smard_responses"])],
    **DAILY,
    automation_condition=historical_eager(),
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description=bronze_smard.__doc__,
    metadata=table_metadata(bronze_smard.TABLE),
)
def smard_bronze(context: AssetExecutionContext, spark: SparkResource, reservoir: ReservoirResource) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    store = reservoir.store()
    if autoloader.enabled(spark.engine):  # Databricks: Auto Loader lists the Volume and tracks files itself
        checkpoint = f"{store.root}/_checkpoints/bronze_smard_responses"
        autoloader.autoload_smard(lakehouse.spark, lakehouse.writer, str(store.root), checkpoint, context.run.run_id)
        return MaterializeResult(metadata={"ingest": "auto-loader", "checkpoint": checkpoint})
    inspector = Inspector(store, SMARD_RULES, "bronze/smard_responses", context.run.run_id)
    files = stored_windows(store, first_day, last_day, inspector)
    metadata = checked_ingest(
        context, lakehouse, inspector, files, table=bronze_smard.TABLE, ingest=bronze_smard.ingest,
        partition=("window_date", bronze_smard.window_date), first_day=first_day, last_day=last_day,
        keep_bytes=False,  # the engine reads the files itself
    )
    return MaterializeResult(metadata={"ingest": "batch", **metadata})



@dataclass(frozen=True)
class SilverSeries:
    """One silver table of SMARD series read from a bronze table of window files (bronze.smard_responses, or
    bronze.smard_forecast_responses for the day-ahead forecasts): everything its asset needs to differ in.

    ``name_column`` is the column naming the series within a region (``production_type``), None when the table holds
    one series (grid load: its name is that of its only filter)."""

    table: str
    filters: tuple[int, ...]
    transform: Callable[[DataFrame, date, date], DataFrame]
    value_column: str
    name_column: str | None
    description: str
    # Months per write: bounds memory (a year of production in one write peaked at ~1.9 GB on the embedded engine);
    # a single series per region is small enough to write a year at once, which saves each write's fixed cost.
    months_per_write: int = 1
    # What the day-ahead forecasts (emission_assets.smard_forecast) set apart: their source tag, bronze table,
    # catalog, partitions (up to tomorrow) and a named check for bronze files of an unknown shape.
    source: str = "smard"
    bronze_table: str = BRONZE_TABLE
    lookup: Callable[[int], SmardSeries] = series
    partitions: dict = field(default_factory=lambda: DAILY)
    unparsed_check: str | None = None
    signed_series: tuple[str, ...] = ()  # series that may be negative (see SeriesKind.signed_series)
    # bronze rows -> (file_name, reason) of files that give no (or not all their) rows
    unparsed: Callable[[DataFrame], DataFrame] = unparsed_payloads

    @property
    def key(self) -> AssetKey:
        return AssetKey(self.table.split("."))

    @property
    def keys(self) -> tuple[str, ...]:
        return ("region", self.name_column) if self.name_column else ("region",)

    def series_name(self, row) -> str:
        return row[self.name_column] if self.name_column else self.lookup(self.filters[0]).name

    def summary(self, rows: DataFrame) -> DataFrame:
        return quality_summary(rows, self.keys, self.value_column, self.signed_series)


# Months of bronze windows per query for files of an unknown shape: a year's query (of a year home: 1.6 s against
# 1.9 s in months) took ~110 MB more memory than a month's, a quarter's the same as a month's (1.7 s).
UNPARSED_MONTHS = 3

PRODUCTION = SilverSeries("silver.production", GENERATION_FILTERS, production_from_bronze, "energy_mwh",
                          "production_type",
                          "Grid production per interval x region x production type (SMARD), latest download wins.")
GRID_LOAD = SilverSeries("silver.grid_load", (GRID_LOAD_FILTER,), grid_load_from_bronze, "load_mwh", None,
                         "Grid load (SMARD filter 410, Netzlast) per interval x region, latest download wins: the "
                         "locality model's area balance.", months_per_write=12)
TABLE = PRODUCTION.table
KEY = PRODUCTION.key
CHECKS = {
    "no_duplicate_intervals": "No (interval, region, series) appears twice.",
    "complete_days": "Every series reported on a day has all of the day's intervals (92/96/100 quarter-hours or "
    "23/24/25 hours on DST days); series absent for a whole day (e.g. nuclear after April 2023) are listed.",
    "non_negative_energy": "No negative energy values (a negative value already fails the asset before it writes: "
    "see emission_assets.orchestration.silver_guards; this check guards what is stored).",
    SERIES_CHECK: SERIES_CHECK_DESCRIPTION,
}
UNPARSED_CHECK_DESCRIPTION = (
    "Every bronze file of the days has the SMARD window shape ({'meta_data': ..., 'series': [[epoch_ms, number or "
    "null], ...]}); files that do not are listed by name and give no rows (bronze and the reservoir keep them).")
# Checks of severity WARN: reported, never blocking. Every other check is ERROR and blocking: when it fails, the
# asset's step fails (its rows are written, the check records why) and no downstream asset runs on the rows.
WARN_CHECKS = {"complete_days"}
PRODUCTION_SERIES = SeriesKind(TABLE, "silver/production", PRODUCTION.keys, "energy_mwh", "MWh")


def evaluate_checks(summary_rows: list, first_day: date, last_day: date,
                    table: SilverSeries = PRODUCTION) -> list[AssetCheckResult]:
    """Check results from :func:`quality_summary` rows of the written days."""
    duplicates = [r for r in summary_rows if r["duplicates"]]
    negatives = [r for r in summary_rows if r["negatives"]]

    def group(r) -> str:
        return f"{date(r['year'], r['month'], r['day'])} {r['region']} {table.series_name(r)} {r['resolution']}"

    incomplete = []
    present: dict[tuple[date, str], set[str]] = {}
    for r in summary_rows:
        day = date(r["year"], r["month"], r["day"])
        present.setdefault((day, r["region"]), set()).add(table.series_name(r))
        expected = expected_intervals(day, r["resolution"])
        if r["intervals"] != expected:
            incomplete.append(f"{day} {r['region']} {table.series_name(r)}: {r['intervals']}/{expected} {r['resolution']}")
    all_types = {table.lookup(f).name for f in table.filters}
    absent = [
        f"{day} {region}: {', '.join(sorted(all_types - types))}"
        for (day, region), types in sorted(present.items())
        if all_types - types
    ]
    missing_days = [d.isoformat() for d in days_between(first_day, last_day) if not any(k[0] == d for k in present)]
    return [
        AssetCheckResult(
            check_name="no_duplicate_intervals",
            passed=not duplicates,
            metadata={"duplicated_groups": len(duplicates),
                      "duplicated": sample_list([f"{group(r)}: {r['duplicates']} intervals twice" for r in duplicates])},
        ),
        AssetCheckResult(
            check_name="complete_days",
            passed=not incomplete and not missing_days,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "incomplete_series_days": len(incomplete),
                "incomplete": sample_list(incomplete),
                "days_without_data": sample_list(missing_days),
                "absent_types": sample_list(absent),
            },
        ),
        AssetCheckResult(
            check_name="non_negative_energy",
            passed=not negatives,
            metadata={"groups_with_negatives": len(negatives),
                      "negative": sample_list([f"{group(r)}: {r['negatives']} negative values" for r in negatives])},
        ),
    ]


def silver_series_asset(table: SilverSeries):
    """The daily silver asset of ``table`` (silver.production, silver.grid_load, silver.grid_forecast): bronze
    windows of the days -> rows, guarded and written a month at a time, with the four checks (and the unparsed-file
    check where ``table.unparsed_check`` names one)."""
    kind = SeriesKind(table.table, "/".join(table.key.path), table.keys, table.value_column, "MWh",
                      table.signed_series)
    checks = dict(CHECKS)
    if table.unparsed_check:
        checks[table.unparsed_check] = UNPARSED_CHECK_DESCRIPTION

    @asset(
        key=table.key,
        tags={"source": table.source},
        group_name="silver",
        deps=[AssetKey(table.bronze_table.split("."))],
        **table.partitions,
        automation_condition=historical_eager(),
        kinds={"spark", "delta", "databricks"},
        owners=OWNERS,
        description=table.description,
        metadata=table_metadata(table.table),
        check_specs=check_specs(checks, table.key, WARN_CHECKS | set(checks) - set(CHECKS)),
    )
    def _silver(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
        first_day, last_day = day_range(context)
        lakehouse = spark.open()
        guard = SeriesGuard(kind)
        # ``months_per_write`` months per write: memory stays bounded however long the range. Each write replaces its
        # days atomically; a re-run after a failure redoes them all.
        months = month_spans(first_day, last_day)
        chunks = [months[i:i + table.months_per_write] for i in range(0, len(months), table.months_per_write)]
        # What silver holds for the whole range, read once (not once per month) before anything is written.
        stored = stored_series(lakehouse, kind, first_day, last_day)

        def bronze_of(span_first: date, span_last: date) -> DataFrame:
            window_from, window_to = window_date_range(span_first, span_last)
            return lakehouse.table(table.bronze_table).where(
                F.col("window_date").between(F.lit(window_from), F.lit(window_to)))

        staged_summary: list[dict] = []
        for span_first, span_last in ((chunk[0][0], chunk[-1][1]) for chunk in chunks):
            bronze = bronze_of(span_first, span_last)
            # Refuses negative values and keeps days that would lose a series (emission_assets.orchestration.silver_guards).
            staged_summary += guarded_replace(
                lakehouse, guard, table.transform(bronze, span_first, span_last), span_first, span_last, bronze,
                lambda r: f"{table.series_name(r)} in {r['region']} ({r['resolution']})", table.summary, stored)
        # Files that are not SMARD windows give no rows: say so by name rather than let them vanish (bronze keeps
        # them). One query per UNPARSED_MONTHS months (not one per month, which also read the windows that span two
        # months twice). After the writes, as before: a file of an unknown shape never stops the valid ones.
        unparsed_files: set[str] = set()
        for part in (months[i:i + UNPARSED_MONTHS] for i in range(0, len(months), UNPARSED_MONTHS)):
            found = table.unparsed(bronze_of(part[0][0], part[-1][1]).where(F.col("filter_id").isin(list(table.filters))))
            unparsed_files |= {f"{r.file_name}: {r.reason}" for r in found.collect()}
        unparsed = report_unparsed(context, kind.asset, unparsed_files)
        written, summary = run_summary(lakehouse, table.table, first_day, last_day, table.summary, staged_summary,
                                       guard.kept_days)
        results = [*evaluate_checks(summary, first_day, last_day, table), guard.check_result()]
        if table.unparsed_check:
            results.append(AssetCheckResult(
                check_name=table.unparsed_check, passed=not unparsed_files, severity=AssetCheckSeverity.WARN,
                metadata={"files": unparsed["unparsed_bronze_files"], "unparsed": unparsed["unparsed"]},
            ))
        return MaterializeResult(
            metadata={
                **written_metadata(summary, first_day, last_day),
                **unparsed,
                "resolutions": ", ".join(sorted({r["resolution"] for r in summary})) or "none",
                "preview": preview(written.drop("source_file"), "interval_start"),
            },
            check_results=results,
        )

    return _silver


silver_production = silver_series_asset(PRODUCTION)
silver_grid_load = silver_series_asset(GRID_LOAD)
