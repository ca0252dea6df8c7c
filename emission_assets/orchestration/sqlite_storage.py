"""How Dagster's SQLite storage (the zero-setup default) syncs to disk: ``PRAGMA synchronous=NORMAL`` on its files.

Dagster keeps its SQLite databases in WAL mode and opens a new connection for every stored event. With SQLite's
default ``synchronous=FULL``, every event's commit waits for an fsync of the write-ahead log: with the commit and
the checkpoint on close, half of the time of a materialisation event on a busy disk (a five-year backfill's
profile: 133 s of 271 s of event storage in commit and close). ``NORMAL`` is SQLite's recommended setting for WAL
mode: the log is synced at checkpoints, not at each commit; the database stays consistent and nothing is lost when
the process crashes; a power cut or an operating-system crash may lose the last events (Dagster then shows the last
materialisations of a run as missing; re-running them is idempotent). ``EMISSION_DAGSTER_SQLITE_SYNC=full``
restores SQLite's default; PostgreSQL storage (``EMISSION_DAGSTER_POSTGRES_URL``) is not affected.

The setting is made through SQLAlchemy's documented connect event (the way SQLAlchemy's documentation sets SQLite
pragmas), only for SQLite files under ``DAGSTER_HOME``: any other SQLite database the process opens keeps its own.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from emission_assets.settings import settings

_installed = {"done": False}


def install() -> None:
    """Register the connect listener once per process (the CLI, the code server, and every run worker: they all
    load the definitions). The level is read when a connection opens, so a changed setting applies to new
    connections."""
    settings().storage.dagster_sqlite_sync  # a bad value fails here, naming the variable, not inside Dagster
    if _installed["done"]:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _on_connect)
    _installed["done"] = True


def _on_connect(dbapi_connection, _connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return
    # PRAGMA database_list: (seq, name, file) of the main database first; "" for an in-memory one.
    database = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
    if database and _is_under(Path(database), Path(home)):
        level = settings().storage.dagster_sqlite_sync.upper()
        dbapi_connection.execute(f"PRAGMA synchronous={level}")


def _is_under(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False
