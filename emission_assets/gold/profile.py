"""``gold.intensity_profile``: when the grid is cleanest, per local month x day type x local hour x region x model x
basis, from gold.grid_intensity (pure SQL; no Dagster here).

One row per cell: the time-weighted mean g/kWh of the cell's intervals (weights: interval seconds, so quarter-hours
and hours mix correctly), their minimum and maximum, how many intervals there were, and ``cleanest_rank`` (1 = the
lowest mean among the hours of the same year/month/day type/region/model/basis; tied hours share a rank, SQL
``rank()``).

Local time is Europe/Berlin wall-clock time of ``interval_start``: a 23-hour spring day has no hour 2, a 25-hour
autumn day has hour 2 twice (both intervals count in hour 2, so that cell holds one interval more that month).
``day_type`` is ``weekend`` for Saturdays and Sundays, ``weekday`` otherwise; public holidays count as weekdays
(no holiday calendar is installed, and a dependency for it is not worth the small shift).

Intervals whose g_per_kwh is NULL are left out of the means and counts; :func:`coverage_findings` names every local
hour that holds no (or too few) intervals, so a gap shows as a named check result, never as a silent zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from emission_assets.gold.months import Month, MonthRegistry, month_chunks
from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.writer import DeltaWriter, month_predicate
from emission_assets.models.production import LOCAL_TIME_ZONE

PROFILE = "gold.intensity_profile"
GRID_INTENSITY = "gold.grid_intensity"
DAY_TYPES = ("weekday", "weekend")
# The profile is a small aggregate (48 cells per month x region x model x basis): a year per query.
MONTHS_PER_QUERY = 12
SAMPLE = 50
_CELL = ("year", "month", "day_type", "hour_local", "region", "model", "basis")
_SERIES = "year, month, day_type, region, model, basis"


def _local_start(column: str = "interval_start") -> str:
    return f"from_utc_timestamp({column}, '{LOCAL_TIME_ZONE}')"


def profile_rows_sql(scope) -> str:
    """The gold.intensity_profile rows of the scope's months (``scope``: a registry or a
    :class:`~emission_assets.gold.months.MonthRegistry` narrowing gold.grid_intensity to some months)."""
    local = _local_start()
    columns = ", ".join(spec(PROFILE).column_names)
    return f"""
        WITH intervals AS (
            SELECT year, month,
                   CASE WHEN dayofweek({local}) IN (1, 7) THEN 'weekend' ELSE 'weekday' END AS day_type,
                   CAST(hour({local}) AS INT) AS hour_local, region, model, basis, g_per_kwh,
                   CAST(unix_seconds(interval_end) - unix_seconds(interval_start) AS DOUBLE) AS seconds
            FROM {scope.sql_name(GRID_INTENSITY)}
            WHERE g_per_kwh IS NOT NULL
        ), cells AS (
            SELECT {', '.join(_CELL)},
                   sum(g_per_kwh * seconds) / sum(seconds) AS g_per_kwh,
                   min(g_per_kwh) AS min_g_per_kwh, max(g_per_kwh) AS max_g_per_kwh,
                   CAST(count(*) AS INT) AS interval_count
            FROM intervals
            GROUP BY {', '.join(_CELL)}
        )
        SELECT {columns} FROM (
            SELECT *, CAST(rank() OVER (PARTITION BY {_SERIES} ORDER BY g_per_kwh) AS INT) AS cleanest_rank
            FROM cells
        ) ranked"""


def write_intensity_profile(spark, registry: Registry, months: list[Month], *,
                            months_per_query: int = MONTHS_PER_QUERY) -> int:
    """Recompute gold.intensity_profile for ``months`` from gold.grid_intensity (other months untouched); returns
    the rows the table now holds for them. Months without grid intensity end up with no rows."""
    return write_profile_rows(spark, registry, compute_profile_rows(spark, registry, months,
                                                                    months_per_query=months_per_query))


def compute_profile_rows(spark, registry: Registry, months: list[Month], *,
                         months_per_query: int = MONTHS_PER_QUERY) -> list[tuple[list[Month], object]]:
    """The gold.intensity_profile rows of ``months`` from gold.grid_intensity, collected (a pandas frame per chunk of
    months, with the table's columns): a small aggregate (~1,900 rows a month for 5 regions), so the heat map can be
    drawn from them while :func:`write_profile_rows` writes them."""
    return [(chunk, spark.sql(profile_rows_sql(MonthRegistry(registry, chunk))).toPandas())
            for chunk in month_chunks(months, months_per_query)]


def write_profile_rows(spark, registry: Registry, chunks: list[tuple[list[Month], object]]) -> int:
    """Make gold.intensity_profile's months of each chunk hold exactly its rows (:func:`compute_profile_rows`);
    returns the rows written."""
    writer = DeltaWriter(spark, registry)
    ddl = spec(PROFILE).ddl
    for chunk, rows in chunks:
        # clip: the rows come from the chunk's own months (the input was narrowed to them), so the writer's check
        # for rows outside them would only read them once more.
        writer.replace_months(PROFILE, spark.createDataFrame(rows, schema=ddl), chunk, clip=True)
    return sum(len(rows) for _, rows in chunks)


# --- coverage ------------------------------------------------------------------------------------------------------

def local_hour_seconds(day: date) -> dict[int, int]:
    """Wall-clock hour -> seconds of that local day in it (3600; 7200 for the repeated autumn hour; a skipped
    spring hour is absent)."""
    zone = ZoneInfo(LOCAL_TIME_ZONE)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    end = (datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)).astimezone(ZoneInfo("UTC"))
    hours: dict[int, int] = {}
    moment = start
    while moment < end:
        hour = moment.astimezone(zone).hour
        hours[hour] = hours.get(hour, 0) + 3600
        moment += timedelta(hours=1)
    return hours


@dataclass
class Coverage:
    """What the profile of some months left out, per region/model/basis: local hours (of the days from the series'
    first to its last day in each month) that hold fewer seconds of non-NULL intervals than the wall clock has, and
    the profile cells those days' calendar has but the profile lacks. The days before a series' first and after its
    last day of a month (a month at the edge of the data) are not gaps; ``spans`` says which days each month covers."""

    series: int = 0  # (month, region, model, basis) with grid intensity
    days: int = 0  # local days x region x model x basis expected
    missing_hours: int = 0  # local day-hours without their full seconds of intervals
    missing_seconds: float = 0.0
    empty_cells: int = 0  # (month, day type, hour, region, model, basis) that the calendar has but the profile lacks
    missing: list[str] = field(default_factory=list)  # sample: "2022-03-10 DE average/direct: 14h (0 of 3600 s)"
    empty: list[str] = field(default_factory=list)  # sample: "2022-03 weekend 14h DE average/direct"
    spans: list[str] = field(default_factory=list)  # per month: "2022-03: days 1..31 of 31"

    @property
    def complete(self) -> bool:
        return self.missing_hours == 0 and self.empty_cells == 0


def _day_type(day: date) -> str:
    return "weekend" if day.weekday() >= 5 else "weekday"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _short_hours(seen: dict[int, float], wall: dict[int, int]) -> list[tuple[int, float, int]]:
    """(hour, seconds present, seconds the wall clock has) of the hours of a day short of intervals."""
    return [(hour, seen.get(hour, 0.0), full) for hour, full in sorted(wall.items()) if seen.get(hour, 0.0) < full]


def _describe_short(day: date, series: str, short: list[tuple[int, float, int]], wall: dict[int, int]) -> str:
    if len(short) == len(wall) and not any(have for _, have, _ in short):
        return f"{day} {series}: no intervals (all {len(wall)} hours)"
    return f"{day} {series}: " + ", ".join(f"{hour:02d}h ({have:.0f} of {full} s)" for hour, have, full in short)


def coverage_findings(spark, registry: Registry, months: list[Month]) -> Coverage:
    """For ``months``: the seconds of non-NULL gold.grid_intensity intervals per local day and region/model/basis
    against the wall clock of every day from each series' first to its last day in the month (hour by hour for the
    days that fall short), and the written profile's cells against the calendar of those days."""
    local = _local_start()
    grid = MonthRegistry(registry, months).sql_name(GRID_INTENSITY)
    seconds = ("CASE WHEN g_per_kwh IS NULL THEN 0 ELSE unix_seconds(interval_end) - unix_seconds(interval_start) "
               "END")
    # Per day first (a few thousand rows a year); hour by hour only for the days short of seconds.
    per_day = spark.sql(
        f"SELECT to_date({local}) AS day, region, model, basis, CAST(sum({seconds}) AS DOUBLE) AS seconds "
        f"FROM {grid} GROUP BY to_date({local}), region, model, basis").collect()
    present: dict[tuple, dict[date, float]] = {}
    for r in per_day:
        present.setdefault((r.day.year, r.day.month, r.region, r.model, r.basis), {})[r.day] = r.seconds
    calendar: dict[date, dict[int, int]] = {}

    def wall(day: date) -> dict[int, int]:
        if day not in calendar:  # once per day (setdefault would compute it on every call)
            calendar[day] = local_hour_seconds(day)
        return calendar[day]

    found = Coverage(series=len(present))
    short_days: list[tuple] = []  # (day, region, model, basis) with fewer seconds than the wall clock
    spans: dict[tuple[int, int], tuple[date, date]] = {}
    for (year, month, region, model, basis), days in sorted(present.items()):
        first, last = min(days), max(days)
        known = spans.get((year, month))
        spans[(year, month)] = (min(first, known[0]), max(last, known[1])) if known else (first, last)
        for day in _days(first, last):
            found.days += 1
            if days.get(day, 0.0) < sum(wall(day).values()):
                short_days.append((day, region, model, basis))
    hourly: dict[tuple, dict[int, float]] = {}
    if short_days:
        listed = ", ".join(sorted({f"DATE'{day}'" for day, *_ in short_days}))
        for r in spark.sql(
                f"SELECT to_date({local}) AS day, CAST(hour({local}) AS INT) AS hour_local, region, model, basis, "
                f"CAST(sum({seconds}) AS DOUBLE) AS seconds FROM {grid} WHERE to_date({local}) IN ({listed}) "
                f"GROUP BY to_date({local}), CAST(hour({local}) AS INT), region, model, basis").collect():
            hourly.setdefault((r.day, r.region, r.model, r.basis), {})[r.hour_local] = r.seconds
    # A cell is empty when none of its days has an interval in that hour: count the short hours per cell.
    short_per_cell: dict[tuple, int] = {}
    for day, region, model, basis in short_days:
        short = _short_hours(hourly.get((day, region, model, basis), {}), wall(day))
        found.missing_hours += len(short)
        found.missing_seconds += sum(full - have for _, have, full in short)
        if short and len(found.missing) < SAMPLE:
            found.missing.append(_describe_short(day, f"{region} {model}/{basis}", short, wall(day)))
        for hour, have, _ in short:
            if have == 0:
                cell = (day.year, day.month, _day_type(day), hour, region, model, basis)
                short_per_cell[cell] = short_per_cell.get(cell, 0) + 1
    if short_per_cell:
        # Days of each cell in the calendar (from the series' first to its last day): empty if all of them lack it.
        days_per_cell: dict[tuple, int] = {}
        for (year, month, region, model, basis), days in present.items():
            for day in _days(min(days), max(days)):
                for hour in wall(day):
                    cell = (year, month, _day_type(day), hour, region, model, basis)
                    if cell in short_per_cell:
                        days_per_cell[cell] = days_per_cell.get(cell, 0) + 1
        empty = sorted(cell for cell, n in short_per_cell.items() if n == days_per_cell.get(cell))
        found.empty_cells = len(empty)
        found.empty = [f"{y:04d}-{m:02d} {t} {h:02d}h {region} {model}/{basis}"
                       for y, m, t, h, region, model, basis in empty[:SAMPLE]]
    for (year, month), (first, last) in sorted(spans.items()):
        length = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
        found.spans.append(f"{year:04d}-{month:02d}: days {first.day}..{last.day} of {length}")
    return found


# --- reading it ----------------------------------------------------------------------------------------------------

def extreme_hours(spark, registry: Registry, months: list[Month], region_of: dict[str, str], basis: str) -> list[dict]:
    """Per model (in ``region_of``: model -> region), the cleanest and the dirtiest local hour over ``months`` and
    both day types: the interval-count-weighted mean of the profile cells (exact where a month has one resolution),
    with its g/kWh; ``all_hours_equal`` when every hour has the same mean (to 0.01 g/kWh: no cleanest hour)."""
    terms = " OR ".join(f"(model = '{model}' AND region = '{region}')" for model, region in region_of.items())
    rows = spark.sql(
        f"SELECT model, region, hour_local, sum(g_per_kwh * interval_count) / sum(interval_count) AS g_per_kwh "
        f"FROM {registry.sql_name(PROFILE)} WHERE basis = '{basis}' AND ({month_predicate(months)}) AND ({terms}) "
        f"GROUP BY model, region, hour_local").collect()
    result = []
    for model in region_of:
        mine = sorted((r for r in rows if r.model == model), key=lambda r: (r.g_per_kwh, r.hour_local))
        if mine:
            result.append({"model": model, "region": mine[0].region, "basis": basis,
                           "cleanest_hour": mine[0].hour_local, "cleanest_g_per_kwh": mine[0].g_per_kwh,
                           "dirtiest_hour": mine[-1].hour_local, "dirtiest_g_per_kwh": mine[-1].g_per_kwh,
                           "all_hours_equal": mine[-1].g_per_kwh - mine[0].g_per_kwh < 0.01})
    return result
