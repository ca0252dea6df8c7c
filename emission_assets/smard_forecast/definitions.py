"""The SMARD day-ahead forecast source as one descriptor: assets, checks, job, tables, reservoir folder.

It shares the SMARD API resource (``smard``, ``$SMARD_BASE_URL``) with the SMARD source: one setting points both at
the live API or a recorded ``file://`` tree.
"""
from emission_assets.orchestration.partitions import FORECAST_END_OFFSET_DAYS
from emission_assets.orchestration.source import Source
from emission_assets.smard.client import BASE_URL_ENV, SmardRequestError
from emission_assets.smard.resources import smard_resource_from_env
from emission_assets.smard_forecast import tables
from emission_assets.smard_forecast.assets import (
    silver_grid_forecast,
    smard_forecast_bronze,
    smard_forecast_reservoir,
)
from emission_assets.smard_forecast.jobs import smard_forecast_job
from emission_assets.smard_forecast.layout import RESERVOIR_DIR, SOURCE_NAME

SOURCE = Source(
    name=SOURCE_NAME,
    reservoir_key=smard_forecast_reservoir.key,
    bronze_key=smard_forecast_bronze.key,
    silver_key=silver_grid_forecast.key,
    tables=tables.TABLES,
    reservoir_folders=(RESERVOIR_DIR,),
    pass_through_env=(BASE_URL_ENV,),
    resources={"smard": smard_resource_from_env},
    expected_errors=(SmardRequestError,),
    takes_smard_options=True,
    partition_end_offset_days=FORECAST_END_OFFSET_DAYS,
    assets=(smard_forecast_reservoir, smard_forecast_bronze, silver_grid_forecast),
    jobs=(smard_forecast_job,),
)
