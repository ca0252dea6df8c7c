"""Table specs of the SMARD day-ahead forecast source (declared into the lakehouse registry when the package is
imported)."""
from emission_assets.lakehouse.registry import BRONZE_FILE_COLUMNS, DAY_PARTITIONS, TableSpec, declare_tables

BRONZE_SMARD_FORECAST_RESPONSES = TableSpec(
    name="bronze.smard_forecast_responses",
    columns=BRONZE_FILE_COLUMNS + (
        ("filter_id", "INT"),
        ("region", "STRING"),
        ("resolution", "STRING"),
        ("window_start", "TIMESTAMP"),
        ("payload", "STRING"),
        ("window_date", "DATE"),
    ),
    partition_by=("window_date",),
    description="Append-only: one row per SMARD forecast reservoir file (raw JSON payload + ingest metadata), "
    "exactly once.",
)

SILVER_GRID_FORECAST = TableSpec(
    name="silver.grid_forecast",
    columns=(
        ("interval_start", "TIMESTAMP"),
        ("interval_end", "TIMESTAMP"),
        ("region", "STRING"),
        ("series", "STRING"),
        ("kind", "STRING"),
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
        "SMARD's day-ahead forecasts per interval x region x series (forecast generation by type, forecast grid "
        "load and residual load), typed and deduplicated: the latest download wins; partitioned by the local day."
    ),
)

TABLES = (BRONZE_SMARD_FORECAST_RESPONSES, SILVER_GRID_FORECAST)
declare_tables(*TABLES)
