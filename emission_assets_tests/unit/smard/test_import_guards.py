"""Import guards on real SMARD export excerpts: a national file under a control area's name, and a consumption
export where generation is expected (and back), are refused with the reason, and nothing is written."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.settings import paths
from emission_assets.smard.csv_import import SmardCsvError, import_smard_csv, read_smard_csv
from emission_assets.timeutil import UTC
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.paths import FIXTURES

FIXTURES = FIXTURES / "smard"
AUTUMN = FIXTURES / "smard_realisierte_erzeugung_DE_hour_2022-10-29_2022-10-31.csv"
QUARTER = FIXTURES / "smard_realisierte_erzeugung_DE_quarterhour_2025-08-28_2025-08-29.csv"
CONSUMPTION = FIXTURES / "smard_realisierter_stromverbrauch_DE_hour_2023-12-23_2023-12-24.csv"
CONSUMPTION_QUARTER = FIXTURES / "smard_realisierter_stromverbrauch_DE_quarterhour_2025-08-28_2025-08-28.csv"
IMPORTED_AT = datetime(2025, 9, 10, 12, 0, tzinfo=UTC)
# 876 values of 12 series x 73 hours, of which 839 are not zero in both files (photovoltaics at night, ...)
AUTUMN_NON_ZERO = 839


def stored(reservoir_root: Path) -> list[Path]:
    return sorted(reservoir_root.rglob("*.meta.json")) if reservoir_root.exists() else []


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def regional_variant(tmp_path: Path, source: Path, factor: float, name: str) -> Path:
    """The real export with every value scaled (a stand-in for a control area's export: its shares differ)."""
    text = source.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    rows = []
    for row in lines[1:]:
        cells = row.split(";")
        time_columns = 3 if ":" in cells[1] else 2
        scaled = [cell if cell == "-" else _german(_number(cell) * factor) for cell in cells[time_columns:]]
        rows.append(";".join(cells[:time_columns] + scaled))
    path = tmp_path / name
    path.write_text("\ufeff" + "\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return path


def _number(cell: str) -> float:
    return float(cell.replace(".", "").replace(",", "."))


def _german(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


# --- the export kind -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "kind"), [(AUTUMN, "generation"), (QUARTER, "generation"),
                                            (CONSUMPTION, "consumption"), (CONSUMPTION_QUARTER, "consumption")])
def test_the_header_tells_generation_from_consumption(path, kind):
    assert read_smard_csv(path).export == kind


def test_the_header_decides_even_when_the_file_name_says_otherwise(tmp_path):
    renamed = tmp_path / "mein_stromverbrauch.csv"
    renamed.write_bytes(AUTUMN.read_bytes())
    assert read_smard_csv(renamed).export == "generation"


def test_a_file_mixing_both_exports_is_refused(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("Datum;Anfang;Ende;Braunkohle [MWh] Berechnete Auflösungen;Residuallast [MWh] Berechnete "
                    "Auflösungen\n02.01.2023;00:00;01:00;1;2\n", encoding="utf-8")
    with pytest.raises(SmardCsvError, match=r"mixed\.csv, line 1: mixes generation columns \('Braunkohle"):
        read_smard_csv(path)


@pytest.mark.parametrize("consumption", [CONSUMPTION, CONSUMPTION_QUARTER])
def test_a_consumption_export_is_refused_as_generation_and_nothing_is_written(consumption):
    line = one_error_line(run("import", "smard-csv", str(AUTUMN), str(consumption)))

    assert line.startswith(f"Error: {consumption}, line 1: is a consumption export (Realisierter Stromverbrauch: "
                           "columns "), line
    assert "not a generation export (Realisierte Erzeugung); to import it as consumption, pass --kind consumption" \
        in line
    assert stored(paths().reservoir) == []  # the good generation file in the same call is not half-imported


def test_a_generation_export_is_refused_as_consumption_and_nothing_is_written():
    line = one_error_line(run("import", "smard-csv", "--kind", "consumption", str(AUTUMN)))
    assert "is a generation export (Realisierte Erzeugung: columns 'Biomasse', 'Wasserkraft', 'Wind Offshore'), " \
           "not a consumption export" in line
    assert stored(paths().reservoir) == []


def test_a_consumption_export_imports_with_kind_consumption():
    result = run("import", "smard-csv", "--kind", "consumption", str(CONSUMPTION))
    assert result.exit_code == 0, result.output
    assert {p.name.split("_")[0] for p in stored(paths().reservoir)} == {"410", "4359"}


# --- the region ------------------------------------------------------------------------------------------------


def test_a_national_file_imported_as_tennet_is_refused_naming_the_region_it_equals():
    assert run("import", "smard-csv", str(AUTUMN)).exit_code == 0
    before = stored(paths().reservoir)

    line = one_error_line(run("import", "smard-csv", "--region", "TenneT", str(AUTUMN)))

    assert line == (
        f"Error: {AUTUMN}: --region TenneT refused: its values equal the DE series already in the reservoir for "
        f"2022-10-29..2022-10-31 ({AUTUMN_NON_ZERO} values compared, all equal): this file looks like the DE export; "
        "import it with --region DE"
    )
    assert stored(paths().reservoir) == before  # no TenneT window written


def test_the_guard_works_the_other_way_round(tmp_path):
    """A national file first stored as TenneT (by mistake) makes the same file under DE a refusal too: the user
    learns of the first mistake instead of holding two regions with one series."""
    reservoir = Reservoir(tmp_path)
    import_smard_csv(QUARTER, "TenneT", reservoir, imported_at=IMPORTED_AT)
    written = len(stored(tmp_path))

    with pytest.raises(SmardCsvError, match=re.escape("--region DE refused: its values equal the TenneT series "
                                                      "already in the reservoir for 2025-08-28..2025-08-29")):
        import_smard_csv(QUARTER, "DE", reservoir, imported_at=IMPORTED_AT)
    assert len(stored(tmp_path)) == written


def test_a_control_area_file_with_its_own_values_is_imported_beside_the_national_one(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    import_smard_csv(AUTUMN, "DE", reservoir, imported_at=IMPORTED_AT)
    tennet = regional_variant(tmp_path, AUTUMN, 0.31, "tennet.csv")

    summary = import_smard_csv(tennet, "TenneT", reservoir, imported_at=IMPORTED_AT)

    assert summary.windows_written == 24 and summary.values == 876
    assert {f.meta["region"] for f in summary.written} == {"TenneT"}


def test_re_importing_the_same_region_is_not_a_conflict(tmp_path):
    reservoir = Reservoir(tmp_path)
    import_smard_csv(AUTUMN, "DE", reservoir, imported_at=IMPORTED_AT)
    later = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)
    assert import_smard_csv(AUTUMN, "DE", reservoir, imported_at=later).windows_written == 24


def test_a_few_equal_values_are_not_enough_to_refuse(tmp_path):
    """Two hours equal to DE's (24 values, 22 not zero: photovoltaics is 0 at night) stay below the 24 needed."""
    reservoir = Reservoir(tmp_path / "reservoir")
    import_smard_csv(AUTUMN, "DE", reservoir, imported_at=IMPORTED_AT)
    lines = AUTUMN.read_text(encoding="utf-8-sig").splitlines()
    excerpt = tmp_path / "two_hours.csv"
    excerpt.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")

    summary = import_smard_csv(excerpt, "TenneT", reservoir, imported_at=IMPORTED_AT)
    assert summary.values == 24
