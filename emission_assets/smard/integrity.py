"""Reservoir integrity rules of the SMARD source: what its sidecars hold, how a file name encodes its series, and
the command that repairs a damaged file (used by :class:`emission_assets.lakehouse.reservoir_integrity.Inspector`)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import PurePosixPath

from emission_assets.lakehouse.reservoir_integrity import NONE, STAMP, Damage, SourceRules, materialize_hint
from emission_assets.timeutil import local_date_of_ms, local_midnight, to_epoch_ms


def window_rules(source: str = "smard", lookup=None) -> SourceRules:
    """The rules of SMARD window files of ``source`` (``smard``, or ``smard_forecast`` with its catalog
    ``lookup``)."""
    if lookup is None:
        from emission_assets.smard.catalog import series as lookup

    pattern = re.compile(r"(\d+)_([A-Za-z0-9]+)_(quarterhour|hour)_(\d+)" + STAMP)

    def describe(key: tuple) -> str:
        region, filter_id = key
        try:
            return f"{region} {lookup(int(filter_id)).name}"
        except (KeyError, ValueError):  # UserInputError is a ValueError
            return f"{region} filter {filter_id}"

    def from_name(name: str) -> dict | None:
        found = pattern.search(PurePosixPath(name).name)
        if not found:
            return None
        window_start = int(found.group(4))  # a window spans the local week from its start
        window_end = to_epoch_ms(local_midnight(local_date_of_ms(window_start) + timedelta(days=7)))
        return {"filter_id": int(found.group(1)), "region": found.group(2), "resolution": found.group(3),
                "window_start_ms": window_start, "series_start_ms": window_start, "series_end_ms": window_end}

    def repair(damaged: list[Damage], first: date, last: date) -> str:
        metas = [d.meta or {} for d in damaged]
        regions = sorted({m.get("region") for m in metas if m.get("region") not in (None, "DE")})
        extra = "".join(f" --region {r}" for r in (["DE", *regions] if regions else []))
        if any(m.get("resolution") == "hour" for m in metas):
            extra += " --resolution hour"
        return f"{materialize_hint(first, last, source, extra)} (its reservoir step fetches the days again from SMARD)"

    return SourceRules(
        source=source,
        required={"filter_id": (int,), "region": (str,), "resolution": (str,), "window_start_ms": (int,),
                  "series_start_ms": (int, NONE), "series_end_ms": (int, NONE)},
        key=lambda meta: (meta["region"], int(meta["filter_id"])),
        describe=describe,
        span=lambda meta: (None if meta.get("series_start_ms") is None
                           else (int(meta["series_start_ms"]), int(meta["series_end_ms"]))),
        meta_from_name=from_name,
        repair=repair,
    )


SMARD_RULES = window_rules()
