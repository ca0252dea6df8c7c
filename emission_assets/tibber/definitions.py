"""The Tibber source as one descriptor: assets, checks, job, sensor, schedule, tables, reservoir folders, settings."""
from emission_assets.orchestration.source import Source
from emission_assets.settings import settings
from emission_assets.tibber import tables
from emission_assets.tibber.assets import silver_consumption, tibber_bronze, tibber_reservoir
from emission_assets.tibber.client import API_URL_ENV, TOKEN_ENV, TibberError
from emission_assets.tibber.jobs import tibber_job, tibber_revision_schedule
from emission_assets.tibber.layout import HOURLY, LIVE, RESERVOIR_DIR
from emission_assets.tibber.resources import tibber_resource_from_env
from emission_assets.tibber.sensors import tibber_api_sensor


def configured() -> bool:
    """A SMARD-only user needs no Tibber token: without one the default selection leaves Tibber out."""
    return settings().tibber.configured


SOURCE = Source(
    name="tibber",
    reservoir_key=tibber_reservoir.key,
    bronze_key=tibber_bronze.key,
    silver_key=silver_consumption.key,
    tables=tables.TABLES,
    reservoir_folders=(f"{RESERVOIR_DIR}/{HOURLY}", f"{RESERVOIR_DIR}/{LIVE}"),
    secrets=(TOKEN_ENV,),
    pass_through_env=(API_URL_ENV, "TIBBER_HOME_ID"),
    resources={"tibber": tibber_resource_from_env},
    expected_errors=(TibberError,),
    configured=configured,
    unconfigured_note="Tibber consumption skipped: set TIBBER_TOKEN (or TIBBER_API_URL=sample://tibber) to include it",
    assets=(tibber_reservoir, tibber_bronze, silver_consumption),
    jobs=(tibber_job,),
    sensors=(tibber_api_sensor,),
    schedules=(tibber_revision_schedule,),
)
