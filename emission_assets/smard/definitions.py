"""The SMARD source as one descriptor: assets, checks, job, sensor, schedule, tables, reservoir folder, settings."""
from emission_assets.orchestration.source import Source
from emission_assets.smard import tables
from emission_assets.smard.assets import silver_grid_load, silver_production, smard_bronze, smard_reservoir
from emission_assets.smard.client import BASE_URL_ENV, SmardRequestError
from emission_assets.smard.jobs import smard_job, smard_revision_schedule
from emission_assets.smard.resources import smard_resource_from_env
from emission_assets.smard.sensors import smard_api_sensor
from emission_assets.smard.windows import RESERVOIR_DIR

SOURCE = Source(
    name="smard",
    reservoir_key=smard_reservoir.key,
    bronze_key=smard_bronze.key,
    silver_key=silver_production.key,
    more_silver_keys=(silver_grid_load.key,),
    tables=tables.TABLES,
    reservoir_folders=(RESERVOIR_DIR,),
    pass_through_env=(BASE_URL_ENV,),
    resources={"smard": smard_resource_from_env},
    expected_errors=(SmardRequestError,),
    takes_smard_options=True,
    assets=(smard_reservoir, smard_bronze, silver_production, silver_grid_load),
    jobs=(smard_job,),
    sensors=(smard_api_sensor,),
    schedules=(smard_revision_schedule,),
)
