"""Dagster asset ``gold/emissions_report``: the models report over all the data present, as a PNG and a table.

Not partitioned, on purpose: the report spans every month the lakehouse holds (its bars are months, and a month is
made of many daily partitions); one report per day partition would neither match its bars nor be wanted.
Materialised after any silver run, it reflects the whole lakehouse, but recomputes only the months whose inputs
changed (:mod:`emission_assets.gold.report_store`): a one-day update costs one month, not the whole history.
"""

import base64

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

from emission_assets.gold.report import BASES, ROW_COLUMNS, format_report, plot_models, report_frame
from emission_assets.gold.report_store import MAX_G_PER_KWH, SAMPLE, Refresh, refresh
from emission_assets.orchestration.metadata import OWNERS
from emission_assets.orchestration.resources import SparkResource
from emission_assets.settings import emission_home

KEY = AssetKey(["gold", "emissions_report"])
CHECKS = {
    "intensities_within_physical_bounds": f"Every intensity the attribution uses (gold.grid_intensity in the home "
    f"region and control area) is between 0 and {MAX_G_PER_KWH:,.0f} g/kWh, in every month.",
    "every_production_interval_has_a_factor": "Every silver.production row's production type has an active "
    "(not retired) emission factor valid at its local date, for each basis, in every month.",
}


def reports_dir():
    return emission_home() / "reports"


def _md_list(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:SAMPLE]) or "none")


def check_results(spark, registry, done: Refresh) -> list[AssetCheckResult]:
    """Both checks over every month in gold.report_inputs (counts kept per month; offenders sampled from the months
    this run recomputed)."""
    totals = spark.sql(
        "SELECT coalesce(sum(intensity_rows), 0) AS n, coalesce(sum(intensity_outside), 0) AS outside, "
        "coalesce(sum(intensity_null), 0) AS nulls, min(lowest_g_per_kwh) AS lowest, "
        "max(highest_g_per_kwh) AS highest, coalesce(sum(rows_without_factor), 0) AS without_factor, "
        "collect_list(CASE WHEN intensity_outside > 0 THEN year * 100 + month END) AS bad_intensity_months, "
        "collect_list(CASE WHEN rows_without_factor > 0 THEN year * 100 + month END) AS bad_factor_months "
        f"FROM {registry.sql_name('gold.report_inputs')}"
    ).collect()[0]

    def months(keys) -> str:
        return ", ".join(f"{k // 100:04d}-{k % 100:02d}" for k in sorted(keys)) or "none"

    return [
        AssetCheckResult(
            check_name="intensities_within_physical_bounds",
            passed=totals.outside == 0,
            metadata={
                "rows": totals.n,
                "rows_outside": totals.outside,
                "rows_null": totals.nulls,
                "lowest_g_per_kwh": totals.lowest,
                "highest_g_per_kwh": totals.highest,
                "months_with_rows_outside": months(totals.bad_intensity_months),
                "outside": _md_list(done.intensity_offenders),
            },
        ),
        AssetCheckResult(
            check_name="every_production_interval_has_a_factor",
            passed=totals.without_factor == 0,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "production_rows_without_factor": totals.without_factor,
                "months_with_rows_without_factor": months(totals.bad_factor_months),
                "offenders": _md_list(done.factor_offenders),
            },
        ),
    ]


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
    "as a PNG under $EMISSION_HOME/reports and a table; keeps gold.report_monthly (recomputing only the months whose "
    "inputs changed) and checks the intensities and the factors' coverage.",
    # ERROR checks, blocking: a failed one fails the step, so nothing downstream runs on what it flagged.
    check_specs=[AssetCheckSpec(name, asset=KEY, description=text, blocking=True) for name, text in CHECKS.items()],
)
def emissions_report_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    lakehouse = spark.open()
    session, registry = lakehouse.spark, lakehouse.registry
    done = refresh(session, registry)
    context.log.info(
        f"report store: {len(done.recomputed)} of {len(done.months)} months recomputed "
        f"({', '.join(f'{y:04d}-{m:02d}' for y, m in done.recomputed) or 'none'}), {len(done.dropped)} dropped, "
        f"{done.seconds:.1f} s"
    )
    checks = check_results(session, registry, done)
    rows = session.sql(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM {registry.sql_name('gold.report_monthly')}").toPandas()
    metadata: dict = {"months": 0, "months_recomputed": len(done.recomputed), "store_seconds": round(done.seconds, 2)}
    if rows.empty:
        context.log.warning("no consumption with emissions in the lakehouse (gold.report_monthly is empty): no report")
        return MaterializeResult(metadata=metadata, check_results=checks)
    for basis in BASES:
        frame = report_frame(rows, basis)
        if frame.empty:
            continue
        first, last = frame["period"].iloc[0], frame["period"].iloc[-1]
        png = plot_models(frame, reports_dir() / f"models_{first}_{last}_{basis}.png")
        suffix = "" if basis == "direct" else f"_{basis}"
        metadata.update({f"{key}{suffix}": value for key, value in report_metadata(frame, png).items()})
    return MaterializeResult(metadata=metadata, check_results=checks)
