"""Write the dated direct and lifecycle factors of lignite, hard coal and natural gas, one version per year
2015..2023, into emission_assets/data/emission_factors.csv (the other rows are kept as they are).

Per year Y and SMARD type, the fleet is the units of ``emission_assets/data/plant_units.csv`` (OPSD, see
plant_units.md) operating in Y by the merit-order model's rule: ``commissioned_year <= Y`` and (``shutdown_year``
empty or ``> Y``). Its efficiency is the **capacity-weighted** mean of the units' net efficiencies: no per-unit
generation is bundled (OPSD has none; ENTSO-E per-unit output is not in the project), so generation weights cannot be
computed from committed data. Capacity weights give rarely-run old units the weight of their megawatts: for gas they
lower the fleet efficiency against a generation-weighted mean (CCGTs run more hours than old steam/OCGT units).

direct g/kWh = UBA fuel CO2 factor (t CO2 per MWh of fuel, lower heating value) / fleet efficiency x 1000;
lifecycle = direct + the IPCC AR5 upstream share the file already uses (coal 60, gas 120 g/kWh).

The OPSD shutdown years end in 2019 (its data stand): 2020..2023 repeat 2019's fleet, and each such row says so.
"other_conventional" keeps its single project-estimate version: plant_units.csv holds only its oil units, while
SMARD's category is mostly waste, mine and process gas (see emission_factors.md).

Usage (from the repository root; deterministic, idempotent):
    .venv/bin/python scripts/build_dated_factors.py
"""
from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "emission_assets" / "data" / "plant_units.csv"
FACTORS = ROOT / "emission_assets" / "data" / "emission_factors.csv"
YEARS = range(2015, 2024)
LAST_LIST_YEAR = 2019  # the OPSD list's shutdown years end here

UBA = ("UBA fuel CO2 factors (UBA Climate Change 27/2016 and DEHSt, as tabulated by LfU Brandenburg "
       "'CO2-Emissionsfaktoren nach Energietraegern')")
# SMARD type: (t CO2 per MWh_th, UBA fuel, upstream g/kWh, upstream source)
FUELS = {
    "lignite": (0.407, "raw lignite 0.113 t CO2/GJ = 0.407 t/MWh_th", 60,
                "IPCC AR5 WG3 Annex III Table A.III.2 coal PC indirect (820 - 760 = 60)"),
    "hard_coal": (0.335, "raw hard coal 0.093 t CO2/GJ = 0.335 t/MWh_th", 60,
                  "IPCC AR5 WG3 Annex III Table A.III.2 coal PC indirect (820 - 760 = 60)"),
    "natural_gas": (0.202, "natural gas 0.056 t CO2/GJ = 0.202 t/MWh_th", 120,
                    "IPCC AR5 WG3 Annex III Table A.III.2 gas CCGT indirect (490 - 370 = 120)"),
}


def fleet(units: list[dict], production_type: str, year: int) -> tuple[int, float, float]:
    """(units, net MW, capacity-weighted net efficiency) of the type's units operating in ``year``."""
    operating = [u for u in units if u["production_type"] == production_type
                 and int(u["commissioned_year"]) <= year
                 and (not u["shutdown_year"] or int(u["shutdown_year"]) > year)]
    megawatts = sum(float(u["capacity_net_mw"]) for u in operating)
    efficiency = sum(float(u["capacity_net_mw"]) * float(u["efficiency"]) for u in operating) / megawatts
    return len(operating), megawatts, efficiency


def dated_rows(units: list[dict]) -> dict[tuple[str, str], list[dict]]:
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for production_type, (co2, fuel_text, upstream, upstream_source) in FUELS.items():
        for year in YEARS:
            count, megawatts, efficiency = fleet(units, production_type, min(year, LAST_LIST_YEAR))
            direct = round(co2 / efficiency * 1000)
            fleet_text = (f"{count} OPSD units {megawatts / 1000:.2f} GW operating in {min(year, LAST_LIST_YEAR)} "
                          f"(plant_units.csv), capacity-weighted net efficiency {efficiency:.4f}")
            repeated = (f"; {year} repeats the {LAST_LIST_YEAR} fleet (the OPSD list's shutdown years end in "
                        f"{LAST_LIST_YEAR})" if year > LAST_LIST_YEAR else "")
            rows[(production_type, "direct")].append({
                "production_type": production_type, "basis": "direct", "g_per_kwh": str(direct),
                "valid_from": f"{year}-01-01",
                "source": f"{UBA} {fuel_text} / fleet efficiency: {fleet_text}",
                "note": f"CO2 from combustion only: {co2} / {efficiency:.4f} x 1000 = {direct}{repeated}",
            })
            rows[(production_type, "lifecycle")].append({
                "production_type": production_type, "basis": "lifecycle", "g_per_kwh": str(direct + upstream),
                "valid_from": f"{year}-01-01",
                "source": f"German direct (this file, {year}) + {upstream_source}",
                "note": f"lifecycle = direct {direct} + upstream {upstream}{repeated}",
            })
    return rows


def main() -> int:
    with open(UNITS, newline="", encoding="utf-8") as handle:
        units = list(csv.DictReader(handle))
    with open(FACTORS, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, existing = reader.fieldnames, list(reader)
    generated = dated_rows(units)
    out, written = [], set()
    for row in existing:
        key = (row["production_type"], row["basis"])
        if key not in generated:
            out.append(row)
        elif key not in written:  # the generated series replaces every version of the type/basis, in place
            out.extend(generated[key])
            written.add(key)
    with open(FACTORS, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    print(f"wrote {len(out)} rows to {FACTORS} ({sum(map(len, generated.values()))} dated fossil rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
