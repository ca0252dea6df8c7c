"""End the ``emission-tracker`` process without Python's interpreter teardown.

A command that ran Dagster and the embedded Sail engine leaves a large heap (Dagster, PySpark, pandas, matplotlib,
gRPC): after the exit handlers, freeing it module by module took 0.8-1.5 s of a one-day ``materialize`` (measured on
2 cores), time the user waits for and nothing else needs. Once every exit handler registered after :func:`arm` has
run (last in, first out: the engine's stop, Dagster's clean-up), the process flushes logging and its streams and ends
with the command's exit status. Everything the command wrote is on disk by then (Delta commits, SQLite transactions,
files are closed by the code that wrote them).

Only for the real process: the command line arms it when it read its arguments from ``sys.argv``, never under
click's test runner, whose process goes on after the command.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys

_UNSET = object()
_state = {"armed": False, "code": _UNSET}


def arm() -> None:
    """Register the final exit handler (once); before the command registers its own, so that it runs after them."""
    if not _state["armed"]:
        _state["armed"] = True
        atexit.register(_end_process)


def armed() -> bool:
    """Whether this process ends through the fast exit."""
    return _state["armed"]


def record(code) -> None:
    """The command's ``SystemExit.code``: the process ends with its status once the exit handlers ran."""
    _state["code"] = code


def exit_status(code) -> int:
    """The status ``sys.exit(code)`` gives a process: 0 for None, the int itself, 1 for a message (which Python has
    printed already)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _end_process() -> None:
    if _state["code"] is _UNSET:
        return  # the command did not end with SystemExit (an interrupt, a crash): Python's normal teardown
    logging.shutdown()  # flushes the log handlers; its own exit handler would run after this one
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written anyway
            pass
    os._exit(exit_status(_state["code"]))
