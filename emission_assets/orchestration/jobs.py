"""Asset jobs over the daily-partitioned assets, one per source, plus the reservoir retention and lakehouse maintenance op jobs.

Every asset job has the daily partitions (Europe/Berlin) of its assets (Dagster infers them from the selection),
so sensors and schedules request one local day per run; a range backfilled from the UI still runs as one run (the
assets' single-run backfill policy).
"""

from dagster import AssetKey, AssetSelection, define_asset_job

from emission_assets.orchestration.maintenance import lakehouse_maintenance_job
from emission_assets.orchestration.retention import retention_job

SOURCES = ("smard", "tibber", "redispatch")

# Op names of the reservoir assets (key prefix + name), for run config such as ``refresh: true``.
RESERVOIR_KEYS = {source: AssetKey(["reservoir", f"{source}_responses"]) for source in SOURCES}
BRONZE_KEYS = {source: AssetKey(["bronze", f"{source}_responses"]) for source in SOURCES}
SILVER_KEYS = {
    "smard": AssetKey(["silver", "production"]),
    "tibber": AssetKey(["silver", "consumption"]),
    "redispatch": AssetKey(["silver", "redispatch"]),
}


def _source_job(source: str, description: str):
    return define_asset_job(
        name=f"{source}_job",
        selection=AssetSelection.tag("source", source),
        description=description,
        tags={"source": source},
    )


smard_job = _source_job("smard", "SMARD production: reservoir -> bronze -> silver.production, per local day.")
tibber_job = _source_job("tibber", "Tibber consumption: reservoir -> bronze -> silver.consumption, per local day.")
redispatch_job = _source_job("redispatch", "Redispatch: reservoir -> bronze -> silver.redispatch, per local day.")

SOURCE_JOBS = {"smard": smard_job, "tibber": tibber_job, "redispatch": redispatch_job}


def job_name(source: str) -> str:
    return f"{source}_job"


def reservoir_op_name(source: str) -> str:
    """Op name of a source's reservoir asset (``reservoir__smard_responses``), the key of its run config."""
    return "__".join(RESERVOIR_KEYS[source].path)


def refresh_run_config(source: str) -> dict:
    """Run config that makes the reservoir asset fetch again although it holds the days (bronze keeps every
    version, silver takes the latest)."""
    return {"ops": {reservoir_op_name(source): {"config": {"refresh": True}}}}


JOBS = [smard_job, tibber_job, redispatch_job, retention_job, lakehouse_maintenance_job]

__all__ = [
    "BRONZE_KEYS", "JOBS", "lakehouse_maintenance_job", "RESERVOIR_KEYS", "SILVER_KEYS", "SOURCES", "SOURCE_JOBS", "job_name",
    "redispatch_job", "refresh_run_config", "reservoir_op_name", "retention_job", "smard_job", "tibber_job",
]
