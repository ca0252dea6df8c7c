"""Job factories: one asset job per source (its folder builds it), and the run config of a reservoir refresh.

Every asset job has the daily partitions (Europe/Berlin) of its assets (Dagster infers them from the selection),
so sensors and schedules request one local day per run; a range backfilled from the UI still runs as one run (the
assets' single-run backfill policy).
"""

from dagster import AssetSelection, define_asset_job


def job_name(source: str) -> str:
    return f"{source}_job"


def source_job(source: str, description: str):
    """The asset job of every asset tagged ``source=<source>`` (reservoir -> bronze -> silver)."""
    return define_asset_job(
        name=job_name(source),
        selection=AssetSelection.tag("source", source),
        description=description,
        tags={"source": source},
    )


def refresh_run_config(reservoir_op_name: str) -> dict:
    """Run config that makes a reservoir asset (op ``reservoir__<name>``) fetch again although it holds the days
    (bronze keeps every version, silver takes the latest)."""
    return {"ops": {reservoir_op_name: {"config": {"refresh": True}}}}
