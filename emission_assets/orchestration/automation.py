"""Declarative automation: which partitions Dagster requests by itself once the automation sensor is switched on.

Conditions are only evaluated by the automation sensor of the code location, which is STOPPED by default
(:func:`automation_sensor`): nothing runs by itself until the user turns it on in the UI.
"""
from __future__ import annotations

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, DefaultSensorStatus

AUTOMATION_SENSOR = "automation_sensor"
TIMEZONE = "Europe/Berlin"


def historical_eager() -> AutomationCondition:
    """Request every partition whose upstream partitions were updated since it was last handled, historical ones
    too (``AutomationCondition.eager()`` looks at the latest time window only). A run that materialised the
    upstream and this asset together (a range backfill) counts as handled, so it is not requested again; nothing
    is requested while the upstream or the asset itself is in progress."""
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
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
