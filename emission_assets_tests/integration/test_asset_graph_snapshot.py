"""The asset graph as a reviewed snapshot: every change to keys, groups, lineage, partitions, checks, automation,
code versions, jobs, sensors or schedules shows as a readable diff of the JSON file in
``__snapshots__/test_asset_graph_snapshot/``. After a deliberate change, regenerate it with one command and review
the diff (``git diff``) before committing it:

    PYTHONPATH=$PWD .venv/bin/python -m pytest emission_assets_tests/integration/test_asset_graph_snapshot.py \
        --snapshot-update
"""
from __future__ import annotations

import pytest
from dagster import (
    AutomationCondition,
    Definitions,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
)
from syrupy.extensions.json import JSONSnapshotExtension

KIND_TAG_PREFIX = "dagster/kind/"  # the kinds are listed on their own


def describe_partitions(partitions: PartitionsDefinition | None) -> dict | None:
    if partitions is None:
        return None
    described: dict = {"class": type(partitions).__name__}
    if isinstance(partitions, TimeWindowPartitionsDefinition):
        described.update(start=partitions.start.isoformat(), timezone=partitions.timezone,
                         cron=partitions.cron_schedule, fmt=partitions.fmt, end_offset=partitions.end_offset)
    elif isinstance(partitions, StaticPartitionsDefinition):
        described["keys"] = list(partitions.get_partition_keys())
    elif isinstance(partitions, MultiPartitionsDefinition):
        described["dimensions"] = {d.name: describe_partitions(d.partitions_def) for d in partitions.partitions_defs}
    else:
        described["name"] = getattr(partitions, "name", None)
    return described


def describe_mapping(mapping) -> str:
    """The class of an explicit partition mapping ("default": Dagster infers identity/all-partitions)."""
    if mapping is None:
        return "default"
    name = type(mapping).__name__
    if isinstance(mapping, TimeWindowPartitionMapping) and (mapping.start_offset or mapping.end_offset):
        name += f"(start_offset={mapping.start_offset}, end_offset={mapping.end_offset})"
    return name


def describe_condition(condition: AutomationCondition | None) -> str | None:
    """A condition's label where it has one (``eager``, ``on_cron(0 1 * * *, Europe/Berlin)``), else its operator
    with its operands: stable text, unlike the repr."""
    if condition is None:
        return None
    if condition.get_label():
        return condition.get_label()
    operands = [describe_condition(child) for child in condition.children]
    return f"{condition.name}({', '.join(operands)})" if operands else condition.name


def describe_backfill_policy(policy) -> dict | None:
    if policy is None:
        return None
    return {"type": policy.policy_type.value, "max_partitions_per_run": policy.max_partitions_per_run}


def describe_check(spec) -> dict:
    return {"name": spec.name, "blocking": spec.blocking,
            "automation_condition": describe_condition(spec.automation_condition)}


def asset_graph_summary(defs: Definitions) -> dict:
    """Every asset key with what shapes the graph, then the jobs, sensors and schedules; sorted throughout."""
    checks: dict[str, list[dict]] = {}
    for checks_def in defs.asset_checks or []:
        for spec in checks_def.check_specs:
            checks.setdefault(spec.asset_key.to_user_string(), []).append(describe_check(spec))
    assets = {}
    for spec in defs.resolve_all_asset_specs():
        key = spec.key.to_user_string()
        assets_def = defs.resolve_assets_def(spec.key)
        own_checks = [describe_check(c) for c in assets_def.check_specs if c.asset_key == spec.key]
        assets[key] = {
            "group": spec.group_name,
            "deps": sorted(
                ({"key": dep.asset_key.to_user_string(), "partition_mapping": describe_mapping(dep.partition_mapping)}
                 for dep in spec.deps),
                key=lambda dep: dep["key"],
            ),
            "partitions": describe_partitions(spec.partitions_def),
            "backfill_policy": describe_backfill_policy(assets_def.backfill_policy),
            "checks": sorted(own_checks + checks.get(key, []), key=lambda check: check["name"]),
            "automation_condition": describe_condition(spec.automation_condition),
            "code_version": spec.code_version,
            "kinds": sorted(spec.kinds),
            "owners": sorted(spec.owners),
            "tags": {k: v for k, v in sorted(spec.tags.items()) if not k.startswith(KIND_TAG_PREFIX)},
        }
    jobs = {}
    for job in defs.jobs or []:
        selection = getattr(job, "selection", None)
        jobs[job.name] = {
            "class": type(job).__name__,
            "selection": None if selection is None else str(selection),
            "partitions": describe_partitions(getattr(job, "partitions_def", None)),
            "tags": dict(sorted((job.tags or {}).items())),
        }
    sensors = {
        sensor.name: {
            "class": type(sensor).__name__,
            "default_status": sensor.default_status.value,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
            "jobs": sorted(job.name for job in sensor.jobs) if sensor.has_jobs else [],
        }
        for sensor in (defs.resolve_sensor_def(s.name) for s in defs.sensors or [])
    }
    schedules = {
        schedule.name: {
            "cron": schedule.cron_schedule,
            "timezone": schedule.execution_timezone,
            "default_status": schedule.default_status.value,
            "job": schedule.job_name,
        }
        for schedule in (defs.resolve_schedule_def(s.name) for s in defs.schedules or [])
    }
    return {
        "assets": dict(sorted(assets.items())),
        "jobs": dict(sorted(jobs.items())),
        "sensors": dict(sorted(sensors.items())),
        "schedules": dict(sorted(schedules.items())),
    }


@pytest.fixture
def json_snapshot(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def test_asset_graph_matches_the_reviewed_snapshot(json_snapshot):
    from emission_assets.definitions import defs

    summary = asset_graph_summary(defs)

    assert summary["assets"], "the code location defines no assets"
    assert summary == json_snapshot
