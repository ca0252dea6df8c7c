"""SMARD forecast reservoir files into ``bronze.smard_forecast_responses``, typed, plus ingest metadata, exactly once
(the SMARD source's ingest and parse, into the forecast table).

Only files that match their sidecar (sha256, byte count) are ingested; the others are quarantined in the reservoir
(:mod:`emission_assets.lakehouse.reservoir_integrity`). A file that is not a SMARD window, or has a value of the
wrong type, keeps its text in ``raw_payload`` and why in ``parse_error``: silver lists it by name (check
``known_file_shapes``) and gives no rows for it.
"""
from __future__ import annotations

from pyspark.sql import DataFrame

from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.smard import bronze as smard_bronze
from emission_assets.smard_forecast.tables import BRONZE_SMARD_FORECAST_RESPONSES

TABLE = BRONZE_SMARD_FORECAST_RESPONSES.name
window_date = smard_bronze.window_date
FILE_ROW_SCHEMA = smard_bronze.FILE_ROW_SCHEMA  # the same file rows as SMARD's


def typed_responses(files: DataFrame) -> DataFrame:
    """Forecast bronze rows from file rows: SMARD's parse, which here also refuses values of the wrong type."""
    return smard_bronze.typed_responses(files, table=TABLE, check_value_types=True)


def ingest(spark, writer: DeltaWriter, files, run_id: str, known: set[str] | None = None) -> int:
    return smard_bronze.ingest(spark, writer, files, run_id, known, table=TABLE, typed=typed_responses)
