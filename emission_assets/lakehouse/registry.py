"""Every table's registry name (``layer.table``), schema, partitioning and location.

The registry holds the table specs the sources declare (:func:`declare_tables`); it imports no source.

Locally a table is a Delta path under ``$EMISSION_HOME/lakehouse/<layer>/<table>`` registered in the engine's
catalog as ``layer.table``; on Databricks it is the Unity Catalog table ``<catalog>.<layer>.<table>``. Sail's
catalog lives in memory, so :meth:`Registry.register` runs at every session start (tables only: the gold views are
created by their assets and re-created from :mod:`emission_assets.lakehouse.view_catalog`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DAY_PARTITIONS = ("year", "month", "day")
MONTH_PARTITIONS = ("year", "month")


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Spark SQL type), partition columns last
    partition_by: tuple[str, ...]
    description: str

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    @property
    def column_names(self) -> list[str]:
        return [column for column, _ in self.columns]

    @property
    def ddl(self) -> str:
        return ", ".join(f"{column} {sql_type}" for column, sql_type in self.columns)


# Every bronze row starts with where its reservoir file came from and when it was ingested.
BRONZE_FILE_COLUMNS = (
    ("file_name", "STRING"),
    ("sha256", "STRING"),
    ("source", "STRING"),
    ("source_url", "STRING"),
    ("fetched_at", "TIMESTAMP"),
    ("ingested_at", "TIMESTAMP"),
    ("ingest_run_id", "STRING"),
)

# Gold results heavy enough to be materialised (the other gold objects are views over them and silver): Delta
# tables partitioned by the local (Europe/Berlin) month, written one month range per run by the gold assets.
GOLD_GRID_INTENSITY = TableSpec(
    name="gold.grid_intensity",
    columns=(
        ("interval_start", "TIMESTAMP"),
        ("interval_end", "TIMESTAMP"),
        ("region", "STRING"),
        ("model", "STRING"),
        ("basis", "STRING"),
        ("g_per_kwh", "DOUBLE"),
        ("determined_by", "STRING"),
        ("production_mwh", "DOUBLE"),
        ("resolution", "STRING"),
        ("year", "INT"),
        ("month", "INT"),
    ),
    partition_by=MONTH_PARTITIONS,
    description="g CO2(eq)/kWh per interval, region, model and basis, with what determined it; partitioned by the "
    "local month of interval_start.",
)

GOLD_EMISSIONS_MONTHLY = TableSpec(
    name="gold.emissions_monthly",
    columns=(
        ("home_id", "STRING"),
        ("model", "STRING"),
        ("basis", "STRING"),
        ("energy_kwh", "DECIMAL(24,6)"),
        ("ev_kwh", "DECIMAL(24,6)"),
        ("household_kwh", "DECIMAL(24,6)"),
        ("emissions_kg", "DOUBLE"),
        ("ev_emissions_kg", "DOUBLE"),
        ("household_emissions_kg", "DOUBLE"),
        ("g_per_kwh", "DOUBLE"),
        ("spread_kg", "DOUBLE"),
        ("year", "INT"),
        ("month", "INT"),
    ),
    partition_by=MONTH_PARTITIONS,
    description="Emissions per local month, home, model and basis (total, EV, household) and the spread between "
    "the models.",
)

GOLD_INTENSITY_PROFILE = TableSpec(
    name="gold.intensity_profile",
    columns=(
        ("day_type", "STRING"),
        ("hour_local", "INT"),
        ("region", "STRING"),
        ("model", "STRING"),
        ("basis", "STRING"),
        ("g_per_kwh", "DOUBLE"),
        ("min_g_per_kwh", "DOUBLE"),
        ("max_g_per_kwh", "DOUBLE"),
        ("interval_count", "INT"),
        ("cleanest_rank", "INT"),
        ("year", "INT"),
        ("month", "INT"),
    ),
    partition_by=MONTH_PARTITIONS,
    description="Time-weighted mean g CO2(eq)/kWh per local month, day type (weekday/weekend), Europe/Berlin hour "
    "of day, region, model and basis, with min, max, interval count and the hour's rank (1 = cleanest).",
)

# EV charging sessions and the shifting counterfactual (emission_assets/gold/ev_sessions.py, ev_shift.py):
# partitioned by the local month of session_start.
GOLD_EV_SESSIONS = TableSpec(
    name="gold.ev_sessions",
    columns=(
        ("home_id", "STRING"),
        ("session_id", "STRING"),
        ("session_start", "TIMESTAMP"),
        ("session_end", "TIMESTAMP"),
        ("model", "STRING"),
        ("basis", "STRING"),
        ("energy_kwh", "DOUBLE"),
        ("avg_power_kw", "DOUBLE"),
        ("interval_count", "INT"),
        ("charger_kw", "DOUBLE"),
        ("attributed_kwh", "DOUBLE"),
        ("emissions_kg", "DOUBLE"),
        ("g_per_kwh", "DOUBLE"),
        ("grid_average_g_per_kwh", "DOUBLE"),
        ("intervals_without_intensity", "INT"),
        ("first_interval_without_intensity", "TIMESTAMP"),
        ("status", "STRING"),
        ("year", "INT"),
        ("month", "INT"),
    ),
    partition_by=MONTH_PARTITIONS,
    description="EV charging sessions (contiguous EV intervals of a home) x model x basis: energy, average power, "
    "kg CO2 and g/kWh, the grid average of the same hours; partitioned by the local month of session_start.",
)

GOLD_EV_SHIFT_SAVINGS = TableSpec(
    name="gold.ev_shift_savings",
    columns=(
        ("home_id", "STRING"),
        ("session_id", "STRING"),
        ("session_start", "TIMESTAMP"),
        ("session_end", "TIMESTAMP"),
        ("model", "STRING"),
        ("basis", "STRING"),
        ("ready_by_local", "STRING"),
        ("ready_by", "TIMESTAMP"),
        ("window_start", "TIMESTAMP"),
        ("window_end", "TIMESTAMP"),
        ("window_hours", "DOUBLE"),
        ("window_hours_without_intensity", "DOUBLE"),
        ("charger_kw", "DOUBLE"),
        ("energy_kwh", "DOUBLE"),
        ("actual_kg", "DOUBLE"),
        ("actual_g_per_kwh", "DOUBLE"),
        ("shifted_kg", "DOUBLE"),
        ("shifted_g_per_kwh", "DOUBLE"),
        ("saved_kg", "DOUBLE"),
        ("unfit_kwh", "DOUBLE"),
        ("shifted_start", "TIMESTAMP"),
        ("shifted_end", "TIMESTAMP"),
        ("cleanest_slot_start", "TIMESTAMP"),
        ("cleanest_slot_g_per_kwh", "DOUBLE"),
        ("same_slots_as_average_share", "DOUBLE"),
        ("status", "STRING"),
        ("note", "STRING"),
        ("year", "INT"),
        ("month", "INT"),
    ),
    partition_by=MONTH_PARTITIONS,
    description="Per EV session x model x basis: the kg CO2 had the same energy been charged at the charger power "
    "in the cleanest slots of its plug-in window (session start to the next ready-by time), and what it saves; "
    "partitioned by the local month of session_start.",
)

GOLD_INTENSITY_FORECAST = TableSpec(
    name="gold.intensity_forecast",
    columns=(
        ("interval_start", "TIMESTAMP"),
        ("interval_end", "TIMESTAMP"),
        ("region", "STRING"),
        ("model", "STRING"),
        ("basis", "STRING"),
        ("g_per_kwh", "DOUBLE"),
        ("load_mw", "DOUBLE"),
        ("wind_pv_mw", "DOUBLE"),
        ("residual_load_mw", "DOUBLE"),
        ("renewable_share", "DOUBLE"),
        ("method", "STRING"),
        ("fit_id", "STRING"),
        ("fit_first_day", "DATE"),
        ("fit_last_day", "DATE"),
        ("fit_rows", "INT"),
        ("fit_mae_g_per_kwh", "DOUBLE"),
        ("forecast_fetched_at", "TIMESTAMP"),
        ("resolution", "STRING"),
        ("year", "INT"),
        ("month", "INT"),
        ("day", "INT"),
    ),
    partition_by=DAY_PARTITIONS,
    description="Forecast g CO2(eq)/kWh per interval x region x model x basis from SMARD's day-ahead forecasts "
    "(silver.grid_forecast) with the fit it used (emission_assets/forecast); partitioned by the local forecast day.",
)

# Folders an older layout kept under lakehouse/gold and this one neither registers nor writes (the fingerprinted
# report store, replaced by the monthly gold tables). They are left on disk untouched: see docs in
# emission_assets/gold/assets.py ("Upgrading a home").
RETIRED_TABLES = ("gold.report_monthly", "gold.report_inputs")

TABLES: dict[str, TableSpec] = {}


@dataclass(frozen=True)
class SchemaUpgrade:
    """How a table of an earlier layout becomes the declared one, once, when a session registers it
    (:mod:`emission_assets.lakehouse.schema_upgrade`): a table holding exactly ``from_columns`` is rewritten as
    ``convert(old rows)``."""

    table: str
    from_columns: frozenset[str]
    convert: Callable  # DataFrame of the old layout -> DataFrame of the table's declared columns
    what: str  # for the log line: what the conversion does


UPGRADES: dict[str, SchemaUpgrade] = {}


def declare_tables(*specs: TableSpec) -> None:
    """Add tables to the registry: each source declares its own (``emission_assets/<source>/tables.py``, imported
    with the source's package), so the registry lists them without importing the sources. Declaring the same spec
    again is a no-op; another spec under a declared name is a programming error."""
    for table in specs:
        known = TABLES.get(table.name)
        if known is not None and known != table:
            raise ValueError(f"table {table.name!r} is declared twice with different specs")
        TABLES[table.name] = table


def declare_upgrade(upgrade: SchemaUpgrade) -> None:
    """Let :meth:`Registry.register` convert ``upgrade.table`` from an earlier layout (see :class:`SchemaUpgrade`)."""
    UPGRADES[upgrade.table] = upgrade


def declare_payload_upgrade(table: TableSpec, typed_columns: tuple[str, ...], typed_responses: str, what: str) -> None:
    """Declare the conversion of a bronze table of the layout before it was typed (the file's text in ``payload``
    instead of ``typed_columns``) by its source's parse, ``typed_responses`` ("module:function", imported when a
    conversion runs: the source's bronze module imports its tables)."""
    module, function = typed_responses.split(":")

    def convert(old):
        return getattr(importlib.import_module(module), function)(old)

    declare_upgrade(SchemaUpgrade(
        table=table.name,
        from_columns=frozenset(c for c in table.column_names if c not in typed_columns) | {"payload"},
        convert=convert,
        what=what,
    ))


# The gold layer's materialised tables (the gold views are created by their assets, not registered here).
declare_tables(GOLD_GRID_INTENSITY, GOLD_EMISSIONS_MONTHLY, GOLD_INTENSITY_PROFILE, GOLD_EV_SESSIONS,
               GOLD_EV_SHIFT_SAVINGS, GOLD_INTENSITY_FORECAST)

# Gold views, in creation order (a view may read an earlier one). Their SQL is in emission_assets/gold; the gold view
# assets create them (emission_assets/gold/assets.py), and lakehouse/view_catalog.py re-creates them in a new session.
VIEWS: dict[str, str] = {
    "gold.production_emissions": "Production per interval joined with the factor version valid at that interval.",
    "gold.consumption_emissions": "Consumption per interval x model x basis with emissions (total, EV, household).",
    "gold.production_monthly": "Production per month, region and type.",
    "gold.production_yearly": "Production per year, region and type.",
    "gold.consumption_monthly": "Consumption per month and home with cost and average price.",
    "gold.consumption_yearly": "Consumption per year and home with cost and average price.",
    "gold.consumption_ev": "EV charging intervals (ev_kwh > 0).",
    "gold.consumption_household": "Household load per interval.",
    "gold.emissions_yearly": "Emissions per year, home, model and basis (total, EV, household) and the spread.",
    "gold.market_based_monthly": "Market-based (GHG Protocol Scope 2) kg CO2 per month and home: the supplier's "
    "disclosed factor or the German residual mix, with its source.",
    "gold.ev_savings_monthly": "EV sessions per month, home, model and basis: kWh, kg CO2 as charged and had they "
    "been shifted to the cleanest slots of their plug-in windows, the saving, and how many results are partial.",
    "gold.ev_savings_yearly": "The same per year.",
}
LAYERS = ("bronze", "silver", "gold")
SCRATCH_FOLDER = "_scratch"  # under the local lakehouse: staged copies (DeltaWriter.staged), removed after use
CONSUMER_VIEW_PREFIX = "gold.consumer_"  # one view per configured consumer (emission_assets/gold/consumers)


def spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; declared: {', '.join(TABLES)} (a source declares its tables in "
                       "emission_assets/<source>/tables.py when its package is imported)") from None


def has_commits(path: str) -> bool:
    """Whether a Delta table exists at the local ``path`` (its log holds a commit)."""
    log = Path(path) / "_delta_log"
    return log.is_dir() and any(log.glob("*.json"))


_ACTIVE: dict[int, tuple] = {}  # Spark session id -> the lakehouse its catalog points at (last registration)


class Registry:
    """Maps registry names to where the tables live for one engine."""

    def __init__(self, *, lakehouse_root: Path | str | None = None, catalog: str | None = None):
        if (lakehouse_root is None) == (catalog is None):
            raise ValueError("a registry needs exactly one of lakehouse_root (local paths) or catalog (Unity Catalog)")
        self.lakehouse_root = Path(lakehouse_root) if lakehouse_root is not None else None
        self.catalog = catalog

    def sql_name(self, name: str) -> str:
        """Name in SQL for a table or view: ``layer.name`` locally, ``catalog.layer.name`` in Unity Catalog."""
        if name not in TABLES and name not in VIEWS and not name.startswith(CONSUMER_VIEW_PREFIX):
            raise KeyError(f"unknown table or view {name!r}; registered: {', '.join([*TABLES, *VIEWS])}")
        return f"{self.catalog}.{name}" if self.catalog else name

    def path(self, name: str) -> str | None:
        """The Delta path (local mode); None for Unity Catalog managed tables."""
        table = spec(name)
        if self.lakehouse_root is None:
            return None
        return str(self.lakehouse_root / table.layer / table.table)

    def scratch(self, name: str, token: str) -> str:
        """Where a scratch copy of rows shaped like table ``name`` goes (see ``DeltaWriter.staged``): locally the
        folder ``<lakehouse>/_scratch/<name>-<token>`` (no catalog entry); in Unity Catalog the SQL name of the managed
        table ``<catalog>.<layer>._scratch_<table>_<token>``, in the table's own schema."""
        table = spec(name)
        if self.lakehouse_root is None:
            return f"{self.catalog}.{table.layer}._scratch_{table.table}_{token}"
        return str(self.lakehouse_root / SCRATCH_FOLDER / f"{name}-{token}")

    def register(self, spark, force: bool = False,
                 check_layout: Callable[[object, Registry, str], None] | None = None) -> bool:
        """Create the schemas and the (empty if new) tables; safe to repeat. Returns whether it registered (False: the
        session already pointed at this lakehouse).

        ``check_layout(spark, registry, name)`` (opening a lakehouse passes
        :func:`emission_assets.lakehouse.schema_upgrade.check_layout`) runs for each table that already holds data
        (in Unity Catalog: each with a declared upgrade) and may convert it; a failure leaves the session
        unregistered, so the next opening checks again. Passed in, because the conversion writes through the writer,
        which imports this module.

        Views are not the registry's: the gold view assets create them (tests and tools that want every view at once
        call :meth:`create_views` with the gold layer's definitions). Every asset step opens the
        lakehouse and registering costs ~0.4 s, so a session whose catalog already points at this lakehouse (the
        last registration in this process) is left as it is.
        """
        key = (self.lakehouse_root, self.catalog)
        if not force and _ACTIVE.get(id(spark)) == key:
            return False
        for layer in LAYERS:
            prefix = f"{self.catalog}." if self.catalog else ""
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {prefix}{layer}")
        for name, table in TABLES.items():
            partitioned = f" PARTITIONED BY ({', '.join(table.partition_by)})" if table.partition_by else ""
            if self.lakehouse_root is None:
                spark.sql(f"CREATE TABLE IF NOT EXISTS {self.sql_name(name)} ({table.ddl}) USING DELTA{partitioned}")
                if check_layout is not None and name in UPGRADES:
                    check_layout(spark, self, name)
                continue
            # Re-point the session's catalog entry at this lakehouse. Dropping an external (LOCATION) table
            # removes only the catalog entry, never the Delta files. A view of an older layout under the same name
            # (gold.grid_intensity, gold.emissions_monthly were views) goes first.
            spark.sql(f"DROP VIEW IF EXISTS {table.name}")
            spark.sql(f"DROP TABLE IF EXISTS {table.name}")
            if has_commits(self.path(name)):
                # An existing table is registered with the schema of its log: Sail refuses to re-declare one with a
                # column of an array of structs ("different schema": its log names the list's element "element").
                spark.sql(f"CREATE TABLE {table.name} USING DELTA LOCATION '{self.path(name)}'")
                if check_layout is not None:
                    check_layout(spark, self, name)
            else:
                spark.sql(
                    f"CREATE TABLE {table.name} ({table.ddl}) USING DELTA{partitioned} LOCATION '{self.path(name)}'"
                )
        _ACTIVE[id(spark)] = key
        return True

    def create_views(self, spark, definitions: dict[str, str]) -> None:
        """(Re)create views, in order (a view may read an earlier one): name -> SELECT statement."""
        for name, sql in definitions.items():
            spark.sql(f"CREATE OR REPLACE VIEW {self.sql_name(name)} AS {sql}")
