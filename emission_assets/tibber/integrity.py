"""Reservoir integrity rules of the Tibber source: what its sidecars hold, how a file name encodes its series, and
the command that repairs a damaged file (used by :class:`emission_assets.lakehouse.reservoir_integrity.Inspector`)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath

from emission_assets.lakehouse.reservoir_integrity import STAMP, Damage, SourceRules, materialize_hint


def _rules() -> SourceRules:
    from emission_assets.tibber.layout import HOURLY, home_part

    hourly = re.compile(r"^(.+)_(\d+)_(\d+)" + STAMP)
    live = re.compile(r"^(.+)_(\d+)" + STAMP)

    def from_name(name: str) -> dict | None:
        path = PurePosixPath(name)
        kind = path.parent.parent.name
        if kind == HOURLY and (found := hourly.match(path.name)):
            return {"kind": kind, "home_id": found.group(1), "series_start_ms": int(found.group(2)),
                    "series_end_ms": int(found.group(3))}
        if (found := live.match(path.name)) and kind != HOURLY:
            first = int(found.group(2))
            return {"kind": kind, "home_id": found.group(1), "series_start_ms": first, "series_end_ms": first + 1}
        return None

    def repair(damaged: list[Damage], first: date, last: date) -> str:
        live_lost = any((d.meta or {}).get("kind") != HOURLY for d in damaged)
        return (f"{materialize_hint(first, last, 'tibber')} (its reservoir step fetches the days' hourly consumption "
                "again from the Tibber API" + ("; live measurements cannot be fetched again, hourly values replace "
                                              "them" if live_lost else "") + ")")

    return SourceRules(
        source="tibber",
        required={"kind": (str,), "home_id": (str,), "series_start_ms": (int,), "series_end_ms": (int,)},
        key=lambda meta: (home_part(meta["home_id"]),),
        describe=lambda key: "Tibber consumption",
        span=lambda meta: (int(meta["series_start_ms"]), int(meta["series_end_ms"])),
        meta_from_name=from_name,
        repair=repair,
    )


TIBBER_RULES = _rules()
