"""A range run re-creates a gold view only when its definition changed: views hold SQL, not data."""
from __future__ import annotations

import re
from collections import Counter

from click.testing import CliRunner
from dagster import DagsterEventType, DagsterInstance

from emission_assets.cli import main
from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.lakehouse.view_catalog import catalog_path, persisted_views
from emission_assets.settings import paths
from emission_assets_tests.support.autumn_home import MATERIALIZE

# The autumn CSV's days with SMARD, factors and gold: the fixture's first run (``autumn_smard_home``) is this one.
RUN = list(MATERIALIZE)
CURRENT = re.compile(r"(\d+) gold view\(s\) current \(same code version, view present or not creatable here\): "
                     r"not re-created")


def planned(output: str) -> list[int]:
    """Asset counts of the runs, in order."""
    return [int(n) for n in re.findall(r"planning (\d+) asset\(s\)", output)]


def planned_events_per_asset() -> set[int]:
    """How many "materialisation planned" events each asset of the last day-partitioned run recorded."""
    with DagsterInstance.get() as instance:
        run = next(r for r in instance.get_runs() if r.tags.get("dagster/asset_partition_range_start") == "2022-10-29")
        events = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    return set(Counter(e.dagster_event.asset_key for e in events).values())


def not_created() -> set[str]:
    """The assets whose last materialisation did not create its view (a consumer view without what it needs)."""
    with DagsterInstance.get() as instance:
        records = instance.get_asset_records()
    return {"/".join(r.asset_entry.asset_key.path) for r in records
            if r.asset_entry.last_materialization is not None
            and getattr(r.asset_entry.last_materialization.asset_materialization.metadata.get("created"), "value", 1)
            is False}


def test_views_are_re_created_only_when_missing_or_changed(spark, autumn_smard_home, monkeypatch):
    # `import smard-csv` of the autumn CSV, then RUN: run once per worker, the home copied into this test's.
    assert autumn_smard_home.imported.exit_code == 0, autumn_smard_home.imported.output
    first = autumn_smard_home.materialized
    assert first.exit_code == 0, first.output
    autumn_smard_home.copy_to_test_home(monkeypatch)  # and DAGSTER_HOME, as `materialize` sets it
    assert not CURRENT.search(first.output)
    # Two runs: the days (with the factor dimension), then the months (with the views and the report).
    assert len(planned(first.output)) == 2
    assert planned_events_per_asset() == {1}  # per asset of the 3-day run, not per asset partition
    # The views this home's run created, as recorded for a new process (the worker's session may hold views of other
    # tests too); each is in the session.
    recorded = persisted_views(Registry(lakehouse_root=paths().lakehouse))
    in_session = {f"gold.{row['tableName']}" for row in open_lakehouse().spark.sql("SHOW VIEWS IN gold").collect()}
    assert set(recorded) <= in_session
    views = len(recorded)
    assert views >= 8  # production/consumption views, emissions_yearly, consumer views the config allows

    # Consumer views that cannot be created here (the test environment has no pseudonym key) ran and said why.
    uncreatable = not_created()
    assert uncreatable and all(key.startswith("gold/consumer_") for key in uncreatable)
    assert "pseudonymised consumer views not created" in first.output

    again = CliRunner().invoke(main, RUN)
    assert again.exit_code == 0, again.output
    skipped = int(CURRENT.search(again.output).group(1))
    # Every created view is current, and so is every view that still cannot be created (the CLI says why instead of
    # running it); the report and the month tables still run.
    assert skipped == views + len(uncreatable)
    assert planned(again.output)[-1] == planned(first.output)[-1] - skipped
    assert "pseudonymised consumer views not created" in again.output

    # A lakehouse that lost its views (the view catalog is gone) gets them again; so does a view named by key.
    catalog_path(Registry(lakehouse_root=paths().lakehouse)).unlink()
    rebuilt = CliRunner().invoke(main, RUN)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert int(CURRENT.search(rebuilt.output).group(1)) == len(uncreatable)  # still not creatable: not run
    named = CliRunner().invoke(main, [*RUN[:5], "--select", "key:gold/emissions_yearly"])
    assert named.exit_code == 0, named.output
    assert planned(named.output) == [1] and not CURRENT.search(named.output)

    # Once what they need is there (the key), the next run creates them.
    monkeypatch.setenv("EMISSION_PSEUDONYM_KEY", "a-test-key-of-32-characters-long")
    keyed = CliRunner().invoke(main, RUN)
    assert keyed.exit_code == 0, keyed.output
    assert int(CURRENT.search(keyed.output).group(1)) == views
    assert planned(keyed.output)[-1] == planned(again.output)[-1] + len(uncreatable)
    assert not not_created() & uncreatable
    assert {f"gold.{key.split('/')[-1]}" for key in uncreatable} <= set(
        persisted_views(Registry(lakehouse_root=paths().lakehouse)))
