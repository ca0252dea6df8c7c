"""Dagster wiring for redispatch: netztransparenz.de CSV -> reservoir -> bronze -> silver.

``reservoir/redispatch_responses`` fetches only with credentials (``NETZTRANSPARENZ_CLIENT_ID`` /
``NETZTRANSPARENZ_CLIENT_SECRET``, read from the environment inside the asset, never from run config) and only the
days the reservoir does not hold yet. Without credentials it uses what was imported by hand
(``emission-tracker import redispatch-csv``, i.e. :func:`emission_assets.redispatch.layout.import_redispatch_csv`)
and warns (the locality model then uses the uncorrected control-area mix) where days are missing.
"""
from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    asset,
)
from pydantic import Field
from pyspark.sql import functions as F

from emission_assets.lakehouse.bronze_ingest import checked_ingest, series_date
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.lakehouse.writer import day_predicate
from emission_assets.orchestration.automation import daily_at, historical_eager
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.partitions import DAILY, day_range
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.redispatch import bronze as bronze_redispatch
from emission_assets.redispatch.client import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    NetztransparenzClient,
    credentials_from_env,
)
from emission_assets.redispatch.integrity import REDISPATCH_RULES
from emission_assets.redispatch.layout import API, missing_days, store_csv, stored_files
from emission_assets.redispatch.silver import TABLE as SILVER_TABLE
from emission_assets.redispatch.silver import redispatch_from_bronze
from emission_assets.timeutil import day_bounds_utc

TAGS = {"source": "redispatch"}


class RedispatchReservoirConfig(Config):
    refresh: bool = Field(default=False, description="fetch again even when the reservoir holds the days")
    settle_hours: float = Field(
        ge=0, default=24.0, description="a stored download counts as final for a day only if fetched this long after it"
    )


@asset(
    key_prefix="reservoir",
    name="redispatch_responses",
    tags=TAGS,
    group_name="reservoir",
    **DAILY,
    automation_condition=daily_at(7, 0),
    pool="netztransparenz_api",
    kinds={"csv"},
    owners=OWNERS,
    description="Raw netztransparenz.de redispatch CSV (API responses or hand-downloaded imports), versioned. "
    "Not openly licensed: never committed.",
)
def redispatch_reservoir(
    context: AssetExecutionContext, config: RedispatchReservoirConfig, reservoir: ReservoirResource
) -> MaterializeResult:
    first_day, last_day = day_range(context)
    store = reservoir.store()
    inspector = Inspector(store, REDISPATCH_RULES, "reservoir/redispatch_responses", context.run.run_id)
    files = inspector.verified(stored_files(store, first_day, last_day, inspector))  # only intact files count
    integrity = inspector.conclude(context.log, then="with netztransparenz credentials their days are fetched again")
    missing = missing_days(files, first_day, last_day, timedelta(hours=config.settle_hours))
    if config.refresh:
        missing = sorted({first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)})
    written = []
    if missing and credentials_from_env() is not None:
        start, end = day_bounds_utc(missing[0])[0], day_bounds_utc(missing[-1])[1]
        with NetztransparenzClient.from_env() as client:
            fetched = client.redispatch(start, end)
        written.append(store_csv(
            store, fetched.payload, source=API, url=fetched.url, fetched_at=fetched.fetched_at,
            window=(fetched.window_start, fetched.window_end), origin=fetched.url,
        ))
        missing = []
    elif missing:
        # Redispatch only corrects the locality model; without it the model uses the plain control-area mix.
        # A missing optional source must not stop production and consumption, so this warns instead of failing.
        context.log.warning(
            f"no redispatch data for {len(missing)} day(s) ({', '.join(d.isoformat() for d in missing[:10])}"
            f"{', ...' if len(missing) > 10 else ''}): the locality model uses the uncorrected control-area mix "
            f"there. Set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} (free account at netztransparenz.de), or download "
            "the CSV by hand and run `emission-tracker import redispatch-csv <files>`."
        )
    return MaterializeResult(
        metadata={
            **integrity,
            "days": (last_day - first_day).days + 1,
            "files_present": len(files),
            "files_written": len(written),
            "days_not_covered": len(missing),
            "fetched": bool(written),
        }
    )


@asset(
    key_prefix="bronze",
    name="redispatch_responses",
    tags=TAGS,
    group_name="bronze",
    deps=[AssetKey(["reservoir", "redispatch_responses"])],
    **DAILY,
    automation_condition=historical_eager(),
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description=bronze_redispatch.__doc__,
    metadata=table_metadata(bronze_redispatch.TABLE),
)
def redispatch_bronze(
    context: AssetExecutionContext, spark: SparkResource, reservoir: ReservoirResource
) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    store = reservoir.store()
    inspector = Inspector(store, REDISPATCH_RULES, "bronze/redispatch_responses", context.run.run_id)
    files = stored_files(store, first_day, last_day, inspector)
    metadata = checked_ingest(
        context, lakehouse, inspector, files, table=bronze_redispatch.TABLE, ingest=bronze_redispatch.ingest,
        partition=("file_date", series_date), first_day=first_day, last_day=last_day,
    )
    return MaterializeResult(metadata=metadata)


@asset(
    key=AssetKey(["silver", "redispatch"]),
    tags=TAGS,
    group_name="silver",
    deps=[AssetKey(["bronze", "redispatch_responses"])],
    **DAILY,
    automation_condition=historical_eager(),
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description="Redispatch measures (netztransparenz.de), typed, one row per measure (latest download wins), "
    "by the local day the measure starts.",
    metadata=table_metadata(SILVER_TABLE),
)
def silver_redispatch(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    bronze = lakehouse.table(bronze_redispatch.TABLE)
    rows = redispatch_from_bronze(lakehouse.spark, bronze, first_day, last_day)
    lakehouse.writer.replace_days(SILVER_TABLE, rows, first_day, last_day)
    written = lakehouse.table(SILVER_TABLE).where(day_predicate(first_day, last_day))
    summary = written.groupBy("direction").agg(F.count("*").alias("n"), F.sum("energy_mwh").alias("mwh")).collect()
    return MaterializeResult(
        metadata={
            "dagster/row_count": sum(r["n"] for r in summary),
            "days": (last_day - first_day).days + 1,
            **{f"{r['direction']}_measures": r["n"] for r in summary},
            **{f"{r['direction']}_mwh": float(r["mwh"] or 0) for r in summary},
        }
    )


REDISPATCH_ASSETS = [redispatch_reservoir, redispatch_bronze, silver_redispatch]
