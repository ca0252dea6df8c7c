"""A write that succeeds after a retry says so in one plain line at WARNING, never as an ERROR block.

Two sources made such a write look like a failure: PySpark logs each engine error carrying a query context as a
multi-KB JSON record at ERROR when the exception is created (before anyone can catch and retry it), and the
retry's own line repeated the engine's whole message after tenacity's function path.
"""
from __future__ import annotations

import json
import logging
import logging.config
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from emission_assets.lakehouse.registry import spec
from emission_assets.lakehouse.writer import DeltaWriter

SILVER = "silver.production"


def silver_row(day: int):
    start = datetime(2024, 4, day, tzinfo=timezone.utc)
    return (start, start + timedelta(hours=1), "DE", "lignite", 1223, "hour", 1.0, 1.0, "f.json", start, 2024, 4, day)


def test_a_commit_retried_after_another_writers_checkpoint_logs_one_plain_warning(
        spark, writer, registry, caplog, capfd, monkeypatch):
    """The state a writer sees when another process checkpoints while it reads the log (see test_crash_recovery):
    ``_last_checkpoint`` names a version ahead; the other process's next commit "appears" 0.5 s later."""
    monkeypatch.setattr(DeltaWriter.replace_days.retry, "sleep", lambda seconds: time.sleep(min(seconds, 0.3)))
    for day in range(1, 4):
        writer.append(SILVER, spark.createDataFrame([silver_row(day)], spec(SILVER).ddl))
    log = Path(registry.path(SILVER)) / "_delta_log"
    (log / "_last_checkpoint").write_text(json.dumps({"version": 10, "size": 3}))
    settled = threading.Timer(0.5, (log / "_last_checkpoint").unlink)
    capfd.readouterr()
    caplog.set_level(logging.DEBUG)

    settled.start()
    writer.replace_days(SILVER, spark.createDataFrame([silver_row(3)], spec(SILVER).ddl), date(2024, 4, 3), date(2024, 4, 3))
    settled.join()

    assert spark.sql(f"SELECT count(*) FROM {SILVER}").collect()[0][0] == 3  # the day replaced once
    retries = [r for r in caplog.records if r.name == "emission_assets.lakehouse.writer"]
    assert retries, "the write was not retried: the test did not provoke a conflict"
    for number, record in enumerate(retries, start=2):
        assert record.levelno == logging.WARNING
        message = record.getMessage()
        assert message.startswith(f"commit to {SILVER} conflicted with another writer; retrying "
                                  f"(attempt {number} of 6): ")
        assert "Missing commit file" in message and "\n" not in message and len(message) < 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    printed = capfd.readouterr().err
    assert '"level": "ERROR"' not in printed and "Traceback" not in printed


def test_an_engine_error_with_a_query_context_is_raised_without_a_json_log_block(spark):
    """PySpark's query-context loggers are off once the session exists; the error itself is raised as always."""
    from pyspark.errors.exceptions.connect import AnalysisException, DataFrameQueryContext
    from pyspark.logger import PySparkLogger
    from pyspark.sql.connect.proto import base_pb2

    context = base_pb2.FetchErrorDetailsResponse.QueryContext(
        context_type=base_pb2.FetchErrorDetailsResponse.QueryContext.ContextType.DATAFRAME,
        fragment="save", call_site="writer.py:120")

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.lines: list[str] = []

        def emit(self, record):
            self.lines.append(self.format(record))  # PySpark's JSON formatter (its addHandler sets it)

    def raise_one() -> list[str]:
        logger = PySparkLogger.getLogger("DataFrameQueryContextLogger")
        collected = Collect()
        logger.addHandler(collected)
        try:
            with pytest.raises(AnalysisException, match="^Failed to commit transaction: 0$"):
                raise AnalysisException(message="Failed to commit transaction: 0",
                                        contexts=[DataFrameQueryContext(context)])
        finally:
            logger.removeHandler(collected)
        return collected.lines

    from emission_assets.engine.session import EngineConfig, get_spark

    logger = PySparkLogger.getLogger("DataFrameQueryContextLogger")
    logger.disabled, logger.level = False, logging.NOTSET  # PySpark's default: what a retried commit used to print
    try:
        loud = raise_one()
        assert len(loud) == 1 and json.loads(loud[0])["level"] == "ERROR" and "Failed to commit" in loud[0]

        get_spark(EngineConfig())  # what every session start does
        assert raise_one() == []
        # Dagster's code server and run workers configure logging with dictConfig, which enables every disabled
        # logger again: the loggers stay quiet all the same
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        assert not logger.disabled and raise_one() == []
    finally:
        get_spark(EngineConfig())
