"""One Spark session per process, on the engine the configuration names.

- ``embedded`` (default): an in-process Sail Spark Connect server (pysail, Rust, no JVM) and PySpark's Connect
  client. One server per process: a second server in the same process can keep it from exiting.
- ``remote``: any Spark Connect URL (``sc://host:port``), e.g. a Sail server elsewhere or Databricks Connect.
- ``databricks``: the session of the Databricks runtime the code runs in; tables get Unity Catalog names.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

ENGINES = ("embedded", "remote", "databricks")
# "UTC", not Sail's default "Etc/UTC": Sail rejects replaceWhere writes whose timestamp column type names a
# different zone string than the table's.
SESSION_TIME_ZONE = "UTC"


@dataclass(frozen=True)
class EngineConfig:
    engine: str = "embedded"
    spark_remote: str | None = None
    catalog: str | None = None  # Unity Catalog catalog, databricks engine only

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.engine == "remote" and not (self.spark_remote or "").startswith("sc://"):
            raise ValueError(f"engine 'remote' needs spark_remote as an sc:// URL, got {self.spark_remote!r}")
        if self.engine == "databricks" and not self.catalog:
            raise ValueError("engine 'databricks' needs a Unity Catalog catalog (EMISSION_CATALOG)")

    @classmethod
    def from_env(cls) -> "EngineConfig":
        """``EMISSION_ENGINE``, ``SPARK_REMOTE`` and ``EMISSION_CATALOG`` from the settings."""
        from emission_assets.settings import settings

        engine = settings().engine
        return cls(engine=engine.selected_engine, spark_remote=engine.spark_remote, catalog=engine.catalog)


# Sail's allocator (mimalloc, linked into pysail) keeps freed memory committed for a while before it returns it to
# the system, so one statement's peak stays resident and the next statement's peak adds to it. Returning it at once
# lowered the year's silver and gold peaks (VmHWM) from 832-915 / 1,022-1,232 MB to 637-639 / 695-706 MB (two runs
# each, benchmarks/bench's year; docs/benchmarks.md). Read by mimalloc when the library loads: set before the first
# pysail import, and only if the user has not chosen a value.
MIMALLOC_PURGE_DELAY = "MIMALLOC_PURGE_DELAY"
EMBEDDED_PURGE_DELAY_MS = "0"


class _Embedded:
    """The process's single Sail server and its client session."""

    lock = threading.Lock()
    server = None
    session = None


def _stop_embedded() -> None:
    with _Embedded.lock:
        if _Embedded.session is not None:
            try:
                _Embedded.session.stop()
            except Exception:  # the server may already be gone at interpreter exit
                log.debug("stopping the embedded Spark session failed", exc_info=True)
            _Embedded.session = None
        if _Embedded.server is not None:
            _Embedded.server.stop()
            _Embedded.server = None


def _embedded_session():
    # Sail logs every session start and stop at INFO; keep the console for what matters. Its Delta commit retries
    # ("The transaction 16 already exists, will retry!") are logged at ERROR although they succeed; a commit that
    # fails for good reaches the client as an error, which the writer retries and names (lakehouse/writer.py).
    os.environ.setdefault("RUST_LOG", "error,sail_delta_lake::transaction=off")
    os.environ.setdefault(MIMALLOC_PURGE_DELAY, EMBEDDED_PURGE_DELAY_MS)
    from pysail.spark import SparkConnectServer
    from pyspark.sql import SparkSession

    with _Embedded.lock:
        if _Embedded.session is None:
            if _Embedded.server is None:
                server = SparkConnectServer(ip="127.0.0.1", port=0)
                server.start()
                _Embedded.server = server
                atexit.register(_stop_embedded)
            _, port = _Embedded.server.listening_address
            _Embedded.session = SparkSession.builder.remote(f"sc://127.0.0.1:{port}").getOrCreate()
        return _Embedded.session


def quiet_query_context_loggers() -> None:
    """PySpark logs every engine error that carries a query context as a multi-KB JSON record at ERROR, the moment
    the exception is created: also a commit conflict that the writer then retries successfully. The exception is
    raised as always, and whoever catches it reports it (the writer's retry line, the CLI's one-line error).

    By level, not only ``disabled``: ``logging.config.dictConfig`` (Dagster's code server, run workers and test
    utilities call it) enables every disabled logger again, among them PySpark's Connect client logger, which
    PySpark keeps off unless SPARK_CONNECT_LOG_LEVEL asks for it and which then logs each "GRPC Error received"."""
    from pyspark.logger import PySparkLogger

    silent = logging.CRITICAL + 1
    for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        quiet = PySparkLogger.getLogger(name)  # PySpark's own class: it passes its context as keywords
        quiet.disabled = True
        quiet.setLevel(silent)
    if not os.environ.get("SPARK_CONNECT_LOG_LEVEL"):
        from pyspark.sql.connect.logging import logger as connect_logger  # PySpark creates it on import

        connect_logger.setLevel(silent)


def get_spark(config: EngineConfig):
    """The process's Spark session for ``config``, with the session time zone set to UTC."""
    from pyspark.sql import SparkSession

    quiet_query_context_loggers()

    if config.engine == "embedded":
        spark = _embedded_session()
    elif config.engine == "remote":
        spark = SparkSession.builder.remote(config.spark_remote).getOrCreate()
    else:
        spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", SESSION_TIME_ZONE)
    return spark


def stop_spark() -> None:
    """Stop the embedded server (if any) now rather than at exit."""
    _stop_embedded()
