"""The shifting counterfactual (``gold.ev_shift_savings``): each EV session's energy charged in the cleanest slots of
its plug-in window instead, per model and basis, and what that would have saved.

- **Window**: from the session's start to the next ready-by time (default 07:00 Europe/Berlin wall clock) strictly
  after the start; a DST night makes it an hour shorter or longer, as the clock says. Nothing is ever moved before
  the session started (the car was not plugged in) or after the window.
- **Slots**: the gold.grid_intensity intervals of the model's region (the home region; the control area for
  locality) that overlap the window, clipped to it. A slot takes at most the charger power x its hours (the
  session's ``charger_kw``, from silver.consumption.ev_charge_kw, default
  :data:`~emission_assets.tibber.silver.DEFAULT_EV_CHARGE_KW`); within a slot the energy is spread evenly, so the
  power never exceeds the charger's (where in a slot does not change its CO2).
- **Greedy per model**: slots in order of g/kWh (ties: the earlier slot), each filled up to its capacity until the
  session's energy is placed, the last one partially. For a fixed set of slots with a capacity each this is the
  lowest-CO2 placement. Each model picks its own slots: the disagreement is the point. gold.grid_intensity holds
  one resolution per region and day (silver's finest-resolution rule), so slots never overlap.
- **What is moved**: the session's kWh that have an actual CO2 figure for the model (``attributed_kwh`` of
  gold.ev_sessions); kWh of session intervals without intensity are left out of both sides, named in the status.
  Household load is not shifted.
- **Partial results** (never a silent zero; each a name in ``status`` and a sentence in ``note``):
  ``window_too_short``: what does not fit the usable window at charger power stays where it was, at the session's
  own g/kWh for the model (``unfit_kwh``); ``no_following_morning``: the data has no intensity up to the ready-by
  time, so the window ends at the last intensity available; ``window_hours_without_intensity``: slots without
  intensity (missing production hours) are not used; ``session_intervals_without_intensity``: see above.
- **Where the models disagree**: ``same_slots_as_average_share`` is the share of the model's shifted kWh placed at
  the same times as the average model places the same session's kWh (1 for the average model itself);
  ``cleanest_slot_start`` / ``cleanest_slot_g_per_kwh`` are the model's cleanest slot of the window.

A month's run reads gold.grid_intensity up to :data:`WINDOW_LOOKAHEAD_DAYS` after its last month (a window of the
last evening ends the next morning); a window the data does not reach yet is cut and says so, and the next run
after the following month's intensity arrived completes it (the asset depends on that month too).
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from emission_assets.errors import UserInputError
from emission_assets.gold.ev_savings import EV_SHIFT_SAVINGS
from emission_assets.gold.ev_sessions import (
    EV_SESSIONS,
    GRID_INTENSITY,
    SpanScope,
    local_part,
    month_span,
    region_filter,
    typed_columns,
)
from emission_assets.gold.months import Month, month_chunks
from emission_assets.gold.scratch import staged_query
from emission_assets.lakehouse.registry import Registry, spec
from emission_assets.lakehouse.writer import DeltaWriter, month_predicate
from emission_assets.models.production import LOCAL_TIME_ZONE

DEFAULT_READY_BY = "07:00"
WINDOW_LOOKAHEAD_DAYS = 2  # a window is at most 25 hours (a DST autumn night)
MONTHS_PER_QUERY = 12  # a year's sessions and windows are a few thousand rows; each query costs its planning
EPSILON_KWH = 1e-6  # below this an unplaced remainder is rounding, not energy
_READY_BY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def check_ready_by(value: str) -> tuple[int, int]:
    """``HH:MM`` (24 h, local wall clock) -> (hour, minute); anything else is the user's mistake."""
    found = _READY_BY.match(value or "")
    if not found:
        raise UserInputError(f"ready_by={value!r} is not a local time HH:MM (00:00..23:59), e.g. 07:00")
    return int(found.group(1)), int(found.group(2))


def _hours(start: str, end: str) -> str:
    return f"(CAST(unix_seconds({end}) - unix_seconds({start}) AS DOUBLE) / 3600)"


def _utc_text(column: str) -> str:
    return f"date_format({column}, \"yyyy-MM-dd HH:mm'Z'\")"


def _allocation_ctes(registry: Registry, months: list[Month], ready_by: str) -> str:
    """The WITH clauses up to ``allocated``: one row per session x model x basis x slot with its placed kWh."""
    hour, minute = check_ready_by(ready_by)
    scope = SpanScope(registry, *month_span(months, 0, WINDOW_LOOKAHEAD_DAYS))
    tz = LOCAL_TIME_ZONE
    return f"""
        WITH sessions AS (
            SELECT * FROM {registry.sql_name(EV_SESSIONS)} WHERE {month_predicate(months)}
        ), intensity AS (
            SELECT interval_start, interval_end, model, basis, g_per_kwh FROM {scope.sql_name(GRID_INTENSITY)}
            WHERE {region_filter()} AND g_per_kwh IS NOT NULL
        ), data_end AS (
            SELECT model, basis, max(interval_end) AS data_end FROM intensity GROUP BY model, basis
        ), local_starts AS (
            SELECT *, from_utc_timestamp(session_start, '{tz}') AS local_start,
                   date_trunc('DAY', from_utc_timestamp(session_start, '{tz}')) + INTERVAL '{hour}' HOUR
                       + INTERVAL '{minute}' MINUTE AS same_day_ready
            FROM sessions
        ), targets AS (
            SELECT *, to_utc_timestamp(CASE WHEN same_day_ready > local_start THEN same_day_ready
                                            ELSE same_day_ready + INTERVAL 1 DAY END, '{tz}') AS ready_by
            FROM local_starts
        ), windows AS (
            SELECT t.*, t.attributed_kwh AS need_kwh,
                   least(t.ready_by, greatest(t.session_start, coalesce(e.data_end, t.session_start))) AS window_end,
                   (e.data_end IS NULL OR e.data_end < t.ready_by) AS window_cut
            FROM targets t LEFT JOIN data_end e ON e.model = t.model AND e.basis = t.basis
        ), slots AS (
            SELECT w.home_id, w.session_id, w.model, w.basis, w.charger_kw, w.need_kwh, w.session_start,
                   w.window_end, greatest(i.interval_start, w.session_start) AS slot_start,
                   least(i.interval_end, w.window_end) AS slot_end, i.g_per_kwh
            FROM windows w JOIN intensity i
              ON i.model = w.model AND i.basis = w.basis
             AND i.interval_start < w.window_end AND i.interval_end > w.session_start
        ), ranked AS (
            SELECT *, {_hours('slot_start', 'slot_end')} AS slot_hours,
                   charger_kw * {_hours('slot_start', 'slot_end')} AS capacity_kwh,
                   row_number() OVER (PARTITION BY session_id, model, basis ORDER BY g_per_kwh, slot_start)
                       AS clean_rank
            FROM slots
        ), cumulated AS (
            SELECT *, sum(capacity_kwh) OVER (PARTITION BY session_id, model, basis ORDER BY clean_rank
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS through_kwh
            FROM ranked
        ), allocated AS (
            SELECT *, least(capacity_kwh, greatest(DOUBLE(0), need_kwh - (through_kwh - capacity_kwh))) AS allocated_kwh
            FROM cumulated
        )"""


def shift_slots_sql(registry: Registry, months: list[Month], ready_by: str = DEFAULT_READY_BY) -> str:
    """Every slot of every window (sessions starting in ``months``) with its rank and the kWh placed in it: the
    detail behind gold.ev_shift_savings (tests check the invariants on it)."""
    return _allocation_ctes(registry, months, ready_by) + """
        SELECT home_id, session_id, model, basis, session_start, window_end, charger_kw, need_kwh, slot_start,
               slot_end, slot_hours, g_per_kwh, clean_rank, capacity_kwh, allocated_kwh,
               allocated_kwh / slot_hours AS power_kw
        FROM allocated"""


def ev_shift_rows_sql(registry: Registry, months: list[Month], ready_by: str = DEFAULT_READY_BY) -> str:
    """The gold.ev_shift_savings rows of the sessions that start in ``months`` (columns of the table spec)."""
    return _allocation_ctes(registry, months, ready_by) + "\n        ," + _savings_ctes(ready_by)


def _savings_ctes(ready_by: str, windows: str = "windows", allocated: str = "allocated") -> str:
    """The WITH clauses after ``allocated`` and the final SELECT of gold.ev_shift_savings, over the relations
    ``windows`` and ``allocated`` (the CTEs of :func:`_allocation_ctes`, or staged copies of them)."""
    columns = typed_columns(EV_SHIFT_SAVINGS)
    window_hours = _hours("w.session_start", "w.window_end")
    return f""" per_session AS (
            SELECT session_id, model, basis, sum(allocated_kwh) AS fitted_kwh,
                   sum(allocated_kwh * g_per_kwh) / 1000 AS fitted_kg, sum(slot_hours) AS available_hours,
                   min(CASE WHEN allocated_kwh > 0 THEN slot_start END) AS shifted_start,
                   max(CASE WHEN allocated_kwh > 0 THEN slot_end END) AS shifted_end,
                   min_by(slot_start, clean_rank) AS cleanest_slot_start, min(g_per_kwh) AS cleanest_slot_g_per_kwh
            FROM {allocated} GROUP BY session_id, model, basis
        ), common AS (
            SELECT m.session_id, m.model, m.basis,
                   sum(least(m.allocated_kwh / m.slot_hours, a.allocated_kwh / a.slot_hours)
                       * {_hours('greatest(m.slot_start, a.slot_start)', 'least(m.slot_end, a.slot_end)')})
                       AS common_kwh
            FROM {allocated} m JOIN {allocated} a
              ON a.session_id = m.session_id AND a.basis = m.basis AND a.model = 'average'
             AND a.slot_start < m.slot_end AND a.slot_end > m.slot_start
            WHERE m.allocated_kwh > 0 AND a.allocated_kwh > 0
            GROUP BY m.session_id, m.model, m.basis
        ), figures AS (
            SELECT w.*, {window_hours} AS window_hours,
                   greatest({window_hours} - coalesce(p.available_hours, DOUBLE(0)), DOUBLE(0)) AS window_hours_without_intensity,
                   round(greatest(w.need_kwh - coalesce(p.fitted_kwh, DOUBLE(0)), DOUBLE(0)), 6) AS unfit_kwh,
                   coalesce(p.fitted_kg, DOUBLE(0)) AS fitted_kg, p.shifted_start, p.shifted_end, p.cleanest_slot_start,
                   p.cleanest_slot_g_per_kwh,
                   CASE WHEN coalesce(p.fitted_kwh, DOUBLE(0)) > 0 AND v.session_id IS NOT NULL
                        THEN least(coalesce(c.common_kwh, DOUBLE(0)) / p.fitted_kwh, DOUBLE(1)) END AS same_slots_as_average_share
            FROM {windows} w
            LEFT JOIN per_session p ON p.session_id = w.session_id AND p.model = w.model AND p.basis = w.basis
            LEFT JOIN common c ON c.session_id = w.session_id AND c.model = w.model AND c.basis = w.basis
            LEFT JOIN per_session v ON v.session_id = w.session_id AND v.basis = w.basis AND v.model = 'average'
        ), shifted AS (
            SELECT *, CASE WHEN need_kwh > 0 THEN fitted_kg + unfit_kwh * g_per_kwh / 1000 END AS shifted_kg,
                   unfit_kwh > {EPSILON_KWH} AS too_short,
                   window_hours_without_intensity > {EPSILON_KWH} AS window_gaps
            FROM figures
        ), rows AS (
            SELECT home_id, session_id, session_start, session_end, model, basis, '{ready_by}' AS ready_by_local,
                   ready_by, session_start AS window_start, window_end, window_hours, window_hours_without_intensity,
                   charger_kw, need_kwh AS energy_kwh, emissions_kg AS actual_kg, g_per_kwh AS actual_g_per_kwh,
                   shifted_kg, shifted_kg * 1000 / nullif(need_kwh, 0) AS shifted_g_per_kwh,
                   round(emissions_kg - shifted_kg, 9) AS saved_kg, unfit_kwh, shifted_start, shifted_end,
                   cleanest_slot_start, cleanest_slot_g_per_kwh, same_slots_as_average_share,
                   coalesce(nullif(concat_ws(',',
                       CASE WHEN too_short THEN 'window_too_short' END,
                       CASE WHEN window_cut THEN 'no_following_morning' END,
                       CASE WHEN window_gaps THEN 'window_hours_without_intensity' END,
                       CASE WHEN intervals_without_intensity > 0 THEN 'session_intervals_without_intensity' END
                   ), ''), 'complete') AS status,
                   coalesce(nullif(concat_ws('; ',
                       CASE WHEN too_short THEN format_string(
                           '%.3f kWh did not fit the window at %.1f kW and stay as charged (%.1f g/kWh)',
                           unfit_kwh, charger_kw, g_per_kwh) END,
                       CASE WHEN window_cut THEN format_string(
                           'no intensity after %s: window cut %.2f h before the ready-by time %s',
                           {_utc_text('window_end')}, {_hours('window_end', 'ready_by')}, {_utc_text('ready_by')}) END,
                       CASE WHEN window_gaps THEN format_string(
                           '%.2f window hours without intensity not used', window_hours_without_intensity) END,
                       CASE WHEN intervals_without_intensity > 0 THEN concat('session ', status) END
                   ), ''), 'every kWh shifted within the window') AS note,
                   year, month
            FROM shifted
        )
        SELECT {columns} FROM rows"""


def write_ev_shift_savings(spark, registry: Registry, months: list[Month], ready_by: str = DEFAULT_READY_BY, *,
                           months_per_query: int = MONTHS_PER_QUERY) -> list:
    """Recompute gold.ev_shift_savings for ``months`` from gold.ev_sessions and gold.grid_intensity; returns the
    rows written (collected first: a few hundred a year)."""
    check_ready_by(ready_by)
    writer = DeltaWriter(spark, registry)
    table = spec(EV_SHIFT_SAVINGS)
    written: list = []
    for chunk in month_chunks(months, months_per_query):
        rows = _staged_rows(spark, writer, registry, chunk, ready_by)
        writer.replace_months(EV_SHIFT_SAVINGS, spark.createDataFrame(rows, schema=table.ddl), chunk)
        written.extend(rows)
    return written


def _staged_rows(spark, writer: DeltaWriter, registry: Registry, months: list[Month], ready_by: str) -> list:
    """The rows of :func:`ev_shift_rows_sql` with its ``windows`` and ``allocated`` relations computed once each
    (:func:`~emission_assets.gold.scratch.staged_query`): the query reads ``allocated`` four times and ``windows``
    five times, and the engine computed each reference anew (the allocation's slot join and window functions four
    times over)."""
    ctes = _allocation_ctes(registry, months, ready_by)
    with staged_query(spark, writer, EV_SHIFT_SAVINGS, "windows", ctes + " SELECT * FROM windows") as windows, \
            staged_query(spark, writer, EV_SHIFT_SAVINGS, "allocated",
                         ctes + " SELECT * FROM allocated") as allocated:
        return spark.sql("WITH" + _savings_ctes(ready_by, windows, allocated)).collect()


# --- the demo's / a report's table ---------------------------------------------------------------------------------

def ev_summary_sql(registry: Registry, first: date, last: date, basis: str) -> str:
    """Per model, over the sessions that start on the local days ``first..last``: sessions, kWh, kg and g/kWh as
    charged, the grid average of the same hours, and the counterfactual (shifted kg, saved kg and share), with how
    often the model chose the average model's slots and its most frequent cleanest local hour (over the sessions
    shifting saved something in: a window of equal slots has no cleanest hour)."""
    local_day = f"to_date(from_utc_timestamp(s.session_start, '{LOCAL_TIME_ZONE}'))"
    end = last + timedelta(days=1)
    return f"""
        WITH sessions AS (
            SELECT * FROM {registry.sql_name(EV_SESSIONS)} s
            WHERE s.basis = '{basis}' AND {local_day} >= DATE'{first}' AND {local_day} < DATE'{end}'
        ), savings AS (
            SELECT v.* FROM {registry.sql_name(EV_SHIFT_SAVINGS)} v
            JOIN sessions s ON s.session_id = v.session_id AND s.model = v.model AND s.basis = v.basis
        ), hours AS (
            SELECT model, {local_part('hour', 'cleanest_slot_start')} AS hour_local, count(*) AS n
            FROM savings WHERE cleanest_slot_start IS NOT NULL AND saved_kg > 0 GROUP BY model, 2
        ), top_hour AS (
            SELECT model, min_by(hour_local, -n * 100 + hour_local) AS cleanest_hour_local FROM hours GROUP BY model
        ), charged AS (
            SELECT model, count(*) AS sessions, sum(energy_kwh) AS energy_kwh, sum(attributed_kwh) AS attributed_kwh,
                   sum(emissions_kg) AS actual_kg,
                   sum(grid_average_g_per_kwh * energy_kwh) / nullif(sum(CASE WHEN grid_average_g_per_kwh IS NOT NULL
                                                                            THEN energy_kwh END), 0)
                       AS grid_average_g_per_kwh
            FROM sessions GROUP BY model
        ), counterfactual AS (
            SELECT model, sum(shifted_kg) AS shifted_kg, sum(saved_kg) AS saved_kg,
                   avg(same_slots_as_average_share) AS same_slots_as_average_share,
                   count_if(status <> 'complete') AS partial_sessions, sum(unfit_kwh) AS unfit_kwh,
                   concat_ws(' ', sort_array(collect_set(ready_by_local))) AS ready_by_local
            FROM savings GROUP BY model
        )
        SELECT c.model, c.sessions, c.energy_kwh, c.actual_kg, c.actual_kg * 1000 / nullif(c.attributed_kwh, 0)
                   AS g_per_kwh, c.grid_average_g_per_kwh, f.shifted_kg, f.saved_kg,
               f.saved_kg / nullif(c.actual_kg, 0) AS saved_share, f.same_slots_as_average_share,
               t.cleanest_hour_local, f.partial_sessions, f.unfit_kwh, f.ready_by_local
        FROM charged c LEFT JOIN counterfactual f ON f.model = c.model LEFT JOIN top_hour t ON t.model = c.model
        ORDER BY c.model"""


def partial_counts_sql(registry: Registry, first: date, last: date, basis: str) -> str:
    """How many sessions x models of ``first..last`` carry each partial-result name."""
    local_day = f"to_date(from_utc_timestamp(session_start, '{LOCAL_TIME_ZONE}'))"
    return f"""
        SELECT name, count(*) AS n FROM (
            SELECT explode(split(status, ',')) AS name FROM {registry.sql_name(EV_SHIFT_SAVINGS)}
            WHERE basis = '{basis}' AND {local_day} >= DATE'{first}' AND {local_day} <= DATE'{last}'
        ) WHERE name <> 'complete' GROUP BY name ORDER BY name"""
