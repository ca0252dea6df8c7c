"""What the fake SMARD API publishes for a day range and how often silver holds each value, compared value by value
by the crash, run-recovery and disk-failure suites."""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from deltalake import DeltaTable

from emission_assets.lakehouse.session import open_lakehouse
from emission_assets.smard.catalog import GENERATION_FILTERS
from emission_assets.timeutil import local_midnight, to_epoch_ms
from emission_assets_tests.support.fake_smard import synthetic_value

SILVER = "silver.production"
MONDAY = date(2024, 4, 1)  # no DST switch in the six weeks from here: 96 quarter-hours a day


def quarter_hours(first: date, last: date) -> range:
    return range(to_epoch_ms(local_midnight(first)), to_epoch_ms(local_midnight(last + timedelta(days=1))), 900_000)


def expected_values(first: date, last: date, version: int = 0) -> dict[tuple[int, int], float]:
    """What SMARD published: (filter id, interval start ms) -> MWh."""
    return {(f, t): synthetic_value(f, t, version) for f in GENERATION_FILTERS for t in quarter_hours(first, last)}


def silver_values(first: date, last: date) -> Counter:
    """(filter id, interval start ms, MWh) -> how often silver holds it, read with delta-rs (not the writing engine)."""
    frame = DeltaTable(open_lakehouse().registry.path(SILVER)).to_pandas(
        columns=["filter_id", "interval_start", "energy_mwh"])
    starts = frame.interval_start.map(lambda ts: to_epoch_ms(ts.to_pydatetime()))
    window = quarter_hours(first, last)
    keep = (starts >= window.start) & (starts < window.stop)
    return Counter(zip(frame.filter_id[keep].astype(int), starts[keep], frame.energy_mwh[keep]))
