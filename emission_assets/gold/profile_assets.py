"""Dagster asset ``gold/intensity_profile``: the cleanest hours, month by month (:mod:`emission_assets.gold.profile`),
with the heat map in its metadata (:mod:`emission_assets.gold.heatmap`).

The same local months as gold/grid_intensity (monthly partitions, identity mapping: a month of grid intensity makes
exactly its profile month stale), written through the writer's month replacement. The heat map lives here, not in
gold/emissions_report: it shows this table, and the report asset reads only gold.emissions_monthly. It covers the
year of the run's last month (every month of that year the table holds, not only the run's), so a one-month update
still shows its year. The PNGs go to ``$EMISSION_HOME/reports`` next to the report's.

The check ``every_hour_has_intervals`` (WARN, not blocking: a gap leaves a mean over fewer intervals, not a wrong
one) names the local hours of the run's months that have no (or too few) intervals and the profile cells left empty.
"""

import base64
from concurrent.futures import ThreadPoolExecutor

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
)

from emission_assets.gold.assets import (
    AUTOMATION,
    GRID_INTENSITY_KEY,
    REFERENCE,
    REFERENCE_MONTH,
    TAGS,
    code_version,
)
from emission_assets.gold.heatmap import BASES, COLUMNS, draw_heatmaps, heatmap_regions
from emission_assets.gold.months import MonthRegistry
from emission_assets.gold.profile import (
    PROFILE,
    compute_profile_rows,
    coverage_findings,
    extreme_hours,
    profile_rows_sql,
    write_profile_rows,
)
from emission_assets.lakehouse.writer import month_predicate
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.partitions import MONTHLY, month_range
from emission_assets.orchestration.resources import SparkResource
from emission_assets.settings import emission_home

KEY = AssetKey(["gold", "intensity_profile"])
CHECK = "every_hour_has_intervals"
CHECK_DESCRIPTION = ("Every local hour of the run's months that has gold.grid_intensity (per region, model and basis, "
                     "from each series' first to its last day of the month) holds its intervals, and no profile cell "
                     "is empty; the result names what is missing.")


def _months_text(months) -> str:
    return f"{months[0][0]:04d}-{months[0][1]:02d}..{months[-1][0]:04d}-{months[-1][1]:02d}"


def _md_list(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items) or "none")


def _extremes_md(extremes: list[dict]) -> MetadataValue:
    lines = ["| model | region | basis | cleanest hour | g/kWh | dirtiest hour | g/kWh |", "|---|---|---|---|---|---|---|"]
    for e in extremes:
        cleanest, dirtiest = ("every hour", "every hour") if e["all_hours_equal"] else (
            f"{e['cleanest_hour']:02d}h", f"{e['dirtiest_hour']:02d}h")
        lines.append(f"| {e['model']} | {e['region']} | {e['basis']} | {cleanest} | {e['cleanest_g_per_kwh']:,.0f} | "
                     f"{dirtiest} | {e['dirtiest_g_per_kwh']:,.0f} |")
    return MetadataValue.md("\n".join(lines))


@asset(
    key=KEY,
    group_name="gold",
    tags=TAGS,
    **MONTHLY,
    deps=[AssetDep(GRID_INTENSITY_KEY)],  # the same months
    kinds={"spark", "delta", "table"},
    owners=OWNERS,
    description="When the grid is cleanest: the time-weighted mean g CO2(eq)/kWh (min, max, interval count, rank "
    "1 = cleanest) per local month x weekday/weekend x Europe/Berlin hour of day x region x model x basis, from "
    "gold.grid_intensity; a Delta table partitioned by the local month, with the heat map (month x hour per model) "
    "of the home region ($EMISSION_HOME_REGION; locality in $EMISSION_CONTROL_AREA) in its metadata.",
    metadata=table_metadata(PROFILE),
    code_version=code_version(lambda: profile_rows_sql(MonthRegistry(REFERENCE, REFERENCE_MONTH))),
    automation_condition=AUTOMATION,
    check_specs=[AssetCheckSpec(CHECK, asset=KEY, description=CHECK_DESCRIPTION, blocking=False)],
)
def intensity_profile_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    months = month_range(context)
    lakehouse = spark.open()
    chunks = compute_profile_rows(lakehouse.spark, lakehouse.registry, months)
    year = [(months[-1][0], month) for month in range(1, 13)]  # what the heat map and the extremes show
    regions = heatmap_regions()
    # The heat maps are drawn from the computed rows (Python) while the engine writes them and runs the queries
    # that read the written table (the check's coverage, the extremes): ~0.3 s of a one-month update.
    with ThreadPoolExecutor(1, thread_name_prefix="intensity-profile-write") as pool:
        written = pool.submit(_write_and_read, lakehouse, chunks, months, year, regions)
        pngs = draw_heatmaps(_year_rows(lakehouse, chunks, year), emission_home() / "reports")
        rows, coverage, extremes = written.result()
    context.log.info(f"gold.intensity_profile: {rows} rows for {len(months)} months ({_months_text(months)})")
    if not coverage.complete:
        context.log.warning(
            f"gold.intensity_profile: {coverage.missing_hours} local hours lack intervals and {coverage.empty_cells} "
            f"cells are empty in {_months_text(months)} (their means leave them out), e.g. "
            + "; ".join((coverage.missing or coverage.empty)[:3]))
    metadata: dict = {"dagster/row_count": rows, "months": len(months), "first_month": _months_text(months[:1]),
                      "last_month": _months_text(months[-1:])}
    for png in pngs:
        basis = png.stem.rsplit("_", 1)[1]
        suffix = "" if basis == "direct" else f"_{basis}"
        encoded = base64.b64encode(png.read_bytes()).decode("ascii")
        metadata[f"heatmap{suffix}"] = MetadataValue.md(f"![intensity heat map {basis}](data:image/png;base64,{encoded})")
        metadata[f"heatmap_png{suffix}"] = MetadataValue.path(str(png))
    if extremes:
        metadata["cleanest_and_dirtiest_hours"] = _extremes_md(extremes)
    check = AssetCheckResult(
        check_name=CHECK,
        passed=coverage.complete,
        severity=AssetCheckSeverity.WARN,
        metadata={"months": _months_text(months), "series": coverage.series, "days": coverage.days,
                  "missing_hours": coverage.missing_hours, "missing_seconds": coverage.missing_seconds,
                  "empty_cells": coverage.empty_cells, "missing": _md_list(coverage.missing),
                  "empty": _md_list(coverage.empty), "days_covered": _md_list(coverage.spans)},
    )
    return MaterializeResult(metadata=metadata, check_results=[check])


def _write_and_read(lakehouse, chunks, months, year, regions):
    """Write the computed profile rows, then what reads them back: (rows written, the check's coverage, the
    cleanest and dirtiest hours of ``year`` per basis)."""
    spark, registry = lakehouse.spark, lakehouse.registry
    rows = write_profile_rows(spark, registry, chunks)
    coverage = coverage_findings(spark, registry, months)
    extremes = [e for basis in BASES for e in extreme_hours(spark, registry, year, regions, basis)]
    return rows, coverage, extremes


def _year_rows(lakehouse, chunks, year):
    """The profile rows of ``year`` (:data:`~emission_assets.gold.heatmap.COLUMNS`) once the run's months are
    written: the computed rows of the run's months in it and the table's rows of its other months (which the run
    does not touch)."""
    import pandas as pd

    computed = [rows[list(COLUMNS)] for chunk, rows in chunks]
    ours = {month for chunk, _ in chunks for month in chunk}
    others = [month for month in year if month not in ours]
    frames = [rows[rows["year"] == year[0][0]] for rows in computed]
    if others:
        table = lakehouse.registry.sql_name(PROFILE)
        frames.append(lakehouse.spark.sql(f"SELECT {', '.join(COLUMNS)} FROM {table} "
                                          f"WHERE {month_predicate(others)}").toPandas())
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
