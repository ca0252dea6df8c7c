"""Spark column expressions that more than one source's silver transform needs (kept below the source folders, so a
source never imports another)."""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

LOCAL_TIME_ZONE = "Europe/Berlin"


def local_date(timestamp: Column) -> Column:
    """The Europe/Berlin calendar date of a UTC instant (the session time zone is UTC)."""
    return F.to_date(F.from_utc_timestamp(timestamp, LOCAL_TIME_ZONE))
