"""What the command line says about a run's asset checks, and the exit code they decide.

Every check of severity ERROR is blocking (``AssetCheckSpec(..., blocking=True)``): when it fails, Dagster records
the asset's materialisation and the failed check, then fails the asset's step, so no asset downstream of it runs
in that run (and ``materialize`` starts no later run, e.g. the report after the silver days). Checks of severity
WARN (``complete_days``) never block.

After a run the CLI prints, on stderr, one ``Error: check <name> on <asset> failed: ...`` line per failed ERROR
check and one ``warning: check <name> on <asset>: ...`` line per failed WARN check, each followed by the offending
days or rows from the check's metadata (at most :data:`MAX_ITEMS` per list; the Dagster UI has up to 50).

Exit codes: 0 = every step succeeded and no ERROR check failed (warnings do not change it); 1 = a step failed for
another reason (an error, a bad source file); 2 = a user error before any run; 3 = :data:`CHECK_FAILED_EXIT`, the
run's only failures are failed ERROR checks: the data is in place but flagged, so it is the input to look at, not
the pipeline (a script can tell "fix the data" from "the run broke").
"""
from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckSeverity, MarkdownMetadataValue

CHECK_FAILED_EXIT = 3
RUN_FAILED_EXIT = 1
MAX_ITEMS = 10
_CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"  # what Dagster raises in a step whose blocking check failed


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    error: bool  # severity ERROR (blocking); otherwise WARN
    summary: str  # the check's counts, "name: value, ..."
    items: tuple[str, ...]  # "list name: offender", the offending days or rows

    def lines(self) -> list[str]:
        head = (f"Error: check {self.check} on {self.asset} failed" if self.error
                else f"warning: check {self.check} on {self.asset}")
        return [f"{head}: {self.summary or 'see its metadata'}", *(f"  {item}" for item in self.items)]


def failed_checks(results) -> list[FailedCheck]:
    """The failed checks of the runs' results (``ExecuteInProcessResult``), in the order they were evaluated."""
    found = []
    for result in results:
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                found.append(_failed(evaluation))
    return found


def _failed(evaluation) -> FailedCheck:
    scalars, items = [], []
    for name, value in evaluation.metadata.items():
        if isinstance(value, MarkdownMetadataValue):
            listed = [line[2:] for line in (value.md_str or "").splitlines() if line.startswith("- ")]
            items += [f"{name}: {entry}" for entry in listed[:MAX_ITEMS]]
            if len(listed) > MAX_ITEMS:
                items.append(f"{name}: ... {len(listed) - MAX_ITEMS} more listed in the check's metadata "
                             "(emission-tracker ui)")
        else:
            scalars.append(f"{name}: {getattr(value, 'value', value)}")
    return FailedCheck(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        error=evaluation.severity == AssetCheckSeverity.ERROR,
        summary=", ".join(scalars),
        items=tuple(items),
    )


def failed_only_by_checks(result) -> bool:
    """Whether every failed step of a failed run failed because a blocking check failed, and nothing else."""
    failures = result.get_step_failure_events()
    return bool(failures) and all(
        event.step_failure_data.error is not None and event.step_failure_data.error.cls_name == _CHECK_FAILED_ERROR
        for event in failures
    )


def report_checks(results, echo) -> int:
    """Print the failed checks of ``results`` with ``echo`` (one line per call) and return the exit code they
    decide: :data:`CHECK_FAILED_EXIT` if an ERROR check failed, else 0. A run that failed for another reason is
    the caller's to report (exit 1)."""
    failed = failed_checks(results)
    for check in failed:
        for line in check.lines():
            echo(line)
    errors = [c for c in failed if c.error]
    if not errors:
        return 0
    assets = sorted({c.asset for c in errors})
    echo(f"Error: {len(errors)} check(s) of severity ERROR failed on {', '.join(assets)}; nothing downstream of "
         f"{'it' if len(assets) == 1 else 'them'} ran (exit code {CHECK_FAILED_EXIT})")
    return CHECK_FAILED_EXIT


def exit_code(results, echo, echo_failure) -> int:
    """Report the checks of a command's runs (the last one may have failed) and return the command's exit code:
    1 if a run failed for a reason other than a check (``echo_failure(result)`` prints why), else what
    :func:`report_checks` decides."""
    checks = report_checks(results, echo)
    last = results[-1] if results else None
    if last is not None and not last.success and not failed_only_by_checks(last):
        echo_failure(last)
        return RUN_FAILED_EXIT
    return checks
