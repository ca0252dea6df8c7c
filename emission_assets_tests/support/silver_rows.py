"""Hand-made silver rows for the model tests: production intervals and emission-factor versions, written through the
lakehouse writer (shared by the intensity, merit-order and gold tests)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from emission_assets.lakehouse.registry import spec

BERLIN = ZoneInfo("Europe/Berlin")
RECORDED = datetime(2024, 1, 1, tzinfo=UTC)

# (type, basis) -> g/kWh
FACTORS = {
    ("lignite", "direct"): 1100.0, ("lignite", "lifecycle"): 1200.0,
    ("hard_coal", "direct"): 850.0, ("hard_coal", "lifecycle"): 820.0,
    ("natural_gas", "direct"): 400.0, ("natural_gas", "lifecycle"): 490.0,
    ("wind_onshore", "direct"): 0.0, ("wind_onshore", "lifecycle"): 11.0,
    ("photovoltaics", "direct"): 0.0, ("photovoltaics", "lifecycle"): 44.0,
}


def factor_row(production_type, basis, g, valid_from=date(2015, 1, 1), valid_to=None, factor_id=None, retired_at=None):
    return (
        factor_id or f"{production_type}-{basis}", production_type, basis, g, "g/kWh", "test", None,
        valid_from, valid_to, retired_at is None and valid_to is None, RECORDED, retired_at, "hash",
    )


def write_factors(spark, writer, rows=None):
    rows = rows if rows is not None else [factor_row(t, b, g) for (t, b), g in FACTORS.items()]
    writer.append("silver.emission_factors", spark.createDataFrame(rows, spec("silver.emission_factors").ddl))


def prod_row(start, production_type, mwh, minutes=15, region="DE"):
    end = start + timedelta(minutes=minutes)
    local = start.astimezone(BERLIN).date()
    return (
        start, end, region, production_type, 0, "quarterhour" if minutes == 15 else "hour", float(mwh),
        mwh * 60.0 / minutes, "test.json", RECORDED, local.year, local.month, local.day,
    )


def write_production(spark, writer, rows):
    writer.append("silver.production", spark.createDataFrame(rows, spec("silver.production").ddl))
