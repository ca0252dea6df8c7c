"""Errors the command line reports as one line (exit 2 for a mistake, 1 for failed work)."""
from __future__ import annotations

import click

from emission_assets.errors import UserInputError


class UserError(click.ClickException):
    """A mistake in the call or the input: reported as one line with exit code 2, no traceback."""

    exit_code = 2


class FailedAction(click.ClickException):
    """A valid call whose work failed (a run, a download): reported as one line with exit code 1."""

    exit_code = 1


class CommandLine(click.Group):
    """Turns the project's :class:`UserInputError` (a bad value anywhere: argument, environment, file) into a
    one-line ``Error: ...`` with exit code 2. Every other exception keeps its traceback: it is a bug.

    As the process's command line (arguments from ``sys.argv``), it ends the process without the interpreter's
    teardown once the exit handlers ran (:mod:`emission_assets.cli.fast_exit`)."""

    def main(self, args=None, *more, **options):
        from emission_assets.cli import fast_exit

        standalone = options.get("standalone_mode", True)
        if args is None and standalone:
            fast_exit.arm()
        try:
            return super().main(args, *more, **options)
        except SystemExit as done:
            if args is None and standalone:
                fast_exit.record(done.code)
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserInputError as error:
            raise UserError(str(error)) from None
        except Exception as error:  # a full or read-only disk outside a step: one line; anything else is a bug
            from emission_assets.orchestration.run_control import disk_failure

            message = disk_failure(error)
            if message is None:
                raise
            raise FailedAction(message) from None

