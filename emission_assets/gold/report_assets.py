"""Dagster asset ``gold/emissions_report``: the models report over all the data present, as a PNG and a table.

Not partitioned, on purpose: the report spans every month the lakehouse holds (its bars are months). It reads the
gold.emissions_monthly table, which the monthly asset keeps month by month; the report itself computes nothing
heavy. The checks on the intensities and the factors' coverage are on gold/grid_intensity.
"""

import base64

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from emission_assets.gold.assets import AUTOMATION, EMISSIONS_MONTHLY_KEY, TAGS
from emission_assets.gold.market_based import VIEW as MARKET_BASED_VIEW
from emission_assets.gold.report import BASES, ROW_COLUMNS, format_report, market_rows, plot_models, report_frame
from emission_assets.gold.tables import EMISSIONS_MONTHLY
from emission_assets.orchestration.metadata import OWNERS
from emission_assets.orchestration.resources import SparkResource
from emission_assets.settings import emission_home

KEY = AssetKey(["gold", "emissions_report"])


def reports_dir():
    return emission_home() / "reports"


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
    tags=TAGS,
    group_name="gold",
    deps=[EMISSIONS_MONTHLY_KEY, AssetKey(MARKET_BASED_VIEW.split("."))],
    kinds={"spark", "pandas"},
    owners=OWNERS,
    description="kg CO2(eq) per month and attribution model (EV and household load) over all the months in "
    "gold.emissions_monthly, with the market-based figure of gold.market_based_monthly and UBA's national factor "
    "as the reference, as a PNG under $EMISSION_HOME/reports and a table.",
    automation_condition=AUTOMATION,
)
def emissions_report_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    lakehouse = spark.open()
    rows = lakehouse.spark.sql(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM {lakehouse.registry.sql_name(EMISSIONS_MONTHLY)}").toPandas()
    metadata: dict = {"months": 0}
    if rows.empty:
        context.log.warning("no consumption with emissions in the lakehouse (gold.emissions_monthly is empty): "
                            "no report")
        return MaterializeResult(metadata=metadata)
    market = market_rows(lakehouse.spark, lakehouse.registry)
    for basis in BASES:
        frame = report_frame(rows, basis, market=market)
        if frame.empty:
            continue
        first, last = frame["period"].iloc[0], frame["period"].iloc[-1]
        png = plot_models(frame, reports_dir() / f"models_{first}_{last}_{basis}.png")
        suffix = "" if basis == "direct" else f"_{basis}"
        metadata.update({f"{key}{suffix}": value for key, value in report_metadata(frame, png).items()})
    return MaterializeResult(metadata=metadata)
