"""Which emission factor rows a gold query uses: the active SCD2 rows, or the rows known at a past moment."""
from __future__ import annotations

from datetime import datetime

from emission_assets.timeutil import UTC


def factor_condition(known_at: datetime | None = None) -> str:
    """Which rows of the SCD2 dimension count: the active ones, or those known at ``known_at`` ("as reported
    then": recorded by then and not yet retired then)."""
    if known_at is None:
        return "retired_at IS NULL"
    if known_at.tzinfo is None:
        raise ValueError(f"known_at {known_at!r} must be timezone-aware")
    moment = known_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"recorded_at <= TIMESTAMP'{moment}' AND (retired_at IS NULL OR retired_at > TIMESTAMP'{moment}')"
