"""Hand-made silver.consumption and gold.grid_intensity rows for the EV session and shifting tests, at any dates
(local partition columns computed from the UTC start), written through the lakehouse writer."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from emission_assets.gold.months import months_between
from emission_assets.lakehouse.registry import spec

BERLIN = ZoneInfo("Europe/Berlin")
FETCHED = datetime(2024, 1, 1, tzinfo=UTC)


def local(year, month, day, hour=0, minute=0) -> datetime:
    """A Europe/Berlin wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def consumption_row(start: datetime, minutes: int, ev_kwh: float, household_kwh: float = 0.3, home: str = "home",
                    charger_kw: float = 11.0) -> tuple:
    end = start + timedelta(minutes=minutes)
    day = start.astimezone(BERLIN).date()
    energy = ev_kwh + household_kwh
    return (start, end, home, "hourly_api" if minutes == 60 else "live", Decimal(f"{energy:.6f}"),
            energy * 60 / minutes, Decimal(f"{ev_kwh:.6f}"), Decimal(f"{household_kwh:.6f}"), charger_kw,
            Decimal("0"), Decimal("0.3"), "EUR", "test", FETCHED, day.year, day.month, day.day)


def ev_hours(start: datetime, hours: int, kw: float = 11.0, **kwargs) -> list[tuple]:
    """``hours`` contiguous hourly consumption rows charging at ``kw`` from ``start`` (UTC instants)."""
    return [consumption_row(start + timedelta(hours=h), 60, kw, **kwargs) for h in range(hours)]


def write_consumption(spark, writer, rows: list[tuple]) -> None:
    days = sorted({(r[-3], r[-2], r[-1]) for r in rows})
    from datetime import date

    writer.replace_days("silver.consumption", spark.createDataFrame(rows, spec("silver.consumption").ddl),
                        date(*days[0]), date(*days[-1]))


def intensity_row(start: datetime, minutes: int, model: str, g_per_kwh: float, basis: str = "direct",
                  region: str | None = None, production_mwh: float = 10.0) -> tuple:
    region = region or ("TenneT" if model == "locality" else "DE")
    day = start.astimezone(BERLIN)
    return (start, start + timedelta(minutes=minutes), region, model, basis, float(g_per_kwh), "test",
            float(production_mwh), "hour" if minutes == 60 else "quarterhour", day.year, day.month)


def hourly_intensity(start: datetime, hours: int, g_of, models=("average",), basis: str = "direct") -> list[tuple]:
    """One row per UTC hour from ``start`` and model; ``g_of(hour_index, model)`` gives its g/kWh (None: no row,
    a missing production hour)."""
    rows = []
    for h in range(hours):
        for model in models:
            g = g_of(h, model)
            if g is not None:
                rows.append(intensity_row(start + timedelta(hours=h), 60, model, g, basis))
    return rows


def write_intensity(spark, writer, rows: list[tuple]) -> None:
    months = sorted({(r[-2], r[-1]) for r in rows})
    frame = spark.createDataFrame(rows, spec("gold.grid_intensity").ddl)
    writer.replace_months("gold.grid_intensity", frame, months_between(datetime(*months[0], 1).date(),
                                                                         datetime(*months[-1], 1).date()))
