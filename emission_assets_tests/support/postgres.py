"""A real PostgreSQL server for the Postgres storage tests and the benchmark, from the ``pgserver`` wheel (dev
extra): PostgreSQL's own binaries, started in a directory of ours on a Unix socket (no TCP port, no root needed;
run as root, pgserver runs the server as its own system user ``pgserver``)."""
from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

from emission_assets.settings import POSTGRES_SCHEME


class PostgresUnavailable(RuntimeError):
    """pgserver is not installed or its server did not start (the reason is the message)."""


def start_server(directory: Path):
    """A server with its data in ``directory`` (a new folder), stopped and deleted when the process exits (or by
    ``server.cleanup()``)."""
    from filelock import FileLock

    # Root runs the server as the system user pgserver creates on first use (`useradd`, outside pgserver's own lock):
    # two test workers starting at once on a fresh machine would race to create it.
    with FileLock(Path(tempfile.gettempdir()) / "emission_assets_pgserver.lock"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # pgserver falls back to /tmp
        try:
            import pgserver
        except ImportError as error:
            raise PostgresUnavailable(f"pgserver is not installed ({error}): pip install -e '.[dev]'") from None
        try:
            return pgserver.get_server(directory, cleanup_mode="delete")
        except Exception as error:  # initdb or pg_ctl failed: pgserver logged the server log
            raise PostgresUnavailable(f"pgserver could not start PostgreSQL in {directory}: "
                                      f"{type(error).__name__}: {error}") from None


def new_database(server, name: str, password: str | None = None) -> str:
    """Create the (empty) database ``name`` on ``server``, owned by a new login role of the same name with
    ``password``; returns its URL as ``EMISSION_DAGSTER_POSTGRES_URL`` takes it (driver psycopg2). (The server trusts local connections, so the password is not checked: it is
    there to prove it is never written anywhere.)"""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
    import psycopg2
    from psycopg2 import sql
    from sqlalchemy.engine import make_url

    connection = psycopg2.connect(server.get_uri())
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(name)), (password,))
            cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(name)))
    finally:
        connection.close()
    url = make_url(server.get_uri(name)).set(drivername=POSTGRES_SCHEME, username=name, password=password)
    return url.render_as_string(hide_password=False)
