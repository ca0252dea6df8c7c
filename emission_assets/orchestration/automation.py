"""Declarative automation: which partitions Dagster requests by itself once the automation sensor is switched on.

Conditions are only evaluated by the automation sensor of the code location, which is STOPPED by default
(:func:`automation_sensor`): nothing runs by itself until the user turns it on in the UI.
"""
from __future__ import annotations

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, DefaultSensorStatus

AUTOMATION_SENSOR = "automation_sensor"
TIMEZONE = "Europe/Berlin"


def historical_eager(versioned: AssetSelection | None = None) -> AutomationCondition:
    """Request a partition when a partition it depends on was updated since it was last handled, once nothing
    upstream of it and nothing of itself is in progress.

    Composed by hand rather than ``AutomationCondition.eager()``: eager's newly-missing branch requests the newest
    partition whenever one appears (every month rollover, with no data behind it). So the first evaluation requests
    nothing, a one-day silver update requests exactly the month it falls in, and a partition a backfill or the CLI
    just materialised is not requested again. ``versioned``: upstream assets that count only when their data version
    changed (an unpartitioned dimension re-merged at every run, usually unchanged, would otherwise request every
    partition each time; a real change requests them all).
    """
    updated = AutomationCondition.any_deps_updated()
    if versioned is not None:
        changed = AutomationCondition.any_deps_match(AutomationCondition.data_version_changed()).allow(versioned)
        updated = (updated.ignore(versioned) | changed).with_label("any_deps_updated")
    return (
        updated.since_last_handled() & ~AutomationCondition.any_deps_in_progress() & ~AutomationCondition.in_progress()
    ).with_label("historical_eager")


def daily_at(hour: int, minute: int) -> AutomationCondition:
    """The latest complete local day (yesterday, Europe/Berlin) once a day at ``hour:minute``: what the daily
    schedules requested, as a cron-based condition on a source's reservoir asset."""
    return AutomationCondition.on_cron(f"{minute} {hour} * * *", TIMEZONE)


def automation_sensor() -> AutomationConditionSensorDefinition:
    """The code location's only automation sensor, explicitly STOPPED (Dagster would otherwise add a running
    default one)."""
    return AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=AssetSelection.all(),
        default_status=DefaultSensorStatus.STOPPED,
        description="Evaluates the assets' automation conditions (eager propagation reservoir -> bronze -> silver "
        "for exactly the updated days; the daily reservoir fetch of yesterday). Off until switched on.",
    )
