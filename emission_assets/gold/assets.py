"""Dagster assets of the gold layer: the monthly gold tables, one asset per gold view and per consumer view.

- ``gold/grid_intensity`` and ``gold/emissions_monthly``: Delta tables partitioned by the local month
  (Europe/Berlin), each month mapped from the daily silver partitions it holds (``TimeWindowPartitionMapping``), so a
  one-day silver update makes exactly its month stale; a range of months runs as one run (single-run backfill).
  grid_intensity carries the two checks on what the attribution uses (physical bounds, factor coverage).
- one asset per gold view (``gold/production_emissions``, ``gold/consumption_emissions``, ...,
  ``gold/emissions_yearly``) and per configured consumer (``gold/consumer_<name>``): materialising it (re)creates
  the view (Unity Catalog on Databricks) and records its SQL, schema, row count and time range; its code version
  is a hash of the SQL its builder produces, so a change of the model code or of the parameters in the SQL (home
  region, control area) marks it stale. Locally the view is also recorded in the lakehouse's view catalog
  (:mod:`emission_assets.lakehouse.view_catalog`) so a new process sees it.

A broken consumer config or model parameter fails only the asset concerned (its message names the file, consumer
and field, or the variable); the config is read when the definitions load, without raising.

Upgrading a home made before the gold assets: its ``lakehouse/gold/report_monthly`` and ``report_inputs`` folders
(the fingerprinted report store) are ignored, never read, written or deleted (remove them by hand once the new
tables are filled), and the gold tables start empty: materialise the gold assets once over the home's days
(``emission-tracker materialize --start <first day> --end <last day> --select tag:source=gold``).
"""

import hashlib
import math
import re
from collections.abc import Callable

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableSchema,
    TimeWindowPartitionMapping,
    asset,
)

from emission_assets.errors import UserInputError
from emission_assets.gold import consumers, merit_checks
from emission_assets.gold.months import MonthRegistry
from emission_assets.gold.tables import (
    EMISSIONS_MONTHLY,
    GRID_INTENSITY,
    MAX_G_PER_KWH,
    SAMPLE,
    emissions_monthly_rows_sql,
    grid_intensity_rows_sql,
    intensity_checks,
    write_emissions_monthly_rows,
    write_grid_intensity,
)
from emission_assets.gold.views import view_builders
from emission_assets.lakehouse.registry import VIEWS, Registry
from emission_assets.lakehouse.view_catalog import forget_view, remember_view
from emission_assets.orchestration.automation import historical_eager
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.partitions import MONTHLY, month_range
from emission_assets.orchestration.resources import SparkResource

TAGS = {"source": "gold"}
# The registry the code versions are computed for: only the SQL text counts, not where a home keeps its tables.
REFERENCE = Registry(lakehouse_root="/reference/lakehouse")
REFERENCE_MONTH = [(2000, 1)]

SILVER_PRODUCTION = AssetKey(["silver", "production"])
SILVER_CONSUMPTION = AssetKey(["silver", "consumption"])
SILVER_FACTORS = AssetKey(["silver", "emission_factors"])
SILVER_PRICES = AssetKey(["silver", "fuel_prices"])
SILVER_REDISPATCH = AssetKey(["silver", "redispatch"])
SILVER_GRID_LOAD = AssetKey(["silver", "grid_load"])
GRID_INTENSITY_KEY = AssetKey(["gold", "grid_intensity"])
EMISSIONS_MONTHLY_KEY = AssetKey(["gold", "emissions_monthly"])
# Tables written by an asset of another name (the pseudonyms are refreshed with silver.consumption).
_WRITTEN_BY = {"silver.home_pseudonyms": SILVER_CONSUMPTION}
_NAMED = re.compile(r"\b(silver|gold)\.(\w+)\b")
# The factor dimension is re-merged at every CLI run (usually changing nothing): it counts only when its data version
# (a hash of its active rows) changed, and then every month is requested.
AUTOMATION = historical_eager(versioned=AssetSelection.assets(SILVER_FACTORS, SILVER_PRICES))

CHECKS = {
    "intensities_within_physical_bounds": f"Every gold.grid_intensity row of the run's months is between 0 and "
    f"{MAX_G_PER_KWH:,.0f} g/kWh.",
    "every_production_interval_has_a_factor": "Every silver.production row of the run's months has an active "
    "(not retired) emission factor valid at its local date, for each basis.",
    merit_checks.CHECK_NAME: merit_checks.DESCRIPTION,
}


def asset_key(name: str) -> AssetKey:
    """``gold.consumption_emissions`` -> gold/consumption_emissions."""
    return AssetKey(name.split("."))


def upstream_keys(sql: str, itself: str) -> list[AssetKey]:
    """The assets whose tables or views a SELECT names: its lineage, read from the SQL itself."""
    names = {f"{layer}.{table}" for layer, table in _NAMED.findall(sql)} - {itself}
    return sorted({_WRITTEN_BY.get(name) or asset_key(name) for name in names}, key=lambda k: k.to_user_string())


def reference_sql(build: Callable[[], str]) -> str | None:
    """The SQL ``build`` produces for the reference registry; None if it cannot be built here (a wrong model
    parameter: the asset then fails when run, saying why)."""
    try:
        return build()
    except (UserInputError, ValueError, KeyError):
        return None


def sql_version(sql: str | None) -> str | None:
    """The code version of an asset whose work is ``sql``: a hash of it (None when it cannot be built)."""
    return hashlib.sha256(sql.encode()).hexdigest()[:16] if sql is not None else None


def code_version(build: Callable[[], str]) -> str | None:
    """A hash of the SQL ``build`` produces (see :func:`reference_sql`)."""
    return sql_version(reference_sql(build))


def _md_list(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:SAMPLE]) or "none")


def _months_text(months) -> str:
    return f"{months[0][0]:04d}-{months[0][1]:02d}..{months[-1][0]:04d}-{months[-1][1]:02d}"


# --- monthly tables ------------------------------------------------------------------------------------------------

def _intensity_sql_digest() -> str:
    return grid_intensity_rows_sql(MonthRegistry(REFERENCE, REFERENCE_MONTH)) + f"\nbounds {MAX_G_PER_KWH}"


@asset(
    key=GRID_INTENSITY_KEY,
    group_name="gold",
    tags=TAGS,
    **MONTHLY,
    deps=[
        AssetDep(SILVER_PRODUCTION, partition_mapping=TimeWindowPartitionMapping()),
        AssetDep(SILVER_REDISPATCH, partition_mapping=TimeWindowPartitionMapping()),
        AssetDep(SILVER_GRID_LOAD, partition_mapping=TimeWindowPartitionMapping()),  # the locality model's balance
        SILVER_FACTORS,
        SILVER_PRICES,  # the merit order's unit costs
    ],
    kinds={"spark", "delta", "table"},
    owners=OWNERS,
    description="g CO2(eq)/kWh per interval x region x model (average, worst_emitter, merit_order, locality) x basis, "
    "with what determined it (emission_assets/models/); a Delta table partitioned by the local month.",
    metadata=table_metadata(GRID_INTENSITY),
    code_version=code_version(_intensity_sql_digest),
    automation_condition=AUTOMATION,
    # Unpartitioned check specs: one result per run, over the run's months. Blocking: a failed one fails the step,
    # so nothing downstream runs on what it flagged.
    check_specs=[AssetCheckSpec(name, asset=GRID_INTENSITY_KEY, description=text, blocking=True)
                 for name, text in CHECKS.items()],
)
def grid_intensity_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    months = month_range(context)
    lakehouse = spark.open()
    write_grid_intensity(lakehouse.spark, lakehouse.registry, months)
    found = intensity_checks(lakehouse.spark, lakehouse.registry, months)
    marginal = merit_checks.never_marginal_findings(lakehouse.spark, lakehouse.registry, months,
                                                    merit_order_rows=found.merit_order_rows)
    context.log.info(f"gold.grid_intensity: {found.rows} rows for {len(months)} months ({_months_text(months)})")
    checks = [
        AssetCheckResult(
            check_name="intensities_within_physical_bounds",
            passed=found.rows_outside == 0,
            metadata={"months": _months_text(months), "rows": found.rows, "rows_outside": found.rows_outside,
                      "rows_null": found.rows_null, "lowest_g_per_kwh": found.lowest_g_per_kwh,
                      "highest_g_per_kwh": found.highest_g_per_kwh, "outside": _md_list(found.outside)},
        ),
        AssetCheckResult(
            check_name="every_production_interval_has_a_factor",
            passed=found.rows_without_factor == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={"months": _months_text(months), "production_rows_without_factor": found.rows_without_factor,
                      "offenders": _md_list(found.without_factor)},
        ),
        AssetCheckResult(
            check_name=merit_checks.CHECK_NAME,
            passed=marginal.rows_not_fossil == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={"months": _months_text(months), "merit_order_rows": marginal.rows,
                      "rows_not_fossil": marginal.rows_not_fossil, "offenders": _md_list(marginal.offenders)},
        ),
    ]
    return MaterializeResult(
        metadata={"dagster/row_count": found.rows, "months": len(months), "first_month": _months_text(months[:1]),
                  "last_month": _months_text(months[-1:])},
        check_results=checks,
    )


@asset(
    key=EMISSIONS_MONTHLY_KEY,
    group_name="gold",
    tags=TAGS,
    **MONTHLY,
    deps=[
        AssetDep(GRID_INTENSITY_KEY),  # the same months
        AssetDep(SILVER_CONSUMPTION, partition_mapping=TimeWindowPartitionMapping()),
    ],
    kinds={"spark", "delta", "table"},
    owners=OWNERS,
    description="kg CO2(eq) per local month x home x model x basis (total, EV, household) and the spread between "
    "the models: the consumption of each interval attributed with gold.grid_intensity (home region "
    "$EMISSION_HOME_REGION, locality in $EMISSION_CONTROL_AREA).",
    metadata=table_metadata(EMISSIONS_MONTHLY),
    code_version=code_version(lambda: emissions_monthly_rows_sql(MonthRegistry(REFERENCE, REFERENCE_MONTH))),
    automation_condition=AUTOMATION,
)
def emissions_monthly_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    months = month_range(context)
    lakehouse = spark.open()
    written = write_emissions_monthly_rows(lakehouse.spark, lakehouse.registry, months)
    context.log.info(f"gold.emissions_monthly: {len(written)} rows for {len(months)} months ({_months_text(months)})")
    return MaterializeResult(metadata={
        "dagster/row_count": len(written), "months": len(months), "first_month": _months_text(months[:1]),
        "last_month": _months_text(months[-1:]), **_kg_per_model_and_basis(written),
    })


def _kg_per_model_and_basis(rows) -> dict:
    """``<model>_<basis>_kg``: the rows' kg CO2 summed per model and basis (ordered by basis, then model; NULLs
    left out, 0.0 where all are NULL), from the written rows rather than a query reading them back."""
    totals: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        totals.setdefault((r.basis, r.model), [])
        if r.emissions_kg is not None:
            totals[(r.basis, r.model)].append(r.emissions_kg)
    return {f"{model}_{basis}_kg": math.fsum(kg) for (basis, model), kg in sorted(totals.items())}


# --- views ---------------------------------------------------------------------------------------------------------

def create_view(context, lakehouse, name: str, sql: str) -> MaterializeResult:
    """(Re)create one view, record it, and describe it: SQL, column schema, row count and time range."""
    spark, registry = lakehouse.spark, lakehouse.registry
    sql_name = registry.sql_name(name)
    try:
        spark.sql(f"CREATE OR REPLACE VIEW {sql_name} AS {sql}")
        fields = spark.table(sql_name).schema.fields
    except Exception as error:  # the engine's error, with the view named
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RuntimeError(f"gold view {name}: creating it failed: {first_line[:400]}") from error
    remember_view(registry, name, sql)
    columns = [f.name for f in fields]
    span = next((c for c in ("interval_start", "year") if c in columns), None)
    extra = f", min({span}) AS first, max({span}) AS last" if span else ""
    row = spark.sql(f"SELECT count(*) AS n{extra} FROM {sql_name}").collect()[0]
    metadata = {
        "sql": MetadataValue.md(f"```sql\n{sql.strip()}\n```"),
        "dagster/table_name": sql_name,
        "dagster/column_schema": TableSchema(columns=[TableColumn(f.name, f.dataType.simpleString()) for f in fields]),
        "dagster/row_count": row.n,
    }
    if span:
        metadata[f"first_{span}"] = str(row.first)
        metadata[f"last_{span}"] = str(row.last)
    context.log.info(f"view {sql_name}: {row.n} rows")
    return MaterializeResult(metadata=metadata)


# What every view asset (gold view or consumer view) shares.
VIEW_ASSET = {"group_name": "gold", "tags": TAGS, "kinds": {"spark", "view"}, "owners": OWNERS,
              "automation_condition": AUTOMATION}


def view_asset(name: str, build: Callable[[Registry], str], description: str):
    """The asset of one gold view of the registry (:data:`~emission_assets.lakehouse.registry.VIEWS`)."""
    sql = reference_sql(lambda: build(REFERENCE))
    deps = upstream_keys(sql or "", name)

    @asset(key=asset_key(name), deps=deps, description=f"{description} A view ({name}).",
           code_version=sql_version(sql), **VIEW_ASSET)
    def _view(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
        lakehouse = spark.open()
        return create_view(context, lakehouse, name, build(lakehouse.registry))

    return _view


CONSUMER_SOURCES = {level: asset_key(spec.source) for level, spec in consumers.LEVELS.items()}


def consumer_asset(name: str, entry: consumers.Consumer | ValueError):
    """The asset of one configured consumer's view; a consumer whose entry is invalid gets an asset that fails
    with the config's error (nothing else fails)."""
    view = f"{consumers.CONSUMER_VIEW_PREFIX}{re.sub(r'[^a-z0-9_]', '_', name.lower())}"
    if isinstance(entry, consumers.Consumer):
        sql = reference_sql(lambda: consumers.view_sql(REFERENCE, entry))
        deps, version = upstream_keys(sql or "", view), sql_version(sql)
        description = (f"The view of consumer {name!r} ({entry.principal}): {entry.level} rows, home "
                       f"{entry.home}. {entry.description}".strip())
    else:
        deps, version, description = [], None, f"Consumer {name!r} of {consumers.CONFIG_PATH.name}: invalid ({entry})"

    @asset(key=asset_key(view), deps=deps, description=description, code_version=version, **VIEW_ASSET)
    def _consumer(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
        if isinstance(entry, ValueError):
            raise UserInputError(str(entry))
        lakehouse = spark.open()
        reason = consumers.skipped_reason(lakehouse.registry, entry)
        if reason is not None:  # e.g. no pseudonym key: the view is not created, and one left from before goes
            context.log.warning(reason)
            lakehouse.spark.sql(f"DROP VIEW IF EXISTS {lakehouse.registry.sql_name(view)}")
            forget_view(lakehouse.registry, view)
            return MaterializeResult(metadata={"created": False, "reason": reason})
        return create_view(context, lakehouse, view, consumers.view_sql(lakehouse.registry, entry))

    return _consumer


def config_error_asset(error: ValueError):
    """Stands for the consumer views when the consumer config cannot be read at all: fails, naming the file."""

    @asset(key=AssetKey(["gold", "consumer_views"]), group_name="gold", tags=TAGS, kinds={"view"}, owners=OWNERS,
           description=f"The consumer views: the config is invalid ({error}).")
    def _config(context: AssetExecutionContext) -> MaterializeResult:
        raise UserInputError(str(error))

    return _config


def consumer_assets(path=None) -> list:
    """One asset per configured consumer (default config: :data:`emission_assets.gold.consumers.CONFIG_PATH`)."""
    try:
        entries = consumers.consumer_entries(path or consumers.CONFIG_PATH)
    except ValueError as error:
        return [config_error_asset(error)]
    return [consumer_asset(name, entry) for name, entry in entries.items()]


def gold_assets(consumer_config=None) -> list:
    """Every gold asset but the report: the monthly tables, the views, the consumer views."""
    views = [view_asset(name, build, VIEWS[name]) for name, build in view_builders().items()]
    return [grid_intensity_asset, emissions_monthly_asset, *views, *consumer_assets(consumer_config)]
