"""Table spec of the emission factor dimension (declared into the lakehouse registry when the package is imported)."""
from emission_assets.lakehouse.registry import TableSpec, declare_tables

# The two time axes and the change hash every seed-managed SCD2 dimension ends with (factors/dimension.py).
SCD2_HISTORY = (
    ("valid_from", "DATE"),
    ("valid_to", "DATE"),
    ("is_current", "BOOLEAN"),
    ("recorded_at", "TIMESTAMP"),
    ("retired_at", "TIMESTAMP"),
    ("row_hash", "STRING"),
)

# SCD Type 2 with an audit trail: business validity [valid_from, valid_to) per production type and basis, and
# transaction time [recorded_at, retired_at). Rows are never rewritten except to retire them.
SILVER_EMISSION_FACTORS = TableSpec(
    name="silver.emission_factors",
    columns=(
        ("factor_id", "STRING"),
        ("production_type", "STRING"),
        ("basis", "STRING"),
        ("g_per_kwh", "DOUBLE"),
        ("unit", "STRING"),
        ("source", "STRING"),
        ("note", "STRING"),
        *SCD2_HISTORY,
    ),
    partition_by=(),
    description="Emission factors per SMARD production type and basis (direct / lifecycle) as an SCD2 dimension.",
)

# The same SCD2 shape per commodity: monthly or yearly prices, valid until the commodity's next valid_from.
SILVER_FUEL_PRICES = TableSpec(
    name="silver.fuel_prices",
    columns=(
        ("price_id", "STRING"),
        ("commodity", "STRING"),
        ("price", "DOUBLE"),
        ("unit", "STRING"),
        ("source", "STRING"),
        ("licence", "STRING"),
        ("note", "STRING"),
        *SCD2_HISTORY,
    ),
    partition_by=(),
    description="Fuel (EUR/MWh_th, lower heating value) and EUA (EUR/t_CO2) prices per commodity as an SCD2 "
    "dimension, with source and licence per row; the merit order's short-run marginal costs read them.",
)

TABLES = (SILVER_EMISSION_FACTORS, SILVER_FUEL_PRICES)
declare_tables(*TABLES)
