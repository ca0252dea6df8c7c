"""The committed redispatch CSV (synthetic, 2024-03-25..04-03) and what it holds, for the suites that import it."""
from __future__ import annotations

from datetime import date

from emission_assets.redispatch.parse import parse_redispatch_csv
from emission_assets.timeutil import BERLIN
from emission_assets_tests.support.paths import FIXTURES

REDISPATCH_CSV = FIXTURES / "redispatch" / "redispatch_synthetic_2024-03-25_2024-04-03.csv"


def measures_starting_on(day: date) -> int:
    """How many of the CSV's measures start on the local day (parsed by the product's parser)."""
    return sum(1 for m in parse_redispatch_csv(REDISPATCH_CSV.read_bytes())
               if m.measure_start.astimezone(BERLIN).date() == day)
