"""Where things live. ``EMISSION_HOME`` selects the home directory (lakehouse, reservoir, Dagster home).

Also the checks of path and URL settings from the environment: a mistake there would otherwise surface as an
``OSError`` or a ``requests`` error deep inside a run, far from the variable that caused it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from emission_assets.errors import UserInputError

DEFAULT_HOME_NAME = ".emission_home"


def _directory(name: str, value: str | Path) -> Path:
    """``value`` (from ``$name``) as a path that is a directory or does not exist yet (it is created on use)."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise UserInputError(f"{name}={str(value)!r} is a file, not a directory")
    return path


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def lakehouse(self) -> Path:
        return self.home / "lakehouse"

    @property
    def reservoir(self) -> Path:
        configured = os.environ.get("EMISSION_RESERVOIR")
        return _directory("EMISSION_RESERVOIR", configured) if configured else self.home / "reservoir"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def emission_home() -> Path:
    """``$EMISSION_HOME``, else ``./.emission_home`` in the working directory."""
    configured = os.environ.get("EMISSION_HOME")
    return _directory("EMISSION_HOME", configured or Path.cwd() / DEFAULT_HOME_NAME).resolve()


def paths() -> Paths:
    return Paths(emission_home())


def check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    """``value`` (from ``$name``) if it is a URL with one of ``schemes`` and a host (a ``file://`` URL: an existing
    directory); else an error naming the variable and what is expected."""
    parts = urlsplit(value.strip())
    expected = " or ".join(f"{s}://" for s in schemes)
    if parts.scheme not in schemes:
        raise UserInputError(f"{name}={value!r} is not a URL starting with {expected}")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UserInputError(f"{name}={value!r}: a file URL has no host part, e.g. file:///path/to/folder")
        if not Path(url2pathname(parts.path)).is_dir():
            raise UserInputError(f"{name}={value!r}: folder {url2pathname(parts.path)} does not exist")
    elif not parts.netloc:
        raise UserInputError(f"{name}={value!r} has no host; expected e.g. {schemes[0]}://host/path")
    return value
