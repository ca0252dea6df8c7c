"""The Dagster asset ``gold/intensity_forecast``: tomorrow's intensity per model, and its backtest as metadata and a
check.

Daily partitions of the local *forecast* day, up to tomorrow (SMARD publishes the day-ahead forecasts the day
before), each mapped from the same day of ``silver/grid_forecast``; the fit reads ``gold/grid_intensity`` (the
trailing history before the day, see :mod:`emission_assets.forecast.fit`).

The check ``forecast_beats_historical_profile`` (WARN, not blocking: the forecast is advice) passes when, for every
region x model x basis of the backtest, the fit's MAE is no higher than that of the hour-of-day mean of the same
training window and its cleanest-4-hour hit rate no lower: otherwise the forecast is no better than the historical
profile ``advise`` falls back to. It fails when nothing could be backtested (no history: an unverified forecast).
"""

import hashlib

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

from emission_assets.forecast.fit import GAP_DAYS, METHOD, TERMS, TRAINING_DAYS
from emission_assets.forecast.table import BACKTEST_DAYS, TABLE, run_backtest, write_forecast
from emission_assets.orchestration.automation import historical_eager
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.partitions import FORECAST_DAILY, day_range
from emission_assets.orchestration.resources import SparkResource

INTENSITY_FORECAST_KEY = AssetKey(["gold", "intensity_forecast"])
SILVER_GRID_FORECAST = AssetKey(["silver", "grid_forecast"])
GRID_INTENSITY = AssetKey(["gold", "grid_intensity"])
CHECK_NAME = "forecast_beats_historical_profile"
TAGS = {"source": "forecast"}


class IntensityForecastConfig(Config):
    backtest_days: int = Field(default=BACKTEST_DAYS, ge=1, le=3660,
                               description="days of history before the forecast the backtest runs over")


def _md_table(frame) -> MetadataValue:
    return MetadataValue.md(frame.round(3).to_markdown(index=False) if not frame.empty else "no rows")


def _days_text(days) -> str:
    return ", ".join(str(d) for d in days[:10]) + (f" (+{len(days) - 10} more)" if len(days) > 10 else "")


def backtest_check(summary) -> tuple[bool, list[str]]:
    """Whether every region x model x basis beats the hour-of-day baseline (MAE no higher, hit rate no lower), and
    the ones that do not."""
    if summary.empty:
        return False, ["nothing to backtest: no day of history had intensity, features and a fit"]
    losing = []
    for row in summary.itertuples():
        mae_worse = row.mae_g_per_kwh > row.profile_mae_g_per_kwh + 1e-9
        hits_worse = row.hit_rate < row.profile_hit_rate - 1e-9
        if mae_worse or hits_worse:
            losing.append(f"{row.region}/{row.model}/{row.basis}: MAE {row.mae_g_per_kwh:.1f} vs "
                          f"{row.profile_mae_g_per_kwh:.1f} g/kWh, hit rate {row.hit_rate:.2f} vs "
                          f"{row.profile_hit_rate:.2f}")
    return not losing, losing


@asset(
    key=INTENSITY_FORECAST_KEY,
    group_name="gold",
    tags=TAGS,
    **FORECAST_DAILY,  # up to tomorrow: the day-ahead forecast's day
    deps=[
        AssetDep(SILVER_GRID_FORECAST, partition_mapping=TimeWindowPartitionMapping()),
        AssetDep(GRID_INTENSITY, partition_mapping=TimeWindowPartitionMapping()),  # the fit's history
    ],
    kinds={"spark", "delta", "table"},
    owners=OWNERS,
    description=f"Forecast g CO2(eq)/kWh per interval x region x model x basis for the local day, from SMARD's "
    f"day-ahead forecasts (silver.grid_forecast) under a least-squares fit ({METHOD}: residual load, renewable "
    f"share, hour of day) on the {TRAINING_DAYS} days of gold.grid_intensity ending {GAP_DAYS + 1} days before; "
    "with a rolling backtest (MAE, cleanest-4-hour hit rate) as metadata and a check. A Delta table partitioned by "
    "the local day.",
    metadata=table_metadata(TABLE),
    code_version=hashlib.sha256(f"{METHOD} {TRAINING_DAYS} {GAP_DAYS}".encode()).hexdigest()[:16],
    automation_condition=historical_eager(),
    check_specs=[AssetCheckSpec(CHECK_NAME, asset=INTENSITY_FORECAST_KEY, blocking=False,
                                description="In the rolling backtest, every model's forecast has an MAE no higher "
                                "and a cleanest-4-hour hit rate no lower than the historical hour-of-day profile.")],
)
def intensity_forecast_asset(context: AssetExecutionContext, spark: SparkResource,
                             config: IntensityForecastConfig) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    run = write_forecast(lakehouse.spark, lakehouse.registry, lakehouse.writer, first_day, last_day)
    if run.days_without_forecast:
        context.log.warning(f"gold.intensity_forecast: no forecast features in silver.grid_forecast for "
                            f"{len(run.days_without_forecast)} day(s) ({_days_text(run.days_without_forecast)}): "
                            "nothing forecast for them (materialise silver/grid_forecast first)")
    if run.days_without_fit:
        context.log.warning(f"gold.intensity_forecast: too little history to fit for "
                            f"{_days_text(run.days_without_fit)} (a fit needs 7 of the 28 days before with "
                            "gold.grid_intensity and the region's grid load in silver.grid_load, SMARD filter 410): "
                            "nothing forecast for them")
    context.log.info(f"gold.intensity_forecast: {run.rows} rows for {len(run.days_forecast)} day(s)")
    backtest = run_backtest(lakehouse.spark, lakehouse.registry, last_day, config.backtest_days)
    summary = backtest.summary
    passed, losing = backtest_check(summary)
    inputs = (backtest.per_day["input"].value_counts().to_dict() if not backtest.per_day.empty else {})
    input_text = ("forecast features (silver.grid_forecast)" if inputs and set(inputs) == {"forecast"} else
                  "realised features: a perfect input forecast, the model's error only" if set(inputs) == {"realised"}
                  else f"mixed: {inputs.get('forecast', 0)} day-models with forecast features, "
                  f"{inputs.get('realised', 0)} with realised ones (perfect input forecast)" if inputs else "none")
    figures = {f"backtest_{r.region}_{r.model}_{r.basis}_{name}": float(getattr(r, name))
               for r in summary.itertuples() for name in ("mae_g_per_kwh", "hit_rate")}
    period = f"{backtest.first_day}..{backtest.last_day}"
    metadata = {
        "dagster/row_count": run.rows,
        "days_forecast": len(run.days_forecast),
        "days_without_forecast": _days_text(run.days_without_forecast) or "none",
        "days_without_fit": _days_text(run.days_without_fit) or "none",
        "method": METHOD,
        "fits": _md_table(_fits_frame(run.fits)),
        "backtest_period": period,
        "backtest_input": input_text,
        "backtest": _md_table(summary),
        **figures,
    }
    check = AssetCheckResult(
        check_name=CHECK_NAME, passed=passed, severity=AssetCheckSeverity.WARN,
        metadata={"backtest_period": period, "backtest_input": input_text,
                  "not_better_than_profile": "\n".join(losing) or "none", "backtest": _md_table(summary)})
    return MaterializeResult(metadata=metadata, check_results=[check])


def _fits_frame(fits):
    import pandas as pd

    return pd.DataFrame([{"region": f.region, "model": f.model, "basis": f.basis, "fit_id": f.fit_id,
                          "in_sample_mae_g_per_kwh": f.mae_g_per_kwh,
                          **{f"b_{term}": c for term, c in zip(TERMS, f.coefficients, strict=True)}}
                         for f in fits.values()])


def forecast_assets() -> list:
    return [intensity_forecast_asset]
