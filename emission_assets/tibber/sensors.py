"""The Tibber API sensor: new complete hours at Tibber -> the Tibber job for their local days.

Helpers shared with the other sensors (cursor, pending days, the newest partition) are in
:mod:`emission_assets.orchestration.sensors`.
"""
from datetime import date

from dagster import RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from emission_assets.orchestration import sensors
from emission_assets.tibber.client import (
    SAMPLE_SCHEME,
    TibberAuthError,
    node_time_ms,
    token_from_environment,
)
from emission_assets.tibber.jobs import tibber_job
from emission_assets.tibber.resources import TibberResource
from emission_assets.timeutil import local_date_of_ms

TIBBER_PAGE_HOURS = 48


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
    state = sensors.load_cursor(context.cursor)
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
    ready, still_pending = sensors.split_pending(pending, sensors.last_partition())
    cursor = sensors.dump_cursor({
        "home": home, "hour_ms": newest, "pending": {d.isoformat(): k for d, k in sorted(still_pending.items())}
    })
    if not ready:
        if still_pending:
            reason = (f"Tibber: new complete hours only for days that are no partition yet "
                      f"({sensors.days_text(still_pending)}); they are requested once the day is over")
        elif newest is None:
            reason = f"Tibber: home {home} has no hours with consumption in the last {TIBBER_PAGE_HOURS} hours"
        else:
            reason = f"Tibber: no new complete hours for home {home} since the hour starting {sensors.iso(known_hour)}"
        return SensorResult(skip_reason=reason, cursor=cursor)
    context.log.info(f"Tibber: new complete hours up to {sensors.iso(newest)}; requesting {sensors.days_text(ready)}")
    return SensorResult(
        run_requests=[
            RunRequest(run_key=key, partition_key=day.isoformat(), tags={"trigger": "tibber_api"})
            for day, key in sorted(ready.items())
        ],
        cursor=cursor,
    )
