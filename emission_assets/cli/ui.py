"""``ui``: ``dagster dev`` on the same home."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from emission_assets.cli.environment import PROJECT_ROOT, prepare_dagster_home
from emission_assets.settings import paths


@click.command("ui")
def ui_command() -> None:
    """Start ``dagster dev`` on the same home (web UI on http://127.0.0.1:3000)."""
    home = prepare_dagster_home()
    workspace = PROJECT_ROOT / "workspace.yaml"
    dagster = Path(sys.executable).with_name("dagster")
    # The code server and run workers inherit the working directory: pin the home, or a default home would be
    # resolved below the Dagster home instead of where the CLI keeps it.
    os.environ["EMISSION_HOME"] = str(paths().home)
    os.chdir(home)  # else dagster warns about the root dagster.yaml, which DAGSTER_HOME overrides
    os.execv(str(dagster), [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", "3000"])

