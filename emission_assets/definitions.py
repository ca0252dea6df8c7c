"""The Dagster code location: the merge of every source folder's definitions (``emission_assets/sources.py``), the
gold tables, views and report, and what spans all sources (reservoir sensor and retention, lakehouse maintenance, the automation
sensor). Everything that could run by itself (schedules, sensors, declarative automation) starts STOPPED."""
from __future__ import annotations

from dagster import Definitions, in_process_executor

from emission_assets.forecast.assets import forecast_assets
from emission_assets.gold.assets import gold_assets
from emission_assets.gold.ev_assets import EV_ASSETS
from emission_assets.gold.profile_assets import intensity_profile_asset
from emission_assets.gold.report_assets import emissions_report_asset
from emission_assets.orchestration.automation import automation_sensor
from emission_assets.orchestration.deployment import with_step_launcher
from emission_assets.orchestration.maintenance import lakehouse_maintenance_job
from emission_assets.orchestration.retention import retention_job_for
from emission_assets.orchestration.schedules import lakehouse_maintenance_schedule
from emission_assets.orchestration.sensors import reservoir_sensor_for
from emission_assets.orchestration.sqlite_storage import install as install_sqlite_sync
from emission_assets.sources import all_sources, resources_for_environment


def shared_definitions() -> Definitions:
    """Definitions over every source at once: they read the descriptors, not a list of their own."""
    sources = all_sources()
    return Definitions(
        jobs=[retention_job_for(sources), lakehouse_maintenance_job],
        sensors=[reservoir_sensor_for(sources), automation_sensor()],
        schedules=[lakehouse_maintenance_schedule],
    )


def build_definitions() -> Definitions:
    # The asset code is the same everywhere; with EMISSION_ENV=databricks the Spark steps run through the Databricks
    # step launcher (locally the launcher resource is a no-op). In-process: one embedded Spark server serves every
    # step of a run (a server per step would cost start-up).
    return Definitions.merge(
        *(source.definitions(with_step_launcher) for source in all_sources()),
        Definitions(assets=with_step_launcher([*gold_assets(), emissions_report_asset, intensity_profile_asset,
                                               *EV_ASSETS, *forecast_assets()])),
        shared_definitions(),
        Definitions(resources=resources_for_environment(), executor=in_process_executor),
    )


install_sqlite_sync()  # this process's writes to Dagster's SQLite storage, e.g. a run worker's events
defs = build_definitions()
ASSETS = list(defs.assets)
