"""The market-based view (GHG Protocol Scope 2 dual reporting): ``gold.market_based_monthly``.

Location-based figures (the models of gold.grid_intensity) say what the grid emitted where the household draws;
the market-based figure says what the household bought: its consumption times the factor its supplier disclosed
(the legal Stromkennzeichnung, section 42 EnWG), or, when the user has not set one, the published German residual
mix (the mix left after the certified green electricity was claimed by others).

Which factor applies (``$EMISSION_SUPPLIER_G_PER_KWH`` with ``$EMISSION_SUPPLIER_SOURCE``, or ``$EMISSION_SUPPLIER``
naming rows of :data:`FACTORS_PATH`, or neither) is read when the view's SQL is built, and the factors go into the
SQL as a VALUES list with their sources: the view shows where each month's figure came from, and a changed table
or setting changes the view asset's code version. A year without its own factor takes the latest earlier one
(residual mixes are published in the following year), said so in ``factor_note``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emission_assets import sourced_csv
from emission_assets.errors import UserInputError
from emission_assets.lakehouse.registry import Registry
from emission_assets.settings import settings

VIEW = "gold.market_based_monthly"
FACTORS_PATH = Path(__file__).resolve().parent.parent / "data" / "market_based_factors.csv"
COLUMNS = ("kind", "supplier", "year", "g_co2_per_kwh", "checked", "source", "licence", "note")
KINDS = ("residual_mix", "supplier")
USER_SETTING = "user_setting"  # factor_kind of $EMISSION_SUPPLIER_G_PER_KWH
SUPPLIER_VARIABLE = "EMISSION_SUPPLIER_G_PER_KWH"
# The view's columns (one row per local month and home).
VIEW_COLUMNS = ("year", "month", "home_id", "basis", "energy_kwh", "ev_kwh", "household_kwh", "g_per_kwh",
                "emissions_kg", "ev_emissions_kg", "household_emissions_kg", "factor_year", "factor_kind",
                "is_supplier_factor", "factor_source", "factor_note")


@dataclass(frozen=True)
class MarketFactor:
    """One row of the table: a published factor of one year (direct CO2, g per kWh consumed)."""

    kind: str
    supplier: str
    year: int
    g_per_kwh: float
    checked: str
    source: str
    licence: str
    note: str = ""


def read_factors(path: Path | str | None = None) -> list[MarketFactor]:
    """The table's rows, validated: ``kind`` residual_mix (``supplier`` empty) or supplier (``supplier`` named), a
    year, a factor 0..2000 g/kWh, how it was checked, a source and a licence, no (kind, supplier, year) twice.
    A ``ValueError`` names the file, line and column."""
    path = Path(path) if path is not None else FACTORS_PATH
    found: list[MarketFactor] = []
    seen: dict[tuple, int] = {}
    for line, cells in sourced_csv.rows(path, COLUMNS):
        kind = sourced_csv.choice(path, line, "kind", cells["kind"], KINDS)
        supplier = cells["supplier"]
        if kind == "supplier" and not supplier:
            raise sourced_csv.cell_error(path, line, "supplier", "a supplier row needs the supplier's name")
        if kind == "residual_mix" and supplier:
            raise sourced_csv.cell_error(path, line, "supplier", f"a residual_mix row names no supplier, got "
                                                                 f"{supplier!r}")
        year = sourced_csv.year(path, line, "year", cells["year"])
        factor = sourced_csv.g_per_kwh(path, line, "g_co2_per_kwh", cells["g_co2_per_kwh"])
        checked = sourced_csv.choice(path, line, "checked", cells["checked"], sourced_csv.CHECKED)
        source = sourced_csv.required(path, line, "source", cells["source"], "every factor needs a source")
        licence = sourced_csv.required(path, line, "licence", cells["licence"],
                                       "every factor needs its licence (or 'figure quoted with attribution')")
        sourced_csv.unique(seen, (kind, supplier.casefold(), year), path, line, "year",
                           lambda: f"({kind}, {supplier or '-'}, {year})")
        found.append(MarketFactor(kind, supplier, year, factor, checked, source, licence, cells["note"]))
    return found


@dataclass(frozen=True)
class Candidate:
    """A factor the view may use: from ``applies_from`` on (the latest applicable one wins; supplier first)."""

    applies_from: int
    factor_year: int | None
    g_per_kwh: float
    kind: str
    is_supplier: bool
    source: str


def _label(factor: MarketFactor) -> str:
    unverified = " [unverified]" if factor.checked == "unverified" else ""
    who = f"supplier {factor.supplier}" if factor.kind == "supplier" else "German residual mix"
    return f"{who} {factor.year}: {factor.source}{unverified}"


def candidates(path: Path | str | None = None) -> list[Candidate]:
    """The factors the current settings select, with the residual mix as the fallback of every year."""
    gold = settings().gold
    table = read_factors(path)
    residual = [Candidate(f.year, f.year, f.g_per_kwh, f.kind, False, _label(f))
                for f in table if f.kind == "residual_mix"]
    if gold.supplier_g_per_kwh is not None and gold.supplier:
        raise UserInputError(f"set either {SUPPLIER_VARIABLE} or EMISSION_SUPPLIER, not both")
    if gold.supplier_g_per_kwh is not None:
        source = gold.supplier_source or f"{SUPPLIER_VARIABLE} (your setting, no source given)"
        return [Candidate(0, None, gold.supplier_g_per_kwh, USER_SETTING, True, f"your supplier: {source}"), *residual]
    if gold.supplier:
        wanted = gold.supplier.casefold()
        rows = [f for f in table if f.kind == "supplier" and f.supplier.casefold() == wanted]
        if not rows:
            known = sorted({f.supplier for f in table if f.kind == "supplier"})
            raise UserInputError(f"EMISSION_SUPPLIER={gold.supplier!r} is not in {Path(path or FACTORS_PATH).name}; "
                                 f"known suppliers: {', '.join(known) or 'none'} (or set {SUPPLIER_VARIABLE})")
        return [*(Candidate(f.year, f.year, f.g_per_kwh, f.kind, True, _label(f)) for f in rows), *residual]
    return residual


def _literal(value) -> str:
    if value is None:
        return "CAST(NULL AS INT)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def factors_values_sql(found: list[Candidate]) -> str:
    """The candidates as an inline relation (a never-matching row when there are none, so the SQL stays valid)."""
    rows = [(c.applies_from, c.factor_year, c.g_per_kwh, c.kind, c.is_supplier, c.source) for c in found]
    if not rows:
        rows = [(9999, None, 0.0, "none", False, "no factor")]
    values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return (f"SELECT * FROM VALUES {values} "
            "AS f(applies_from, factor_year, g_per_kwh, factor_kind, is_supplier_factor, factor_source)")


def market_based_sql(registry: Registry, path: Path | str | None = None) -> str:
    """Per local month and home: kWh (total, EV, household), the market-based g/kWh of the month's year, kg, and
    the factor's year, kind, source and whether it is the supplier's. A month before the first factor has NULL
    g/kWh and kg (``factor_note`` says so)."""
    return f"""
        WITH consumption AS (
            SELECT year, month, home_id, sum(energy_kwh) AS energy_kwh, sum(ev_kwh) AS ev_kwh,
                   sum(household_kwh) AS household_kwh
            FROM {registry.sql_name('silver.consumption')}
            GROUP BY year, month, home_id
        ), factors AS ({factors_values_sql(candidates(path))}
        ), ranked AS (
            SELECT c.*, f.factor_year, f.g_per_kwh, f.factor_kind, f.is_supplier_factor, f.factor_source,
                   row_number() OVER (PARTITION BY c.year, c.month, c.home_id
                                      ORDER BY f.is_supplier_factor DESC, f.applies_from DESC) AS choice
            FROM consumption c LEFT JOIN factors f ON f.applies_from <= c.year
        )
        SELECT year, month, home_id, 'direct' AS basis, energy_kwh, ev_kwh, household_kwh, g_per_kwh,
               CAST(energy_kwh AS DOUBLE) * g_per_kwh / 1000 AS emissions_kg,
               CAST(ev_kwh AS DOUBLE) * g_per_kwh / 1000 AS ev_emissions_kg,
               CAST(household_kwh AS DOUBLE) * g_per_kwh / 1000 AS household_emissions_kg,
               factor_year, factor_kind, coalesce(is_supplier_factor, false) AS is_supplier_factor, factor_source,
               CASE WHEN g_per_kwh IS NULL THEN concat('no market-based factor for ', year)
                    WHEN factor_year IS NULL OR factor_year = year THEN ''
                    ELSE concat('no ', year, ' figure: latest earlier one (', factor_year, ')') END AS factor_note
        FROM ranked WHERE choice = 1"""
