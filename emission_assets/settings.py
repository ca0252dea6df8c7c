"""Where things live. ``EMISSION_HOME`` selects the home directory (lakehouse, reservoir, Dagster home)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME_NAME = ".emission_home"


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def lakehouse(self) -> Path:
        return self.home / "lakehouse"

    @property
    def reservoir(self) -> Path:
        return Path(os.environ.get("EMISSION_RESERVOIR") or self.home / "reservoir")

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def emission_home() -> Path:
    """``$EMISSION_HOME``, else ``./.emission_home`` in the working directory."""
    return Path(os.environ.get("EMISSION_HOME") or Path.cwd() / DEFAULT_HOME_NAME).resolve()


def paths() -> Paths:
    return Paths(emission_home())
