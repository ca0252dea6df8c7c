"""Table specs of the redispatch source (declared into the lakehouse registry when the package is imported)."""
from emission_assets.lakehouse.registry import BRONZE_FILE_COLUMNS, DAY_PARTITIONS, TableSpec, declare_tables

BRONZE_REDISPATCH_RESPONSES = TableSpec(
    name="bronze.redispatch_responses",
    columns=BRONZE_FILE_COLUMNS + (
        ("series_start", "TIMESTAMP"),
        ("series_end", "TIMESTAMP"),
        ("payload", "STRING"),
        ("file_date", "DATE"),
    ),
    partition_by=("file_date",),
    description="Append-only: one row per redispatch reservoir file (netztransparenz.de CSV), exactly once.",
)

SILVER_REDISPATCH = TableSpec(
    name="silver.redispatch",
    columns=(
        ("measure_start", "TIMESTAMP"),
        ("measure_end", "TIMESTAMP"),
        ("direction", "STRING"),  # curtail | ramp_up
        ("reason", "STRING"),
        ("avg_power_mw", "DOUBLE"),
        ("max_power_mw", "DOUBLE"),
        ("energy_mwh", "DOUBLE"),
        ("instructing_tso", "STRING"),  # SMARD control-area names: 50Hertz, Amprion, TenneT, TransnetBW
        ("requesting_tso", "STRING"),
        ("affected_plant", "STRING"),
        ("primary_energy", "STRING"),  # conventional | renewable | other
        ("source_file", "STRING"),
        ("fetched_at", "TIMESTAMP"),
        ("year", "INT"),
        ("month", "INT"),
        ("day", "INT"),
    ),
    partition_by=DAY_PARTITIONS,
    description="Redispatch measures (netztransparenz.de), typed, one row per measure, by the local day it starts.",
)

TABLES = (BRONZE_REDISPATCH_RESPONSES, SILVER_REDISPATCH)
declare_tables(*TABLES)
