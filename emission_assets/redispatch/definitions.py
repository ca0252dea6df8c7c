"""The redispatch source as one descriptor: assets, checks, job, tables, reservoir folder, secrets."""
from emission_assets.orchestration.source import Source
from emission_assets.redispatch import tables
from emission_assets.redispatch.assets import redispatch_bronze, redispatch_reservoir, silver_redispatch
from emission_assets.redispatch.client import (
    API_URL_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    TOKEN_URL_ENV,
    NetztransparenzError,
)
from emission_assets.redispatch.jobs import redispatch_job
from emission_assets.redispatch.layout import RESERVOIR_DIR

SOURCE = Source(
    name="redispatch",
    reservoir_key=redispatch_reservoir.key,
    bronze_key=redispatch_bronze.key,
    silver_key=silver_redispatch.key,
    tables=tables.TABLES,
    reservoir_folders=(RESERVOIR_DIR,),
    secrets=(CLIENT_ID_ENV, CLIENT_SECRET_ENV),
    pass_through_env=(TOKEN_URL_ENV, API_URL_ENV),
    expected_errors=(NetztransparenzError,),
    assets=(redispatch_reservoir, redispatch_bronze, silver_redispatch),
    jobs=(redispatch_job,),
)
