"""The CLI starts the embedded engine in the background while Dagster plans, and only then."""
from __future__ import annotations

import threading

from emission_assets.cli.engine_warmup import engine_started_in_background, start_engine_in_background
from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.settings import paths


def test_the_embedded_engine_is_opened_on_the_lakehouse_of_the_home(spark):
    with engine_started_in_background() as thread:
        assert isinstance(thread, threading.Thread)
    assert not thread.is_alive()  # the block waited for it
    tables = {row.tableName for row in spark.sql("SHOW TABLES IN silver").collect()}
    assert "production" in tables
    # The session points at this home's lakehouse already: opening it again registers nothing.
    assert Registry(lakehouse_root=paths().lakehouse).register(spark) is False


def test_a_step_opening_the_lakehouse_meanwhile_gets_the_same_session(spark):
    thread = start_engine_in_background()
    lakehouse = open_lakehouse()  # waits for the background opening instead of registering alongside it
    thread.join()
    assert lakehouse.spark is spark
    assert lakehouse.spark.sql("SELECT count(*) AS n FROM silver.production").collect()[0].n == 0


def test_nothing_starts_for_a_remote_engine(monkeypatch):
    monkeypatch.setenv("EMISSION_ENGINE", "remote")
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:9")
    assert start_engine_in_background() is None


def test_nothing_starts_on_databricks(monkeypatch):
    monkeypatch.setenv("EMISSION_ENV", "databricks")
    assert start_engine_in_background() is None


def test_the_gold_preparation_collects_the_unit_table_once_for_the_steps(spark, monkeypatch):
    """The background preparation fills the per-process cache of the merit order's unit table; the step's local
    relation then holds the same rows as the VALUES list, without collecting it again."""
    from emission_assets.cli.engine_warmup import gold_prepared_in_background
    from emission_assets.gold import tables
    from emission_assets.models.merit_order import STACK_UNITS, units_sql

    monkeypatch.setattr(tables, "_LOCAL_ROWS", {})
    with gold_prepared_in_background(units=True, charts=True) as thread:
        assert isinstance(thread, threading.Thread)
    assert not thread.is_alive()
    assert list(tables._LOCAL_ROWS) == [units_sql()]
    collected = []
    monkeypatch.setattr(spark.__class__, "sql", _counting(spark.__class__.sql, collected))
    with tables.local_rows(spark, STACK_UNITS, units_sql()) as view:
        local = spark.table(view)
        expected = spark.sql(units_sql())
        assert local.exceptAll(expected).count() == 0 and expected.exceptAll(local).count() == 0
        assert local.count() == len(tables._LOCAL_ROWS[units_sql()][0]) > 100
    assert sum(1 for text in collected if text == units_sql()) == 1  # the comparison's own, none for the view


def test_nothing_is_prepared_without_gold_steps_that_need_it():
    from emission_assets.cli.engine_warmup import gold_prepared_in_background

    with gold_prepared_in_background(units=False, charts=False) as thread:
        assert thread is None


def _counting(method, seen: list):
    def sql(self, text, *args, **kwargs):
        seen.append(text)
        return method(self, text, *args, **kwargs)
    return sql
