"""Dagster wiring: reservoir files into append-only bronze tables, exactly once per file."""
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from emission_assets.assets_metadata import OWNERS, table_metadata
from emission_assets.bronze import autoloader
from emission_assets.bronze import smard as bronze_smard
from emission_assets.bronze import tibber as bronze_tibber
from emission_assets.bronze.ingest import checked_ingest, series_date
from emission_assets.partitions import DAILY, day_range
from emission_assets.reservoir.integrity import SMARD_RULES, TIBBER_RULES, Inspector
from emission_assets.resources import ReservoirResource, SparkResource
from emission_assets.smard.windows import stored_windows
from emission_assets.tibber.layout import HOURLY, LIVE, stored_files


@asset(
    key_prefix="bronze",
    name="smard_responses",
    tags={"source": "smard"},
    group_name="bronze",
    deps=[AssetKey(["reservoir", "smard_responses"])],
    **DAILY,
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
    )
    return MaterializeResult(metadata={"ingest": "batch", **metadata})


@asset(
    key_prefix="bronze",
    name="tibber_responses",
    tags={"source": "tibber"},
    group_name="bronze",
    deps=[AssetKey(["reservoir", "tibber_responses"])],
    **DAILY,
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
    )
    return MaterializeResult(metadata=metadata)
