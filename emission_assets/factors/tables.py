"""Table spec of the emission factor dimension (declared into the lakehouse registry when the package is imported)."""
from emission_assets.lakehouse.registry import TableSpec, declare_tables

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
        ("valid_from", "DATE"),
        ("valid_to", "DATE"),
        ("is_current", "BOOLEAN"),
        ("recorded_at", "TIMESTAMP"),
        ("retired_at", "TIMESTAMP"),
        ("row_hash", "STRING"),
    ),
    partition_by=(),
    description="Emission factors per SMARD production type and basis (direct / lifecycle) as an SCD2 dimension.",
)

TABLES = (SILVER_EMISSION_FACTORS,)
declare_tables(*TABLES)
