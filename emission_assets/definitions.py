"""The Dagster code location: reservoir -> bronze -> silver for SMARD production and Tibber consumption."""
from __future__ import annotations

from dagster import Definitions, in_process_executor

from emission_assets.bronze.assets import smard_bronze, tibber_bronze
from emission_assets.reservoir.assets import smard_reservoir, tibber_reservoir
from emission_assets.resources import resources_from_env
from emission_assets.silver.assets import silver_consumption, silver_production
from emission_assets.silver.factor_assets import emission_factors_asset

ASSETS = [
    smard_reservoir, smard_bronze, silver_production, tibber_reservoir, tibber_bronze, silver_consumption,
    emission_factors_asset,
]


def build_definitions() -> Definitions:
    # In-process: one embedded Spark server serves every step of a run (a server per step would cost start-up).
    return Definitions(assets=ASSETS, resources=resources_from_env(), executor=in_process_executor)


defs = build_definitions()
