"""The SMARD day-ahead forecast source as one descriptor: assets, checks, job, tables, reservoir folder.

It shares the SMARD API resource (``smard``, ``$SMARD_BASE_URL``) with the SMARD source: one setting points both at
the live API or a recorded ``file://`` tree.
"""
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from emission_assets.orchestration.partitions import FORECAST_END_OFFSET_DAYS
from emission_assets.orchestration.source import Source
from emission_assets.settings import settings
from emission_assets.smard.client import BASE_URL_ENV, SmardRequestError
from emission_assets.smard.resources import smard_resource_from_env
from emission_assets.smard_forecast import tables
from emission_assets.smard_forecast.assets import (
    silver_grid_forecast,
    smard_forecast_bronze,
    smard_forecast_reservoir,
)
from emission_assets.smard_forecast.catalog import DEFAULT_FILTERS
from emission_assets.smard_forecast.jobs import smard_forecast_job
from emission_assets.smard_forecast.layout import RESERVOIR_DIR, SOURCE_NAME


def configured() -> bool:
    """The live API serves forecasts; a ``file://`` replay only if it holds them (the bundled demo replay of 2022
    holds realised data only). Without them a plain `emission-tracker materialize` leaves the forecasts out rather
    than fail on the replay's 404s."""
    url = settings().smard.base_url
    if urlparse(url).scheme != "file":
        return True
    root = Path(url2pathname(urlparse(url).path))
    return any((root / "chart_data" / str(filter_id)).is_dir() for filter_id in DEFAULT_FILTERS)


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
    configured=configured,
    unconfigured_note="SMARD day-ahead forecasts skipped: the file:// replay in SMARD_BASE_URL holds none "
    "(--select tag:source=smard_forecast fetches them anyway)",
    partition_end_offset_days=FORECAST_END_OFFSET_DAYS,
    assets=(smard_forecast_reservoir, smard_forecast_bronze, silver_grid_forecast),
    jobs=(smard_forecast_job,),
)
