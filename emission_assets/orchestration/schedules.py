"""Schedules: yesterday's partition every morning, and revisions of recent days on a decaying schedule.

All default to STOPPED: switch them on in the UI (or set ``default_status`` in a deployment).
"""

from datetime import date, timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    schedule,
)

from emission_assets.orchestration.jobs import (
    lakehouse_maintenance_job,
    redispatch_job,
    refresh_run_config,
    smard_job,
    tibber_job,
)
from emission_assets.orchestration.partitions import FIRST_DAY
from emission_assets.timeutil import BERLIN

TIMEZONE = "Europe/Berlin"
# A day is fetched again 1, 7 and 30 days after it ended: SMARD replaces preliminary values, Tibber corrects meters.
REVISION_OFFSETS_DAYS = (1, 7, 30)

# The partitioned jobs' schedules request the partition of the day that ended last (yesterday), in Berlin time.
smard_daily_schedule = build_schedule_from_partitioned_job(
    smard_job, name="smard_daily_schedule", hour_of_day=6, minute_of_hour=30,
    default_status=DefaultScheduleStatus.STOPPED,
    description="SMARD production for yesterday (Europe/Berlin), every day at 06:30.",
)
tibber_daily_schedule = build_schedule_from_partitioned_job(
    tibber_job, name="tibber_daily_schedule", hour_of_day=6, minute_of_hour=45,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Tibber consumption for yesterday (Europe/Berlin), every day at 06:45.",
)
redispatch_daily_schedule = build_schedule_from_partitioned_job(
    redispatch_job, name="redispatch_daily_schedule", hour_of_day=7, minute_of_hour=0,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Redispatch measures for yesterday (Europe/Berlin), every day at 07:00.",
)


def revision_days(today: date, offsets: tuple[int, ...] = REVISION_OFFSETS_DAYS) -> list[tuple[int, date]]:
    """``(offset, day)`` for each day that ended ``offset`` days before ``today`` began (day = today - 1 - offset),
    from the first partition on."""
    first = date.fromisoformat(FIRST_DAY)
    days = [(offset, today - timedelta(days=1 + offset)) for offset in offsets]
    return [(offset, day) for offset, day in days if day >= first]


def _revision_schedule(source: str, job, hour: int, minute: int):
    @schedule(
        name=f"{source}_revision_schedule",
        job=job,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=TIMEZONE,
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"Fetches {source} days again (reservoir refresh: true) {', '.join(map(str, REVISION_OFFSETS_DAYS))}"
        " days after they ended; bronze keeps every version, silver takes the latest.",
    )
    def _revisions(context: ScheduleEvaluationContext):
        today = context.scheduled_execution_time.astimezone(BERLIN).date()
        return [
            RunRequest(
                run_key=f"{source}-revision:{day.isoformat()}:+{offset}d",
                partition_key=day.isoformat(),
                run_config=refresh_run_config(source),
                tags={"trigger": "revision", "revision_offset_days": str(offset)},
            )
            for offset, day in revision_days(today)
        ]

    return _revisions


smard_revision_schedule = _revision_schedule("smard", smard_job, 8, 0)
tibber_revision_schedule = _revision_schedule("tibber", tibber_job, 8, 15)

# Sunday night, when no daily or revision run is due: a compaction commit loses against a concurrent write.
lakehouse_maintenance_schedule = schedule(
    name="lakehouse_maintenance_schedule",
    job=lakehouse_maintenance_job,
    cron_schedule="30 3 * * 0",
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Weekly: compact small files and vacuum replaced ones in every lakehouse table.",
)(lambda context: RunRequest())

SCHEDULES = [
    smard_daily_schedule, tibber_daily_schedule, redispatch_daily_schedule,
    smard_revision_schedule, tibber_revision_schedule, lakehouse_maintenance_schedule,
]
