"""The Databricks deployment end to end without a workspace: ``silver/production`` materialised through
dagster-databricks' step launcher against a fake Databricks REST server whose "cluster" runs the step in a local
subprocess on the embedded engine."""
from __future__ import annotations

import os
from datetime import date

import pytest
from dagster import (
    Definitions,
    define_asset_job,
    execute_job,
    in_process_executor,
    instance_for_test,
    reconstructable,
    serialize_value,
)

from emission_assets.cli import run_materialize
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.orchestration.deployment import (
    resources_for_environment,
    with_step_launcher,
)
from emission_assets.settings import paths
from emission_assets.smard.assets import silver_production
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets_tests.support.fake_databricks import FakeDatabricks

DAY = date(2024, 4, 2)
TOKEN = "dapi-fake-token-0123456789"
SCOPE = "emission"


def launcher_job():
    """The job the launcher ships: rebuilt on the 'cluster' from this module (imported from the uploaded zip)."""
    job = define_asset_job("silver_production_on_databricks", selection=[silver_production.key])
    defs = Definitions(
        assets=with_step_launcher([silver_production]), resources=resources_for_environment(), jobs=[job],
        executor=in_process_executor,  # as emission_assets.definitions
    )
    return defs.resolve_job_def(job.name)


@pytest.fixture
def bronze_day(spark, fake_smard):
    """One day of SMARD bronze rows, written locally (embedded engine, no launcher)."""
    fake_smard.publish_weeks(DAY, 1)
    result = run_materialize(DAY, DAY, ["key:reservoir/smard_responses", "key:bronze/smard_responses"], {})
    assert result.success
    assert open_lakehouse().spark.sql("SELECT count(*) FROM bronze.smard_responses").collect()[0][0] > 0
    return DAY


def fake_workspace(tmp_path, monkeypatch, *, secrets, pinned_env) -> FakeDatabricks:
    fake = FakeDatabricks(tmp_path / "workspace", token=TOKEN, secrets=secrets, pinned_env=pinned_env).start()
    for name, value in {
        "EMISSION_ENV": "databricks",
        "DATABRICKS_HOST": fake.base_url,
        "DATABRICKS_TOKEN": TOKEN,
        "EMISSION_CATALOG": "main",
        "EMISSION_RESERVOIR": "/Volumes/main/emission/reservoir",
        "EMISSION_DATABRICKS_CLUSTER_ID": "0101-000000-fakecluster",
        "EMISSION_DATABRICKS_POLL_SECONDS": "0.25",
        "EMISSION_SECRET_SCOPE": SCOPE,
        "EMISSION_SECRETS": "TIBBER_TOKEN",
    }.items():
        monkeypatch.setenv(name, value)
    return fake


@pytest.fixture
def instance():
    with instance_for_test() as test_instance:
        yield test_instance


def run_through_launcher(instance):
    result = execute_job(
        reconstructable(launcher_job), instance, tags={"dagster/partition": DAY.isoformat()}, raise_on_error=False
    )
    messages = [record.user_message for record in instance.all_logs(result.run_id)]
    return result, messages


def test_spark_asset_runs_on_the_fake_cluster_and_its_events_come_back(bronze_day, instance, tmp_path, monkeypatch):
    # The "cluster" keeps its own environment: embedded engine and local paths instead of Unity Catalog/Volume.
    fake = fake_workspace(tmp_path, monkeypatch, secrets={SCOPE: {"TIBBER_TOKEN": "tibber-secret"}}, pinned_env={
        "EMISSION_ENGINE": "embedded", "EMISSION_CATALOG": None, "EMISSION_RESERVOIR": str(paths().reservoir),
    })
    try:
        result, messages = run_through_launcher(instance)
        failure = [e.event_specific_data.error.message for e in result.get_step_failure_events()]
        assert result.success, failure or messages[-20:]

        # The step ran in the cluster's subprocess: the events carry its pid, not ours.
        run = fake.runs[1]
        assert run.result_state == "SUCCESS" and run.pid and run.pid != os.getpid()
        assert run.task["existing_cluster_id"] == "0101-000000-fakecluster"
        assert {"PENDING", "RUNNING", "TERMINATED"} <= set(run.states_served)
        (materialization,) = result.get_asset_materialization_events()
        assert materialization.pid == run.pid
        metadata = materialization.event_specific_data.materialization.metadata
        assert metadata["dagster/row_count"].value == 96 * len(GENERATION_FILTERS)
        checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        assert checks == {"no_duplicate_intervals": True, "complete_days": True, "non_negative_energy": True,
                          "no_series_lost": True}
        # ... and the events are in the local instance too.
        stored = instance.get_latest_materialization_event(materialization.asset_key)
        assert stored is not None and stored.run_id == result.run_id

        # Its rows are in the lakehouse.
        count = open_lakehouse().spark.sql("SELECT count(*) FROM silver.production").collect()[0][0]
        assert count == 96 * len(GENERATION_FILTERS)

        # The launcher's REST calls: upload through DBFS, submit, poll, read the events file and the logs.
        calls = set(fake.calls())
        for call in ("POST /api/2.0/dbfs/create", "POST /api/2.0/dbfs/add-block", "POST /api/2.0/dbfs/close",
                     "POST /api/2.2/jobs/runs/submit", "GET /api/2.2/jobs/runs/get", "GET /api/2.0/dbfs/read"):
            assert call in calls
        # The secret came from the scope on the cluster; the token never entered run storage.
        assert any("Exporting TIBBER_TOKEN from Databricks secret TIBBER_TOKEN, scope emission" in (m or "")
                   for m in messages)
        dagster_run = instance.get_run_by_id(result.run_id)
        snapshot = instance.get_job_snapshot(dagster_run.job_snapshot_id)
        assert TOKEN not in serialize_value(dagster_run) + serialize_value(snapshot)
        assert not any(TOKEN in (m or "") for m in messages)
    finally:
        fake.stop()


def test_a_step_failing_on_the_cluster_fails_the_local_run_with_its_error(instance, tmp_path, monkeypatch):
    # A misconfigured cluster: the databricks engine without a Unity Catalog catalog.
    fake = fake_workspace(tmp_path, monkeypatch, secrets={SCOPE: {"TIBBER_TOKEN": "t"}},
                          pinned_env={"EMISSION_CATALOG": None})
    try:
        result, _ = run_through_launcher(instance)
        assert not result.success
        (failure,) = result.get_step_failure_events()
        assert "engine 'databricks' needs a Unity Catalog catalog (EMISSION_CATALOG)" in str(
            failure.event_specific_data.error.to_string()
        )
        assert failure.pid == fake.runs[1].pid != os.getpid()
        # The job itself succeeded: the failure is the step's, reported through its events.
        assert fake.runs[1].result_state == "SUCCESS"
    finally:
        fake.stop()


def test_a_failed_databricks_run_surfaces_in_the_local_run(instance, tmp_path, monkeypatch):
    # The scope lacks the secret: the job fails before the step starts (result_state FAILED).
    fake = fake_workspace(tmp_path, monkeypatch, secrets={SCOPE: {}}, pinned_env={})
    try:
        result, messages = run_through_launcher(instance)
        assert not result.success
        assert fake.runs[1].result_state == "FAILED"
        (failure,) = result.get_step_failure_events()
        error = failure.event_specific_data.error.to_string()
        assert "Run `1` failed with result state" in error and "Workload failed" in error
        # The job's traceback, read back from DBFS, is in the local run's logs.
        assert any("Secret does not exist with scope: emission and key: TIBBER_TOKEN" in (m or "") for m in messages)
    finally:
        fake.stop()
