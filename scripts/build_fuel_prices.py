"""Rebuild the bundled fuel and EUA price table (emission_assets/data/fuel_prices.csv), 2019-01 .. 2023-12.

Inputs (downloaded by hand; neither is bundled):
- World Bank Commodity Price Data ("Pink Sheet"), ``CMO-Historical-Data-Monthly.xlsx``, sheet "Monthly Prices"
  (CC BY 4.0): "Natural gas, Europe" ($/mmbtu; TTF since April 2015), "Coal, South African **" ($/mt; f.o.b.
  Richards Bay, NAR 6,000 kcal/kg), "Crude oil, Brent" ($/bbl).
- ECB euro foreign exchange reference rates, ``eurofxref-hist.csv`` (daily USD per EUR; the ECB's reference
  rates may be reused with the source named): the month's mean of the daily rates converts the month.

Conversions to EUR per MWh of fuel energy on a net (lower heating value) basis:
- gas: 1 mmbtu = 0.293071 MWh; hub gas is traded on a gross calorific basis, NCV = 0.9 x GCV for natural gas
  (IEA/Eurostat convention), so EUR/MWh_NCV = USD/mmbtu / 0.293071 / 0.9 / (USD per EUR);
- coal: NAR 6,000 kcal/kg is already a net, as-received value: 6,000 kcal/kg x 4.1868 kJ/kcal = 25.12 GJ/t
  = 6.978 MWh/t;
- oil: 1 bbl = 0.136 toe (US DOE/EIA conversion chart), 1 toe = 41.868 GJ = 11.63 MWh (NCV) -> 1.582 MWh/bbl.
EUA rows (yearly, EUR/t CO2) are not computed here: they are the DEHSt/UBA yearly average auction prices and are
kept from the existing file (their rows name their source).

Usage (from the repository root):
    .venv/bin/python scripts/build_fuel_prices.py path/to/CMO-Historical-Data-Monthly.xlsx path/to/eurofxref-hist.csv
Deterministic: the same inputs give the same bytes.
"""
from __future__ import annotations

import csv
import re
import statistics
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "emission_assets" / "data" / "fuel_prices.csv"
HEADER = ("commodity", "valid_from", "price", "unit", "source", "licence", "note")
YEARS = range(2019, 2024)

MWH_PER_MMBTU = 0.293071
NCV_PER_GCV_GAS = 0.9
MWH_PER_T_COAL = 6000 * 4.1868 / 3600  # 6,000 kcal/kg NAR in MWh per tonne
MWH_PER_BBL = 0.136 * 11.63

PINK = "World Bank Commodity Price Data (Pink Sheet), CMO-Historical-Data-Monthly.xlsx"
ECB = "ECB euro reference rate USD (monthly mean of daily rates)"
SERIES = {
    # commodity: (Pink Sheet column title, MWh per unit, conversion text)
    "natural_gas": ("Natural gas, Europe", MWH_PER_MMBTU * NCV_PER_GCV_GAS,
                    "USD/mmbtu / 0.293071 MWh/mmbtu / 0.9 (NCV/GCV) / USD per EUR"),
    "hard_coal": ("Coal, South African **", MWH_PER_T_COAL,
                  "USD/t / 6.978 MWh/t (NAR 6000 kcal/kg = 25.12 GJ/t) / USD per EUR"),
    "oil": ("Crude oil, Brent", MWH_PER_BBL, "USD/bbl / 1.582 MWh/bbl (0.136 toe/bbl x 11.63 MWh/toe) / USD per EUR"),
}
NOTES = {
    "natural_gas": "TTF hub price (Pink Sheet series since 2015-04); wholesale, without network charges or taxes",
    "hard_coal": "steam coal f.o.b. Richards Bay (Atlantic-basin proxy for ARA imports); freight to ARA and "
                 "inland transport not included",
    "oil": "crude Brent as a proxy for the heavy and light fuel oil fired in German plants (products trade at a "
           "spread to crude)",
}

# The Pink Sheet's "Description" sheet: these South African coal months are World Bank estimates "based on similar
# benchmarks" (the source has no assessment for them).
COAL_SA_ESTIMATED = {(2022, m) for m in range(6, 12)} | {(2023, m) for m in (3, 4, 6, 7, 8, 9, 12)}

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def read_sheet(path: Path, name: str) -> list[dict[str, str]]:
    """The cells of one worksheet as one {column letter: text} per row (xlsx read with the standard library)."""
    book = zipfile.ZipFile(path)
    strings = []
    if "xl/sharedStrings.xml" in book.namelist():
        for item in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", _NS):
            strings.append("".join(t.text or "" for t in item.iter(f"{{{_NS['m']}}}t")))
    targets = {r.get("Id"): r.get("Target") for r in ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))}
    sheet = next(s for s in ET.fromstring(book.read("xl/workbook.xml")).find("m:sheets", _NS) if s.get("name") == name)
    target = targets[sheet.get(_REL)].lstrip("/")
    target = target if target.startswith("xl/") else "xl/" + target
    rows = []
    for row in ET.fromstring(book.read(target)).iter(f"{{{_NS['m']}}}row"):
        cells = {}
        for cell in row.findall("m:c", _NS):
            value = cell.find("m:v", _NS)
            if value is None:
                continue
            text = strings[int(value.text)] if cell.get("t") == "s" else value.text
            cells[re.match(r"[A-Z]+", cell.get("r")).group(0)] = text
        rows.append(cells)
    return rows


def pink_sheet(path: Path) -> dict[str, dict[tuple[int, int], float]]:
    rows = read_sheet(path, "Monthly Prices")
    titles = next(r for r in rows if "Natural gas, Europe" in r.values())
    columns = {commodity: next(k for k, v in titles.items() if v == title)
               for commodity, (title, _, _) in SERIES.items()}
    out: dict[str, dict[tuple[int, int], float]] = defaultdict(dict)
    for row in rows:
        match = re.fullmatch(r"(\d{4})M(\d{2})", row.get("A", ""))
        if match and int(match.group(1)) in YEARS:
            for commodity, column in columns.items():
                out[commodity][(int(match.group(1)), int(match.group(2)))] = float(row[column])
    return out


def usd_per_eur(path: Path) -> dict[tuple[int, int], float]:
    days: dict[tuple[int, int], list[float]] = defaultdict(list)
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            day = datetime.strptime(row["Date"], "%Y-%m-%d").date()
            if day.year in YEARS and row["USD"] not in ("", "N/A"):
                days[(day.year, day.month)].append(float(row["USD"]))
    return {month: statistics.fmean(rates) for month, rates in days.items()}


def build(pink_path: Path, ecb_path: Path) -> list[tuple]:
    prices, rates = pink_sheet(pink_path), usd_per_eur(ecb_path)
    rows = []
    for commodity, (title, mwh_per_unit, conversion) in SERIES.items():
        for (year, month), usd in sorted(prices[commodity].items()):
            rate = rates[(year, month)]
            eur = usd / mwh_per_unit / rate
            note = NOTES[commodity]
            if commodity == "hard_coal" and (year, month) in COAL_SA_ESTIMATED:
                note += "; this month is a World Bank estimate based on similar benchmarks (Pink Sheet Description)"
            rows.append((commodity, f"{year}-{month:02d}-01", f"{eur:.2f}", "EUR/MWh_th",
                         f"{PINK} '{title}' {year}M{month:02d} = {usd:.2f} USD; {ECB} {rate:.4f} USD/EUR; {conversion}",
                         "CC BY 4.0 (World Bank); ECB reference rates (source named)", note))
    existing = []
    if TARGET.exists():
        with open(TARGET, newline="", encoding="utf-8") as handle:
            existing = [tuple(r[c] for c in HEADER) for r in csv.DictReader(handle) if r["commodity"] == "eua"]
    return rows + existing


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("Usage")[1], file=sys.stderr)
        return 2
    rows = build(Path(argv[0]), Path(argv[1]))
    with open(TARGET, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
