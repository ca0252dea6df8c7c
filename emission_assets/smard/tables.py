"""Table specs of the SMARD source (declared into the lakehouse registry when the package is imported)."""
from emission_assets.lakehouse.registry import (
    BRONZE_FILE_COLUMNS,
    DAY_PARTITIONS,
    TableSpec,
    declare_payload_upgrade,
    declare_tables,
)

BRONZE_SMARD_RESPONSES = TableSpec(
    name="bronze.smard_responses",
    columns=BRONZE_FILE_COLUMNS + (
        ("filter_id", "INT"),
        ("region", "STRING"),
        ("resolution", "STRING"),
        ("window_start", "TIMESTAMP"),
        ("meta_version", "INT"),  # the response's meta_data.version
        ("meta_created_ms", "BIGINT"),  # the response's meta_data.created (epoch ms)
        # The response's series, typed: epoch ms of each interval's start and its energy (MWh; null: not published).
        ("series", "ARRAY<STRUCT<interval_start_ms: BIGINT, energy_mwh: DOUBLE>>"),
        ("parse_error", "STRING"),  # why the file is not a SMARD window; null when it is
        ("raw_payload", "STRING"),  # the file's text, only when it is not a SMARD window (parse_error set)
        ("window_date", "DATE"),
    ),
    partition_by=("window_date",),
    description="Append-only: one row per SMARD reservoir file, exactly once: the response typed (series of "
    "(epoch ms, MWh)) plus ingest metadata; the raw text only for a file that is not a SMARD window.",
)

# The bronze columns its parse fills (emission_assets/smard/bronze.py); the others come from the file's sidecar.
BRONZE_TYPED_COLUMNS = ("meta_version", "meta_created_ms", "series", "parse_error", "raw_payload")

declare_payload_upgrade(
    BRONZE_SMARD_RESPONSES, BRONZE_TYPED_COLUMNS, "emission_assets.smard.bronze:typed_responses",
    "each file's raw payload text parsed into the typed series (the text kept only for files that do not parse)",
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
