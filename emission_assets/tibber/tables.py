"""Table specs of the Tibber source (declared into the lakehouse registry when the package is imported)."""
from emission_assets.lakehouse.registry import (
    BRONZE_FILE_COLUMNS,
    DAY_PARTITIONS,
    TableSpec,
    declare_payload_upgrade,
    declare_tables,
)

BRONZE_TIBBER_RESPONSES = TableSpec(
    name="bronze.tibber_responses",
    columns=BRONZE_FILE_COLUMNS + (
        ("kind", "STRING"),
        ("home_id", "STRING"),
        ("series_start", "TIMESTAMP"),
        ("series_end", "TIMESTAMP"),
        # An hourly page's consumption nodes (kind 'hourly'), typed: energy in kWh, cost in the node's currency.
        ("hourly_nodes", "ARRAY<STRUCT<interval_start: TIMESTAMP, interval_end: TIMESTAMP, energy_kwh: DOUBLE, "
                         "consumption_unit: STRING, cost: DOUBLE, unit_price: DOUBLE, currency: STRING>>"),
        # A live batch's Pulse samples (kind 'live'): power in W, the meter's counters since local midnight.
        ("live_measurements", "ARRAY<STRUCT<sampled_at: TIMESTAMP, power_w: DOUBLE, accumulated_kwh: DOUBLE, "
                              "accumulated_cost: DOUBLE, currency: STRING>>"),
        ("parse_error", "STRING"),  # why the file is not of its kind's shape; null when it is
        ("raw_payload", "STRING"),  # the file's text, only when it is not of its kind's shape (parse_error set)
        ("file_date", "DATE"),
    ),
    partition_by=("file_date",),
    description="Append-only: one row per Tibber reservoir file (hourly API page or live micro-batch), exactly once, "
    "typed (consumption nodes or live samples); the raw text only for a file that is not of its kind's shape.",
)

# The bronze columns its parse fills (emission_assets/tibber/bronze.py); the others come from the file's sidecar.
BRONZE_TYPED_COLUMNS = ("hourly_nodes", "live_measurements", "parse_error", "raw_payload")

declare_payload_upgrade(
    BRONZE_TIBBER_RESPONSES, BRONZE_TYPED_COLUMNS, "emission_assets.tibber.bronze:typed_responses",
    "each file's raw payload text parsed into typed nodes / samples (the text kept only for files that do not parse)",
)

# Energy and money as decimals: EV + household add up to the total exactly, and sums stay exact.
SILVER_CONSUMPTION = TableSpec(
    name="silver.consumption",
    columns=(
        ("interval_start", "TIMESTAMP"),
        ("interval_end", "TIMESTAMP"),
        ("home_id", "STRING"),
        ("source", "STRING"),
        ("energy_kwh", "DECIMAL(14,6)"),
        ("avg_power_kw", "DOUBLE"),
        ("ev_kwh", "DECIMAL(14,6)"),
        ("household_kwh", "DECIMAL(14,6)"),
        ("ev_charge_kw", "DOUBLE"),
        ("cost", "DECIMAL(14,6)"),
        ("unit_price", "DECIMAL(12,6)"),
        ("currency", "STRING"),
        ("source_file", "STRING"),
        ("fetched_at", "TIMESTAMP"),
        ("year", "INT"),
        ("month", "INT"),
        ("day", "INT"),
    ),
    partition_by=DAY_PARTITIONS,
    description=(
        "Household consumption per interval and home (Tibber): hourly API rows, or live quarter-hours where the "
        "Pulse stream covers the whole hour; EV and household load split; partitioned by the local day."
    ),
)

# Keyed pseudonyms of the homes (HMAC-SHA256 with $EMISSION_PSEUDONYM_KEY, emission_assets/tibber/pseudonyms.py):
# the pseudonymised consumer views join it, so neither the key nor a hash recipe is in any view's SQL. It links
# pseudonyms to home ids: no consumer gets a grant on it (Unity Catalog views run with their owner's rights).
SILVER_HOME_PSEUDONYMS = TableSpec(
    name="silver.home_pseudonyms",
    columns=(("home_id", "STRING"), ("home_key", "STRING")),
    partition_by=(),
    description="Per home id its keyed pseudonym (HMAC-SHA256, hex) for the pseudonymised consumer views; "
    "restricted: it links pseudonyms to home ids.",
)

TABLES = (BRONZE_TIBBER_RESPONSES, SILVER_CONSUMPTION, SILVER_HOME_PSEUDONYMS)
declare_tables(*TABLES)
