"""Redispatch reservoir files (netztransparenz.de CSV) into ``bronze.redispatch_responses``, exactly once; only
files that match their sidecar (:mod:`emission_assets.lakehouse.reservoir_integrity`).

``payload`` is the file's text, decoded with :func:`emission_assets.redispatch.parse.decode_text` (UTF-8, else per
line cp1252/latin-1), so mixed-encoding files land as valid strings; the raw bytes stay in the reservoir.
"""
from __future__ import annotations

from datetime import datetime

from emission_assets.lakehouse.bronze_ingest import file_fields, series_date
from emission_assets.lakehouse.bronze_ingest import ingest as ingest_files
from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.redispatch.parse import decode_text
from emission_assets.timeutil import from_epoch_ms

TABLE = "bronze.redispatch_responses"
ROW_SCHEMA = spec(TABLE).ddl  # also what tests build bronze frames with


def bronze_row(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    meta = file.meta
    return file_fields(file, ingested_at, run_id) + (
        from_epoch_ms(meta["series_start_ms"]),
        from_epoch_ms(meta["series_end_ms"]),
        decode_text(file.read_bytes()),
        series_date(file),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str, known: set[str] | None = None) -> int:
    return ingest_files(
        spark, writer, TABLE, files, row=bronze_row, partition=("file_date", series_date), run_id=run_id,
        known=known,
    )
