"""What ``emission-tracker advise`` says: the cleanest contiguous window to charge ``kwh`` at the charger's power
inside the plug-in window of a night (or day), per model, from gold.intensity_forecast; without forecast rows for
the window, from the historical profile (gold.intensity_profile), labelled as such.

The plug-in window: from ``--from`` (default 18:00, when the car is home) to ``--by`` (default 07:00) on day D; when
``--from`` is not before ``--by`` (the usual night) it starts on D-1. So the default asks: "I plug in this evening,
the car must be full by 07:00 tomorrow: when should it charge?". Local wall-clock times (Europe/Berlin); a DST
night is an hour shorter or longer, which the window search (on UTC intervals) accounts for.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd

from emission_assets.errors import UserInputError
from emission_assets.forecast.windows import Run, longest_run_hours
from emission_assets.lakehouse.writer import day_predicate
from emission_assets.timeutil import BERLIN, UTC

FORECAST = "gold.intensity_forecast"
PROFILE = "gold.intensity_profile"
DEFAULT_FROM = time(18, 0)
DEFAULT_BY = time(7, 0)
SOURCE_FORECAST = "forecast"
SOURCE_PROFILE = "historical profile, not a forecast"


def parse_clock(value: str, what: str) -> time:
    """``HH:MM`` (local wall clock)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise UserInputError(f"{what} {value!r} is not a time of day in the form HH:MM (e.g. 07:00)")
    return time(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class PlugInWindow:
    start: datetime  # UTC
    end: datetime

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    def local_text(self) -> str:
        a, b = self.start.astimezone(BERLIN), self.end.astimezone(BERLIN)
        return f"{a:%a %Y-%m-%d %H:%M} .. {b:%a %Y-%m-%d %H:%M} (Europe/Berlin, {self.hours:g} h)"


def plug_in_window(day: date, plug_in: time = DEFAULT_FROM, by: time = DEFAULT_BY) -> PlugInWindow:
    """From ``plug_in`` (on D-1 when it is not before ``by``) to ``by`` on ``day``, local time."""
    start_day = day - timedelta(days=1) if plug_in >= by else day
    start = datetime.combine(start_day, plug_in, tzinfo=BERLIN).astimezone(UTC)
    end = datetime.combine(day, by, tzinfo=BERLIN).astimezone(UTC)
    return PlugInWindow(start, end)


@dataclass(frozen=True)
class ModelAdvice:
    model: str
    start: datetime | None  # UTC; None: no window long enough in the data
    end: datetime | None
    g_per_kwh: float | None
    kg: float | None
    plug_in_now_g_per_kwh: float | None  # charging straight away at plug-in (the reference)
    note: str = ""


@dataclass
class Advice:
    source: str  # SOURCE_FORECAST or SOURCE_PROFILE
    detail: str  # where the figures come from (fit / fetch time, or the profile's month)
    window: PlugInWindow
    kwh: float
    charger_kw: float
    basis: str
    region: str
    models: list[ModelAdvice] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def charge_hours(self) -> float:
        return self.kwh / self.charger_kw


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
    return frame


def forecast_intervals(spark, registry, window: PlugInWindow, region: str, basis: str) -> pd.DataFrame:
    """gold.intensity_forecast rows inside the window (whole intervals only)."""
    first = window.start.astimezone(BERLIN).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(BERLIN).date()
    sql = f"""
        SELECT interval_start, interval_end, model, g_per_kwh, method, fit_first_day, fit_last_day, forecast_fetched_at
        FROM {registry.sql_name(FORECAST)}
        WHERE {day_predicate(first, last)} AND region = '{region}' AND basis = '{basis}' AND g_per_kwh IS NOT NULL
          AND interval_start >= TIMESTAMP '{window.start:%Y-%m-%d %H:%M:%S}'
          AND interval_end <= TIMESTAMP '{window.end:%Y-%m-%d %H:%M:%S}'"""
    return _utc(spark.sql(sql).toPandas(), "interval_start", "interval_end", "forecast_fetched_at")


def profile_intervals(spark, registry, window: PlugInWindow, day: date, region: str, basis: str) -> tuple[pd.DataFrame, str]:
    """Hourly steps over the window with the historical profile's g/kWh of their local hour and day type (the
    month of ``day``, its latest year up to ``day``'s; any year if none), per model; and which year-month it is."""
    from emission_assets.lakehouse.registry import TABLES

    if PROFILE not in TABLES:  # the profile's table is not part of this installation
        return pd.DataFrame(), ""
    table = registry.sql_name(PROFILE)
    years = [r.year for r in spark.sql(
        f"SELECT DISTINCT year FROM {table} WHERE month = {day.month} AND region = '{region}' AND basis = '{basis}' "
        "ORDER BY year DESC").collect()]
    if not years:
        return pd.DataFrame(), ""
    year = next((y for y in years if y <= day.year), years[0])
    profile = spark.sql(
        f"SELECT model, day_type, hour_local, g_per_kwh FROM {table} WHERE year = {year} AND month = {day.month} "
        f"AND region = '{region}' AND basis = '{basis}'").toPandas()
    g = {(r.model, r.day_type, int(r.hour_local)): float(r.g_per_kwh) for r in profile.itertuples()}
    rows = []
    start = window.start
    while start < window.end:
        end = min(start + timedelta(hours=1), window.end)
        local = start.astimezone(BERLIN)
        day_type = "weekend" if local.weekday() >= 5 else "weekday"
        for model in sorted(set(profile["model"])):
            value = g.get((model, day_type, local.hour))
            if value is not None:
                rows.append((start, end, model, value))
        start = end
    frame = pd.DataFrame(rows, columns=["interval_start", "interval_end", "model", "g_per_kwh"])
    return frame, f"gold.intensity_profile {year}-{day.month:02d}, weekday/weekend hours"


def _advise_model(model: str, rows: pd.DataFrame, window: PlugInWindow, kwh: float, hours_needed: float,
                  warnings: list[str]) -> ModelAdvice:
    run = Run(rows)
    covered = float(sum(run.hours))
    note = ""
    if covered < window.hours - 1e-9:
        note = f"data covers {covered:g} of the window's {window.hours:g} h"
    best = run.cleanest(hours_needed)
    if best is None:
        longest = longest_run_hours(rows)
        warnings.append(f"window_too_short: {model}: the longest stretch with data in the window is {longest:g} h, "
                        f"{kwh:g} kWh need {hours_needed:.2f} h at the charger's power; no window for this model")
        return ModelAdvice(model, None, None, None, None, None, note or "not enough hours with data")
    now = run.mean_from(0, hours_needed) if run.starts and run.starts[0] == window.start else None
    if float(rows["g_per_kwh"].max() - rows["g_per_kwh"].min()) < 1e-9:
        note = "; ".join(filter(None, [note, "flat: every window the same"]))
    return ModelAdvice(model, best.start, best.end, best.g_per_kwh, best.g_per_kwh * kwh / 1000.0, now, note)


def advise(spark, registry, day: date, kwh: float, charger_kw: float, plug_in: time, by: time, basis: str,
           region: str) -> Advice:
    """The cleanest window per model for ``kwh`` at ``charger_kw`` in the plug-in window of ``day``."""
    if not kwh > 0:
        raise UserInputError(f"--kwh {kwh:g} must be more than 0 (the energy to charge, kWh)")
    if not charger_kw > 0:
        raise UserInputError(f"--kw {charger_kw:g} must be more than 0 (the charger's power, kW)")
    window = plug_in_window(day, plug_in, by)
    hours_needed = kwh / charger_kw
    if hours_needed > window.hours + 1e-9:
        raise UserInputError(
            f"window too short: {kwh:g} kWh at {charger_kw:g} kW need {hours_needed:.2f} h, the plug-in window "
            f"{window.local_text()} has {window.hours:g} h (choose an earlier --from, a later --by or less --kwh)")
    rows = forecast_intervals(spark, registry, window, region, basis)
    if not rows.empty:
        fetched = rows["forecast_fetched_at"].max()
        methods = ", ".join(sorted(set(rows["method"])))
        detail = (f"gold.intensity_forecast: SMARD day-ahead forecast fetched {fetched:%Y-%m-%d %H:%M} UTC, fit "
                  f"{methods} on gold.grid_intensity {min(rows['fit_first_day'])}..{max(rows['fit_last_day'])}")
        advice = Advice(SOURCE_FORECAST, detail, window, kwh, charger_kw, basis, region)
    else:
        rows, detail = profile_intervals(spark, registry, window, day, region, basis)
        if rows.empty:
            raise UserInputError(
                f"no forecast for {window.local_text()} in gold.intensity_forecast ({region}, {basis}) and no "
                f"historical profile for month {day.month:02d} in gold.intensity_profile: materialise "
                "gold/intensity_forecast (from silver/grid_forecast) or gold/intensity_profile first")
        advice = Advice(SOURCE_PROFILE, detail, window, kwh, charger_kw, basis, region)
        advice.warnings.append(f"no forecast data for this window in gold.intensity_forecast (offline, or not "
                               f"materialised): falling back to the {SOURCE_PROFILE} ({detail})")
    for model, model_rows in rows.groupby("model", sort=True):
        advice.models.append(_advise_model(model, model_rows, window, kwh, hours_needed, advice.warnings))
    return advice


def advice_table(advice: Advice) -> list[dict]:
    """One row per model for printing."""
    def local(moment):  # with CET/CEST: a DST night's repeated 02:00 hour is otherwise ambiguous
        return moment.astimezone(BERLIN).strftime("%a %H:%M %Z") if moment is not None else "-"

    table = []
    for m in advice.models:
        saved = (None if m.plug_in_now_g_per_kwh is None or m.g_per_kwh is None
                 else (m.plug_in_now_g_per_kwh - m.g_per_kwh) * advice.kwh / 1000.0)
        table.append({"model": m.model, "charge from": local(m.start), "until": local(m.end),
                      "expected g/kWh": m.g_per_kwh, "kg CO2": m.kg, "charging at plug-in g/kWh":
                      m.plug_in_now_g_per_kwh, "kg saved": saved, "note": m.note})
    return table
