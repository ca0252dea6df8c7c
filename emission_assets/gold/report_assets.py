"""Dagster asset ``gold/emissions_report``: the models report over all the data present, as a PNG and a table.

Not partitioned, on purpose: the report spans every month gold.emissions_monthly holds (its bars are months, and a
month is made of many daily partitions), reads only monthly aggregates, and is cheap; one report per day partition
would neither match its bars nor be wanted. Materialised after any silver run, it reflects the whole lakehouse.
"""

import base64
from datetime import date, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from emission_assets.assets_metadata import OWNERS
from emission_assets.gold.report import (
    BASES,
    format_report,
    monthly_report,
    plot_models,
)
from emission_assets.resources import SparkResource
from emission_assets.settings import emission_home

KEY = AssetKey(["gold", "emissions_report"])
MAX_G_PER_KWH = 1500.0  # above any fuel's lifecycle factor (lignite ~1,100-1,200 g/kWh)
CHECKS = {
    "intensities_within_physical_bounds": f"Every gold.grid_intensity g_per_kwh is between 0 and {MAX_G_PER_KWH:,.0f}.",
    "every_production_interval_has_a_factor": "Every silver.production row's production type has an active "
    "(not retired) emission factor valid at its local date, for each basis.",
}
SAMPLE = 50


def reports_dir():
    return emission_home() / "reports"


def _md_list(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:SAMPLE]) or "none")


def data_months(spark, registry) -> tuple[date, date] | None:
    """First day of the first and last month gold.emissions_monthly holds, or None when it is empty."""
    row = spark.sql(
        f"SELECT min(year * 100 + month) AS first, max(year * 100 + month) AS last "
        f"FROM {registry.sql_name('gold.emissions_monthly')}"
    ).collect()[0]
    if row["first"] is None:
        return None
    first, last = int(row["first"]), int(row["last"])
    return date(first // 100, first % 100, 1), date(last // 100, last % 100, 1)


def intensity_check(spark, registry) -> AssetCheckResult:
    source = registry.sql_name("gold.grid_intensity")
    outside = f"g_per_kwh < 0 OR g_per_kwh > {MAX_G_PER_KWH}"
    counts = spark.sql(
        f"SELECT count(*) AS n, count_if({outside}) AS outside, count_if(g_per_kwh IS NULL) AS nulls, "
        f"min(g_per_kwh) AS lowest, max(g_per_kwh) AS highest FROM {source}"
    ).collect()[0]
    offenders = spark.sql(
        f"SELECT interval_start, region, model, basis, g_per_kwh FROM {source} WHERE {outside} "
        f"ORDER BY interval_start, region, model, basis LIMIT {SAMPLE}"
    ).collect()
    return AssetCheckResult(
        check_name="intensities_within_physical_bounds",
        passed=counts["outside"] == 0,
        metadata={
            "rows": counts["n"],
            "rows_outside": counts["outside"],
            "rows_null": counts["nulls"],
            "lowest_g_per_kwh": float(counts["lowest"]) if counts["lowest"] is not None else None,
            "highest_g_per_kwh": float(counts["highest"]) if counts["highest"] is not None else None,
            "outside": _md_list([f"{r.interval_start} {r.region} {r.model}/{r.basis}: {r.g_per_kwh:g}" for r in offenders]),
        },
    )


def missing_factors_sql(registry) -> str:
    """silver.production rows x basis without an active factor valid at the row's local date."""
    local_date = "make_date(p.year, p.month, p.day)"
    bases = ", ".join(f"('{b}')" for b in BASES)
    return (
        f"SELECT p.production_type, b.basis, {local_date} AS local_date, p.interval_start "
        f"FROM {registry.sql_name('silver.production')} p "
        f"CROSS JOIN (SELECT basis FROM VALUES {bases} AS b(basis)) b "
        f"LEFT ANTI JOIN {registry.sql_name('silver.emission_factors')} f "
        f"ON f.production_type = p.production_type AND f.basis = b.basis AND f.retired_at IS NULL "
        f"AND f.valid_from <= {local_date} AND (f.valid_to IS NULL OR {local_date} < f.valid_to)"
    )


def factor_check(spark, registry) -> AssetCheckResult:
    missing = missing_factors_sql(registry)
    rows = spark.sql(f"SELECT count(DISTINCT production_type, interval_start) AS n FROM ({missing})").collect()[0]["n"]
    groups = spark.sql(
        f"SELECT production_type, basis, min(local_date) AS first, max(local_date) AS last, count(*) AS n "
        f"FROM ({missing}) GROUP BY production_type, basis ORDER BY production_type, basis LIMIT {SAMPLE}"
    ).collect()
    return AssetCheckResult(
        check_name="every_production_interval_has_a_factor",
        passed=rows == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "production_rows_without_factor": rows,
            "offenders": _md_list([f"{g.production_type} ({g.basis}): {g.n} rows, {g.first}..{g.last}" for g in groups]),
        },
    )


def report_metadata(frame, png_path) -> dict:
    encoded = base64.b64encode(png_path.read_bytes()).decode("ascii")
    return {
        "report": MetadataValue.md(f"![models](data:image/png;base64,{encoded})"),
        "table": MetadataValue.md(format_report(frame)),
        "png": MetadataValue.path(str(png_path)),
        "months": len(frame),
        "first_month": frame["period"].iloc[0],
        "last_month": frame["period"].iloc[-1],
    }


@asset(
    key=KEY,
    tags={"source": "gold"},
    group_name="gold",
    deps=[AssetKey(["silver", "production"]), AssetKey(["silver", "consumption"]),
          AssetKey(["silver", "emission_factors"])],
    kinds={"spark", "pandas"},
    owners=OWNERS,
    description="kg CO2(eq) per month and attribution model (EV and household load) over all the data present, "
    "as a PNG under $EMISSION_HOME/reports and a table; checks the intensities and the factors' coverage.",
    check_specs=[AssetCheckSpec(name, asset=KEY, description=text) for name, text in CHECKS.items()],
)
def emissions_report_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    lakehouse = spark.open()
    session, registry = lakehouse.spark, lakehouse.registry
    checks = [intensity_check(session, registry), factor_check(session, registry)]
    months = data_months(session, registry)
    if months is None:
        context.log.warning("gold.emissions_monthly is empty: no report")
        return MaterializeResult(metadata={"months": 0}, check_results=checks)
    first, last = months
    last_day = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    metadata: dict = {"months": 0}
    for basis in BASES:
        frame = monthly_report(session, registry, first, last_day, basis)
        if frame.empty:
            continue
        png = plot_models(frame, reports_dir() / f"models_{first.isoformat()}_{last_day.isoformat()}_{basis}.png")
        suffix = "" if basis == "direct" else f"_{basis}"
        metadata.update({f"{key}{suffix}": value for key, value in report_metadata(frame, png).items()})
    return MaterializeResult(metadata=metadata, check_results=checks)
