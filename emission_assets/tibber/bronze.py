"""Tibber reservoir files (hourly API pages and live batches) into ``bronze.tibber_responses``, typed, exactly once.

The engine reads the files itself (:func:`emission_assets.lakehouse.bronze_ingest.ingest_read`) and
:func:`typed_responses` parses each once: an hourly page's consumption nodes and a live batch's samples become arrays
of typed structs (times as timestamps). A file that is not of its kind's shape keeps its text in ``raw_payload`` and
why in ``parse_error``; silver uses none of it and names it. Only files that match their sidecar (sha256, byte
count) are ingested; the others are quarantined in the reservoir (:mod:`emission_assets.lakehouse.reservoir_integrity`).
"""
from __future__ import annotations

from datetime import date, datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.lakehouse.bronze_ingest import PAYLOAD, file_fields, file_row_ddl, ingest_read, series_date
from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.tibber.layout import PAGE_LOOKBACK
from emission_assets.tibber.tables import BRONZE_TYPED_COLUMNS
from emission_assets.timeutil import from_epoch_ms

TABLE = "bronze.tibber_responses"
# FILE_ROW_SCHEMA: a reservoir file as a row, the input of :func:`typed_responses` (also what tests build bronze
# frames from, and the schema of bronze before it was typed).
FIELDS_DDL, FILE_ROW_SCHEMA = file_row_ddl(TABLE, BRONZE_TYPED_COLUMNS)

HOURLY_RESPONSE = (
    "struct<data: struct<viewer: struct<home: struct<consumption: struct<nodes: array<struct<"
    "`from`: string, `to`: string, consumption: double, consumptionUnit: string, cost: double, unitPrice: double, "
    "currency: string>>>>>>>"
)
LIVE_RESPONSE = (
    "struct<home_id: string, measurements: array<struct<timestamp: string, power: double, "
    "accumulatedConsumption: double, accumulatedCost: double, currency: string>>>"
)
NO_NODES = "hourly page without data.viewer.home.consumption.nodes (not JSON, or not Tibber's shape)"
NO_MEASUREMENTS = "live batch without a measurements list (not JSON, or not the recorder's shape)"


def typed_responses(files: DataFrame) -> DataFrame:
    """Bronze rows from file rows (:data:`FILE_ROW_SCHEMA`): the one parse of each file, by its ``kind``. Pure:
    runs on any Spark."""
    kind = F.col("kind")
    parsed = files.withColumn(
        "_nodes", F.when(kind == "hourly", F.from_json(PAYLOAD, HOURLY_RESPONSE)["data"]["viewer"]["home"]
                         ["consumption"]["nodes"])
    ).withColumn("_measurements", F.when(kind == "live", F.from_json(PAYLOAD, LIVE_RESPONSE)["measurements"]))
    error = (
        F.when(kind.isNull() | ~kind.isin("hourly", "live"),
               F.concat(F.lit("unknown kind "), F.coalesce(kind, F.lit("null"))))
        .when((kind == "hourly") & F.col("_nodes").isNull(), F.lit(NO_NODES))
        .when((kind == "live") & F.col("_measurements").isNull(), F.lit(NO_MEASUREMENTS))
    )
    parsed = parsed.withColumn("parse_error", error)
    ok = F.col("parse_error").isNull()
    nodes = F.transform("_nodes", lambda n: F.struct(
        F.to_timestamp(n["from"]).alias("interval_start"),
        F.to_timestamp(n["to"]).alias("interval_end"),
        n["consumption"].alias("energy_kwh"),
        n["consumptionUnit"].alias("consumption_unit"),
        n["cost"].alias("cost"),
        n["unitPrice"].alias("unit_price"),
        n["currency"].alias("currency"),
    ))
    measurements = F.transform("_measurements", lambda m: F.struct(
        F.to_timestamp(m["timestamp"]).alias("sampled_at"),
        m["power"].alias("power_w"),
        m["accumulatedConsumption"].alias("accumulated_kwh"),
        m["accumulatedCost"].alias("accumulated_cost"),
        m["currency"].alias("currency"),
    ))
    typed = {
        "hourly_nodes": F.when(ok, nodes),
        "live_measurements": F.when(ok, measurements),
        "parse_error": F.col("parse_error"),
        "raw_payload": F.when(~ok, F.col(PAYLOAD)),
    }
    return parsed.select(*[typed[c].alias(c) if c in typed else F.col(c) for c in spec(TABLE).column_names])


def file_values(file: ReservoirFile, ingested_at: datetime, run_id: str) -> tuple:
    """The bronze columns a file's sidecar gives (:data:`FIELDS_DDL`)."""
    meta = file.meta
    return file_fields(file, ingested_at, run_id) + (
        meta["kind"],
        meta["home_id"],
        from_epoch_ms(meta["series_start_ms"]),
        from_epoch_ms(meta["series_end_ms"]),
        series_date(file),
    )


def ingest(spark, writer: DeltaWriter, files: list[ReservoirFile], run_id: str, known: set[str] | None = None) -> int:
    return ingest_read(
        spark, writer, TABLE, files, fields=(file_values, FIELDS_DDL), typed=typed_responses,
        partition=("file_date", series_date), run_id=run_id, known=known,
    )


def file_date_range(first_day: date, last_day: date) -> tuple[date, date]:
    """File dates whose files can overlap the days (an hourly page starts at most ~31 days earlier)."""
    return first_day - PAGE_LOOKBACK, last_day
