"""Sensors: new data at SMARD and Tibber, and new files in the reservoir (a local stand-in for Auto Loader).

Every sensor keeps a JSON cursor and gives each run a deterministic ``run_key``, so a re-evaluation (a restarted
daemon, a cursor reset to an older value) asks for the same runs again and Dagster drops the duplicates. Days whose
partition does not exist yet (today) are kept in the cursor as ``pending`` and requested once they exist.
"""

import hashlib
import json
import os
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dagster import (
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from emission_assets.errors import UserInputError
from emission_assets.lakehouse.reservoir import (
    META_SUFFIX,
    PAYLOAD_SUFFIX,
    Reservoir,
    ReservoirFile,
)
from emission_assets.orchestration.jobs import (
    BRONZE_KEYS,
    SILVER_KEYS,
    job_name,
    redispatch_job,
    smard_job,
    tibber_job,
)
from emission_assets.orchestration.partitions import FIRST_DAY
from emission_assets.orchestration.resources import ReservoirResource, SmardResource, TibberResource
from emission_assets.settings import settings
from emission_assets.smard.catalog import (
    GENERATION_FILTERS,
    check_region,
    check_resolution,
    series,
)
from emission_assets.smard.client import SmardClient
from emission_assets.smard.windows import describe, parse_window
from emission_assets.tibber.client import (
    SAMPLE_SCHEME,
    TibberAuthError,
    node_time_ms,
    token_from_environment,
)
from emission_assets.timeutil import BERLIN, from_epoch_ms, local_date_of_ms

FIRST_PARTITION = date.fromisoformat(FIRST_DAY)

SMARD_FILTERS_ENV = "SMARD_SENSOR_FILTERS"  # comma-separated filter ids; default: the 12 generation filters
SMARD_REGIONS_ENV = "SMARD_SENSOR_REGIONS"  # comma-separated; default DE
SMARD_RESOLUTIONS_ENV = "SMARD_SENSOR_RESOLUTIONS"  # comma-separated; default quarterhour
# Windows looked at per series and evaluation when the sensor was off for a while (older ones: backfill).
MAX_WINDOWS_PER_SERIES = 6
TIBBER_PAGE_HOURS = 48
# Reservoir sensor: files whose sidecar appeared up to this long before the last scan are looked at again (a
# writer's file may carry a modification time a little before it became visible), deduplicated by name.
RESERVOIR_SLACK_SECONDS = 300
# Without a cursor, files younger than this count as new; older ones are left to backfills.
RESERVOIR_INITIAL_LOOKBACK = timedelta(hours=24)
RESERVOIR_PREFIXES = {"smard": ("smard",), "tibber": ("tibber/hourly", "tibber/live"), "redispatch": ("redispatch",)}
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- shared helpers --------------------------------------------------------------------------------------------------

def now_berlin() -> datetime:
    """The current time (a function, so tests can move it)."""
    return datetime.now(BERLIN)


def last_partition(now: datetime | None = None) -> date:
    """Newest existing daily partition: yesterday (Europe/Berlin); today's partition exists from tomorrow."""
    return (now or now_berlin()).astimezone(BERLIN).date() - timedelta(days=1)


def _load_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}  # an unreadable cursor (hand-edited in the UI) starts over; run keys keep it idempotent
    return state if isinstance(state, dict) else {}


def _dump_cursor(state: dict) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def _split_pending(keys_by_day: dict[date, str], last: date) -> tuple[dict[date, str], dict[date, str]]:
    """``(ready, pending)``: days that are partitions now, and days after the newest partition; days before the
    first partition are dropped."""
    ready = {d: k for d, k in keys_by_day.items() if FIRST_PARTITION <= d <= last}
    pending = {d: k for d, k in keys_by_day.items() if d > last}
    return ready, pending


def _iso(epoch_ms: int | None) -> str:
    return "-" if epoch_ms is None else from_epoch_ms(epoch_ms).astimezone(BERLIN).isoformat()


def _days_text(days) -> str:
    days = sorted(days)
    listed = ", ".join(d.isoformat() if isinstance(d, date) else str(d) for d in days[:10])
    return listed + (f", ... ({len(days)} days)" if len(days) > 10 else "")


# --- SMARD API sensor ------------------------------------------------------------------------------------------------

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
                    points = parse_window(window.payload, describe(filter_id, region, resolution, start))
                    for epoch_ms, value in points:
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
    digest = hashlib.sha1(_dump_cursor(known).encode()).hexdigest()[:10]
    keys = {day: f"smard:{day.isoformat()}:{slot}:{digest}" for day, slot in day_slots.items()}
    pending = {date.fromisoformat(d): k for d, k in (state.get("pending") or {}).items()}
    pending.update(keys)
    ready, still_pending = _split_pending(pending, last)
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
    state = _load_cursor(context.cursor)
    watch = SmardWatch.from_env()
    with smard.client() as client:
        check = check_smard(client, state, watch, last_partition())
    cursor = _dump_cursor(check.state)
    if not check.ready:
        if check.pending:
            reason = (f"SMARD: new values only for days that are no partition yet ({_days_text(check.pending)}); "
                      "they are requested once the day is over")
        elif check.newest_window_ms is None:
            reason = f"SMARD: the index lists no windows for {', '.join(watch.regions)} / {', '.join(watch.resolutions)}"
        else:
            reason = (f"SMARD: no new or grown windows for {len(watch.filters)} filter(s) in "
                      f"{', '.join(watch.regions)} ({', '.join(watch.resolutions)}); newest window starts "
                      f"{_iso(check.newest_window_ms)}, values published up to the slot at {_iso(check.newest_slot_ms)}")
        return SensorResult(skip_reason=reason, cursor=cursor)
    context.log.info(f"SMARD: {check.new_slots} new value(s) in {check.windows_fetched} window(s); requesting "
                     f"{_days_text(check.ready)}")
    return SensorResult(
        run_requests=[
            RunRequest(run_key=key, partition_key=day.isoformat(), tags={"trigger": "smard_api"})
            for day, key in sorted(check.ready.items())
        ],
        cursor=cursor,
    )


# --- Tibber API sensor -----------------------------------------------------------------------------------------------

@sensor(
    job=tibber_job,
    minimum_interval_seconds=3600,
    description="Asks Tibber for the last 48 hourly nodes and requests the Tibber job for the local days of new "
    "complete hours (non-null consumption) since the cursor (the newest hour already requested).",
)
def tibber_api_sensor(context: SensorEvaluationContext, tibber: TibberResource):
    if not tibber.api_url.startswith(SAMPLE_SCHEME):
        try:
            token_from_environment()
        except TibberAuthError as error:
            return SkipReason(f"Tibber: not checked, no token: {error} (or set TIBBER_API_URL=sample://tibber for "
                              "the bundled sample household)")
    state = _load_cursor(context.cursor)
    with tibber.client() as client:
        home = client.resolve_home(tibber.home_id)
        page = client.consumption_page(home, last=TIBBER_PAGE_HOURS)
    if state.get("home") != home:
        state = {"home": home}  # another home: start over for it
    known_hour = state.get("hour_ms")
    day_hours: dict[date, int] = {}
    newest = known_hour
    for node in page.nodes:
        if node.get("consumption") is None:
            continue
        hour_ms = node_time_ms(node["from"])
        if known_hour is None or hour_ms > known_hour:
            day = local_date_of_ms(hour_ms)
            day_hours[day] = max(day_hours.get(day, hour_ms), hour_ms)
        newest = hour_ms if newest is None else max(newest, hour_ms)
    pending = {date.fromisoformat(d): k for d, k in (state.get("pending") or {}).items()}
    pending.update({day: f"tibber:{day.isoformat()}:{hour_ms}" for day, hour_ms in day_hours.items()})
    ready, still_pending = _split_pending(pending, last_partition())
    cursor = _dump_cursor({
        "home": home, "hour_ms": newest, "pending": {d.isoformat(): k for d, k in sorted(still_pending.items())}
    })
    if not ready:
        if still_pending:
            reason = (f"Tibber: new complete hours only for days that are no partition yet "
                      f"({_days_text(still_pending)}); they are requested once the day is over")
        elif newest is None:
            reason = f"Tibber: home {home} has no hours with consumption in the last {TIBBER_PAGE_HOURS} hours"
        else:
            reason = f"Tibber: no new complete hours for home {home} since the hour starting {_iso(known_hour)}"
        return SensorResult(skip_reason=reason, cursor=cursor)
    context.log.info(f"Tibber: new complete hours up to {_iso(newest)}; requesting {_days_text(ready)}")
    return SensorResult(
        run_requests=[
            RunRequest(run_key=key, partition_key=day.isoformat(), tags={"trigger": "tibber_api"})
            for day, key in sorted(ready.items())
        ],
        cursor=cursor,
    )


# --- reservoir sensor ------------------------------------------------------------------------------------------------

def _source_of(name: str) -> str | None:
    for source, prefixes in RESERVOIR_PREFIXES.items():
        if any(name.startswith(prefix + "/") for prefix in prefixes):
            return source
    return None


def new_reservoir_files(
    reservoir: Reservoir, since: float, seen: dict[str, float]
) -> list[tuple[ReservoirFile, float]]:
    """Files whose sidecar was modified at or after ``since`` (epoch seconds) and whose name is not in ``seen``.

    Only dated folders modified since then are opened (a new file changes its folder's modification time), so a
    scan costs one ``stat`` per dated folder plus the recently changed folders' listings.
    """
    found = []
    for prefixes in RESERVOIR_PREFIXES.values():
        for prefix in prefixes:
            base = reservoir.root / prefix
            if not base.is_dir():
                continue
            with os.scandir(base) as folders:
                dated = [f for f in folders if f.is_dir() and _DATE_DIR.match(f.name) and f.stat().st_mtime >= since]
            for folder in dated:
                with os.scandir(folder.path) as entries:
                    sidecars = [e for e in entries if e.name.endswith(META_SUFFIX) and not e.name.startswith(".")]
                for entry in sidecars:
                    try:
                        mtime = entry.stat().st_mtime
                    except FileNotFoundError:  # removed by retention meanwhile
                        continue
                    stem = entry.name[: -len(META_SUFFIX)]
                    name = f"{prefix}/{folder.name}/{stem}{PAYLOAD_SUFFIX}"
                    if mtime < since or name in seen:
                        continue
                    try:
                        with open(entry.path, encoding="utf-8") as handle:
                            meta = json.load(handle)
                    except (OSError, ValueError):
                        continue
                    found.append((ReservoirFile(reservoir.root / name, name, meta), mtime))
    return found


def file_days(file: ReservoirFile) -> list[date]:
    """Local days the file's ``[series_start_ms, series_end_ms)`` covers."""
    start, end = file.meta.get("series_start_ms"), file.meta.get("series_end_ms")
    if start is None or end is None or end <= start:
        return []
    first, last = local_date_of_ms(start), local_date_of_ms(end - 1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def reservoir_run_requests(files: list[ReservoirFile], last: date) -> tuple[list[RunRequest], int]:
    """Bronze -> silver runs per (source, covered day) of new files; returns them and the days outside the
    partitions (before the first, or not over yet)."""
    names: dict[tuple[str, date], set[str]] = defaultdict(set)
    outside = 0
    for file in files:
        source = _source_of(file.name)
        if source is None:
            continue
        for day in file_days(file):
            if FIRST_PARTITION <= day <= last:
                names[(source, day)].add(file.name)
            else:
                outside += 1
    requests = []
    for (source, day), listed in sorted(names.items()):
        digest = hashlib.sha1("\n".join(sorted(listed)).encode()).hexdigest()[:12]
        requests.append(RunRequest(
            run_key=f"{source}:{day.isoformat()}:{digest}",
            job_name=job_name(source),
            partition_key=day.isoformat(),
            asset_selection=[BRONZE_KEYS[source], SILVER_KEYS[source]],
            tags={"trigger": "reservoir", "reservoir_files": str(len(listed))},
        ))
    return requests, outside


@sensor(
    jobs=[smard_job, tibber_job, redispatch_job],
    minimum_interval_seconds=60,
    description="Local stand-in for Auto Loader: new reservoir files (API fetches, live micro-batches, CSV imports) "
    "-> bronze and silver runs of the file's source for the local days the files cover. Cursor: time of the last "
    "scan and the names seen shortly before it.",
)
def reservoir_sensor(context: SensorEvaluationContext, reservoir: ReservoirResource):
    state = _load_cursor(context.cursor)
    scan_started = time.time()
    if "scanned_at" in state:
        since = float(state["scanned_at"]) - RESERVOIR_SLACK_SECONDS
    else:
        since = scan_started - RESERVOIR_INITIAL_LOOKBACK.total_seconds()
    seen = {name: float(mtime) for name, mtime in (state.get("recent") or {}).items()}
    found = new_reservoir_files(reservoir.store(), since, seen)
    seen.update({file.name: mtime for file, mtime in found})
    horizon = scan_started - RESERVOIR_SLACK_SECONDS
    cursor = _dump_cursor({
        "scanned_at": scan_started,
        "recent": {name: mtime for name, mtime in sorted(seen.items()) if mtime >= horizon},
    })
    if not found:
        return SensorResult(
            skip_reason=f"reservoir: no new files since {datetime.fromtimestamp(since, BERLIN).isoformat()} "
            f"under {reservoir.store().root}",
            cursor=cursor,
        )
    requests, outside = reservoir_run_requests([file for file, _ in found], last_partition())
    if not requests:
        return SensorResult(
            skip_reason=f"reservoir: {len(found)} new file(s), but they cover no existing partition (days before "
            f"{FIRST_DAY} or not over yet: {outside} file-day(s)); the daily schedules pick today up tomorrow",
            cursor=cursor,
        )
    context.log.info(f"reservoir: {len(found)} new file(s) -> {len(requests)} bronze/silver run(s)")
    return SensorResult(run_requests=requests, cursor=cursor)


SENSORS = [smard_api_sensor, tibber_api_sensor, reservoir_sensor]
