"""Table specs of the SMARD source (declared into the lakehouse registry when the package is imported)."""
from emission_assets.lakehouse.registry import BRONZE_FILE_COLUMNS, DAY_PARTITIONS, TableSpec, declare_tables

BRONZE_SMARD_RESPONSES = TableSpec(
    name="bronze.smard_responses",
    columns=BRONZE_FILE_COLUMNS + (
        ("filter_id", "INT"),
        ("region", "STRING"),
        ("resolution", "STRING"),
        ("window_start", "TIMESTAMP"),
        ("payload", "STRING"),
        ("window_date", "DATE"),
    ),
    partition_by=("window_date",),
    description="Append-only: one row per SMARD reservoir file (raw JSON payload + ingest metadata), exactly once.",
)

SILVER_PRODUCTION = TableSpec(
    name="silver.production",
    columns=(
        ("interval_start", "TIMESTAMP"),
        ("interval_end", "TIMESTAMP"),
        ("region", "STRING"),
        ("production_type", "STRING"),
        ("filter_id", "INT"),
        ("resolution", "STRING"),
        ("energy_mwh", "DOUBLE"),
        ("power_mw", "DOUBLE"),
        ("source_file", "STRING"),
        ("fetched_at", "TIMESTAMP"),
        ("year", "INT"),
        ("month", "INT"),
        ("day", "INT"),
    ),
    partition_by=DAY_PARTITIONS,
    description=(
        "Grid production per interval x region x production type (SMARD), typed and deduplicated: "
        "the latest download wins; partitioned by the local day in Europe/Berlin."
    ),
)

SILVER_GRID_LOAD = TableSpec(
    name="silver.grid_load",
    columns=(
        ("interval_start", "TIMESTAMP"),
        ("interval_end", "TIMESTAMP"),
        ("region", "STRING"),
        ("resolution", "STRING"),
        ("load_mwh", "DOUBLE"),
        ("source_file", "STRING"),
        ("fetched_at", "TIMESTAMP"),
        ("year", "INT"),
        ("month", "INT"),
        ("day", "INT"),
    ),
    partition_by=DAY_PARTITIONS,
    description=(
        "Grid load (SMARD filter 410, Netzlast, without pumped-storage consumption) per interval x region, typed and "
        "deduplicated like silver.production (latest download wins, finest resolution per day); partitioned by the "
        "local day in Europe/Berlin."
    ),
)

TABLES = (BRONZE_SMARD_RESPONSES, SILVER_PRODUCTION, SILVER_GRID_LOAD)
declare_tables(*TABLES)
