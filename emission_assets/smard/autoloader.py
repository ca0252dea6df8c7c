"""Bronze ingest with Databricks Auto Loader (``cloudFiles``, available-now trigger): the Databricks counterpart of
the batch ingest and the local reservoir sensor.

Auto Loader lists the reservoir Volume itself and remembers processed files in its checkpoint, so no sidecar is
read: everything bronze needs is in the file's deterministic name
(``<filter>_<region>_<resolution>_<window ms>__<fetched at>.json``) and its content. :func:`smard_rows_from_files`
is the pure mapping from (path, content) to bronze rows — tested on the embedded engine with a static frame —;
:func:`autoload_smard` wraps it around the stream, which only the Databricks runtime provides.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.lakehouse.columns import local_date
from emission_assets.lakehouse.writer import DeltaWriter
from emission_assets.settings import settings
from emission_assets.smard.bronze import TABLE, typed_responses

ENABLE_ENV = "EMISSION_BRONZE_AUTOLOADER"
SMARD_FILE = r"(\d+)_([A-Za-z0-9]+)_(quarterhour|hour)_(\d+)__(\d{8}T\d{12}Z)\.json$"


def enabled(engine: str) -> bool:
    """Auto Loader is used on Databricks when ``EMISSION_BRONZE_AUTOLOADER=1``; everywhere else the batch ingest."""
    return engine == "databricks" and settings().databricks.bronze_autoloader


def smard_rows_from_files(files: DataFrame, reservoir_root: str, run_id: str) -> DataFrame:
    """Bronze rows from ``files`` (columns ``path``, ``content``) of SMARD window files under ``reservoir_root``,
    typed like the batch ingest's (:func:`emission_assets.smard.bronze.typed_responses`)."""
    root = reservoir_root.rstrip("/") + "/"
    part = lambda group: F.regexp_extract("path", SMARD_FILE, group)  # noqa: E731
    window_start = F.timestamp_millis(part(4).cast("bigint"))
    return typed_responses(files.where(F.col("path").rlike(SMARD_FILE)).select(
        F.regexp_replace(F.regexp_replace("path", "^dbfs:", ""), "^" + root.replace(".", "\\."), "").alias("file_name"),
        F.sha2("content", 256).alias("sha256"),
        F.lit("auto-loader").alias("source"),
        F.lit(None).cast("string").alias("source_url"),
        F.to_timestamp(part(5), "yyyyMMdd'T'HHmmssSSSSSS'Z'").alias("fetched_at"),
        F.current_timestamp().alias("ingested_at"),
        F.lit(run_id).alias("ingest_run_id"),
        part(1).cast("int").alias("filter_id"),
        part(2).alias("region"),
        part(3).alias("resolution"),
        window_start.alias("window_start"),
        F.col("content").alias("payload"),
        local_date(window_start).alias("window_date"),
    ))


def autoload_smard(spark, writer: DeltaWriter, reservoir_root: str, checkpoint: str, run_id: str) -> None:
    """Ingest every new SMARD reservoir file exactly once (Auto Loader checkpoint + MERGE on the file name)."""
    if not settings().databricks.on_cluster:
        raise RuntimeError(
            "Auto Loader (cloudFiles) needs the Databricks runtime; the embedded Sail engine and open-source Spark "
            f"have no such source. Unset {ENABLE_ENV} to use the batch bronze ingest."
        )
    stream = (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "text")
        .option("wholetext", "true")
        .option("pathGlobFilter", "*Z.json")  # payloads only, not the .meta.json sidecars
        .load(f"{reservoir_root.rstrip('/')}/smard")
        .select(F.col("_metadata.file_path").alias("path"), F.col("value").alias("content"))
    )
    writer.insert_new_stream(
        TABLE, smard_rows_from_files(stream, reservoir_root, run_id), ["window_date", "file_name"], checkpoint
    )
