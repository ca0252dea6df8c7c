"""The models report: per month, the households' kWh and the kg CO2(eq) each attribution model gives them.

:func:`monthly_report` reads gold.emissions_monthly (the location-based models) and gold.market_based_monthly (the
market-based figure, direct basis only), :func:`report_frame` sums all homes per month and model,
:func:`plot_models` draws it as a PNG (one bar per model and month, household load solid and EV charging hatched on
top, UBA's national factor x the month's kWh as a marker), :func:`format_report` renders it as a text table with the
market-based factor's source and the UBA reference per year (:mod:`emission_assets.gold.reference`).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

MODELS = ("average", "merit_order", "worst_emitter", "locality")  # location-based: gold.emissions_monthly
MARKET_MODEL = "market_based"  # gold.market_based_monthly
REPORT_MODELS = (*MODELS, MARKET_MODEL)
BASES = ("direct", "lifecycle")
ATTRIBUTION = ("Data: Bundesnetzagentur | SMARD.de (CC BY 4.0); residual mix: AIB European Residual Mixes; "
               "national factor: Umweltbundesamt")
ENERGY_COLUMNS = ("energy_kwh", "ev_kwh", "household_kwh")
MODEL_COLORS = {"average": "#4C72B0", "merit_order": "#DD8452", "worst_emitter": "#C44E52", "locality": "#55A868",
                MARKET_MODEL: "#8172B3"}
# The gold.market_based_monthly columns the report reads.
MARKET_COLUMNS = ("year", "month", "home_id", "basis", "energy_kwh", "ev_kwh", "household_kwh", "emissions_kg",
                  "ev_emissions_kg", "household_emissions_kg", "factor_year", "is_supplier_factor", "factor_source",
                  "factor_note")


def model_columns(model: str) -> tuple[str, str, str]:
    """The frame's (total, EV, household) kg columns of a model."""
    return f"{model}_kg", f"{model}_ev_kg", f"{model}_household_kg"


def _month_key(day: date) -> int:
    return day.year * 100 + day.month


def monthly_report(spark, registry, start: date, end: date, basis: str) -> pd.DataFrame:
    """One row per month of ``start``..``end`` (whole months, both ends included) that has data, from
    ``registry``'s gold.emissions_monthly table. See :func:`report_frame` for the columns."""
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; choose one of {', '.join(BASES)}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    source = registry.sql_name("gold.emissions_monthly")
    months = f"year * 100 + month BETWEEN {_month_key(start)} AND {_month_key(end)}"
    rows = spark.sql(f"SELECT {', '.join(ROW_COLUMNS)} FROM {source} WHERE basis = '{basis}' AND {months}").toPandas()
    return report_frame(rows, basis, start, end, market_rows(spark, registry, months))


def market_rows(spark, registry, where: str | None = None) -> pd.DataFrame | None:
    """gold.market_based_monthly's rows (:data:`MARKET_COLUMNS`), or None when its asset has not created it."""
    from emission_assets.gold.market_based import VIEW

    schema = f"{registry.catalog}.gold" if registry.catalog else "gold"
    views = {r.viewName if hasattr(r, "viewName") else r.tableName for r in spark.sql(f"SHOW VIEWS IN {schema}").collect()}
    if VIEW.split(".", 1)[1] not in views:
        return None
    sql = f"SELECT {', '.join(MARKET_COLUMNS)} FROM {registry.sql_name(VIEW)}" + (f" WHERE {where}" if where else "")
    return spark.sql(sql).toPandas()


# The gold.emissions_monthly columns the report needs (one row per month, home, model and basis).
ROW_COLUMNS = ("year", "month", "home_id", "model", "basis", "energy_kwh", "ev_kwh", "household_kwh", "emissions_kg",
               "ev_emissions_kg", "household_emissions_kg")


def report_frame(rows: pd.DataFrame, basis: str, start: date | None = None, end: date | None = None,
                 market: pd.DataFrame | None = None) -> pd.DataFrame:
    """The report's frame from gold.emissions_monthly rows (:data:`ROW_COLUMNS`; other bases are ignored) and
    gold.market_based_monthly rows (:data:`MARKET_COLUMNS`, direct basis; None: the view is not there).

    Columns: ``year``, ``month``, ``period`` (YYYY-MM), ``energy_kwh``, ``ev_kwh``, ``household_kwh`` (all homes), and
    per model of :data:`REPORT_MODELS` ``<model>_kg``, ``<model>_ev_kg``, ``<model>_household_kg`` (NaN where the
    model has no rows). A home's kWh is taken once per month (the largest over the models, which all attribute the
    same consumption). ``frame.attrs`` holds basis, start and end for the plot's title, and ``market_sources``: per
    year of the frame, the market-based factor's source and note (``market_missing`` says why there is none).
    """
    rows = rows[rows["basis"] == basis].copy()
    sources: dict[int, str] = {}
    market_missing = None
    if market is None:
        market_missing = "gold.market_based_monthly is not created yet (materialise gold/market_based_monthly)"
    elif basis != "direct":
        market_missing = "market-based factors are direct CO2 only (see --basis direct)"
    else:
        market = market[market["basis"] == basis]
        for (year,), part in market.groupby(["year"]):
            labels = sorted({f"{s}" + (f" ({n})" if n else "") for s, n in zip(part["factor_source"].fillna(""),
                                                                                part["factor_note"].fillna(""))})
            sources[int(year)] = "; ".join(labels)
        market = market.assign(model=MARKET_MODEL)[list(ROW_COLUMNS)]
        rows = pd.concat([rows, market], ignore_index=True) if not rows.empty else market.copy()
    for column in ROW_COLUMNS[5:]:
        rows[column] = rows[column].astype(float)
    rows = rows.astype({"year": int, "month": int})
    energy_columns = list(ENERGY_COLUMNS)
    per_home = rows.groupby(["year", "month", "home_id"], as_index=False)[energy_columns].max()
    frame = per_home.groupby(["year", "month"], as_index=False)[energy_columns].sum()
    frame = frame.sort_values(["year", "month"]).reset_index(drop=True)
    emissions = rows.groupby(["year", "month", "model"], as_index=False)[
        ["emissions_kg", "ev_emissions_kg", "household_emissions_kg"]].sum()
    for model in REPORT_MODELS:
        part = emissions[emissions["model"] == model].drop(columns="model")
        part = part.rename(columns=dict(zip(("emissions_kg", "ev_emissions_kg", "household_emissions_kg"),
                                            model_columns(model))))
        frame = frame.merge(part, on=["year", "month"], how="left")
    frame.insert(2, "period", [f"{y:04d}-{m:02d}" for y, m in zip(frame["year"], frame["month"])])
    for column in frame.columns[3:]:
        frame[column] = frame[column].astype(float)
    frame.attrs.update(basis=basis, start=start.isoformat() if start else None, end=end.isoformat() if end else None,
                       market_sources={y: sources[y] for y in sorted(set(frame["year"])) if y in sources},
                       market_missing=market_missing)
    return frame


def _title(frame: pd.DataFrame) -> str:
    basis = frame.attrs.get("basis", "?")
    if frame.attrs.get("start") and frame.attrs.get("end"):
        period = f"{frame.attrs['start']} to {frame.attrs['end']}"
    elif len(frame):
        period = f"{frame['period'].iloc[0]} to {frame['period'].iloc[-1]}"
    else:
        period = "no data"
    return f"Household CO2 per attribution model ({basis} emissions), {period}"


def plot_models(frame: pd.DataFrame, path: Path | str) -> Path:
    """A PNG of kg CO2(eq) per month: the models' bars side by side (market-based last), household solid with EV
    hatched on top; on the direct basis, UBA's national factor of the month's year x the month's kWh as a black
    marker (the official reference, :mod:`emission_assets.gold.reference`)."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # Agg, and no pyplot state: safe in threads
    )
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    months = list(frame["period"])
    width = 0.8 / len(REPORT_MODELS)
    figure = Figure(figsize=(max(8.0, 1.1 * len(months) + 3), 5.5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    top_kg = 0.0
    for index, model in enumerate(REPORT_MODELS):
        _, ev, household = model_columns(model)
        positions = [m + (index - (len(REPORT_MODELS) - 1) / 2) * width for m in range(len(months))]
        color = MODEL_COLORS[model]
        household_kg = list(frame[household].fillna(0.0)) if household in frame else [0.0] * len(months)
        ev_kg = list(frame[ev].fillna(0.0)) if ev in frame else [0.0] * len(months)
        # One collection per model and layer rather than Axes.bar's patch per bar: the same rectangles, drawn
        # in one call (a year's chart has ~100 bars; patches made the chart ~2x slower to build and draw).
        for bottoms, heights, style in ((None, household_kg, {}), (household_kg, ev_kg, {"alpha": 0.55, "hatch": "///"})):
            bottoms = bottoms or [0.0] * len(heights)
            boxes = [[(x - width / 2, b), (x - width / 2, b + h), (x + width / 2, b + h), (x + width / 2, b)]
                     for x, b, h in zip(positions, bottoms, heights)]
            axes.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="white", linewidths=0.5, **style),
                                autolim=False)
            top_kg = max([top_kg, *(b + h for b, h in zip(bottoms, heights))])
    reference_kg = _reference_kg(frame)
    if reference_kg:
        axes.scatter([m for m, _ in reference_kg], [kg for _, kg in reference_kg], marker="_", s=900, linewidths=2.5,
                     color="black", zorder=5)
        top_kg = max(top_kg, *(kg for _, kg in reference_kg))
    axes.set_xlim(-0.6, max(len(months), 1) - 0.4)
    axes.set_ylim(0.0, top_kg * 1.05 if top_kg > 0 else 1.0)
    axes.set_xticks(range(len(months)), months, rotation=45 if len(months) > 6 else 0, ha="right" if len(months) > 6 else "center")
    axes.set_xlabel("month")
    axes.set_ylabel("kg CO2(eq)")
    axes.set_title(_title(frame))
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    handles = [Patch(facecolor=MODEL_COLORS[m], label=m.replace("_", " ")) for m in REPORT_MODELS]
    if reference_kg:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", marker="_", markersize=14, linestyle="none",
                              label="UBA avg. x kWh"))
    handles += [Patch(facecolor="#999999", label="household load"),
                Patch(facecolor="#cccccc", hatch="///", edgecolor="#555555", label="EV charging")]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if not months:
        axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")
    figure.text(0.01, 0.01, ATTRIBUTION, fontsize=8, color="#555555")
    # Fixed margins in inches (tick labels, rotated month labels, the legend right of the axes) rather than
    # tight_layout, which draws the whole figure once more to measure it (~0.15 s a chart, two charts per report).
    width, height = figure.get_size_inches()
    figure.subplots_adjust(left=0.9 / width, right=1 - 1.95 / width, top=1 - 0.45 / height,
                           bottom=(1.15 if len(months) > 6 else 0.8) / height)
    figure.savefig(path, format="png")
    return path


def _reference_kg(frame: pd.DataFrame) -> list[tuple[int, float]]:
    """(month index, UBA factor x the month's kWh in kg) for the direct-basis months whose year UBA has a figure."""
    from emission_assets.gold.reference import read_uba_factors

    if frame.empty or frame.attrs.get("basis") != "direct":
        return []
    uba = read_uba_factors()
    return [(index, kwh * uba[year].g_per_kwh / 1000)
            for index, (year, kwh) in enumerate(zip(frame["year"], frame["energy_kwh"])) if year in uba]


def market_lines(frame: pd.DataFrame) -> list[str]:
    """Where the market-based figure of each year came from (or why there is none)."""
    if frame.attrs.get("market_missing"):
        return [f"market_based: {frame.attrs['market_missing']}"]
    return [f"market_based {year}: {source}" for year, source in frame.attrs.get("market_sources", {}).items()]


def format_report(frame: pd.DataFrame) -> str:
    """A text table: per month one row per model (kWh on the month's first row), kg total / EV / household, g/kWh;
    then the market-based factor's source per year and the UBA reference per year."""
    from tabulate import tabulate

    from emission_assets.gold.reference import format_reference

    present = [m for m in REPORT_MODELS if model_columns(m)[0] in frame and frame[model_columns(m)[0]].notna().any()]
    absent = [m for m in REPORT_MODELS if m not in present]
    rows = []
    for _, month in frame.iterrows():
        for index, model in enumerate(present):
            total, ev, household = model_columns(model)
            kg = month.get(total)
            rows.append([
                month["period"] if index == 0 else "",
                *(month[c] if index == 0 else None for c in ENERGY_COLUMNS),
                model,
                kg, month.get(ev), month.get(household),
                kg * 1000 / month["energy_kwh"] if pd.notna(kg) and month["energy_kwh"] else None,
            ])
    headers = ["month", "kWh", "EV kWh", "household kWh", "model", "kg CO2", "EV kg", "household kg", "g/kWh"]
    rows = [[None if isinstance(v, float) and pd.isna(v) else v for v in row] for row in rows]
    table = tabulate(rows, headers=headers, tablefmt="github", floatfmt=",.1f", missingval="")
    location_absent = [m for m in absent if m != MARKET_MODEL]
    if location_absent:
        # locality needs production of a control area (50Hertz, Amprion, TenneT, TransnetBW) in silver.production
        table += f"\nno data for: {', '.join(location_absent)}" + (
            " (needs control-area production: materialise with --region <control area>)"
            if "locality" in location_absent else "")
    lines = market_lines(frame)
    if MARKET_MODEL in absent and not frame.attrs.get("market_missing"):
        lines = ["market_based: no rows in gold.market_based_monthly for these months"]
    return "\n".join([table, "location-based: average, merit_order, worst_emitter, locality; market-based "
                              "(GHG Protocol Scope 2): market_based", *lines, "", format_reference(frame)])
