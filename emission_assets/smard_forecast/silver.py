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


def unparsed_forecast_payloads(bronze: DataFrame) -> DataFrame:
    """``file_name``, ``reason`` of forecast bronze files silver cannot take whole, as bronze found when it parsed
    them (:func:`emission_assets.smard_forecast.bronze.typed_responses`): not JSON, no ``series`` list, a point
    that is not ``[epoch_ms, value]``, or a value of the wrong type (``"12,5"``, ``true``, an object)."""
    return unparsed_payloads(bronze)
