"""Dagster wiring: bronze into ``silver.production`` and ``silver.consumption``, one atomic replace per run's days."""
from datetime import date
from decimal import Decimal

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field
from pyspark.sql import functions as F

from emission_assets.assets_metadata import OWNERS, preview, table_metadata
from emission_assets.bronze.smard import TABLE as BRONZE_TABLE
from emission_assets.bronze.smard import window_date_range
from emission_assets.bronze.tibber import TABLE as BRONZE_TIBBER_TABLE
from emission_assets.bronze.tibber import file_date_range
from emission_assets.lakehouse.writer import day_predicate
from emission_assets.partitions import DAILY, day_range
from emission_assets.resources import SparkResource
from emission_assets.silver.consumption import (
    DEFAULT_EV_CHARGE_KW,
    consumption_from_bronze,
)
from emission_assets.silver.consumption import quality_summary as consumption_quality
from emission_assets.silver.consumption import unparsed_payloads as consumption_unparsed
from emission_assets.silver.guards import (
    SERIES_CHECK,
    SERIES_CHECK_DESCRIPTION,
    SeriesGuard,
    SeriesKind,
    guarded_replace,
)
from emission_assets.silver.production import production_from_bronze, quality_summary, unparsed_payloads
from emission_assets.silver.pseudonyms import MISSING_KEY, refresh_pseudonyms
from emission_assets.smard.catalog import GENERATION_FILTERS, series
from emission_assets.timeutil import days_between, expected_intervals, month_spans

TABLE = "silver.production"
KEY = AssetKey(["silver", "production"])
CHECKS = {
    "no_duplicate_intervals": "No (interval, region, production type) appears twice.",
    "complete_days": "Every type reported on a day has all of the day's intervals (92/96/100 quarter-hours or "
    "23/24/25 hours on DST days); types absent for a whole day (e.g. nuclear after April 2023) are listed.",
    "non_negative_energy": "No negative energy values (a negative value already fails the asset before it writes: "
    "see emission_assets.silver.guards; this check guards what is stored).",
    SERIES_CHECK: SERIES_CHECK_DESCRIPTION,
}
# Checks of severity WARN: reported, never blocking. Every other check is ERROR and blocking: when it fails, the
# asset's step fails (its rows are written, the check records why) and no downstream asset runs on the rows.
WARN_CHECKS = {"complete_days"}
PRODUCTION_SERIES = SeriesKind(TABLE, "silver/production", ("region", "production_type"), "energy_mwh", "MWh")


def check_specs(checks: dict[str, str], key: AssetKey) -> list[AssetCheckSpec]:
    """Specs of an asset's checks, blocking unless the check is a warning (Dagster blocks on ERROR results only)."""
    return [AssetCheckSpec(name, asset=key, description=text, blocking=name not in WARN_CHECKS)
            for name, text in checks.items()]


def written_days(lakehouse, table: str, first_day: date, last_day: date, summarise):
    """The days a run just wrote (read back: checks judge what is stored) and their per-day summary rows."""
    written = lakehouse.table(table).where(day_predicate(first_day, last_day))
    return written, [row.asDict() for row in summarise(written).collect()]


def written_metadata(summary: list[dict], first_day: date, last_day: date) -> dict:
    """Row count and time range of the written days, from the summary (no further Spark action)."""
    starts = [r["first_start"] for r in summary]
    ends = [r["last_end"] for r in summary]
    return {
        "dagster/row_count": sum(r["intervals"] for r in summary),
        "days": (last_day - first_day).days + 1,
        "first_interval_start": str(min(starts)) if starts else "none",
        "last_interval_end": str(max(ends)) if ends else "none",
    }


def report_unparsed(context, asset: str, findings: set[str]) -> dict:
    """Warn about bronze files that gave no rows because of their shape ("name: why"; bronze and the reservoir keep
    them, so nothing is lost) and return the asset metadata that lists them."""
    unparsed = sorted(findings)
    if unparsed:
        context.log.warning(
            f"{asset} skipped {len(unparsed)} bronze file(s) of an unknown shape (kept in bronze and the reservoir): "
            f"{'; '.join(unparsed[:20])}"
        )
    return {"unparsed_bronze_files": len(unparsed), "unparsed": _sample(unparsed)}


def _sample(items: list[str]) -> MetadataValue:
    """The first 50 findings as a markdown list, for the check's page in the UI."""
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:50]) or "none")


def evaluate_checks(summary_rows: list, first_day: date, last_day: date) -> list[AssetCheckResult]:
    """Check results from :func:`quality_summary` rows of the written days."""
    duplicates = [r for r in summary_rows if r["duplicates"]]
    negatives = [r for r in summary_rows if r["negatives"]]

    def group(r) -> str:
        return f"{date(r['year'], r['month'], r['day'])} {r['region']} {r['production_type']} {r['resolution']}"

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
    return [
        AssetCheckResult(
            check_name="no_duplicate_intervals",
            passed=not duplicates,
            metadata={"duplicated_groups": len(duplicates),
                      "duplicated": _sample([f"{group(r)}: {r['duplicates']} intervals twice" for r in duplicates])},
        ),
        AssetCheckResult(
            check_name="complete_days",
            passed=not incomplete and not missing_days,
            severity=AssetCheckSeverity.WARN,
            metadata={
                "incomplete_series_days": len(incomplete),
                "incomplete": _sample(incomplete),
                "days_without_data": _sample(missing_days),
                "absent_types": _sample(absent),
            },
        ),
        AssetCheckResult(
            check_name="non_negative_energy",
            passed=not negatives,
            metadata={"groups_with_negatives": len(negatives),
                      "negative": _sample([f"{group(r)}: {r['negatives']} negative values" for r in negatives])},
        ),
    ]


@asset(
    key=KEY,
    tags={"source": "smard"},
    group_name="silver",
    deps=[AssetKey(["bronze", "smard_responses"])],
    **DAILY,
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description="Grid production per interval x region x production type (SMARD), latest download wins.",
    metadata=table_metadata(TABLE),
    check_specs=check_specs(CHECKS, KEY),
)
def silver_production(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    unparsed_files: set[str] = set()
    guard = SeriesGuard(PRODUCTION_SERIES)
    # One month per write: memory stays that of a month however long the range (a year in one write peaked at
    # ~1.9 GB on the embedded engine). Each month is replaced atomically; a re-run after a failure redoes them all.
    for span_first, span_last in month_spans(first_day, last_day):
        window_from, window_to = window_date_range(span_first, span_last)
        bronze = lakehouse.table(BRONZE_TABLE).where(
            F.col("window_date").between(F.lit(window_from), F.lit(window_to)))
        # Refuses negative values and keeps days that would lose a series (emission_assets.silver.guards).
        guarded_replace(lakehouse, guard, production_from_bronze(bronze, span_first, span_last), span_first,
                        span_last, bronze, lambda r: f"{r['production_type']} in {r['region']} ({r['resolution']})")
        # Files that are not SMARD windows give no rows: say so by name rather than let them vanish (bronze keeps
        # them). A weekly window can span two months: the set reports it once.
        unparsed_files |= {f"{r.file_name}: {r.reason}" for r in unparsed_payloads(bronze).collect()}
    unparsed = report_unparsed(context, "silver/production", unparsed_files)

    written, summary = written_days(lakehouse, TABLE, first_day, last_day, quality_summary)
    return MaterializeResult(
        metadata={
            **written_metadata(summary, first_day, last_day),
            **unparsed,
            "resolutions": ", ".join(sorted({r["resolution"] for r in summary})) or "none",
            "preview": preview(written.drop("source_file"), "interval_start"),
        },
        check_results=[*evaluate_checks(summary, first_day, last_day), guard.check_result()],
    )


CONSUMPTION_TABLE = "silver.consumption"
CONSUMPTION_KEY = AssetKey(["silver", "consumption"])
CONSUMPTION_CHECKS = {
    "no_duplicate_intervals": "No (home, interval) appears twice.",
    "complete_days": "Every home's intervals cover its whole local day (23/24/25 hours on DST days).",
    "non_negative_energy": "No negative energy values (a negative value already fails the asset before it writes: "
    "see emission_assets.silver.guards; this check guards what is stored).",
    SERIES_CHECK: SERIES_CHECK_DESCRIPTION,
    "ev_plus_household_is_total": "ev_kwh + household_kwh equals energy_kwh exactly on every row.",
}


CONSUMPTION_SERIES = SeriesKind(CONSUMPTION_TABLE, "silver/consumption", ("home_id",), "energy_kwh", "kWh")


class SilverConsumptionConfig(Config):
    ev_charge_kw: float = Field(
        gt=0, default=DEFAULT_EV_CHARGE_KW, description="EV charger power (kW, > 0); above it, load is EV"
    )


def evaluate_consumption_checks(summary_rows: list, first_day: date, last_day: date) -> list[AssetCheckResult]:
    incomplete = [
        f"{date(r['year'], r['month'], r['day'])} {r['home_id']}: {r['hours']:g}/{day_hours(date(r['year'], r['month'], r['day']))} h"
        for r in summary_rows
        if r["hours"] != day_hours(date(r["year"], r["month"], r["day"]))
    ]
    present = {date(r["year"], r["month"], r["day"]) for r in summary_rows}

    def listed(column: str, what: str) -> MetadataValue:
        return _sample([f"{date(r['year'], r['month'], r['day'])} {r['home_id']}: {r[column]} {what}"
                        for r in summary_rows if r[column]])

    missing_days = [d.isoformat() for d in days_between(first_day, last_day) if d not in present]
    return [
        AssetCheckResult(
            check_name="no_duplicate_intervals",
            passed=not any(r["duplicates"] for r in summary_rows),
            metadata={"duplicated_rows": sum(r["duplicates"] for r in summary_rows),
                      "duplicated": listed("duplicates", "intervals twice")},
        ),
        AssetCheckResult(
            check_name="complete_days",
            passed=not incomplete and not missing_days,
            severity=AssetCheckSeverity.WARN,
            metadata={"incomplete_days": len(incomplete), "incomplete": _sample(incomplete),
                      "days_without_data": _sample(missing_days)},
        ),
        AssetCheckResult(
            check_name="non_negative_energy",
            passed=not any(r["negatives"] for r in summary_rows),
            metadata={"negative_rows": sum(r["negatives"] for r in summary_rows),
                      "negative": listed("negatives", "negative values")},
        ),
        AssetCheckResult(
            check_name="ev_plus_household_is_total",
            passed=not any(r["split_mismatches"] for r in summary_rows),
            metadata={"mismatched_rows": sum(r["split_mismatches"] for r in summary_rows),
                      "mismatched": listed("split_mismatches", "rows where ev + household != total")},
        ),
    ]


def day_hours(day: date) -> int:
    return expected_intervals(day, "hour")


@asset(
    key=CONSUMPTION_KEY,
    tags={"source": "tibber"},
    group_name="silver",
    deps=[AssetKey(["bronze", "tibber_responses"])],
    **DAILY,
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description="Household consumption per interval and home (Tibber hourly API, or live quarter-hours where the "
    "Pulse stream covers a whole hour), with the EV / household split; latest download wins.",
    metadata=table_metadata(CONSUMPTION_TABLE),
    check_specs=check_specs(CONSUMPTION_CHECKS, CONSUMPTION_KEY),
)
def silver_consumption(
    context: AssetExecutionContext, config: SilverConsumptionConfig, spark: SparkResource
) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    file_from, file_to = file_date_range(first_day, last_day)
    bronze = lakehouse.table(BRONZE_TIBBER_TABLE).where(F.col("file_date").between(F.lit(file_from), F.lit(file_to)))
    rows = consumption_from_bronze(bronze, first_day, last_day, config.ev_charge_kw)
    guard = SeriesGuard(CONSUMPTION_SERIES)
    guarded_replace(lakehouse, guard, rows, first_day, last_day, bronze,
                    lambda r: f"home {r['home_id']} ({r['source']})")
    pseudonymised_homes = refresh_pseudonyms(lakehouse)  # keyed home pseudonyms for the consumer views
    if pseudonymised_homes is None:
        context.log.warning(MISSING_KEY)
    # Pages or batches of an unknown shape give no rows: name them rather than let them vanish (bronze keeps them).
    unparsed = report_unparsed(
        context, "silver/consumption", {f"{r.file_name}: {r.reason}" for r in consumption_unparsed(bronze).collect()})

    written, summary = written_days(lakehouse, CONSUMPTION_TABLE, first_day, last_day, consumption_quality)
    energy = sum((r["energy_kwh"] for r in summary), Decimal(0))
    ev = sum((r["ev_kwh"] for r in summary), Decimal(0))
    return MaterializeResult(
        metadata={
            **written_metadata(summary, first_day, last_day),
            "preview": preview(written.drop("source_file", "home_id"), "interval_start"),
            "energy_kwh": float(energy),
            "ev_kwh": float(ev),
            "household_kwh": float(energy - ev),
            "ev_charge_kw": config.ev_charge_kw,
            "pseudonymised_homes": -1 if pseudonymised_homes is None else pseudonymised_homes,  # -1: no key set
            **unparsed,
        },
        check_results=[*evaluate_consumption_checks(summary, first_day, last_day), guard.check_result()],
    )
