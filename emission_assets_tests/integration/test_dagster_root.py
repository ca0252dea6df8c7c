"""Dagster's own commands in the project root with no variable set, as a new user runs them first (issue 11, 7).

The root ``dagster.yaml`` has no ``env:`` entries: its storage is ``./.emission_home/dagster``, where
``emission-tracker`` keeps Dagster's storage for the default home. The command runs in a copy of the root's Dagster
files (``dagster.yaml``, ``workspace.yaml``) with the checkout on ``PYTHONPATH``: the same working directory layout,
without writing a ``.emission_home`` into the developer's checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from emission_assets.cli.environment import INSTANCE_TEMPLATE, prepare_dagster_home
from emission_assets.settings import DEFAULT_HOME_NAME, paths
from emission_assets_tests.support.paths import REPO_ROOT

DAGSTER = Path(sys.executable).with_name("dagster")
ROOT_FILES = ("dagster.yaml", "workspace.yaml")
STORAGE_KEYS = ("storage", "local_artifact_storage", "compute_logs")


def root_copy(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ROOT_FILES:
        shutil.copyfile(REPO_ROOT / name, checkout / name)
    return checkout


def without_variables() -> dict[str, str]:
    """The environment of a fresh shell: no DAGSTER_HOME, no project variable; the checkout importable."""
    from emission_assets.settings import VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in {"DAGSTER_HOME", *VARIABLES}}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return env


def env_entries(config) -> list:
    """Every ``{env: VARIABLE}`` value in a Dagster config tree."""
    if isinstance(config, dict):
        own = [config["env"]] if set(config) == {"env"} else []
        return own + [found for value in config.values() for found in env_entries(value)]
    return [found for value in config for found in env_entries(value)] if isinstance(config, list) else []


def test_definitions_validate_passes_in_the_root_without_variables(tmp_path):
    checkout = root_copy(tmp_path)

    result = subprocess.run([str(DAGSTER), "definitions", "validate", "-w", "workspace.yaml"], cwd=checkout,
                            env=without_variables(), capture_output=True, text=True, timeout=300)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "All code locations passed validation" in output
    assert "DAGSTER_HOME which is not set" not in output
    # Dagster's storage is where the CLI keeps it for the default home, and Dagster's temporary home is gone.
    assert (checkout / DEFAULT_HOME_NAME / "dagster" / "history" / "runs.db").is_file()
    assert sorted(p.name for p in checkout.iterdir()) == sorted([DEFAULT_HOME_NAME, *ROOT_FILES])


def test_the_root_instance_is_the_cli_instance_with_its_storage_in_the_default_home():
    root = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    template = yaml.safe_load(INSTANCE_TEMPLATE.read_text())
    assert not env_entries(root)  # nothing to set: the commands run in a fresh shell
    assert {k: v for k, v in root.items() if k not in STORAGE_KEYS} == template
    dagster_home = f"{DEFAULT_HOME_NAME}/dagster"
    assert root["storage"] == {"sqlite": {"base_dir": dagster_home}}
    assert root["local_artifact_storage"]["config"] == {"base_dir": dagster_home}
    assert root["compute_logs"]["config"] == {"base_dir": f"{dagster_home}/storage"}  # Dagster's default layout


def test_the_cli_puts_the_instance_template_into_the_home(monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "/set-by-the-command")  # recorded, so the test restores the shell's value
    home = prepare_dagster_home()
    assert home == paths().dagster_home and os.environ["DAGSTER_HOME"] == str(home)
    assert (home / "dagster.yaml").read_bytes() == INSTANCE_TEMPLATE.read_bytes()
    assert (home / "history" / "runs.db").is_file()  # the storage: Dagster's defaults under DAGSTER_HOME
