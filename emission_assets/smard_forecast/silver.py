"""Pure transform (DataFrame in, DataFrame out) from forecast bronze rows to ``silver.grid_forecast``.

The rules are SMARD's (:func:`emission_assets.smard.silver.production_from_bronze`): per region, series and local day
the finest resolution present wins, per interval the latest download (a re-published forecast replaces the earlier
one). ``energy_mwh`` is SMARD's value per interval, ``power_mw`` the mean power over it.
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from emission_assets.smard.silver import lookup, production_from_bronze, unparsed_payloads
from emission_assets.smard_forecast.catalog import FILTERS, KINDS, NAMES
from emission_assets.smard_forecast.tables import SILVER_GRID_FORECAST

COLUMNS = tuple(name for name, _ in SILVER_GRID_FORECAST.columns)


def forecast_from_bronze(bronze: DataFrame, first_day: date, last_day: date) -> DataFrame:
    """Silver forecast rows for the local days ``first_day..last_day``, in the table's column order."""
    rows = production_from_bronze(bronze, first_day, last_day, FILTERS, NAMES)
    return rows.withColumnRenamed("production_type", "series").withColumn("kind", lookup(KINDS, F.col("filter_id"))).select(
        *COLUMNS)


# A JSON number as Spark renders it when the series is read as strings (``3.0``, ``1.6409916E12``, ``-12``).
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


def unparsed_forecast_payloads(bronze: DataFrame) -> DataFrame:
    """``file_name``, ``reason`` of forecast bronze files silver cannot take whole: those of
    :func:`emission_assets.smard.silver.unparsed_payloads` (not JSON, no ``series`` list, a point that is not
    ``[epoch_ms, value]``) and files with a value of the wrong type (``"12,5"``, ``true``, an object). The typed
    parse turns such a value into null, which would pass for "not published yet" and lose it silently."""
    as_text = F.from_json("payload", "struct<series: array<array<string>>>")["series"]
    value = F.element_at(F.col("point"), 2)
    wrong = (
        bronze.select("file_name", F.explode(as_text).alias("point"))
        .where(value.isNotNull() & ~value.rlike(_NUMBER))
        .groupBy("file_name")
        .agg(F.min(value).alias("example"), F.count("*").alias("values"))
        .select("file_name", F.concat(F.lit("a series value is not a number or null ("), F.col("values").cast("string"),
                                      F.lit(" value(s), e.g. "), F.col("example"), F.lit(")")).alias("reason"))
    )
    return unparsed_payloads(bronze).unionByName(wrong)
