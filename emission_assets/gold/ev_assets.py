"""Dagster assets ``gold/ev_sessions`` and ``gold/ev_shift_savings``: monthly Delta tables (local month of the
session's start), like gold/emissions_monthly, with the partial results of the counterfactual as checks.

Lineage: a month's sessions read silver.consumption from the day before the month to a few days after it, and the
intensity of the month and the next (a session or window of the last evening ends in the next month), so the
mappings reach one month back (consumption) and one month ahead (both): an update there makes the month stale.
The ready-by time of the plug-in windows is run config of gold/ev_shift_savings (``ready_by``, default 07:00; in
the UI's launchpad ``ops: {gold__ev_shift_savings: {config: {ready_by: "06:30"}}}``); the table records it per row.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    Config,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)
from pydantic import Field

from emission_assets.gold.assets import (
    AUTOMATION,
    GRID_INTENSITY_KEY,
    REFERENCE,
    REFERENCE_MONTH,
    SILVER_CONSUMPTION,
    TAGS,
    code_version,
)
from emission_assets.gold.ev_sessions import (
    EV_SESSIONS,
    ev_session_rows_sql,
    sessions_missing_intensity,
    write_ev_sessions,
)
from emission_assets.gold.ev_shift import (
    DEFAULT_READY_BY,
    EV_SHIFT_SAVINGS,
    ev_shift_rows_sql,
    write_ev_shift_savings,
)
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.partitions import MONTHLY, month_range
from emission_assets.orchestration.resources import SparkResource

EV_SESSIONS_KEY = AssetKey(["gold", "ev_sessions"])
EV_SHIFT_SAVINGS_KEY = AssetKey(["gold", "ev_shift_savings"])
SAMPLE = 20
# Offsets are in months (the downstream's unit); at the first and the current month the neighbour does not exist.
MONTH_AROUND = TimeWindowPartitionMapping(start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True)
MONTH_AND_NEXT = TimeWindowPartitionMapping(end_offset=1, allow_nonexistent_upstream_partitions=True)

# Each partial result of the counterfactual is a check of its own: WARN, not blocking (the rows are written, partial
# and labelled); metadata counts the sessions x models concerned and lists a sample.
SHIFT_CHECKS = {
    "every_session_fits_its_window": ("window_too_short", "Every session's energy fits its plug-in window at the "
                                      "charger power (otherwise the rest stays where it was charged: unfit_kwh)."),
    "every_window_reaches_its_ready_by_time": ("no_following_morning", "The intensity data reaches each window's "
                                               "ready-by time (otherwise the window ends at the last intensity)."),
    "every_window_hour_has_intensity": ("window_hours_without_intensity", "Every hour of each window has an "
                                        "intensity (slots without one, missing production hours, are not used)."),
    "every_session_interval_has_intensity": ("session_intervals_without_intensity", "Every interval of each session "
                                             "has an intensity (otherwise its kWh are left out of both sides)."),
}


def _months_text(months) -> str:
    return f"{months[0][0]:04d}-{months[0][1]:02d}..{months[-1][0]:04d}-{months[-1][1]:02d}"


def _md_list(items: list[str]) -> MetadataValue:
    return MetadataValue.md("\n".join(f"- {i}" for i in items[:SAMPLE]) or "none")


def _per_model_kg(rows, column: str) -> dict:
    totals: dict[str, float] = {}
    for r in rows:
        value = getattr(r, column)
        if value is not None:
            totals[f"{r.model}_{r.basis}_{column}"] = totals.get(f"{r.model}_{r.basis}_{column}", 0.0) + value
    return dict(sorted(totals.items()))


@asset(
    key=EV_SESSIONS_KEY,
    group_name="gold",
    tags=TAGS,
    **MONTHLY,
    deps=[
        AssetDep(SILVER_CONSUMPTION, partition_mapping=MONTH_AROUND),
        AssetDep(GRID_INTENSITY_KEY, partition_mapping=MONTH_AND_NEXT),
    ],
    kinds={"spark", "delta", "table"},
    owners=OWNERS,
    description="EV charging sessions (contiguous EV intervals of a home, over midnight and DST switches) x model x "
    "basis: start, end, kWh, average kW, kg CO2 and g/kWh (the attribution of gold.consumption_emissions) and the "
    "grid average of the same hours; a Delta table partitioned by the local month of the session's start.",
    metadata=table_metadata(EV_SESSIONS),
    code_version=code_version(lambda: ev_session_rows_sql(REFERENCE, REFERENCE_MONTH)),
    automation_condition=AUTOMATION,
)
def ev_sessions_asset(context: AssetExecutionContext, spark: SparkResource) -> MaterializeResult:
    months = month_range(context)
    lakehouse = spark.open()
    rows = write_ev_sessions(lakehouse.spark, lakehouse.registry, months)
    sessions = {r.session_id for r in rows}
    missing = sessions_missing_intensity(rows)
    if missing:
        context.log.warning(f"gold.ev_sessions: {sum(1 for r in rows if r.intervals_without_intensity)} session x "
                            f"model rows with intervals without intensity (left out of their kg), e.g. {missing[0]}")
    context.log.info(f"gold.ev_sessions: {len(sessions)} sessions, {len(rows)} rows for {len(months)} months "
                     f"({_months_text(months)})")
    energy = sum(r.energy_kwh for r in {r.session_id: r for r in rows}.values())
    return MaterializeResult(metadata={
        "dagster/row_count": len(rows), "sessions": len(sessions), "energy_kwh": float(energy),
        "months": _months_text(months), "rows_with_missing_intensity": len([r for r in rows if r.intervals_without_intensity]),
        "missing_intensity": _md_list(missing), **_per_model_kg(rows, "emissions_kg"),
    })


class EvShiftConfig(Config):
    ready_by: str = Field(default=DEFAULT_READY_BY,
                          description="Local (Europe/Berlin) time HH:MM by which the car must be charged: each "
                          "session's plug-in window ends at the next such time after its start (checked when the "
                          "asset runs: a wrong one fails it with one line naming the value).")


@asset(
    key=EV_SHIFT_SAVINGS_KEY,
    group_name="gold",
    tags=TAGS,
    **MONTHLY,
    deps=[
        AssetDep(EV_SESSIONS_KEY),  # the same months
        AssetDep(GRID_INTENSITY_KEY, partition_mapping=MONTH_AND_NEXT),
    ],
    kinds={"spark", "delta", "table"},
    owners=OWNERS,
    description="Per EV session x model x basis: the kg CO2 had the same energy been charged at the charger power in "
    "the cleanest slots of its plug-in window (session start to the next ready-by time, default 07:00 local, run "
    "config ready_by), the saving, and where the models disagree; partial results named in status and the checks.",
    metadata=table_metadata(EV_SHIFT_SAVINGS),
    code_version=code_version(lambda: ev_shift_rows_sql(REFERENCE, REFERENCE_MONTH)),
    automation_condition=AUTOMATION,
    check_specs=[AssetCheckSpec(name, asset=EV_SHIFT_SAVINGS_KEY, description=text)
                 for name, (_, text) in SHIFT_CHECKS.items()],
)
def ev_shift_savings_asset(context: AssetExecutionContext, spark: SparkResource,
                           config: EvShiftConfig) -> MaterializeResult:
    months = month_range(context)
    lakehouse = spark.open()
    rows = write_ev_shift_savings(lakehouse.spark, lakehouse.registry, months, config.ready_by)
    checks = []
    for check, (flag, _) in SHIFT_CHECKS.items():
        flagged = [r for r in rows if flag in r.status.split(",")]
        if flagged:
            context.log.warning(f"gold.ev_shift_savings {flag}: {len(flagged)} session x model rows, e.g. "
                                f"{flagged[0].session_id} {flagged[0].model}/{flagged[0].basis}: {flagged[0].note}")
        checks.append(AssetCheckResult(
            check_name=check, passed=not flagged, severity=AssetCheckSeverity.WARN,
            metadata={"months": _months_text(months), "rows": len(rows), "rows_flagged": len(flagged),
                      "sessions_flagged": len({r.session_id for r in flagged}),
                      "unfit_kwh": float(sum(r.unfit_kwh for r in flagged)),
                      "sample": _md_list([f"{r.session_id} {r.model}/{r.basis}: {r.note}" for r in flagged])},
        ))
    context.log.info(f"gold.ev_shift_savings: {len(rows)} rows for {len(months)} months ({_months_text(months)}), "
                     f"ready by {config.ready_by}")
    return MaterializeResult(
        metadata={"dagster/row_count": len(rows), "months": _months_text(months), "ready_by_local": config.ready_by,
                  "sessions": len({r.session_id for r in rows}),
                  "partial_rows": len([r for r in rows if r.status != "complete"]),
                  **_per_model_kg(rows, "saved_kg")},
        check_results=checks,
    )


EV_ASSETS = [ev_sessions_asset, ev_shift_savings_asset]
