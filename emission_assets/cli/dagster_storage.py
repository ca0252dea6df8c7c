"""Where Dagster keeps its run history, event logs and schedules: SQLite files under the Dagster home (the
default: nothing to set up), or a PostgreSQL database when ``EMISSION_DAGSTER_POSTGRES_URL`` is set.

SQLite opens a SQLAlchemy engine for every event and stores a batch one event at a time (~10 ms an event); Postgres
keeps a connection pool and writes the materialisations of a range run's asset in one ``INSERT`` when Dagster's
``DAGSTER_EVENT_BATCH_SIZE`` is set, which :func:`configure_event_batching` does (unless the user set it).

The instance file names the variable (``postgres_url: {env: EMISSION_DAGSTER_POSTGRES_URL}``), never its value:
the URL holds a password, and secrets never reach files, logs or metadata.
"""
from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr

from emission_assets.errors import UserInputError
from emission_assets.settings import StorageSettings, settings

POSTGRES_URL_VARIABLE = StorageSettings.variable("dagster_postgres_url")
POSTGRES_STORAGE_TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "dagster_storage_postgres.yaml"
EVENT_BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
# Events per batch write. A range run's asset emits its materialisations as one batch (one per partition: 365 for a
# year), written by dagster-postgres as one INSERT; a larger size changes nothing, a smaller one splits it.
EVENT_BATCH_SIZE = 1000
CONNECT_TIMEOUT_SECONDS = 10


def postgres_url() -> SecretStr | None:
    """The configured PostgreSQL URL (a secret), or None for SQLite."""
    return settings().storage.dagster_postgres_url


def instance_yaml(template: Path) -> bytes:
    """The Dagster instance file of a home: the project's template, plus the Postgres storage block when
    ``EMISSION_DAGSTER_POSTGRES_URL`` is set."""
    text = template.read_bytes()
    if postgres_url() is None:
        return text
    return text + POSTGRES_STORAGE_TEMPLATE.read_bytes()


def configure_event_batching() -> None:
    """Turn on Dagster's batched event writes for Postgres storage (the user's own value wins). SQLite gains
    nothing from them (its batch write stores one by one), so its behaviour stays Dagster's default."""
    if postgres_url() is not None:
        os.environ.setdefault(EVENT_BATCH_SIZE_VARIABLE, str(EVENT_BATCH_SIZE))


def check_postgres_reachable() -> None:
    """Connect once to the configured server, so an unreachable or misconfigured database is one line naming the
    variable, not Dagster's five retries with warnings and a traceback. No-op for SQLite."""
    url = postgres_url()
    if url is None:
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    secret = url.get_secret_value()
    try:
        engine = sqlalchemy.create_engine(secret, poolclass=NullPool,
                                          connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as error:
        raise UserInputError(f"{POSTGRES_URL_VARIABLE}: cannot use the PostgreSQL server for Dagster's storage: "
                             f"{_reason(error, secret)}") from None


def _reason(error: Exception, secret: str) -> str:
    """The driver's first line of the error, without the URL or its password."""
    from sqlalchemy.engine import make_url

    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = " ".join(lines[0].split()) if lines else type(cause).__name__
    try:
        password = make_url(secret).password
    except Exception:  # an unparsable URL has no password to hide: the whole URL is hidden below
        password = None
    for hidden in (secret, password):
        if hidden:
            reason = reason.replace(str(hidden), "***")
    return reason
