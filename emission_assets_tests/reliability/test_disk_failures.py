"""A read-only home or reservoir and a full disk, through the real ``emission-tracker`` CLI: one ``Error:`` line
naming the folder and the variable that points there, no traceback, and nothing lost (the re-run, once there is
room, completes).

Real file systems, not mocks: as root (CI) a small tmpfs is mounted for the case (read-only, or a few KB), and
unmounted after it; without root a read-only folder is ``chmod 555`` and the full-disk cases are skipped (the
mapping of the errors is also tested without a mount, at the end).
"""
from __future__ import annotations

import errno
import os
import subprocess
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from emission_assets.settings import paths
from emission_assets_tests.support.cli import invoke
from emission_assets_tests.support.paths import SMARD_AUTUMN_HOUR_CSV as SMARD_HOUR
from emission_assets_tests.support.published_values import MONDAY, expected_values, silver_values
from emission_assets_tests.support.tmpfs import tmpfs

FIRST, LAST = MONDAY, MONDAY + timedelta(days=1)
MATERIALIZE = ["materialize", "--start", str(FIRST), "--end", str(LAST), "--select", "tag:source=smard"]


@contextmanager
def read_only(path: Path):
    """``path`` as an empty read-only folder: a read-only mount as root (root may write a ``chmod 555`` folder)."""
    if os.geteuid() == 0:
        with tmpfs(path, "size=64k,ro"):
            yield path
        return
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)


@pytest.fixture(autouse=True)
def _clean_dagster_home(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # materialize sets it
    for name in ("TIBBER_API_URL", "TIBBER_TOKEN", "EMISSION_ENV"):
        monkeypatch.delenv(name, raising=False)


def assert_one_error_line(result, exit_code: int, *words: str) -> str:
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output and "Stack Trace" not in result.output, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: "), result.stderr
    for word in words:
        assert word in last, f"{word!r} not in {last!r}"
    return last


def test_a_read_only_home_is_one_line_before_anything_starts(tmp_path, monkeypatch):
    with read_only(tmp_path / "ro") as folder:
        monkeypatch.setenv("EMISSION_HOME", str(folder / "home"))
        result = invoke(MATERIALIZE)
        reason = "read-only file system" if os.geteuid() == 0 else "permission denied"
        assert_one_error_line(result, 2, f"cannot write {folder / 'home' / 'dagster'}: {reason}",
                              f"(EMISSION_HOME={folder / 'home'})", "make it writable")
        assert list(folder.iterdir()) == []
        assert result.stderr.count("\n") <= 2  # the Tibber note and the error, nothing else


def test_a_read_only_reservoir_fails_its_step_in_one_line_and_a_writable_one_completes(
        tmp_path, monkeypatch, spark, fake_smard):
    fake_smard.publish_weeks(MONDAY, 1)
    with read_only(tmp_path / "ro") as folder:
        monkeypatch.setenv("EMISSION_RESERVOIR", str(folder))
        result = invoke(MATERIALIZE)
        reason = "read-only file system" if os.geteuid() == 0 else "permission denied"
        last = assert_one_error_line(result, 1, "step reservoir__smard_responses", f"cannot write {folder}",
                                     reason, f"(EMISSION_RESERVOIR={folder})")
        assert "FAILED" in result.stdout and last.count("Error") == 1

    monkeypatch.setenv("EMISSION_RESERVOIR", str(tmp_path / "reservoir"))
    again = invoke(MATERIALIZE)
    assert again.exit_code == 0, again.output
    assert silver_values(FIRST, LAST) == Counter({(f, t, v): 1 for (f, t), v in expected_values(FIRST, LAST).items()})


@pytest.mark.parametrize("command", [["import", "smard-csv", str(SMARD_HOUR)], ["live", "--duration", "1"]],
                         ids=["import", "live"])
def test_writing_into_a_read_only_reservoir_is_one_line_before_anything_starts(command, tmp_path, monkeypatch):
    monkeypatch.setenv("TIBBER_API_URL", "sample://tibber")
    monkeypatch.setenv("TIBBER_TOKEN", "test-token")
    with read_only(tmp_path / "ro") as folder:
        monkeypatch.setenv("EMISSION_RESERVOIR", str(folder))
        result = invoke(command)
        assert_one_error_line(result, 2, f"cannot write {folder}", f"(EMISSION_RESERVOIR={folder})")


def test_a_full_reservoir_disk_is_one_line_and_the_rerun_with_room_completes(tmp_path, monkeypatch, spark,
                                                                              fake_smard):
    fake_smard.publish_weeks(MONDAY, 1)
    with tmpfs(tmp_path / "small", "size=32k") as folder:
        monkeypatch.setenv("EMISSION_RESERVOIR", str(folder))
        result = invoke(MATERIALIZE)
        assert_one_error_line(result, 1, "step reservoir__smard_responses", f"cannot write {folder}",
                              "no space left on device", f"(EMISSION_RESERVOIR={folder})", "free space")
        assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]  # no half-written file left

        subprocess.run(["mount", "-o", "remount,size=8m", str(folder)], check=True)  # room again
        again = invoke(MATERIALIZE)
        assert again.exit_code == 0, again.output
    assert silver_values(FIRST, LAST) == Counter({(f, t, v): 1 for (f, t), v in expected_values(FIRST, LAST).items()})


def test_a_full_lakehouse_disk_is_one_line_naming_the_lakehouse(tmp_path, monkeypatch, spark, fake_smard):
    fake_smard.publish_weeks(MONDAY, 1)
    lakehouse = paths().lakehouse
    with tmpfs(lakehouse, "size=96k"):
        result = invoke(MATERIALIZE)
        assert_one_error_line(result, 1, f"cannot write {lakehouse}", "no space left on device",
                              f"(EMISSION_HOME={paths().home})")


def test_the_dagster_instance_on_a_full_disk_is_one_line(tmp_path, monkeypatch):
    """The run history (SQLite) is written outside any step: its error is mapped by the command line."""
    from emission_assets.cli import prepare_dagster_home

    with tmpfs(tmp_path / "small", "size=2m") as folder:
        monkeypatch.setenv("EMISSION_HOME", str(folder / "home"))
        prepare_dagster_home()  # the instance exists; then the disk fills up
        monkeypatch.delenv("DAGSTER_HOME")
        with open(folder / "filler", "wb") as filler:
            with pytest.raises(OSError, match="No space left on device"):
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
        result = invoke(MATERIALIZE)
        assert_one_error_line(result, 1, "no space left on device", f"(EMISSION_HOME={folder / 'home'})")


# --- the mapping, without a mount --------------------------------------------------------------------------


@pytest.mark.parametrize(("raised", "words"), [
    (PermissionError(errno.EACCES, "Permission denied", "/srv/reservoir/smard/x.json"),
     ["cannot write /srv/reservoir/smard/x.json: permission denied", "make it writable"]),
    (OSError(errno.EROFS, "Read-only file system", "/mnt/ro/home/dagster"),
     ["cannot write /mnt/ro/home/dagster: read-only file system"]),
    (OSError(errno.ENOSPC, "No space left on device"), ["no space left on device", "free space there"]),
])
def test_a_disk_error_in_a_step_is_printed_as_one_line(raised, words, capsys):
    from dagster import DagsterInstance, asset, materialize

    from emission_assets.cli import echo_failure

    @asset
    def writes():
        raise raised

    with DagsterInstance.ephemeral() as instance:
        result = materialize([writes], instance=instance, raise_on_error=False)
    capsys.readouterr()
    echo_failure(result)
    printed = capsys.readouterr().err
    assert printed.count("\n") == 1 and printed.startswith(f"Error: step writes of run {result.run_id} failed: ")
    for word in words:
        assert word in printed


@pytest.mark.parametrize(("message", "expected"), [
    ("OSError: [Errno 28] No space left on device", (errno.ENOSPC, None)),
    ("PermissionError: [Errno 13] Permission denied: '/a/b'", (errno.EACCES, "/a/b")),
    ("Failed to write file: Generic LocalFileSystem error: Unable to copy data to file: No space left on device "
     "(os error 28)", (errno.ENOSPC, None)),
    ("(sqlite3.OperationalError) database or disk is full", (errno.ENOSPC, None)),
    ("KeyError: 'missing key'", None),
    ("FileNotFoundError: [Errno 2] No such file or directory: '/a'", None),  # not a disk error
])
def test_disk_errors_are_told_from_other_errors(message, expected):
    from emission_assets.orchestration.run_control import disk_error

    assert disk_error(message) == expected


def test_reset_of_a_read_only_layer_is_one_line_not_a_false_removed(tmp_path):
    silver = paths().lakehouse / "silver"
    with tmpfs(silver, "size=64k") as folder:
        (folder / "production").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        result = invoke(["reset", "--layer", "silver", "--yes"])
        assert_one_error_line(result, 1, f"cannot write {silver}: read-only file system", "EMISSION_HOME=")
        assert "removed" not in result.stdout
        assert (folder / "production").is_dir()
