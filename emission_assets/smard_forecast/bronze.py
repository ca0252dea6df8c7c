"""SMARD forecast reservoir files into ``bronze.smard_forecast_responses``: the raw payload plus ingest metadata,
exactly once (the SMARD source's ingest, into the forecast table).

Only files that match their sidecar (sha256, byte count) are ingested; the others are quarantined in the reservoir
(:mod:`emission_assets.lakehouse.reservoir_integrity`). A file whose payload is not a SMARD window stays here as it
came: silver lists it by name (check ``known_file_shapes``) and gives no rows for it.
"""
from __future__ import annotations

from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.smard import bronze as smard_bronze
from emission_assets.smard_forecast.tables import BRONZE_SMARD_FORECAST_RESPONSES

TABLE = BRONZE_SMARD_FORECAST_RESPONSES.name
window_date = smard_bronze.window_date


def ingest(spark, writer: DeltaWriter, files, run_id: str, known: set[str] | None = None) -> int:
    return smard_bronze.ingest(spark, writer, files, run_id, known, table=TABLE)
