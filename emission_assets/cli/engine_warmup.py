"""Start the embedded engine in the background while Dagster loads the definitions and plans the first run.

A new ``emission-tracker materialize`` process otherwise starts the Sail server, its session and the lakehouse's
table registrations (~0.4 s) inside the first step that needs Spark, after ~1 s of Dagster planning that leaves
the engine idle. The thread only opens the lakehouse (:func:`emission_assets.lakehouse.session.open_lakehouse`,
serialised by its lock, so a step that opens it meanwhile waits for it instead of registering twice); a failure is
left to that step, which raises it with its usual message.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def engine_started_in_background() -> Iterator[threading.Thread | None]:
    """:func:`start_engine_in_background` for the block, which waits for the thread at its end: a command that
    fails before any step (a bad selection) leaves no opening in flight for whatever the process does next."""
    thread = start_engine_in_background()
    try:
        yield thread
    finally:
        if thread is not None:
            thread.join()


def start_engine_in_background() -> threading.Thread | None:
    """Open the lakehouse on a daemon thread when the steps will use the embedded engine in this process (local
    environment); returns the thread, or None when there is nothing to start."""
    from emission_assets.engine.session import EngineConfig
    from emission_assets.settings import settings

    current = settings()
    if current.engine.environment != "local" or current.databricks.on_cluster:
        return None
    try:
        config = EngineConfig.from_env()
    except ValueError:
        return None  # check_environment reports it
    if config.engine != "embedded":
        return None
    thread = threading.Thread(target=_open, args=(config,), name="engine-warmup", daemon=True)
    thread.start()
    return thread


def _open(config) -> None:
    from emission_assets.lakehouse.session import open_lakehouse

    try:
        open_lakehouse(config)
    except Exception:  # noqa: BLE001 - the first step opens the lakehouse again and reports what failed
        log.debug("starting the engine in the background failed; the first step will retry", exc_info=True)
