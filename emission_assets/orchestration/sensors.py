"""Sensor support shared by the sources' API sensors, and the reservoir sensor over every source's folders (a local
stand-in for Auto Loader). The API sensors themselves live with their source (``emission_assets/<source>/sensors.py``).

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
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from emission_assets.lakehouse.reservoir import META_SUFFIX, PAYLOAD_SUFFIX, Reservoir, ReservoirFile
from emission_assets.orchestration.jobs import job_name
from emission_assets.orchestration.partitions import FIRST_DAY
from emission_assets.orchestration.resources import ReservoirResource
from emission_assets.orchestration.source import Source, source_of_file
from emission_assets.timeutil import BERLIN, from_epoch_ms, local_date_of_ms

FIRST_PARTITION = date.fromisoformat(FIRST_DAY)

# Reservoir sensor: files whose sidecar appeared up to this long before the last scan are looked at again (a
# writer's file may carry a modification time a little before it became visible), deduplicated by name.
RESERVOIR_SLACK_SECONDS = 300
# Without a cursor, files younger than this count as new; older ones are left to backfills.
RESERVOIR_INITIAL_LOOKBACK = timedelta(hours=24)
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- shared helpers --------------------------------------------------------------------------------------------------

def now_berlin() -> datetime:
    """The current time (a function, so tests can move it)."""
    return datetime.now(BERLIN)


def last_partition(now: datetime | None = None) -> date:
    """Newest existing daily partition: yesterday (Europe/Berlin); today's partition exists from tomorrow."""
    return (now or now_berlin()).astimezone(BERLIN).date() - timedelta(days=1)


def load_cursor(cursor: str | None) -> dict:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}  # an unreadable cursor (hand-edited in the UI) starts over; run keys keep it idempotent
    return state if isinstance(state, dict) else {}


def dump_cursor(state: dict) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def split_pending(keys_by_day: dict[date, str], last: date) -> tuple[dict[date, str], dict[date, str]]:
    """``(ready, pending)``: days that are partitions now, and days after the newest partition; days before the
    first partition are dropped."""
    ready = {d: k for d, k in keys_by_day.items() if FIRST_PARTITION <= d <= last}
    pending = {d: k for d, k in keys_by_day.items() if d > last}
    return ready, pending


def iso(epoch_ms: int | None) -> str:
    return "-" if epoch_ms is None else from_epoch_ms(epoch_ms).astimezone(BERLIN).isoformat()


def days_text(days) -> str:
    days = sorted(days)
    listed = ", ".join(d.isoformat() if isinstance(d, date) else str(d) for d in days[:10])
    return listed + (f", ... ({len(days)} days)" if len(days) > 10 else "")


# --- reservoir sensor ------------------------------------------------------------------------------------------------

def new_reservoir_files(
    reservoir: Reservoir, since: float, seen: dict[str, float], folders: Sequence[str]
) -> list[tuple[ReservoirFile, float]]:
    """Files whose sidecar was modified at or after ``since`` (epoch seconds) and whose name is not in ``seen``.

    Only dated folders modified since then are opened (a new file changes its folder's modification time), so a
    scan costs one ``stat`` per dated folder plus the recently changed folders' listings.
    """
    found = []
    for prefix in folders:
        base = reservoir.root / prefix
        if not base.is_dir():
            continue
        with os.scandir(base) as dated_folders:
            dated = [f for f in dated_folders if f.is_dir() and _DATE_DIR.match(f.name) and f.stat().st_mtime >= since]
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


def reservoir_run_requests(
    files: list[ReservoirFile], last: date, sources: Sequence[Source]
) -> tuple[list[RunRequest], int]:
    """Bronze -> silver runs per (source, covered day) of new files; returns them and the days outside the
    partitions (before the first, or not over yet)."""
    names: dict[tuple[str, date], set[str]] = defaultdict(set)
    by_name = {source.name: source for source in sources}
    outside = 0
    for file in files:
        owner = source_of_file(sources, file.name)
        if owner is None:
            continue
        source = owner.name
        source_last = last + timedelta(days=owner.partition_end_offset_days)  # forecasts: up to tomorrow
        for day in file_days(file):
            if FIRST_PARTITION <= day <= source_last:
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
            asset_selection=[by_name[source].bronze_key, by_name[source].silver_key, *by_name[source].more_silver_keys],
            tags={"trigger": "reservoir", "reservoir_files": str(len(listed))},
        ))
    return requests, outside


def reservoir_sensor_for(sources: Sequence[Source]):
    """``reservoir_sensor`` over the reservoir folders of ``sources`` (those with a bronze layer), requesting each
    source's job (``<source>_job``) for its bronze and silver assets."""
    watched = [s for s in sources if s.reservoir_folders and s.bronze_key is not None]
    folders = [folder for s in watched for folder in s.reservoir_folders]
    jobs = [job for s in watched for job in s.jobs if job.name == job_name(s.name)]

    @sensor(
        name="reservoir_sensor",
        jobs=jobs,
        minimum_interval_seconds=60,
        description="Local stand-in for Auto Loader: new reservoir files (API fetches, live micro-batches, CSV "
        "imports) -> bronze and silver runs of the file's source for the local days the files cover. Cursor: time "
        "of the last scan and the names seen shortly before it.",
    )
    def reservoir_sensor(context: SensorEvaluationContext, reservoir: ReservoirResource):
        return _scan(context, reservoir, watched, folders)

    return reservoir_sensor


def _scan(context: SensorEvaluationContext, reservoir: ReservoirResource, sources: Sequence[Source],
          folders: Sequence[str]) -> SensorResult:
    state = load_cursor(context.cursor)
    scan_started = time.time()
    if "scanned_at" in state:
        since = float(state["scanned_at"]) - RESERVOIR_SLACK_SECONDS
    else:
        since = scan_started - RESERVOIR_INITIAL_LOOKBACK.total_seconds()
    seen = {name: float(mtime) for name, mtime in (state.get("recent") or {}).items()}
    found = new_reservoir_files(reservoir.store(), since, seen, folders)
    seen.update({file.name: mtime for file, mtime in found})
    horizon = scan_started - RESERVOIR_SLACK_SECONDS
    cursor = dump_cursor({
        "scanned_at": scan_started,
        "recent": {name: mtime for name, mtime in sorted(seen.items()) if mtime >= horizon},
    })
    if not found:
        return SensorResult(
            skip_reason=f"reservoir: no new files since {datetime.fromtimestamp(since, BERLIN).isoformat()} "
            f"under {reservoir.store().root}",
            cursor=cursor,
        )
    requests, outside = reservoir_run_requests([file for file, _ in found], last_partition(), sources)
    if not requests:
        return SensorResult(
            skip_reason=f"reservoir: {len(found)} new file(s), but they cover no existing partition (days before "
            f"{FIRST_DAY} or not over yet: {outside} file-day(s)); the daily automation picks today up tomorrow",
            cursor=cursor,
        )
    context.log.info(f"reservoir: {len(found)} new file(s) -> {len(requests)} bronze/silver run(s)")
    return SensorResult(run_requests=requests, cursor=cursor)

