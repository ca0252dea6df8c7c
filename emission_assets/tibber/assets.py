"""Dagster definitions of the Tibber source: hourly API pages (and live micro-batches) into the reservoir,
bronze.tibber_responses (exactly once per file) and silver.consumption, per local day."""
from datetime import date, timedelta
from decimal import Decimal
from typing import Optional

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
from pyspark.sql import functions as F

from emission_assets.lakehouse.bronze_ingest import checked_ingest, series_date
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
)
from emission_assets.orchestration.silver_support import (
    REFETCHED,
    check_specs,
    report_unparsed,
    run_summary,
    sample_list,
    written_metadata,
)
from emission_assets.tibber import bronze as bronze_tibber
from emission_assets.tibber import reservoir as tibber_fill
from emission_assets.tibber.bronze import TABLE as BRONZE_TIBBER_TABLE
from emission_assets.tibber.bronze import file_date_range
from emission_assets.tibber.integrity import TIBBER_RULES
from emission_assets.tibber.layout import HOURLY, LIVE, stored_files
from emission_assets.tibber.pseudonyms import MISSING_KEY, refresh_pseudonyms
from emission_assets.tibber.resources import TibberResource
from emission_assets.tibber.silver import DEFAULT_EV_CHARGE_KW, consumption_from_bronze
from emission_assets.tibber.silver import quality_summary as consumption_quality
from emission_assets.tibber.silver import unparsed_payloads as consumption_unparsed
from emission_assets.timeutil import days_between, expected_intervals


class TibberReservoirConfig(Config):
    home_id: Optional[str] = Field(default=None, description="Tibber home id; default the account's only home")
    refresh: bool = Field(default=False, description="fetch again even when the reservoir holds the days")
    settle_hours: float = Field(
        ge=0, default=48.0, description="a stored page counts as final for a day only if fetched this long after it "
        "(Tibber corrects recent hours)"
    )


@asset(
    key_prefix="reservoir",
    name="tibber_responses",
    tags={"source": "tibber"},
    group_name="reservoir",
    **DAILY,
    automation_condition=daily_at(6, 45),
    pool="tibber_api",
    kinds={"json"},
    owners=OWNERS,
    description="Raw Tibber HOURLY consumption pages (GraphQL responses, no token), versioned, owner-only files. "
    "Live Pulse micro-batches land here too, written by `emission-tracker live`.",
)
def tibber_reservoir(
    context: AssetExecutionContext, config: TibberReservoirConfig, tibber: TibberResource, reservoir: ReservoirResource
) -> MaterializeResult:
    first_day, last_day = day_range(context)
    client = tibber.client()
    home_id = client.resolve_home(config.home_id or tibber.home_id)
    store = reservoir.store()
    inspector = Inspector(store, TIBBER_RULES, "reservoir/tibber_responses", context.run.run_id)
    try:
        report = tibber_fill.fill(
            client, store, first_day, last_day, home_id=home_id, refresh=config.refresh,
            settle=timedelta(hours=config.settle_hours),
            source="sample" if tibber.api_url.startswith("sample://") else "api", inspector=inspector,
        )
    finally:  # named even when a fetch fails afterwards
        integrity = inspector.conclude(context.log, then=REFETCHED)
    return MaterializeResult(
        metadata={
            **integrity,
            "days": report.days,
            "days_already_present": report.days_present,
            "days_fetched": report.days_fetched,
            "requests": report.requests,
            "files_written": len(report.written),
        }
    )

@asset(
    key_prefix="bronze",
    name="tibber_responses",
    tags={"source": "tibber"},
    group_name="bronze",
    deps=[AssetKey(["reservoir", "tibber_responses"])],
    **DAILY,
    automation_condition=historical_eager(),
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description=bronze_tibber.__doc__,
    metadata=table_metadata(bronze_tibber.TABLE),
)
def tibber_bronze(context: AssetExecutionContext, spark: SparkResource, reservoir: ReservoirResource) -> MaterializeResult:
    """Hourly API pages and live micro-batches of the run's days."""
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    store = reservoir.store()
    inspector = Inspector(store, TIBBER_RULES, "bronze/tibber_responses", context.run.run_id)
    files = (stored_files(store, HOURLY, first_day, last_day, inspector)
             + stored_files(store, LIVE, first_day, last_day, inspector))
    metadata = checked_ingest(
        context, lakehouse, inspector, files, table=bronze_tibber.TABLE, ingest=bronze_tibber.ingest,
        partition=("file_date", series_date), first_day=first_day, last_day=last_day,
        keep_bytes=False,  # the engine reads the files itself
    )
    return MaterializeResult(metadata=metadata)

CONSUMPTION_TABLE = "silver.consumption"
CONSUMPTION_KEY = AssetKey(["silver", "consumption"])
CONSUMPTION_CHECKS = {
    "no_duplicate_intervals": "No (home, interval) appears twice.",
    "complete_days": "Every home's intervals cover its whole local day (23/24/25 hours on DST days).",
    "non_negative_energy": "No negative energy values (a negative value already fails the asset before it writes: "
    "see emission_assets.orchestration.silver_guards; this check guards what is stored).",
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
        return sample_list([f"{date(r['year'], r['month'], r['day'])} {r['home_id']}: {r[column]} {what}"
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
            metadata={"incomplete_days": len(incomplete), "incomplete": sample_list(incomplete),
                      "days_without_data": sample_list(missing_days)},
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
    automation_condition=historical_eager(),
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description="Household consumption per interval and home (Tibber hourly API, or live quarter-hours where the "
    "Pulse stream covers a whole hour), with the EV / household split; latest download wins.",
    metadata=table_metadata(CONSUMPTION_TABLE),
    check_specs=check_specs(CONSUMPTION_CHECKS, CONSUMPTION_KEY, {"complete_days"}),
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
    staged_summary = guarded_replace(lakehouse, guard, rows, first_day, last_day, bronze,
                                     lambda r: f"home {r['home_id']} ({r['source']})", summarise=consumption_quality)
    pseudonymised_homes = refresh_pseudonyms(lakehouse)  # keyed home pseudonyms for the consumer views
    if pseudonymised_homes is None:
        context.log.warning(MISSING_KEY)
    # Pages or batches of an unknown shape give no rows: name them rather than let them vanish (bronze keeps them).
    unparsed = report_unparsed(
        context, "silver/consumption", {f"{r.file_name}: {r.reason}" for r in consumption_unparsed(bronze).collect()})

    written, summary = run_summary(lakehouse, CONSUMPTION_TABLE, first_day, last_day, consumption_quality,
                                   staged_summary, guard.kept_days)
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
