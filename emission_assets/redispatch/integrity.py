"""Reservoir integrity rules of the redispatch source: what its sidecars hold, how a file name encodes its series, and
the command that repairs a damaged file (used by :class:`emission_assets.lakehouse.reservoir_integrity.Inspector`)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath

from emission_assets.lakehouse.reservoir import ReservoirFile
from emission_assets.lakehouse.reservoir_integrity import STAMP, Damage, SourceRules, materialize_hint


def _rules() -> SourceRules:
    from emission_assets.redispatch.client import CLIENT_ID_ENV, CLIENT_SECRET_ENV
    from emission_assets.redispatch.layout import API, CSV_IMPORT, coverage_ms

    pattern = re.compile(r"^(\d+)_(\d+)" + STAMP)

    def from_name(name: str) -> dict | None:
        found = pattern.match(PurePosixPath(name).name)
        return {"series_start_ms": int(found.group(1)), "series_end_ms": int(found.group(2))} if found else None

    def repair(damaged: list[Damage], first: date, last: date) -> str:
        sources = {(d.meta or {}).get("source") for d in damaged}
        steps = []
        if sources - {API}:
            steps.append("import the downloaded CSV again (`emission-tracker import redispatch-csv <file>`): an "
                         "imported file cannot be fetched again")
        if sources - {CSV_IMPORT}:
            steps.append(f"with {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} set, {materialize_hint(first, last, 'redispatch')}"
                         " (its reservoir step fetches the days again)")
        return "; or ".join(steps)

    return SourceRules(
        source="redispatch",
        required={"series_start_ms": (int,), "series_end_ms": (int,)},
        key=lambda meta: (),
        describe=lambda key: "redispatch",
        span=lambda meta: tuple(int(v) for v in coverage_ms(ReservoirFile(None, "", meta))),  # type: ignore[arg-type]
        meta_from_name=from_name,
        repair=repair,
        text=False,  # bronze decodes it with per-line fallbacks (redispatch.parse.decode_text)
    )


REDISPATCH_RULES = _rules()
