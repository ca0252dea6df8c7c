"""Time conventions: SMARD epochs are UTC interval starts; partitions are local days in Europe/Berlin."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from emission_assets.errors import UserInputError

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc

RESOLUTION_STEP = {
    "quarterhour": timedelta(minutes=15),
    "hour": timedelta(hours=1),
}


def now_utc() -> datetime:
    """The current instant. The one clock "today" is derived from, so tests can pin it (monkeypatch this)."""
    return datetime.now(UTC)


def today_in_berlin() -> date:
    """Today's local date in Europe/Berlin, whatever the machine's time zone: the partitions' calendar."""
    return now_utc().astimezone(BERLIN).date()


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN)


def day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of a local day: 23, 24 or 25 hours long."""
    return (
        local_midnight(day).astimezone(UTC),
        local_midnight(day + timedelta(days=1)).astimezone(UTC),
    )


def expected_intervals(day: date, resolution: str) -> int:
    """92/96/100 quarter-hours or 23/24/25 hours on a DST-spring/normal/DST-autumn day."""
    start, end = day_bounds_utc(day)
    return int((end - start) / RESOLUTION_STEP[resolution])


def week_start(day: date) -> date:
    """Monday of the day's week: SMARD hour/quarter-hour windows start Monday 00:00 Berlin time."""
    return day - timedelta(days=day.weekday())


def to_epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be timezone-aware")
    return int(moment.timestamp() * 1000)


def from_epoch_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def local_date_of_ms(epoch_ms: int) -> date:
    return from_epoch_ms(epoch_ms).astimezone(BERLIN).date()


def parse_day(value: str, what: str = "date") -> date:
    """A calendar day from ``YYYY-MM-DD``; ``what`` names the argument or setting in the error."""
    try:
        return date.fromisoformat(value.strip())
    except (ValueError, AttributeError):  # 2022-13-01, 01.01.2022, None
        raise UserInputError(f"{what} {value!r} is not a date in the form YYYY-MM-DD") from None


def days_between(first: date, last: date) -> list[date]:
    """Inclusive list of days."""
    if last < first:
        raise UserInputError(f"end day {last} is before start day {first}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def month_spans(first: date, last: date) -> list[tuple[date, date]]:
    """``first..last`` cut at month boundaries: [(first, end of its month), ..., (start of last's month, last)]."""
    spans = []
    start = first
    while start <= last:
        next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = min(last, next_month - timedelta(days=1))
        spans.append((start, end))
        start = end + timedelta(days=1)
    return spans
