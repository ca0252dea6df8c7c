"""EV charging sessions (``gold.ev_sessions``) from silver.consumption, with their CO2 per model and basis.

A session is a run of contiguous EV intervals of one home: intervals with ``ev_kwh > 0`` where each one's
``interval_end`` is the next one's ``interval_start`` (UTC instants, so a session over midnight or a DST switch stays
one session). Per session x model x basis: the EV energy, the kg CO2 and g/kWh with exactly the interval attribution
of gold.consumption_emissions (:func:`emission_assets.gold.aggregates.consumption_emissions_sql`, reused: the
production-weighted intensity of the intervals each consumption interval overlaps), and as the reference the
*grid average of the same hours*: the time-weighted mean (by interval length, not by kWh) of the average model's
intensity of the same basis over the session's intervals, i.e. what the grid mix was while the car charged,
whatever the car drew.

Missing production hours: a session interval without intensity for a model is left out of that model's kg and
g/kWh (never counted as zero); ``attributed_kwh``, ``intervals_without_intensity``,
``first_interval_without_intensity`` and ``status`` say what was left out. A model absent from every interval the run
reads (e.g. locality without control-area data) has no rows.

Months: a session belongs to the local (Europe/Berlin) month of its start (the partition). A month's run reads
silver.consumption from the day before the month (:data:`LOOKBACK_DAYS`: a session running over midnight into the
1st is seen to have started before the month, and is left to the previous month's run) to
:data:`LOOKAHEAD_DAYS` days after it (a session started on the last evening is computed to its end). So every
session is written exactly once, by the month it started in, whole, whatever months a run covers. A session still
charging at the end of the days read (over 3 days past its month) is cut there and its status says so.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from emission_assets.gold.aggregates import consumption_emissions_sql, control_area, home_region
from emission_assets.gold.months import Month, month_chunks, months_between
from emission_assets.gold.scratch import staged_query
from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.writer import DeltaWriter, day_predicate, month_predicate
from emission_assets.models.production import LOCAL_TIME_ZONE
from emission_assets.tibber.silver import DEFAULT_EV_CHARGE_KW
from emission_assets.timeutil import day_bounds_utc

EV_SESSIONS = "gold.ev_sessions"
CONSUMPTION = "silver.consumption"
GRID_INTENSITY = "gold.grid_intensity"
# Days read before the first and after the last month of a run (see the module docstring). A session longer than
# LOOKAHEAD_DAYS past its month's end (over 3 days of continuous charging) would be cut there.
LOOKBACK_DAYS = 1
LOOKAHEAD_DAYS = 3
MONTHS_PER_QUERY = 12  # EV intervals only: a year is a few hundred; each query costs its planning
SAMPLE = 20


def month_span(months: list[Month], before_days: int, after_days: int) -> tuple[date, date]:
    """First and last local day a run over ``months`` reads: the months widened by the given days."""
    first = date(*months[0], 1) - timedelta(days=before_days)
    year, month = months[-1]
    following = date(year + month // 12, month % 12 + 1, 1)
    return first, following - timedelta(days=1) + timedelta(days=after_days)


def typed_columns(name: str) -> str:
    """The table's columns, each cast to its type (SQL literals such as 11.0 are decimals)."""
    return ", ".join(f"CAST({column} AS {sql_type}) AS {column}" for column, sql_type in spec(name).columns)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def region_filter() -> str:
    """The intensity rows the household's attribution uses: the home region for every model but locality, the
    control area for locality (the rule of :func:`consumption_emissions_sql`)."""
    return (f"((model <> 'locality' AND region = '{home_region()}') OR "
            f"(model = 'locality' AND region = '{control_area()}'))")


def local_part(part: str, column: str) -> str:
    return f"CAST({part}(from_utc_timestamp({column}, '{LOCAL_TIME_ZONE}')) AS INT)"


class SpanScope:
    """A registry for the SQL builders: silver.consumption narrowed to the EV intervals of the local days
    ``first..last`` and gold.grid_intensity to the intervals that start in them (partition-pruned by month)."""

    def __init__(self, registry: Registry, first: date, last: date):
        self.registry = registry
        self.first, self.last = first, last
        self.start_utc, _ = day_bounds_utc(first)
        _, self.end_utc = day_bounds_utc(last)
        self.catalog = registry.catalog
        self.lakehouse_root = registry.lakehouse_root

    def sql_name(self, name: str) -> str:
        plain = self.registry.sql_name(name)
        if name == CONSUMPTION:
            return f"(SELECT * FROM {plain} WHERE {day_predicate(self.first, self.last)} AND ev_kwh > 0)"
        if name == GRID_INTENSITY:
            return (f"(SELECT * FROM {plain} WHERE {month_predicate(months_between(self.first, self.last))} "
                    f"AND interval_start >= timestamp_seconds({epoch(self.start_utc)}) "
                    f"AND interval_start < timestamp_seconds({epoch(self.end_utc)}))")
        return plain


def ev_session_rows_sql(registry: Registry, months: list[Month]) -> str:
    """The gold.ev_sessions rows of the sessions that start in ``months`` (columns of the table spec)."""
    sessions, per_interval, rows = _session_parts(registry, months)
    return sessions + per_interval + rows


def _session_parts(registry: Registry, months: list[Month], per_interval: str = "per_interval") -> tuple[str, str, str]:
    """:func:`ev_session_rows_sql` in three parts: the WITH clauses up to ``sessions``, those from ``models`` to
    ``per_interval`` (the attribution of every session interval x model x basis), and the rest with the final
    SELECT, which reads the relation ``per_interval`` (that CTE, or a staged copy of it)."""
    scope = SpanScope(registry, *month_span(months, LOOKBACK_DAYS, LOOKAHEAD_DAYS))
    consumption, intensity = scope.sql_name(CONSUMPTION), scope.sql_name(GRID_INTENSITY)
    columns = typed_columns(EV_SESSIONS)
    sessions = f"""
        WITH ev AS (
            SELECT home_id, interval_start, interval_end, CAST(ev_kwh AS DOUBLE) AS ev_kwh, ev_charge_kw
            FROM {consumption}
        ), marked AS (
            SELECT *, CASE WHEN lag(interval_end) OVER (PARTITION BY home_id ORDER BY interval_start) = interval_start
                           THEN 0 ELSE 1 END AS starts_session
            FROM ev
        ), numbered AS (
            SELECT *, sum(starts_session) OVER (PARTITION BY home_id ORDER BY interval_start
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_number
            FROM marked
        ), intervals AS (
            SELECT *, min(interval_start) OVER (PARTITION BY home_id, session_number) AS session_start,
                   CAST(unix_seconds(interval_end) - unix_seconds(interval_start) AS DOUBLE) / 3600 AS hours
            FROM numbered
        ), sessions AS (
            SELECT home_id, session_start, max(interval_end) AS session_end, sum(ev_kwh) AS energy_kwh,
                   sum(hours) AS hours, CAST(count(*) AS INT) AS interval_count,
                   CASE WHEN max(ev_charge_kw) > 0 THEN max(ev_charge_kw) ELSE {DEFAULT_EV_CHARGE_KW} END AS charger_kw
            FROM intervals GROUP BY home_id, session_start"""
    models = f"""
        ), models AS (
            SELECT DISTINCT model, basis FROM {intensity} WHERE {region_filter()}
        ), attributed AS (
            SELECT home_id, interval_start, model, basis, g_per_kwh
            FROM ({consumption_emissions_sql(scope)}) WHERE g_per_kwh IS NOT NULL
        ), per_interval AS (
            SELECT i.home_id, i.session_start, i.interval_start, i.ev_kwh, i.hours, m.model, m.basis, a.g_per_kwh
            FROM intervals i CROSS JOIN models m
            LEFT JOIN attributed a
              ON a.home_id = i.home_id AND a.interval_start = i.interval_start AND a.model = m.model
             AND a.basis = m.basis"""
    rows = f"""
        ), reference AS (
            SELECT home_id, session_start, basis,
                   sum(g_per_kwh * hours) / nullif(sum(CASE WHEN g_per_kwh IS NOT NULL THEN hours END), 0)
                       AS grid_average_g_per_kwh
            FROM {per_interval} WHERE model = 'average'
            GROUP BY home_id, session_start, basis
        ), per_model AS (
            SELECT home_id, session_start, model, basis,
                   coalesce(sum(CASE WHEN g_per_kwh IS NOT NULL THEN ev_kwh END), DOUBLE(0)) AS attributed_kwh,
                   sum(ev_kwh * g_per_kwh) / 1000 AS emissions_kg,
                   CAST(count_if(g_per_kwh IS NULL) AS INT) AS intervals_without_intensity,
                   min(CASE WHEN g_per_kwh IS NULL THEN interval_start END) AS first_interval_without_intensity
            FROM {per_interval} GROUP BY home_id, session_start, model, basis
        ), rows AS (
            SELECT s.home_id,
                   concat(s.home_id, '@', date_format(s.session_start, "yyyy-MM-dd'T'HH:mm:ss'Z'")) AS session_id,
                   s.session_start, s.session_end, p.model, p.basis, s.energy_kwh,
                   s.energy_kwh / s.hours AS avg_power_kw, s.interval_count, s.charger_kw, p.attributed_kwh,
                   p.emissions_kg, p.emissions_kg * 1000 / nullif(p.attributed_kwh, 0) AS g_per_kwh,
                   r.grid_average_g_per_kwh, p.intervals_without_intensity, p.first_interval_without_intensity,
                   coalesce(nullif(concat_ws('; ',
                       CASE WHEN p.intervals_without_intensity > 0 THEN format_string(
                           'partial: %d of %d intervals without intensity (first %s), %.3f kWh left out',
                           p.intervals_without_intensity, s.interval_count,
                           date_format(p.first_interval_without_intensity, "yyyy-MM-dd HH:mm'Z'"),
                           s.energy_kwh - p.attributed_kwh) END,
                       CASE WHEN s.session_end >= timestamp_seconds({epoch(scope.end_utc)}) THEN format_string(
                           'cut: still charging at %s, the end of the days read ({LOOKAHEAD_DAYS} after its month)',
                           date_format(s.session_end, "yyyy-MM-dd HH:mm'Z'")) END
                   ), ''), 'complete') AS status,
                   {local_part('year', 's.session_start')} AS year, {local_part('month', 's.session_start')} AS month
            FROM sessions s JOIN per_model p ON p.home_id = s.home_id AND p.session_start = s.session_start
            LEFT JOIN reference r ON r.home_id = s.home_id AND r.session_start = s.session_start AND r.basis = p.basis
        )
        SELECT {columns} FROM rows WHERE {month_predicate(months)}"""
    return sessions, models, rows


def write_ev_sessions(spark, registry: Registry, months: list[Month], *,
                      months_per_query: int = MONTHS_PER_QUERY) -> list:
    """Recompute gold.ev_sessions for ``months`` (other months untouched); returns the rows written.

    Collected before the write (a few hundred rows a year): the writer's range check and the write would each run
    the query."""
    writer = DeltaWriter(spark, registry)
    table = spec(EV_SESSIONS)
    written: list = []
    for chunk in month_chunks(months, months_per_query):
        rows = _staged_rows(spark, writer, registry, chunk)
        writer.replace_months(EV_SESSIONS, spark.createDataFrame(rows, schema=table.ddl), chunk)
        written.extend(rows)
    return written


def _staged_rows(spark, writer: DeltaWriter, registry: Registry, months: list[Month]) -> list:
    """The rows of :func:`ev_session_rows_sql` with its ``per_interval`` relation (the attribution join) computed
    once into a scratch copy (:func:`~emission_assets.gold.scratch.staged_query`): the query reads it twice, and the
    engine computed each reference anew."""
    sessions, per_interval, _ = _session_parts(registry, months)
    with staged_query(spark, writer, EV_SESSIONS, "per_interval",
                      sessions + per_interval + "\n        ) SELECT * FROM per_interval") as staged:
        return spark.sql(sessions + _session_parts(registry, months, staged)[2]).collect()


def sessions_missing_intensity(rows: list) -> list[str]:
    """One line per session x model x basis with intervals left out for lack of intensity (sample)."""
    return [f"{r.session_id} {r.model}/{r.basis}: {r.status}" for r in rows
            if r.intervals_without_intensity][:SAMPLE]
