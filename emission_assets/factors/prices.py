"""Fuel and EUA prices as an SCD2 dimension (``silver.fuel_prices``), merged from the reviewed, sourced seed
``emission_assets/data/fuel_prices.csv`` (sources, licences and conversions per row; see ``fuel_prices.md``).

The same :class:`~emission_assets.factors.dimension.Scd2Dimension` as the emission factors: business validity
``[valid_from, valid_to)`` per commodity (monthly or yearly rows), transaction time ``[recorded_at, retired_at)``;
a price corrected in the seed retires the old row, so the merit order can be re-run "as known at" with
:func:`emission_assets.models.factors.factor_condition`.
"""
from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame

from emission_assets.factors.dimension import (
    DATA,
    Scd2Dimension,
    SeedColumn,
    active_rows,
    choice,
    iso_date,
    non_negative_number,
    required,
)

TABLE = "silver.fuel_prices"
SEED_PATH = DATA / "fuel_prices.csv"
# commodity -> its unit: fuels per MWh of fuel energy (lower heating value), the allowance per tonne of CO2.
UNITS = {"natural_gas": "EUR/MWh_th", "hard_coal": "EUR/MWh_th", "oil": "EUR/MWh_th", "eua": "EUR/t_CO2"}
COMMODITIES: tuple[str, ...] = tuple(UNITS)


def _check_price_row(row: dict) -> tuple[str, str] | None:
    """A price's unit must be its commodity's, and it must start on the first day of a month (monthly or yearly
    rows: a mid-month start would be a typo, not a price)."""
    expected = UNITS[row["commodity"]]
    if row["unit"] != expected:
        return "unit", f"{row['commodity']} prices are in {expected}, got {row['unit']!r}"
    if row["valid_from"].day != 1:
        return "valid_from", f"must be the first day of a month, got {row['valid_from'].isoformat()}"
    return None


PRICES = Scd2Dimension(
    table=TABLE,
    seed_path=SEED_PATH,
    seed_columns=(
        SeedColumn("commodity", choice("commodity", COMMODITIES)),
        SeedColumn("valid_from", iso_date, "date"),
        SeedColumn("price", non_negative_number, "double"),
        SeedColumn("unit", required("every price needs a unit")),
        SeedColumn("source", required("every price needs a source")),
        SeedColumn("licence", required("every price needs a licence (or 'none (not sourced)')")),
        SeedColumn("note", lambda text: text),
    ),
    entity=("commodity",),
    id_column="price_id",
    hashed=("price", "unit", "source", "licence", "note", "valid_from", "valid_to"),
    check_row=_check_price_row,
)
SEED_COLUMNS = PRICES.seed_header


def read_price_seed(path: Path | str | None = None) -> list[dict]:
    """The price seed's rows, typed (``price`` float, ``valid_from`` date) and validated; a ``ValueError`` names
    the file, line and column."""
    return PRICES.read_seed(path)


def merge_price_seed(spark, writer, seed_rows: list[dict], now, table=None) -> dict:
    """Bring ``silver.fuel_prices`` in line with the seed (see ``Scd2Dimension.merge_seed``)."""
    return PRICES.merge_seed(spark, writer, seed_rows, now, table)


def current_prices(prices_df: DataFrame) -> DataFrame:
    """The active price rows (retired_at IS NULL): every validity version as known now."""
    return active_rows(prices_df)
