"""The ``emission-tracker`` process ends without the interpreter's teardown, with the command's exit status and all
of its output (run as real processes: the fast exit is only armed when the arguments come from ``sys.argv``)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from emission_assets.cli import fast_exit, main

ROOT = Path(__file__).resolve().parents[3]


def command(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "emission_assets.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=300, check=False)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), ("Error: a message", 1)])
def test_exit_status_is_what_sys_exit_gives(code, status):
    assert fast_exit.exit_status(code) == status


def test_a_user_error_still_exits_2_with_its_one_line_message():
    result = command("materialize", "--start", "2022-01-02", "--end", "2022-01-01")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "Error: --start 2022-01-02 is after --end 2022-01-01"
    assert result.stdout == ""


def test_all_output_of_a_command_is_written_before_the_process_ends(spark):
    # Piped stdout is block-buffered: the rows must still all arrive although the process skips its teardown.
    result = command("query", "SELECT id FROM range(20000)")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "id" and len(lines) == 20001 and lines[-1] == "19999"


def test_help_ends_with_status_0():
    result = command("--help")
    assert result.returncode == 0, result.stderr
    assert "materialize" in result.stdout


def test_the_test_runner_never_arms_it():
    result = CliRunner().invoke(main, ["materialize", "--start", "2022-01-02", "--end", "2022-01-01"])
    assert result.exit_code == 2
    assert not fast_exit.armed()  # else this test process would end with the command's status
