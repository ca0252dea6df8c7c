"""Dagster wiring: reservoir files into append-only bronze, exactly once per file."""
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from emission_assets.assets_metadata import OWNERS, table_metadata
from emission_assets.bronze import smard as bronze_smard
from emission_assets.partitions import daily_partitions, day_range, single_run_backfill
from emission_assets.resources import ReservoirResource, SparkResource
from emission_assets.smard.windows import stored_windows


@asset(
    key_prefix="bronze",
    name="smard_responses",
    group_name="bronze",
    deps=[AssetKey(["reservoir", "smard_responses"])],
    partitions_def=daily_partitions,
    backfill_policy=single_run_backfill,
    kinds={"spark", "delta"},
    owners=OWNERS,
    description=bronze_smard.__doc__,
    metadata=table_metadata(bronze_smard.TABLE),
)
def smard_bronze(context: AssetExecutionContext, spark: SparkResource, reservoir: ReservoirResource) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    files = stored_windows(reservoir.store(), first_day, last_day)
    added = bronze_smard.ingest(lakehouse.spark, lakehouse.writer, files, context.run.run_id)
    return MaterializeResult(metadata={"reservoir_files_seen": len(files), "rows_added": added})
