"""``ui``: ``dagster dev`` on the same home."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from emission_assets.cli.environment import PROJECT_ROOT, prepare_dagster_home


@click.command("ui")
def ui_command() -> None:
    """Start ``dagster dev`` on the same home (web UI on http://127.0.0.1:3000)."""
    home = prepare_dagster_home()
    workspace = PROJECT_ROOT / "workspace.yaml"
    dagster = Path(sys.executable).with_name("dagster")
    os.chdir(home)  # else dagster warns about the template dagster.yaml in the checkout
    os.execv(str(dagster), [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", "3000"])

