"""Lakehouse maintenance: compact small files and vacuum replaced ones, table by table (weekly schedule, or
``emission-tracker maintain``)."""

from dagster import Config, MetadataValue, OpExecutionContext, Output, job, op
from pydantic import Field

from emission_assets.lakehouse.registry import TABLES
from emission_assets.orchestration.resources import SparkResource

DEFAULT_RETAIN_HOURS = 168


class MaintenanceConfig(Config):
    retain_hours: int = Field(
        ge=1, default=DEFAULT_RETAIN_HOURS,
        description="keep files that a table version of the last this many hours still needs",
    )


def maintain_all(writer, retain_hours: int = DEFAULT_RETAIN_HOURS) -> list[dict]:
    """:meth:`DeltaWriter.maintain` for every registered table, in registry order."""
    return [writer.maintain(name, retain_hours) for name in TABLES]


@op(description="Compact small files and vacuum replaced ones in every lakehouse table.", tags={"kind": "delta"})
def lakehouse_maintenance(context: OpExecutionContext, config: MaintenanceConfig, spark: SparkResource) -> Output:
    results = maintain_all(spark.open().writer, config.retain_hours)
    for result in results:
        context.log.info(", ".join(f"{key}={value}" for key, value in result.items()))
    rows = [f"| {r['table']} | {r.get('files_before', '')} | {r.get('files_after', '')} | {r.get('files_deleted', '')} |"
            for r in results]
    return Output(
        results,
        metadata={
            "tables": len(results),
            "files_deleted": sum(r.get("files_deleted", 0) for r in results),
            "files": MetadataValue.md("| table | files before | files after | deleted |\n|---|---|---|---|\n"
                                      + "\n".join(rows)),
        },
    )


@job(description="Compact and vacuum every lakehouse table (Delta maintenance).")
def lakehouse_maintenance_job():
    lakehouse_maintenance()
