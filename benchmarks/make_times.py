"""Wall times of ``make demo`` and ``make test`` as a user runs them (``bench.py --with-make-times``, or
``python -m benchmarks.make_times [--targets demo,test]``).

The targets run in this checkout with its ``.venv``, one after the other, each as a top-level ``make`` (the
benchmark's own make variables and settings are not passed on) with ``EMISSION_HOME`` in a fresh temporary folder, so
``make demo`` is a first run. They are timed *after the install*: ``make -q install`` first asks whether
``make install`` has anything to do, and if so it runs (and is timed) separately, so the figures are the README's
"after install" ones. Each target's output goes to a log file; the table shows its exit code and last summary line
(pytest's ``N passed in X s``; ``make demo`` has none).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TARGETS = ("demo", "test")
DEMO_TARGET_S = 30.0  # README: `make demo` <= 30 s after the install
REPOSITORY = Path(__file__).resolve().parents[1]
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR")
_SUMMARY = re.compile(r"\b\d+ (passed|failed|errors?)\b")  # pytest: "603 passed in 164.2s", "2 failed, 601 passed"


@dataclass
class MakeTiming:
    target: str
    wall_s: float
    exit_code: int
    summary: str
    log: Path


def parse_targets(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or any(name not in TARGETS for name in names) or len(set(names)) != len(names):
        raise ValueError(f"--targets {text!r}: expected a comma-separated list of {', '.join(TARGETS)}, each once")
    return names


def summary_line(output: str) -> str:
    """pytest's last result line (``603 passed in 164.2s``), or "" if there is none."""
    for line in reversed(output.splitlines()):
        if _SUMMARY.search(line):
            return line.strip().strip("= ")
    return ""


def clean_environment(environment: dict[str, str]) -> dict[str, str]:
    """The environment of a top-level ``make`` in a user's shell: without the variables an enclosing ``make``
    (``make bench``) sets for its sub-makes."""
    return {name: value for name, value in environment.items() if name not in MAKE_VARIABLES}


def time_targets(targets: list[str], log_dir: Path, environment: dict[str, str] | None = None,
                 repository: Path = REPOSITORY) -> list[MakeTiming]:
    """``make install`` if it has anything to do, then each target; returns their timings (install first, if run).
    Raises FileNotFoundError when there is no ``make`` on the PATH."""
    base = clean_environment(dict(os.environ if environment is None else environment))
    make = shutil.which("make", path=base.get("PATH"))
    if make is None:
        raise FileNotFoundError("no `make` on the PATH: make demo / make test not timed")
    log_dir.mkdir(parents=True, exist_ok=True)
    timings = []
    up_to_date = subprocess.run([make, "-C", str(repository), "-q", "install"], env=base,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0
    print(f"make install: {'up to date (nothing to do)' if up_to_date else 'has work to do: timed on its own'}",
          flush=True)
    for target in ([] if up_to_date else ["install"]) + list(targets):
        with tempfile.TemporaryDirectory(prefix=f"make_{target}_home_") as home:
            log = log_dir / f"make_{target}.log"
            started = time.perf_counter()
            with log.open("w") as handle:
                done = subprocess.run([make, "-C", str(repository), target], env=dict(base, EMISSION_HOME=home),
                                      stdout=handle, stderr=subprocess.STDOUT, check=False)
            wall = time.perf_counter() - started
        timings.append(MakeTiming(target, wall, done.returncode, summary_line(log.read_text(errors="replace")), log))
        print(f"make {target}: {wall:,.1f} s, exit {done.returncode} (log: {log})", flush=True)
    return timings


def table(timings: list[MakeTiming]) -> str:
    from tabulate import tabulate

    rows = []
    for t in timings:
        note = f" (README target: <= {DEMO_TARGET_S:.0f} s after the install)" if t.target == "demo" else ""
        rows.append({"command": f"make {t.target}", "wall s": f"{t.wall_s:,.1f}{note}", "exit": t.exit_code,
                     "last line": t.summary[:100]})
    return tabulate(rows, headers="keys", tablefmt="github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated make targets (default demo,test)")
    parser.add_argument("--logs", type=Path, help="folder for the targets' output (default: a temporary folder)")
    args = parser.parse_args(argv)
    try:
        targets = parse_targets(args.targets)
    except ValueError as error:
        parser.error(str(error))
    log_dir = args.logs or Path(tempfile.mkdtemp(prefix="make_times_"))
    try:
        timings = time_targets(targets, log_dir)
    except FileNotFoundError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    print(table(timings))
    return 0 if all(t.exit_code == 0 for t in timings) else 1


if __name__ == "__main__":
    sys.exit(main())
