"""Revision schedules re-fetch days 1, 7 and 30 days after them (yesterday's fetch is a cron-based automation
condition now: test_automation.py)."""
from datetime import datetime

from dagster import DefaultScheduleStatus, build_schedule_context, validate_run_config

from emission_assets.smard.jobs import smard_revision_schedule
from emission_assets.tibber.jobs import tibber_revision_schedule
from emission_assets.timeutil import BERLIN
from emission_assets_tests.support.orchestrated import build_orchestrated_definitions

DEFS = build_orchestrated_definitions()


REPOSITORY = DEFS.get_repository_def()


def resolved(schedule):
    """The schedule as the code location holds it (partitioned-job schedules resolve against the asset graph)."""
    return REPOSITORY.get_schedule_def(schedule.name)


def evaluate(schedule, moment: datetime):
    context = build_schedule_context(scheduled_execution_time=moment, repository_def=REPOSITORY)
    return resolved(schedule).evaluate_tick(context)


def test_all_schedules_start_stopped():
    assert {s.default_status for s in REPOSITORY.schedule_defs} == {DefaultScheduleStatus.STOPPED}


def test_revision_schedule_refreshes_recent_days():
    result = evaluate(smard_revision_schedule, datetime(2022, 6, 10, 8, 0, tzinfo=BERLIN))
    assert [r.partition_key for r in result.run_requests] == ["2022-06-08", "2022-06-02", "2022-05-10"]
    assert [r.run_key for r in result.run_requests] == [
        "smard-revision:2022-06-08:+1d", "smard-revision:2022-06-02:+7d", "smard-revision:2022-05-10:+30d"]
    config = result.run_requests[0].run_config
    assert config == {"ops": {"reservoir__smard_responses": {"config": {"refresh": True}}}}
    validate_run_config(DEFS.resolve_job_def("smard_job"), config)

    tibber = evaluate(tibber_revision_schedule, datetime(2023, 1, 2, 8, 15, tzinfo=BERLIN))
    assert [r.partition_key for r in tibber.run_requests] == ["2022-12-31", "2022-12-25", "2022-12-02"]
    validate_run_config(DEFS.resolve_job_def("tibber_job"), tibber.run_requests[0].run_config)
