"""Dagster wiring: bronze SMARD responses into ``silver.production``, one atomic replace per run's day range."""
from datetime import date

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pyspark.sql import functions as F

from emission_assets.assets_metadata import OWNERS, table_metadata
from emission_assets.bronze.smard import TABLE as BRONZE_TABLE
from emission_assets.bronze.smard import window_date_range
from emission_assets.lakehouse.writer import day_predicate
from emission_assets.partitions import daily_partitions, day_range, single_run_backfill
from emission_assets.resources import SparkResource
from emission_assets.silver.production import production_from_bronze, quality_summary
from emission_assets.smard.catalog import GENERATION_FILTERS, series
from emission_assets.timeutil import days_between, expected_intervals

TABLE = "silver.production"
KEY = AssetKey(["silver", "production"])
CHECKS = {
    "no_duplicate_intervals": "No (interval, region, production type) appears twice.",
    "complete_days": "Every type reported on a day has all of the day's intervals (92/96/100 quarter-hours or "
    "23/24/25 hours on DST days); types absent for a whole day (e.g. nuclear after April 2023) are listed.",
    "non_negative_energy": "No negative energy values.",
}


def evaluate_checks(summary_rows: list, first_day: date, last_day: date) -> list[AssetCheckResult]:
    """Check results from :func:`quality_summary` rows of the written days."""
    duplicates = [r for r in summary_rows if r["duplicates"]]
    negatives = [r for r in summary_rows if r["negatives"]]
    incomplete = []
    present: dict[tuple[date, str], set[str]] = {}
    for r in summary_rows:
        day = date(r["year"], r["month"], r["day"])
        present.setdefault((day, r["region"]), set()).add(r["production_type"])
        expected = expected_intervals(day, r["resolution"])
        if r["intervals"] != expected:
            incomplete.append(f"{day} {r['region']} {r['production_type']}: {r['intervals']}/{expected} {r['resolution']}")
    all_types = {series(f).name for f in GENERATION_FILTERS}
    absent = [
        f"{day} {region}: {', '.join(sorted(all_types - types))}"
        for (day, region), types in sorted(present.items())
        if all_types - types
    ]
    missing_days = [d.isoformat() for d in days_between(first_day, last_day) if not any(k[0] == d for k in present)]
    sample = lambda items: MetadataValue.md("\n".join(f"- {i}" for i in items[:50]) or "none")  # noqa: E731
    return [
        AssetCheckResult(
            check_name="no_duplicate_intervals",
            passed=not duplicates,
            metadata={"duplicated_groups": len(duplicates)},
        ),
        AssetCheckResult(
            check_name="complete_days",
            passed=not incomplete and not missing_days,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "incomplete_series_days": len(incomplete),
                "incomplete": sample(incomplete),
                "days_without_data": sample(missing_days),
                "absent_types": sample(absent),
            },
        ),
        AssetCheckResult(
            check_name="non_negative_energy",
            passed=not negatives,
            metadata={"groups_with_negatives": len(negatives)},
        ),
    ]


@asset(
    key=KEY,
    group_name="silver",
    deps=[AssetKey(["bronze", "smard_responses"])],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    kinds={"spark", "delta"},
    owners=OWNERS,
    description="Grid production per interval x region x production type (SMARD), latest download wins.",
    metadata=table_metadata(TABLE),
    check_specs=[AssetCheckSpec(name, asset=KEY, description=text) for name, text in CHECKS.items()],
)
def silver_production(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    window_from, window_to = window_date_range(first_day, last_day)
    bronze = lakehouse.table(BRONZE_TABLE).where(F.col("window_date").between(F.lit(window_from), F.lit(window_to)))
    lakehouse.writer.replace_days(TABLE, production_from_bronze(bronze, first_day, last_day), first_day, last_day)

    written = lakehouse.table(TABLE).where(day_predicate(first_day, last_day))
    summary = [row.asDict() for row in quality_summary(written).collect()]
    bounds = written.agg(F.min("interval_start"), F.max("interval_end")).collect()[0]
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(r["intervals"] for r in summary),
            "days": (last_day - first_day).days + 1,
            "first_interval_start": str(bounds[0]),
            "last_interval_end": str(bounds[1]),
            "resolutions": ", ".join(sorted({r["resolution"] for r in summary})) or "none",
        },
        check_results=evaluate_checks(summary, first_day, last_day),
    )
