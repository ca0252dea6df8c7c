"""The Dagster code location: SMARD production, Tibber consumption and redispatch through reservoir, bronze and
silver; the emission factor dimension; the gold tables, views and report; jobs, sensors and schedules."""
from __future__ import annotations

from dagster import Definitions, in_process_executor

from emission_assets.factors.assets import emission_factors_asset
from emission_assets.gold.assets import gold_assets
from emission_assets.gold.report_assets import emissions_report_asset
from emission_assets.orchestration import ORCHESTRATION
from emission_assets.orchestration.deployment import resources_for_environment, with_step_launcher
from emission_assets.redispatch.assets import REDISPATCH_ASSETS
from emission_assets.smard.assets import silver_production, smard_bronze, smard_reservoir
from emission_assets.tibber.assets import silver_consumption, tibber_bronze, tibber_reservoir

# The asset code is the same everywhere; with EMISSION_ENV=databricks the Spark steps run through the Databricks
# step launcher (locally the launcher resource is a no-op).
ASSETS = with_step_launcher([
    smard_reservoir, smard_bronze, silver_production, tibber_reservoir, tibber_bronze, silver_consumption,
    emission_factors_asset, *REDISPATCH_ASSETS, *gold_assets(), emissions_report_asset,
])


def build_definitions() -> Definitions:
    # In-process: one embedded Spark server serves every step of a run (a server per step would cost start-up).
    return Definitions(
        assets=ASSETS,
        jobs=ORCHESTRATION["jobs"],
        sensors=ORCHESTRATION["sensors"],
        schedules=ORCHESTRATION["schedules"],
        resources=resources_for_environment(),
        executor=in_process_executor,
    )


defs = build_definitions()
