"""Reading the small committed, hand-edited tables (factor and price seeds, published figures: one figure per row,
with its source and licence).

Every bad cell is a ``ValueError`` of one line naming the file, line and column. A base-layer module, so that the
seed dimensions (``emission_assets.factors``) and gold's reference tables share it.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from pathlib import Path

# How a row's figure was checked: against the publisher's own page or document, against a copy of the figure
# in a public dataset that names the publisher, against a verbatim quotation of the document, or not at all.
CHECKED = ("source_page", "source_copy", "quotation", "unverified")


def cell_error(path, line: int, column: str, message: str) -> ValueError:
    return ValueError(f"{path}: line {line}, column {column!r}: {message}")


def rows(path: Path | str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, stripped cells) per data row; the header must be exactly ``columns``."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        if header != columns:
            raise ValueError(f"{path}: line 1: header must be {','.join(columns)}, got {','.join(header)}")
        for raw in reader:
            if None in raw or any(raw[c] is None for c in columns):
                raise ValueError(f"{path}: line {reader.line_num}: expected {len(columns)} columns")
            yield reader.line_num, {c: raw[c].strip() for c in columns}


def year(path, line: int, column: str, text: str, first: int = 1990, last: int = 2100) -> int:
    try:
        value = int(text)
    except ValueError:
        raise cell_error(path, line, column, f"not a year: {text!r}") from None
    if not first <= value <= last:
        raise cell_error(path, line, column, f"year must be {first}..{last}, got {value}")
    return value


def g_per_kwh(path, line: int, column: str, text: str, highest: float = 2000.0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise cell_error(path, line, column, f"not a number: {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= highest:
        raise cell_error(path, line, column, f"must be a number 0..{highest:g} g/kWh, got {text!r}")
    return value


def choice(path, line: int, column: str, text: str, choices: tuple[str, ...]) -> str:
    if text not in choices:
        raise cell_error(path, line, column, f"unknown value {text!r}; choose one of {', '.join(choices)}")
    return text


def required(path, line: int, column: str, text: str, why: str) -> str:
    if not text:
        raise cell_error(path, line, column, why)
    return text


def unique(seen: dict, key: tuple, path, line: int, column: str, label: Callable[[], str]) -> None:
    if key in seen:
        raise cell_error(path, line, column, f"duplicate {label()}; first on line {seen[key]}")
    seen[key] = line
