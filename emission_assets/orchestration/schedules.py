"""Schedule factories: revisions of recent days on a decaying schedule, and the weekly lakehouse maintenance.

Yesterday's partition is no schedule any more: each source's reservoir asset carries a cron-based automation
condition (:func:`emission_assets.orchestration.automation.daily_at`). All schedules default to STOPPED: switch
them on in the UI (or set ``default_status`` in a deployment).
"""

from datetime import date, timedelta

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from emission_assets.orchestration.jobs import refresh_run_config
from emission_assets.orchestration.maintenance import lakehouse_maintenance_job
from emission_assets.orchestration.partitions import FIRST_DAY
from emission_assets.timeutil import BERLIN

TIMEZONE = "Europe/Berlin"
# A day is fetched again 1, 7 and 30 days after it ended: SMARD replaces preliminary values, Tibber corrects meters.
REVISION_OFFSETS_DAYS = (1, 7, 30)


def revision_days(today: date, offsets: tuple[int, ...] = REVISION_OFFSETS_DAYS) -> list[tuple[int, date]]:
    """``(offset, day)`` for each day that ended ``offset`` days before ``today`` began (day = today - 1 - offset),
    from the first partition on."""
    first = date.fromisoformat(FIRST_DAY)
    days = [(offset, today - timedelta(days=1 + offset)) for offset in offsets]
    return [(offset, day) for offset, day in days if day >= first]


def revision_schedule(source: str, job, reservoir_op_name: str, hour: int, minute: int):
    """``<source>_revision_schedule``: the source's job for the days :func:`revision_days` names, with the
    reservoir's ``refresh: true``."""
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
                run_config=refresh_run_config(reservoir_op_name),
                tags={"trigger": "revision", "revision_offset_days": str(offset)},
            )
            for offset, day in revision_days(today)
        ]

    return _revisions


# Sunday night, when no daily or revision run is due: a compaction commit loses against a concurrent write.
lakehouse_maintenance_schedule = schedule(
    name="lakehouse_maintenance_schedule",
    job=lakehouse_maintenance_job,
    cron_schedule="30 3 * * 0",
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Weekly: compact small files and vacuum replaced ones in every lakehouse table.",
)(lambda context: RunRequest())
