"""Rebuild the bundled unit table of the fossil fleet (emission_assets/data/plant_units.csv) from the OPSD plant list.

Source: Open Power System Data, "Conventional power plants" (``conventional_power_plants_DE.csv``), read from
``../shared/data/plants/opsd_conventional_power_plants_DE.csv`` (or the path given as the first argument). One row
per OPSD block of the fossil fleet the merit-order stack dispatches (see ``plant_units.md`` for the choices):

- ``energy_source`` Lignite -> lignite, Hard coal -> hard_coal, Oil -> oil (SMARD type other_conventional),
  Natural gas -> natural_gas_ccgt when its efficiency reaches the CCGT threshold of ``merit_order.yaml``
  (``ccgt_min_efficiency``, the elmada rule), else natural_gas_other (both SMARD type natural_gas).
- ``status`` operating or shutdown only: reserve (the lignite security standby), seasonal conservation, temporary
  shutdown and special cases were outside the market at the list's date and the list gives no date for that.
- efficiency = ``efficiency_data`` where OPSD has a sourced value, else ``efficiency_estimate``; blocks with neither
  (22 gas/oil blocks shut down before 2020, all without a commissioning year) are left out.
- ``unit_id`` = the OPSD id; an id used by two blocks gets ``-1``, ``-2`` in list order.

Deterministic: the same input gives the same bytes.

Usage (from the repository root):
    .venv/bin/python scripts/build_plant_units.py [path/to/opsd_conventional_power_plants_DE.csv]
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "plants" / "opsd_conventional_power_plants_DE.csv"
TARGET = ROOT / "emission_assets" / "data" / "plant_units.csv"
PARAMETERS = ROOT / "emission_assets" / "data" / "merit_order.yaml"

COLUMNS = [
    "unit_id", "name", "fuel", "production_type", "capacity_net_mw", "efficiency", "efficiency_source",
    "commissioned_year", "shutdown_year", "eic_code_block", "network_operator",
]
FUEL_OF_ENERGY_SOURCE = {"Lignite": "lignite", "Hard coal": "hard_coal", "Natural gas": "natural_gas", "Oil": "oil"}
PRODUCTION_TYPE_OF_FUEL = {
    "lignite": "lignite", "hard_coal": "hard_coal", "natural_gas_ccgt": "natural_gas",
    "natural_gas_other": "natural_gas", "oil": "other_conventional",
}
MARKET_STATUSES = ("operating", "shutdown")


def ccgt_min_efficiency(path: Path = PARAMETERS) -> float:
    """The CCGT threshold from the committed parameter file (0.5, the elmada rule, before that file exists)."""
    if not path.exists():
        return 0.5
    return float(yaml.safe_load(path.read_text())["parameters"]["ccgt_min_efficiency"]["value"])


def _unique_ids(ids: pd.Series) -> pd.Series:
    position = ids.groupby(ids).cumcount() + 1
    repeated = ids.duplicated(keep=False)
    return ids.where(~repeated, ids + "-" + position.astype(str))


def _year(values: pd.Series) -> pd.Series:
    return values.round().astype("Int64")


def build(source: Path, ccgt_threshold: float) -> pd.DataFrame:
    plants = pd.read_csv(source, dtype={"id": str})
    plants = plants[plants["energy_source"].isin(FUEL_OF_ENERGY_SOURCE) & plants["status"].isin(MARKET_STATUSES)]
    plants = plants[plants["capacity_net_bnetza"].fillna(0) > 0].copy()
    plants["efficiency"] = plants["efficiency_data"].fillna(plants["efficiency_estimate"])
    plants["efficiency_source"] = plants["efficiency_data"].notna().map(
        {True: "efficiency_data", False: "efficiency_estimate"})
    plants = plants.dropna(subset=["efficiency"])
    fuel = plants["energy_source"].map(FUEL_OF_ENERGY_SOURCE)
    gas_class = (plants["efficiency"] >= ccgt_threshold).map({True: "natural_gas_ccgt", False: "natural_gas_other"})
    plants["fuel"] = fuel.where(fuel != "natural_gas", gas_class)
    block = plants["block_bnetza"].fillna("").astype(str).str.strip()
    name = plants["name_bnetza"].fillna(plants["name_uba"]).fillna("").astype(str).str.strip()
    table = pd.DataFrame({
        "unit_id": _unique_ids(plants["id"]),
        "name": (name + " " + block).str.strip(),
        "fuel": plants["fuel"],
        "production_type": plants["fuel"].map(PRODUCTION_TYPE_OF_FUEL),
        "capacity_net_mw": plants["capacity_net_bnetza"].round(3),
        "efficiency": plants["efficiency"].round(4),
        "efficiency_source": plants["efficiency_source"],
        "commissioned_year": _year(plants["commissioned"]),
        "shutdown_year": _year(plants["shutdown"]),
        "eic_code_block": plants["eic_code_block"],
        "network_operator": plants["network_operator"],
    })
    return table.sort_values("unit_id", kind="stable")[COLUMNS].reset_index(drop=True)


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    if not source.exists():
        print(f"OPSD plant list not found at {source}; the bundled {TARGET.name} stays as it is", file=sys.stderr)
        return 1
    table = build(source, ccgt_min_efficiency())
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(TARGET, index=False, lineterminator="\n")
    summary = table.groupby("fuel").agg(units=("unit_id", "count"), capacity_net_mw=("capacity_net_mw", "sum"))
    print(summary.round(1).to_string())
    print(f"wrote {TARGET} ({len(table)} units)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
