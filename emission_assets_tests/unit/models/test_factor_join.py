"""The factor join gold uses (``production_emissions_sql`` with ``factor_condition``) on a hand-made SCD2 history.

The history: lignite 1,100 g/kWh recorded on 2024-01-01 for all time; on 2024-07-01 the dimension learned that from
2024-06-01 it is 1,000 g/kWh, so the first row was retired and two versions split at 2024-06-01 (local date) were
recorded. Production sits on both sides of Berlin midnight of that change and well after it.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from emission_assets.lakehouse.registry import spec
from emission_assets.models.average import average_sql
from emission_assets.models.factors import factor_condition
from emission_assets.models.production import production_emissions_sql
from emission_assets.timeutil import BERLIN

FIRST_RECORDED = datetime(2024, 1, 1, tzinfo=UTC)
CORRECTED = datetime(2024, 7, 1, tzinfo=UTC)
CHANGE = date(2024, 6, 1)
BEFORE = datetime(2024, 5, 31, 21, 45, tzinfo=UTC)  # 23:45 CEST on May 31: the old version
AFTER_MIDNIGHT = datetime(2024, 5, 31, 22, 30, tzinfo=UTC)  # 00:30 CEST on June 1 (still May 31 in UTC): the new one
LATE = datetime(2024, 6, 10, 10, tzinfo=UTC)


def factor(factor_id, basis, g, valid_from, valid_to, recorded_at, retired_at=None, production_type="lignite"):
    return (factor_id, production_type, basis, g, "g CO2eq/kWh", "test", None, valid_from, valid_to,
            retired_at is None and valid_to is None, recorded_at, retired_at, f"hash-{factor_id}")


HISTORY = [
    factor("v1", "direct", 1100.0, date(2015, 1, 1), None, FIRST_RECORDED, retired_at=CORRECTED),
    factor("v1b", "direct", 1100.0, date(2015, 1, 1), CHANGE, CORRECTED),
    factor("v2", "direct", 1000.0, CHANGE, None, CORRECTED),
    factor("life", "lifecycle", 1200.0, date(2015, 1, 1), None, FIRST_RECORDED),
]


def production_row(start, production_type="lignite", mwh=100.0):
    local = start.astimezone(BERLIN).date()
    return (start, start + timedelta(minutes=15), "DE", production_type, 0, "quarterhour", mwh, mwh * 4, "test.json",
            FIRST_RECORDED, local.year, local.month, local.day)


@pytest.fixture
def history(spark, registry, writer):
    writer.append("silver.emission_factors", spark.createDataFrame(HISTORY, spec("silver.emission_factors").ddl))
    rows = [production_row(t) for t in (BEFORE, AFTER_MIDNIGHT, LATE)]
    rows.append(production_row(LATE, "wind_onshore", 50.0))  # no factor for wind in this history
    writer.append("silver.production", spark.createDataFrame(rows, spec("silver.production").ddl))
    return registry


def joined(spark, registry, known_at=None) -> dict:
    """(UTC interval start, basis) -> (factor_id, g_per_kwh, emissions_t) of gold's join."""
    rows = spark.sql(production_emissions_sql(registry, known_at)).collect()
    out = {}
    for r in rows:
        start = r.interval_start.replace(tzinfo=UTC) if r.interval_start.tzinfo is None else r.interval_start
        key = (start.astimezone(UTC), r.basis)
        assert key not in out, f"two factor versions joined to {key}"
        out[key] = (r.factor_id, r.g_per_kwh, r.emissions_t)
    return out


def test_the_active_versions_split_at_the_local_date(spark, history):
    assert joined(spark, history) == {
        (BEFORE, "direct"): ("v1b", 1100.0, 110.0),
        (AFTER_MIDNIGHT, "direct"): ("v2", 1000.0, 100.0),
        (LATE, "direct"): ("v2", 1000.0, 100.0),
        (BEFORE, "lifecycle"): ("life", 1200.0, 120.0),
        (AFTER_MIDNIGHT, "lifecycle"): ("life", 1200.0, 120.0),
        (LATE, "lifecycle"): ("life", 1200.0, 120.0),
    }  # the retired v1 is never used; wind without a factor has no emissions row (inner join)


def test_as_known_before_the_correction_every_day_uses_the_first_version(spark, history):
    then = joined(spark, history, known_at=CORRECTED - timedelta(seconds=1))
    assert {key: value[:2] for key, value in then.items() if key[1] == "direct"} == {
        (BEFORE, "direct"): ("v1", 1100.0),
        (AFTER_MIDNIGHT, "direct"): ("v1", 1100.0),
        (LATE, "direct"): ("v1", 1100.0),
    }
    assert joined(spark, history, known_at=CORRECTED) == joined(spark, history)  # recorded at that instant: known
    assert joined(spark, history, known_at=FIRST_RECORDED - timedelta(seconds=1)) == {}  # nothing known yet


def test_grid_average_follows_the_known_at_versions(spark, history):
    def average(known_at=None) -> dict:
        rows = spark.sql(average_sql(history, known_at)).where("basis = 'direct'").collect()
        return {r.interval_start.replace(tzinfo=UTC) if r.interval_start.tzinfo is None else r.interval_start:
                (r.g_per_kwh, r.production_mwh) for r in rows}

    # LATE: lignite 100 MWh with a factor, wind 50 MWh without: the average is over the types with a factor,
    # the total production counts every type
    assert average()[LATE] == (1000.0, 150.0)
    assert average(CORRECTED - timedelta(days=1))[LATE] == (1100.0, 150.0)


def test_known_at_must_be_timezone_aware():
    with pytest.raises(ValueError, match=r"known_at datetime\.datetime\(2024, 6, 1, 0, 0\) must be timezone-aware"):
        factor_condition(datetime(2024, 6, 1))
