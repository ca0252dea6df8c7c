"""Dagster wiring: SMARD and Tibber API responses into the reservoir, per local day."""
from datetime import timedelta
from typing import Optional

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from emission_assets.assets_metadata import OWNERS
from emission_assets.partitions import DAILY, day_range
from emission_assets.reservoir import smard as smard_fill
from emission_assets.reservoir import tibber as tibber_fill
from emission_assets.reservoir.integrity import SMARD_RULES, TIBBER_RULES, Inspector
from emission_assets.resources import ReservoirResource, SmardResource, TibberResource
from emission_assets.smard.catalog import (
    DEFAULT_RESOLUTION,
    GENERATION_FILTERS,
    check_region,
    check_resolution,
    series,
)

REFETCHED = "the days of this run they covered are fetched again unless another intact file covers them"


class SmardReservoirConfig(Config):
    regions: list[str] = Field(default=["DE"], description="DE and/or the control areas 50Hertz, Amprion, TenneT, TransnetBW")
    filters: list[int] = Field(default=list(GENERATION_FILTERS), description="SMARD filter ids (12 generation types)")
    resolution: str = Field(default=DEFAULT_RESOLUTION, description="quarterhour or hour, for windows fetched now")
    refresh: bool = Field(default=False, description="fetch again even when the reservoir holds the days")
    settle_hours: float = Field(
        ge=0, default=6.0, description="a stored window counts as final for a day only if fetched this long after it"
    )


@asset(
    key_prefix="reservoir",
    name="smard_responses",
    tags={"source": "smard"},
    group_name="reservoir",
    **DAILY,
    pool="smard_api",
    kinds={"json"},
    owners=OWNERS,
    description="Raw SMARD chart-data window responses (one file + sidecar per download), versioned, atomic.",
)
def smard_reservoir(
    context: AssetExecutionContext, config: SmardReservoirConfig, smard: SmardResource, reservoir: ReservoirResource
) -> MaterializeResult:
    for region in config.regions:
        check_region(region)
    for filter_id in config.filters:
        series(filter_id)
    check_resolution(config.resolution)
    first_day, last_day = day_range(context)
    store = reservoir.store()
    inspector = Inspector(store, SMARD_RULES, "reservoir/smard_responses", context.run.run_id)
    try:
        with smard.client() as client:
            report = smard_fill.fill(
                client,
                store,
                first_day,
                last_day,
                regions=config.regions,
                filters=config.filters,
                resolution=config.resolution,
                refresh=config.refresh,
                settle=timedelta(hours=config.settle_hours),
                inspector=inspector,
            )
    finally:  # named even when a fetch fails afterwards
        integrity = inspector.conclude(context.log, then=REFETCHED)
    for text in report.days_without_values:  # the run log a backfill's reader sees, not only the Python log
        context.log.warning(f"SMARD sent no values for {text}: silver has no rows for it until a refresh brings them")
    return MaterializeResult(
        metadata={
            **integrity,
            "days": report.days,
            "series_days_already_present": report.series_days_present,
            "series_days_fetched": report.series_days_fetched,
            "files_written": len(report.written),
            "source": client.base_url,
            "series_days_without_values": len(report.days_without_values),
            "without_values": MetadataValue.md("\n".join(f"- {t}" for t in report.days_without_values[:50]) or "none"),
        }
    )


class TibberReservoirConfig(Config):
    home_id: Optional[str] = Field(default=None, description="Tibber home id; default the account's only home")
    refresh: bool = Field(default=False, description="fetch again even when the reservoir holds the days")
    settle_hours: float = Field(
        ge=0, default=48.0, description="a stored page counts as final for a day only if fetched this long after it "
        "(Tibber corrects recent hours)"
    )


@asset(
    key_prefix="reservoir",
    name="tibber_responses",
    tags={"source": "tibber"},
    group_name="reservoir",
    **DAILY,
    pool="tibber_api",
    kinds={"json"},
    owners=OWNERS,
    description="Raw Tibber HOURLY consumption pages (GraphQL responses, no token), versioned, owner-only files. "
    "Live Pulse micro-batches land here too, written by `emission-tracker live`.",
)
def tibber_reservoir(
    context: AssetExecutionContext, config: TibberReservoirConfig, tibber: TibberResource, reservoir: ReservoirResource
) -> MaterializeResult:
    first_day, last_day = day_range(context)
    client = tibber.client()
    home_id = client.resolve_home(config.home_id or tibber.home_id)
    store = reservoir.store()
    inspector = Inspector(store, TIBBER_RULES, "reservoir/tibber_responses", context.run.run_id)
    try:
        report = tibber_fill.fill(
            client, store, first_day, last_day, home_id=home_id, refresh=config.refresh,
            settle=timedelta(hours=config.settle_hours),
            source="sample" if tibber.api_url.startswith("sample://") else "api", inspector=inspector,
        )
    finally:  # named even when a fetch fails afterwards
        integrity = inspector.conclude(context.log, then=REFETCHED)
    return MaterializeResult(
        metadata={
            **integrity,
            "days": report.days,
            "days_already_present": report.days_present,
            "days_fetched": report.days_fetched,
            "requests": report.requests,
            "files_written": len(report.written),
        }
    )
