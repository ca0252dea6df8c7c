"""Start the embedded engine in the background while Dagster loads the definitions and plans the first run.

A new ``emission-tracker materialize`` process otherwise starts the Sail server, its session and the lakehouse's
table registrations (~0.4 s) inside the first step that needs Spark, after ~1 s of Dagster planning that leaves
the engine idle. The thread only opens the lakehouse (:func:`emission_assets.lakehouse.session.open_lakehouse`,
serialised by its lock, so a step that opens it meanwhile waits for it instead of registering twice); a failure is
left to that step, which raises it with its usual message.

When the command's runs include gold steps, a second thread (:func:`gold_prepared_in_background`) prepares what
they would otherwise wait for in a new process: the merit order's unit table (~1 s of engine time) and matplotlib
(~0.4-0.9 s of imports and its font on the first drawing), while the day run's steps wait for the engine or the
disk.
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
    config = _embedded_config()
    if config is None:
        return None
    thread = threading.Thread(target=_open, args=(config,), name="engine-warmup", daemon=True)
    thread.start()
    return thread


def _embedded_config():
    """The engine settings when the steps use the embedded engine in this process (local environment), else None."""
    from emission_assets.engine.session import EngineConfig
    from emission_assets.settings import settings

    current = settings()
    if current.engine.environment != "local" or current.databricks.on_cluster:
        return None
    try:
        config = EngineConfig.from_env()
    except ValueError:
        return None  # check_environment reports it
    return config if config.engine == "embedded" else None


def _open(config) -> None:
    from emission_assets.lakehouse.session import open_lakehouse

    try:
        open_lakehouse(config)
    except Exception:  # noqa: BLE001 - the first step opens the lakehouse again and reports what failed
        log.debug("starting the engine in the background failed; the first step will retry", exc_info=True)


@contextmanager
def gold_prepared_in_background(units: bool, charts: bool) -> Iterator[threading.Thread | None]:
    """For the block: collect the merit order's unit table (``units``: a gold/grid_intensity step will run,
    :func:`emission_assets.gold.tables.prefetch_units`) and import matplotlib (``charts``: a heat map or report chart
    will be drawn) on a daemon thread; waits for it at the end. A failure is left to the step that needs it."""
    thread = None
    if units or charts:
        thread = threading.Thread(target=_prepare_gold, args=(units, charts), name="gold-warmup", daemon=True)
        thread.start()
    try:
        yield thread
    finally:
        if thread is not None:
            thread.join()


def _prepare_gold(units: bool, charts: bool) -> None:
    try:
        config = _embedded_config() if units else None
        if config is not None:  # elsewhere the step opens its own session
            from emission_assets.gold.tables import prefetch_units
            from emission_assets.lakehouse.session import open_lakehouse

            prefetch_units(open_lakehouse(config).spark)
        if charts:
            _draw_once()
    except Exception:  # noqa: BLE001 - the step computes or imports it again and reports what failed
        log.debug("preparing the gold steps in the background failed; the steps will retry", exc_info=True)


def _draw_once() -> None:
    """Import matplotlib and draw a small figure with text: the first drawing in a process also loads the font list
    and the font (~0.3 s), which the first heat map would otherwise wait for."""
    from io import BytesIO

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1, 1), dpi=20)
    FigureCanvasAgg(figure)
    figure.add_subplot().set_title("0")
    figure.savefig(BytesIO(), format="png")
