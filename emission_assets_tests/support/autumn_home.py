"""A home after the CLI suites' common first step, built once per test process and copied into each test's home.

Several CLI suites start the same way: import the autumn SMARD CSV, then ``materialize`` its three days with SMARD,
factors and gold (~5 s of Dagster runs). The ``autumn_smard_home`` fixture (conftest) runs those two commands once,
in a home of its own; a test copies that home (lakehouse, reservoir, Dagster instance) into its own and asserts on
the two commands' results, as if it had run them itself. Tests that change the home change only their copy.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from emission_assets.settings import paths
from emission_assets_tests.support.paths import SMARD_AUTUMN_HOUR_CSV

AUTUMN_DAYS = ("--start", "2022-10-29", "--end", "2022-10-31")
SMARD_FACTORS_GOLD = ("--select", "tag:source=smard", "--select", "tag:source=factors", "--select", "tag:source=gold")
IMPORT = ("import", "smard-csv", str(SMARD_AUTUMN_HOUR_CSV))
MATERIALIZE = ("materialize", *AUTUMN_DAYS, *SMARD_FACTORS_GOLD)


@dataclass(frozen=True)
class BuiltHome:
    """The home after ``IMPORT`` then ``MATERIALIZE``, and their click results (exit code, stdout, stderr)."""

    home: Path
    imported: object
    materialized: object

    def copy_to_test_home(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the test's ``$EMISSION_HOME`` this home, and point DAGSTER_HOME at its instance (as the CLI's first
        command in the test would have; monkeypatch restores it)."""
        shutil.copytree(self.home, paths().home, dirs_exist_ok=True)
        monkeypatch.setenv("DAGSTER_HOME", str(paths().dagster_home))


def build(home: Path, isolate) -> BuiltHome:
    """Run the two commands in ``home``, the environment isolated as every test's (``isolate(monkeypatch, home)``)."""
    from emission_assets_tests.support.cli import run

    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, home)
        monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # the CLI sets it; put back when built
        imported = run(*IMPORT)
        materialized = run(*MATERIALIZE) if imported.exit_code == 0 else None
    return BuiltHome(home, imported, materialized)
