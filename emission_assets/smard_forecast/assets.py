"""Dagster definitions of the SMARD day-ahead forecast source: forecast windows into the reservoir,
bronze.smard_forecast_responses (exactly once per file) and silver.grid_forecast, per local day up to tomorrow.

The same path and code as the SMARD source (client with its retries, window files, fill, bronze ingest, silver
rules and checks), with the forecast catalog, reservoir folder, bronze table and partitions
(:data:`emission_assets.orchestration.partitions.FORECAST_DAILY`: a forecast for tomorrow is a partition today).
"""
from datetime import date, timedelta

from dagster import AssetExecutionContext, AssetKey, Config, MaterializeResult, asset
from pydantic import Field

from emission_assets.lakehouse.bronze_ingest import checked_ingest
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.orchestration.automation import daily_at, historical_eager
from emission_assets.orchestration.metadata import OWNERS, table_metadata
from emission_assets.orchestration.partitions import FORECAST_DAILY, day_range
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.orchestration.silver_support import REFETCHED
from emission_assets.smard import reservoir as smard_fill
from emission_assets.smard.assets import SilverSeries, fill_metadata, silver_series_asset
from emission_assets.smard.catalog import DEFAULT_RESOLUTION, check_region, check_resolution
from emission_assets.smard.client import SmardRequestError
from emission_assets.smard.resources import SmardResource
from emission_assets.smard.windows import stored_windows
from emission_assets.smard_forecast import bronze as forecast_bronze
from emission_assets.smard_forecast.catalog import DEFAULT_FILTERS, FILTERS, SIGNED_SERIES, series
from emission_assets.smard_forecast.layout import FAMILY, RESERVOIR_DIR, RULES, SOURCE_NAME
from emission_assets.smard_forecast.silver import forecast_from_bronze, unparsed_forecast_payloads
from emission_assets.smard_forecast.tables import SILVER_GRID_FORECAST
from emission_assets.timeutil import local_date_of_ms

TAGS = {"source": SOURCE_NAME}
# TSOs publish the day-ahead forecasts of day D by 18:00 on D-1 (wind and PV; load earlier): a window fetched from
# then on holds the whole day. 30 h before the end of D is 18:00 on D-1 (19:00/17:00 around a DST switch).
PUBLISHED_HOURS_BEFORE_DAY_END = 30.0


class ForecastReservoirConfig(Config):
    regions: list[str] = Field(default=["DE"], description="DE (what SMARD is known to serve forecasts for) and/or "
                               "the control areas 50Hertz, Amprion, TenneT, TransnetBW")
    filters: list[int] | None = Field(
        default=None, description="SMARD forecast filter ids; default: 123, 3791, 125, 715, 122 (forecast "
        "generation) and 411 (forecast grid load); 5097 and 4362 (unverified) on request")
    resolution: str = Field(default=DEFAULT_RESOLUTION, description="quarterhour or hour, for windows fetched now")
    refresh: bool = Field(default=False, description="fetch again even when the reservoir holds the days")
    published_hours_before_day_end: float = Field(
        ge=0, default=PUBLISHED_HOURS_BEFORE_DAY_END,
        description="a stored window counts for a day if fetched at most this many hours before the day ended "
        "(a day-ahead forecast is complete once published, the day before)")


def available_defaults(client, regions: list[str], resolution: str, log) -> list[int]:
    """The default forecast filters SMARD serves for every region ("forecast generation by type where available"):
    one whose index answers 404 is left out with a warning naming it and the URL. Filters named in the run config
    are fetched or fail. The indexes fetched here are the client's cache for the fill (no second request)."""
    available = []
    for filter_id in DEFAULT_FILTERS:
        missing = []
        for region in regions:
            try:
                client.window_for(filter_id, region, resolution, 0)
            except SmardRequestError as error:
                if error.status != 404:
                    raise
                missing.append(f"{region} ({error.url})")
        if missing:
            log.warning(f"SMARD serves no {resolution} forecast of filter {filter_id} ({series(filter_id).name}) for "
                        f"{', '.join(missing)}: HTTP 404 on the index; the other series are fetched without it")
        else:
            available.append(filter_id)
    return available


def first_forecast_day(client, filters, regions: list[str], resolution: str, first_day: date, log) -> date:
    """``first_day``, or the first day SMARD has forecasts of every series for if that is later: a backfill of
    older days (a plain `emission-tracker materialize` from 2015) fetches what exists and says which days have none,
    rather than fail on them (silver's complete_days check lists them as days without data)."""
    starts = [client.first_window(f, r, resolution) for f in filters for r in regions]
    if not starts or any(start is None for start in starts):
        return first_day
    begins = local_date_of_ms(max(starts))
    if begins > first_day:
        log.warning(f"SMARD's {resolution} forecasts of {', '.join(map(str, filters))} start {begins}: no forecast "
                    f"is fetched for {first_day}..{begins - timedelta(days=1)}")
        return begins
    return first_day


@asset(
    key_prefix="reservoir",
    name="smard_forecast_responses",
    tags=TAGS,
    group_name="reservoir",
    **FORECAST_DAILY,
    # The newest partition of FORECAST_DAILY is tomorrow: each evening its forecast, once published.
    automation_condition=daily_at(18, 30),
    pool="smard_api",
    kinds={"json"},
    owners=OWNERS,
    description="Raw SMARD day-ahead forecast window responses (one file + sidecar per download), versioned, atomic.",
)
def smard_forecast_reservoir(
    context: AssetExecutionContext, config: ForecastReservoirConfig, smard: SmardResource,
    reservoir: ReservoirResource,
) -> MaterializeResult:
    for region in config.regions:
        check_region(region)
    for filter_id in config.filters or ():
        series(filter_id)
    check_resolution(config.resolution)
    first_day, last_day = day_range(context)
    store = reservoir.store()
    inspector = Inspector(store, RULES, "reservoir/smard_forecast_responses", context.run.run_id)
    try:
        with smard.client(series) as client:
            filters = config.filters or available_defaults(client, config.regions, config.resolution, context.log)
            fetch_from = first_forecast_day(client, filters, config.regions, config.resolution, first_day, context.log)
            report = smard_fill.fill(
                client, store, fetch_from, last_day, regions=config.regions, filters=filters,
                resolution=config.resolution, refresh=config.refresh,
                settle=-timedelta(hours=config.published_hours_before_day_end), inspector=inspector, family=FAMILY,
            )
    finally:  # named even when a fetch fails afterwards
        integrity = inspector.conclude(context.log, then=REFETCHED)
    for text in report.days_without_values:
        context.log.warning(f"SMARD sent no forecast values for {text}: not published yet? silver has no rows for "
                            "it until a refresh brings them")
    return MaterializeResult(
        metadata=fill_metadata(report, client.base_url, integrity, filters=", ".join(map(str, filters))))


@asset(
    key_prefix="bronze",
    name="smard_forecast_responses",
    tags=TAGS,
    group_name="bronze",
    deps=[smard_forecast_reservoir.key],
    **FORECAST_DAILY,
    automation_condition=historical_eager(),
    kinds={"spark", "delta", "databricks"},
    owners=OWNERS,
    description=forecast_bronze.__doc__,
    metadata=table_metadata(forecast_bronze.TABLE),
)
def smard_forecast_bronze(
    context: AssetExecutionContext, spark: SparkResource, reservoir: ReservoirResource
) -> MaterializeResult:
    first_day, last_day = day_range(context)
    lakehouse = spark.open()
    store = reservoir.store()
    inspector = Inspector(store, RULES, "bronze/smard_forecast_responses", context.run.run_id)
    files = stored_windows(store, first_day, last_day, inspector, RESERVOIR_DIR)
    metadata = checked_ingest(
        context, lakehouse, inspector, files, table=forecast_bronze.TABLE, ingest=forecast_bronze.ingest,
        partition=("window_date", forecast_bronze.window_date), first_day=first_day, last_day=last_day,
        keep_bytes=False,  # the engine reads the files itself
    )
    return MaterializeResult(metadata={"ingest": "batch", **metadata})


UNPARSED_CHECK = "known_file_shapes"
GRID_FORECAST = SilverSeries(
    SILVER_GRID_FORECAST.name, FILTERS, forecast_from_bronze, "energy_mwh", "series",
    "SMARD day-ahead forecasts per interval x region x series (forecast generation by type, forecast grid load), "
    "latest download wins; daily partitions up to tomorrow.",
    months_per_write=12,  # a handful of series per region: a year is small
    source=SOURCE_NAME,
    bronze_table=forecast_bronze.TABLE,
    lookup=series,
    partitions=FORECAST_DAILY,
    unparsed_check=UNPARSED_CHECK,
    signed_series=SIGNED_SERIES,
    unparsed=unparsed_forecast_payloads,
)
silver_grid_forecast = silver_series_asset(GRID_FORECAST)
SILVER_KEY: AssetKey = silver_grid_forecast.key
