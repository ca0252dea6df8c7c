"""Every table's registry name (``layer.table``), schema, partitioning and location.

The registry holds the table specs the sources declare (:func:`declare_tables`); it imports no source.

Locally a table is a Delta path under ``$EMISSION_HOME/lakehouse/<layer>/<table>`` registered in the engine's
catalog as ``layer.table``; on Databricks it is the Unity Catalog table ``<catalog>.<layer>.<table>``. Sail's
catalog lives in memory, so :meth:`Registry.register` runs at every session start.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

# The report's store (gold/emissions_report): the gold.emissions_monthly rows, and per month the fingerprint of the
# inputs they were computed from, so a run recomputes only the months whose inputs changed.
GOLD_REPORT_MONTHLY = TableSpec(
    name="gold.report_monthly",
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
    description="gold.emissions_monthly as of the last report run (per local month, home, model and basis).",
)

GOLD_REPORT_INPUTS = TableSpec(
    name="gold.report_inputs",
    columns=(
        ("fingerprint", "STRING"),
        ("intensity_rows", "BIGINT"),
        ("intensity_outside", "BIGINT"),
        ("intensity_null", "BIGINT"),
        ("lowest_g_per_kwh", "DOUBLE"),
        ("highest_g_per_kwh", "DOUBLE"),
        ("rows_without_factor", "BIGINT"),
        ("computed_at", "TIMESTAMP"),
        ("year", "INT"),
        ("month", "INT"),
    ),
    partition_by=MONTH_PARTITIONS,
    description="Per local month: the fingerprint of the silver rows, factors, redispatch and model SQL that "
    "gold.report_monthly was computed from, and that month's check counts.",
)

TABLES: dict[str, TableSpec] = {}


def declare_tables(*specs: TableSpec) -> None:
    """Add tables to the registry: each source declares its own (``emission_assets/<source>/tables.py``, imported
    with the source's package), so the registry lists them without importing the sources. Declaring the same spec
    again is a no-op; another spec under a declared name is a programming error."""
    for table in specs:
        known = TABLES.get(table.name)
        if known is not None and known != table:
            raise ValueError(f"table {table.name!r} is declared twice with different specs")
        TABLES[table.name] = table


# The gold layer's own tables (emission_assets/gold declares these once the gold assets own them).
declare_tables(GOLD_REPORT_MONTHLY, GOLD_REPORT_INPUTS)

# Gold views (SQL in emission_assets/gold, registered after the tables at every session start, in this order).
VIEWS: dict[str, str] = {
    "gold.production_emissions": "Production per interval joined with the factor version valid at that interval.",
    "gold.grid_intensity": "g CO2(eq)/kWh per interval, region, model and basis, with what determined it.",
    "gold.consumption_emissions": "Consumption per interval x model x basis with emissions (total, EV, household).",
    "gold.production_monthly": "Production per month, region and type.",
    "gold.production_yearly": "Production per year, region and type.",
    "gold.consumption_monthly": "Consumption per month and home with cost and average price.",
    "gold.consumption_yearly": "Consumption per year and home with cost and average price.",
    "gold.consumption_ev": "EV charging intervals (ev_kwh > 0).",
    "gold.consumption_household": "Household load per interval.",
    "gold.emissions_monthly": "Emissions per month, home, model and basis (total, EV, household) and the spread.",
    "gold.emissions_yearly": "Emissions per year, home, model and basis (total, EV, household) and the spread.",
}
LAYERS = ("bronze", "silver", "gold")
CONSUMER_VIEW_PREFIX = "gold.consumer_"  # one view per configured consumer (emission_assets/gold/consumers)


def spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; declared: {', '.join(TABLES)} (a source declares its tables in "
                       "emission_assets/<source>/tables.py when its package is imported)") from None


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

    def register(self, spark, force: bool = False,
                 views: Callable[[Registry], dict[str, str]] | None = None) -> None:
        """Create the schemas, (empty if new) tables and, given ``views`` (view name -> SQL for this registry: the
        gold layer's :func:`emission_assets.gold.views.view_definitions`), the views; safe to repeat.

        The registry knows table specs, not the SQL built on them, so the views come from the caller (gold builds
        on the registry, not the reverse). Every asset step opens the lakehouse and registering ~30 objects costs
        ~0.4 s, so a session whose catalog already points at this lakehouse (the last registration in this
        process) is left as it is.
        """
        key = (self.lakehouse_root, self.catalog, views is not None)
        if not force and _ACTIVE.get(id(spark)) == key:
            return
        for layer in LAYERS:
            prefix = f"{self.catalog}." if self.catalog else ""
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {prefix}{layer}")
        for name, table in TABLES.items():
            partitioned = f" PARTITIONED BY ({', '.join(table.partition_by)})" if table.partition_by else ""
            if self.lakehouse_root is None:
                spark.sql(f"CREATE TABLE IF NOT EXISTS {self.sql_name(name)} ({table.ddl}) USING DELTA{partitioned}")
                continue
            # Re-point the session's catalog entry at this lakehouse. Dropping an external (LOCATION) table
            # removes only the catalog entry, never the Delta files.
            spark.sql(f"DROP TABLE IF EXISTS {table.name}")
            spark.sql(
                f"CREATE TABLE {table.name} ({table.ddl}) USING DELTA{partitioned} LOCATION '{self.path(name)}'"
            )
        if views is not None:
            self.create_views(spark, views(self))
        _ACTIVE[id(spark)] = key

    def create_views(self, spark, definitions: dict[str, str]) -> None:
        """(Re)create views, in order (a view may read an earlier one): name -> SELECT statement."""
        for name, sql in definitions.items():
            spark.sql(f"CREATE OR REPLACE VIEW {self.sql_name(name)} AS {sql}")
