"""The SMARD API sensor: new or grown windows at SMARD -> the SMARD job for exactly the local days with new values.

Helpers shared with the other sensors (cursor, pending days, the newest partition) are in
:mod:`emission_assets.orchestration.sensors`.
"""
import hashlib
from dataclasses import dataclass
from datetime import date

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from emission_assets.errors import UserInputError
from emission_assets.orchestration import sensors
from emission_assets.settings import settings
from emission_assets.smard.catalog import (
    GENERATION_FILTERS,
    check_region,
    check_resolution,
    series,
)
from emission_assets.smard.client import SmardClient
from emission_assets.smard.jobs import smard_job
from emission_assets.smard.resources import SmardResource
from emission_assets.timeutil import local_date_of_ms

SMARD_FILTERS_ENV = "SMARD_SENSOR_FILTERS"  # comma-separated filter ids; default: the 12 generation filters
SMARD_REGIONS_ENV = "SMARD_SENSOR_REGIONS"  # comma-separated; default DE
SMARD_RESOLUTIONS_ENV = "SMARD_SENSOR_RESOLUTIONS"  # comma-separated; default quarterhour
# Windows looked at per series and evaluation when the sensor was off for a while (older ones: backfill).
MAX_WINDOWS_PER_SERIES = 6


@dataclass(frozen=True)
class SmardWatch:
    filters: tuple[int, ...]
    regions: tuple[str, ...]
    resolutions: tuple[str, ...]

    @classmethod
    def from_env(cls) -> "SmardWatch":
        configured = settings().smard

        def checked(name: str, values: tuple, check) -> tuple:
            try:
                return tuple(check(value) for value in values)
            except ValueError as error:  # int("abc") or an unknown id/region/resolution: name the variable
                raise UserInputError(f"{name}={','.join(map(str, values))!r}: {error}") from None

        filters = checked(SMARD_FILTERS_ENV, configured.sensor_filters or GENERATION_FILTERS,
                          lambda f: series(int(f)).filter_id)
        regions = checked(SMARD_REGIONS_ENV, configured.sensor_regions, check_region)
        resolutions = checked(SMARD_RESOLUTIONS_ENV, configured.sensor_resolutions, check_resolution)
        return cls(filters, regions, resolutions)


@dataclass
class SmardCheck:
    """Outcome of one look at SMARD: run keys of ready days, the new cursor state and what was seen."""

    ready: dict[date, str]
    pending: dict[date, str]
    state: dict
    new_slots: int
    windows_fetched: int
    newest_window_ms: int | None
    newest_slot_ms: int | None


def _series_key(filter_id: int, region: str, resolution: str) -> str:
    return f"{filter_id}/{region}/{resolution}"


def check_smard(client: SmardClient, state: dict, watch: SmardWatch, last: date) -> SmardCheck:
    """Compare SMARD's newest windows with the cursor ``state``; see :data:`smard_api_sensor`."""
    known: dict = dict(state.get("series") or {})
    day_slots: dict[date, int] = {}  # day -> newest newly published slot in it
    new_slots = fetched = 0
    newest_window = None
    for region in watch.regions:
        for resolution in watch.resolutions:
            # The index of one filter lists the windows of all of them (SMARD publishes the series together).
            stamps = client.index(watch.filters[0], region, resolution)
            if not stamps:
                continue
            newest_window = max(newest_window or stamps[-1], stamps[-1])
            for filter_id in watch.filters:
                key = _series_key(filter_id, region, resolution)
                previous = known.get(key)
                if previous:
                    window_ms, last_slot = previous
                    # The cursor's window again (its trailing nulls may be filled by now) and every later one.
                    candidates = [s for s in stamps if s >= window_ms][-MAX_WINDOWS_PER_SERIES:]
                else:
                    window_ms, last_slot = None, None
                    candidates = [stamps[-1]]
                newest_slot = last_slot
                for start in candidates:
                    window = client.window(filter_id, region, resolution, start)
                    fetched += 1
                    for epoch_ms, value in window.points:  # validated by the client
                        if value is None:
                            continue
                        if last_slot is None or epoch_ms > last_slot:
                            day = local_date_of_ms(epoch_ms)
                            day_slots[day] = max(day_slots.get(day, epoch_ms), epoch_ms)
                            new_slots += 1
                        newest_slot = epoch_ms if newest_slot is None else max(newest_slot, epoch_ms)
                    window_ms = start if window_ms is None else max(window_ms, start)
                known[key] = [window_ms, newest_slot]
    # The run key names the day, its newest new slot, and the state of all watched series: a lagging series that
    # catches up to a slot another series published earlier still makes a new key, while evaluating the same
    # SMARD state from the same cursor (a restart) makes the same keys.
    digest = hashlib.sha1(sensors.dump_cursor(known).encode()).hexdigest()[:10]
    keys = {day: f"smard:{day.isoformat()}:{slot}:{digest}" for day, slot in day_slots.items()}
    pending = {date.fromisoformat(d): k for d, k in (state.get("pending") or {}).items()}
    pending.update(keys)
    ready, still_pending = sensors.split_pending(pending, last)
    newest_slot_all = max((s for _, s in known.values() if s is not None), default=None)
    new_state = {"series": known, "pending": {d.isoformat(): k for d, k in sorted(still_pending.items())}}
    return SmardCheck(ready, still_pending, new_state, new_slots, fetched, newest_window, newest_slot_all)


@sensor(
    job=smard_job,
    minimum_interval_seconds=3600,
    description="Asks SMARD's index and newest windows for new or grown windows (trailing nulls filled) and "
    "requests the SMARD job for exactly the local days that got new values. Cursor: per (filter, region, "
    "resolution) the newest window and its last non-null slot. Series from SMARD_SENSOR_FILTERS / "
    "SMARD_SENSOR_REGIONS / SMARD_SENSOR_RESOLUTIONS (default: 12 generation filters, DE, quarterhour).",
)
def smard_api_sensor(context: SensorEvaluationContext, smard: SmardResource):
    state = sensors.load_cursor(context.cursor)
    watch = SmardWatch.from_env()
    with smard.client() as client:
        check = check_smard(client, state, watch, sensors.last_partition())
    cursor = sensors.dump_cursor(check.state)
    if not check.ready:
        if check.pending:
            reason = (f"SMARD: new values only for days that are no partition yet ({sensors.days_text(check.pending)}); "
                      "they are requested once the day is over")
        elif check.newest_window_ms is None:
            reason = f"SMARD: the index lists no windows for {', '.join(watch.regions)} / {', '.join(watch.resolutions)}"
        else:
            reason = (f"SMARD: no new or grown windows for {len(watch.filters)} filter(s) in "
                      f"{', '.join(watch.regions)} ({', '.join(watch.resolutions)}); newest window starts "
                      f"{sensors.iso(check.newest_window_ms)}, values published up to the slot at {sensors.iso(check.newest_slot_ms)}")
        return SensorResult(skip_reason=reason, cursor=cursor)
    context.log.info(f"SMARD: {check.new_slots} new value(s) in {check.windows_fetched} window(s); requesting "
                     f"{sensors.days_text(check.ready)}")
    return SensorResult(
        run_requests=[
            RunRequest(run_key=key, partition_key=day.isoformat(), tags={"trigger": "smard_api"})
            for day, key in sorted(check.ready.items())
        ],
        cursor=cursor,
    )
