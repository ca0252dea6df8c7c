"""Table specs of the SMARD day-ahead forecast source (declared into the lakehouse registry when the package is
imported)."""
from emission_assets.lakehouse.registry import (
    DAY_PARTITIONS,
    TableSpec,
    declare_payload_upgrade,
    declare_tables,
)
from emission_assets.smard.tables import BRONZE_SMARD_RESPONSES, BRONZE_TYPED_COLUMNS

BRONZE_SMARD_FORECAST_RESPONSES = TableSpec(
    name="bronze.smard_forecast_responses",
    columns=BRONZE_SMARD_RESPONSES.columns,  # typed like SMARD's (emission_assets.smard.bronze.typed_responses)
    partition_by=("window_date",),
    description="Append-only: one row per SMARD forecast reservoir file, exactly once: the response typed (series of "
    "(epoch ms, MWh)) plus ingest metadata; the raw text only for a file that is not a SMARD window or has a value "
    "of the wrong type.",
)

declare_payload_upgrade(
    BRONZE_SMARD_FORECAST_RESPONSES, BRONZE_TYPED_COLUMNS, "emission_assets.smard_forecast.bronze:typed_responses",
    "each file's raw payload text parsed into the typed series (the text kept only for files that do not parse)",
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
