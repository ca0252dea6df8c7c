"""Regenerate docs/validation.md: the merit-order model checked on the real 2019-2023 SMARD export (DE, hourly).

Usage (from the repository root, ~1-3 min on 2 cores):
    PYTHONPATH=$PWD .venv/bin/python scripts/validate_merit_order.py [--output docs/validation.md] [--no-sensitivity]

Loads the bundled export (merit_validation/data/, Bundesnetzagentur | SMARD.de, CC BY 4.0) into a temporary
lakehouse on the embedded engine with the product's own CSV import and silver transform, runs the product's model
SQL, and writes the document (see merit_validation/). Prints the time of each step.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from merit_validation.report import render  # noqa: E402
from merit_validation.run import run  # noqa: E402

COMMAND = "python scripts/validate_merit_order.py"


@click.command(help=__doc__.splitlines()[0])
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=ROOT / "docs" / "validation.md",
              show_default=True, help="where the document is written")
@click.option("--sensitivity/--no-sensitivity", default=True, show_default=True,
              help="compute the sensitivity table (one model run per parameter setting)")
def main(output: Path, sensitivity: bool) -> None:
    started = time.perf_counter()
    click.echo("merit-order validation on the bundled SMARD export")
    results = run(with_sensitivity=sensitivity, echo=click.echo)
    results.command = COMMAND + ("" if sensitivity else " --no-sensitivity")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(results), encoding="utf-8")
    if results.pending:
        click.echo("pending sections: " + ", ".join(results.pending))
    click.echo(f"wrote {output} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
