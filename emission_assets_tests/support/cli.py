"""The CLI in-process (click's runner), as the CLI tests call it."""
from __future__ import annotations

from click.testing import CliRunner

from emission_assets.cli import main


def run(*args: str):
    """``emission-tracker <args>``; an exception is kept on the result (``result.exception``)."""
    return CliRunner().invoke(main, list(args))


def invoke(args: list[str]):
    """``emission-tracker <args>``; an exception other than click's own exit propagates and fails the test."""
    return CliRunner().invoke(main, args, catch_exceptions=False)
