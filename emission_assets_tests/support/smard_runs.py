"""The harness of the reliability suites (fault injection, integrity): one Dagster run over a day range against the
fake SMARD API, as ``emission-tracker materialize`` does, and readers of what landed where."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

from emission_assets.cli import failure_message
from emission_assets.definitions import ASSETS
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.smard.catalog import series
from emission_assets.smard.client import SmardClient
from emission_assets.smard.resources import SmardResource
from emission_assets.sources import resources_for_environment
from emission_assets.timeutil import day_bounds_utc, local_midnight, to_epoch_ms, week_start
from emission_assets_tests.support.fake_smard import FakeSmard

# Dagster's documented run tags of a single-run backfill over a partition range.
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
SMARD = AssetSelection.tag("source", "smard")
TIBBER = AssetSelection.tag("source", "tibber")
SMARD_RESERVOIR = AssetKey(["reservoir", "smard_responses"])
FILTERS = [1223, 4068]  # lignite and photovoltaics: two types keep every run small
PV = 4068
EARLIER = date(2024, 4, 10)  # landed before the fault, in the week before DAY (another window)
DAY = date(2024, 4, 17)
TIBBER_PATH = "/v1-beta/gql"


class QuickSmard(SmardResource):
    """The product's SMARD resource with test-sized read timeout and backoff (the real client, configured)."""

    read_timeout: float = 5.0
    backoff_factor: float = 0.05

    def client(self, lookup=series) -> SmardClient:
        return SmardClient(
            self.base_url, retries=self.retries, timeout=(2, self.read_timeout), backoff_factor=self.backoff_factor,
            lookup=lookup,
        )


@dataclass
class Outcome:
    result: object
    warnings: list[str]

    @property
    def success(self) -> bool:
        return self.result.success

    def error(self) -> tuple[str, str]:
        """Class of what the failed step raised, and the message `emission-tracker materialize` prints for it."""
        failure = next(e for e in self.result.all_events if e.is_failure and e.step_key)
        error = failure.event_specific_data.error
        return (error.cause or error).cls_name, failure_message(self.result)  # Dagster wraps what the step raised

    def metadata(self, *key: str) -> dict:
        events = [e for e in self.result.get_asset_materialization_events() if e.asset_key == AssetKey(list(key))]
        return {name: value.value for name, value in events[-1].materialization.metadata.items()}


def run(first: date, last: date, selection: AssetSelection = SMARD, *, smard: SmardResource | None = None,
        **config) -> Outcome:
    """One Dagster run of ``selection`` over the days (as ``emission-tracker materialize --select`` does); the SMARD
    reservoir step, where selected, fetches only ``FILTERS``. Warnings come from the run's event log."""
    resources = resources_for_environment()
    if smard is not None:
        resources["smard"] = smard
    ops = {}
    if SMARD_RESERVOIR in selection.resolve(ASSETS):
        ops = {"reservoir__smard_responses": {"config": {"filters": FILTERS, **config}}}
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            ASSETS,
            instance=instance,
            resources=resources,
            selection=selection,
            run_config={"ops": ops},
            tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
            raise_on_error=False,
        )
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level >= logging.WARNING]
    return Outcome(result, warnings)


def sql(query: str) -> list:
    return open_lakehouse().spark.sql(query).collect()


def smard_api_for(server, root: Path) -> FakeSmard:
    """The fake SMARD API serving the two filters' weeks of EARLIER and DAY."""
    fake = FakeSmard(server, root)
    fake.publish_weeks(week_start(EARLIER), 2, filters=FILTERS)
    return fake


def quick(fake: FakeSmard, **kwargs) -> QuickSmard:
    return QuickSmard(base_url=fake.base_url, **kwargs)


def window_name(filter_id: int, day: date) -> str:
    return f"{filter_id}_DE_quarterhour_{to_epoch_ms(local_midnight(week_start(day)))}.json"


def window_stem(filter_id: int, day: date) -> str:
    """How reservoir files of the window begin (``<stem>__<fetched at>.json``)."""
    return window_name(filter_id, day).removesuffix(".json")


def published_file(fake: FakeSmard, filter_id: int, day: date) -> Path:
    return fake.root / "chart_data" / str(filter_id) / "DE" / window_name(filter_id, day)


def published(fake: FakeSmard, day: date, filters=FILTERS) -> list[tuple[int, int, float]]:
    """What the fake API serves now for the day: (filter, interval start ms, MWh) of every non-null point."""
    start, end = (to_epoch_ms(moment) for moment in day_bounds_utc(day))
    values = []
    for filter_id in filters:
        series = json.loads(published_file(fake, filter_id, day).read_bytes())["series"]
        values += [(filter_id, t, v) for t, v in series if start <= t < end and v is not None]
    return sorted(values)


def silver(day: date) -> list[tuple[int, int, float]]:
    """The day's silver rows in the same shape; a duplicate shows up as a repeated tuple, a loss as a missing one."""
    rows = sql(
        "SELECT filter_id, unix_millis(interval_start) AS t, energy_mwh FROM silver.production "
        f"WHERE year = {day.year} AND month = {day.month} AND day = {day.day}"
    )
    return sorted((r.filter_id, r.t, r.energy_mwh) for r in rows)


def silver_snapshot(day: date) -> list:
    """Every column a rewrite would change (the file a row came from, its download time)."""
    return sorted(sql(
        "SELECT filter_id, interval_start, energy_mwh, source_file, fetched_at FROM silver.production "
        f"WHERE year = {day.year} AND month = {day.month} AND day = {day.day}"
    ))


def bronze_files() -> list[tuple[str, str]]:
    return sorted((r.file_name, r.sha256) for r in sql("SELECT file_name, sha256 FROM bronze.smard_responses"))
