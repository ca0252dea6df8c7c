"""A CLI run killed (SIGKILL), interrupted (SIGINT/SIGTERM) or waiting for a pool another live run holds, through
the real ``emission-tracker materialize`` in a process of its own, on a fresh home with the fake SMARD API.

The moment is caught without a hook in the product code: the fake API holds the first window request until the
test lets it go, so the run is inside its ``reservoir/smard_responses`` step and holds the ``smard_api`` pool slot.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest

from emission_assets.settings import paths
from emission_assets_tests.support.cli import run
from emission_assets_tests.support.paths import REPO_ROOT
from emission_assets_tests.support.published_values import MONDAY, expected_values, silver_values

FIRST, LAST = MONDAY, MONDAY + timedelta(days=2)
COMMAND = ["materialize", "--start", str(FIRST), "--end", str(LAST), "--select", "tag:source=smard"]


class HeldRequest:
    """Holds the first window request of the fake SMARD API until released (later requests pass)."""

    def __init__(self, fake):
        self.arrived, self.released, self.count = threading.Event(), threading.Event(), 0
        fake.hooks[".json"] = self._hook

    def _hook(self, request):
        if "/index_" in request.path:
            return None
        self.count += 1
        if self.count == 1:
            self.arrived.set()
            self.released.wait(120)
        return None


class Cli:
    """``emission-tracker`` in a process of its own; its output lines are collected as they come."""

    started: list[Cli] = []

    def __init__(self, *args):
        Cli.started.append(self)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emission_assets.cli", *args], cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.new_line = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    def _read(self, stream, lines) -> None:
        for line in stream:
            with self.new_line:
                lines.append(line.rstrip("\n"))
                self.new_line.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = 120) -> re.Match:
        with self.new_line:
            found = self.new_line.wait_for(
                lambda: next((m for line in self.out + self.err if (m := re.search(pattern, line))), None)
                or self.process.poll() is not None, timeout)
        match = next((m for line in self.out + self.err if (m := re.search(pattern, line))), None)
        assert found and match, f"no line matching {pattern!r}:\n" + "\n".join(self.out + self.err)[-4000:]
        return match

    def finish(self, timeout: float = 180) -> int:
        code = self.process.wait(timeout)
        for reader in self.readers:
            reader.join(10)
        return code

    def output(self) -> str:
        return "\n".join(self.out + self.err)


def instance():
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(paths().dagster_home)  # the instance's dagster.yaml reads it
    return DagsterInstance.from_config(str(paths().dagster_home))


def run_statuses() -> dict[str, str]:
    with instance() as dagster:
        return {r.run_id: r.status.value for r in dagster.get_runs()}


def claimed_slots() -> list:
    with instance() as dagster:
        storage = dagster.event_log_storage
        return [(key, slot.run_id) for key in storage.get_concurrency_keys()
                for slot in storage.get_concurrency_info(key).claimed_slots]


def partitioned_run_id(cli: Cli) -> str:
    """The id (8 characters) of the CLI's partitioned run, from its progress line."""
    return cli.wait_for_line(r"run ([0-9a-f]{8}): planning \d+ asset\(s\), \d+ of them x 3 day\(s\)").group(1)


def full_id(short: str) -> str:
    return next(run_id for run_id in run_statuses() if run_id.startswith(short))


def assert_silver_holds_every_value_once() -> None:
    assert silver_values(FIRST, LAST) == Counter({(f, t, v): 1 for (f, t), v in expected_values(FIRST, LAST).items()})


@pytest.fixture
def monkeypatch_dagster_home(monkeypatch):
    """DAGSTER_HOME as the test found it; no CLI process outlives its test (e.g. one that failed waiting)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    yield
    os.environ.pop("DAGSTER_HOME", None)
    for cli in Cli.started:
        if cli.process.poll() is None:
            cli.process.kill()
            cli.process.wait(30)
    Cli.started.clear()


def test_a_run_killed_inside_its_reservoir_step_is_recovered_by_the_next(spark, fake_smard, monkeypatch_dagster_home):
    fake_smard.publish_weeks(MONDAY, 1)
    held = HeldRequest(fake_smard)
    killed = Cli(*COMMAND)
    short = partitioned_run_id(killed)
    assert held.arrived.wait(120), killed.output()  # inside the step, holding the smard_api slot
    killed.process.kill()
    assert killed.finish() == -signal.SIGKILL
    held.released.set()
    assert run_statuses()[full_id(short)] == "STARTED"  # what a killed run leaves behind
    assert ("smard_api", full_id(short)) in claimed_slots()

    again = Cli(*COMMAND)

    assert again.finish() == 0, again.output()
    stale = [line for line in again.err if line.startswith("recovered")]
    assert stale == [f"recovered 1 stale run {short} (process {killed.process.pid} is gone): "
                     "marked failed, pool slots released"]
    assert f"materialised {FIRST}..{LAST}" in again.out[-1]
    assert run_statuses()[full_id(short)] == "FAILURE"
    assert claimed_slots() == []
    assert_silver_holds_every_value_once()


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_cancel_the_run_and_free_its_slots(number, code, spark, fake_smard,
                                                               monkeypatch_dagster_home):
    fake_smard.publish_weeks(MONDAY, 1)
    held = HeldRequest(fake_smard)
    interrupted = Cli(*COMMAND)
    short = partitioned_run_id(interrupted)
    assert held.arrived.wait(120), interrupted.output()
    interrupted.process.send_signal(number)

    assert interrupted.finish(60) == code, interrupted.output()
    held.released.set()
    assert interrupted.err[-1] == (f"interrupted by {number.name}: run {short} marked canceled, "
                                   f"pool slots released; exit {code}")
    assert "Traceback" not in interrupted.output()
    assert run_statuses()[full_id(short)] == "CANCELED"
    assert claimed_slots() == []

    # The next run needs no process of its own (what the signal did is judged from the instance): in-process.
    again = run(*COMMAND)
    assert again.exit_code == 0, again.output
    assert not any(line.startswith("recovered") for line in again.stderr.splitlines())  # a canceled run is not stale
    assert_silver_holds_every_value_once()


def test_a_run_waiting_for_a_pool_names_the_live_run_holding_it(spark, fake_smard, monkeypatch_dagster_home):
    fake_smard.publish_weeks(MONDAY, 1)
    held = HeldRequest(fake_smard)
    first = Cli(*COMMAND)
    holder = partitioned_run_id(first)
    assert held.arrived.wait(120), first.output()

    second = Cli(*COMMAND)
    waiting = second.wait_for_line(r"step reservoir__smard_responses: waiting for pool smard_api, held by (.*)$")
    assert waiting.group(1) == f"run {holder} (process {first.process.pid}, alive)"
    assert second.process.poll() is None  # it waits, and the live holder's run is left alone
    assert run_statuses()[full_id(holder)] == "STARTED"
    held.released.set()

    assert first.finish() == 0, first.output()
    assert second.finish() == 0, second.output()
    assert not any(line.startswith("recovered") for line in first.err + second.err)
    assert set(run_statuses().values()) == {"SUCCESS"}
    assert_silver_holds_every_value_once()


UNTAGGED_RUN = """
import time
from dagster import DagsterInstance, Definitions, asset, define_asset_job

@asset(pool="smard_api")
def holds_the_pool():
    print("holding", flush=True)
    time.sleep(300)

job = Definitions(assets=[holds_the_pool], jobs=[define_asset_job("old_cli_job")]).resolve_job_def("old_cli_job")
with DagsterInstance.get() as instance:
    job.execute_in_process(instance=instance)
"""


def test_a_run_without_process_tags_is_judged_by_the_pid_of_its_start_event(capsys, monkeypatch_dagster_home):
    """A home from before the tags existed (the issue's stuck runs): the run's RUN_START event names its pid.
    Left alone while that process lives; once it is killed, recovered in one line."""
    from emission_assets.cli import prepare_dagster_home
    from emission_assets.orchestration.run_control import recover_stale_runs

    prepare_dagster_home()
    old = subprocess.Popen([sys.executable, "-c", UNTAGGED_RUN], env={**os.environ}, stdout=subprocess.PIPE, text=True)
    Cli.started.append(type("Started", (), {"process": old})())  # killed at teardown if the test fails early
    assert old.stdout.readline().strip() == "holding"
    (run_id,) = run_statuses()
    assert claimed_slots() == [("smard_api", run_id)]

    with instance() as dagster:
        assert recover_stale_runs(dagster) == []  # its process lives
    assert run_statuses() == {run_id: "STARTED"}

    old.kill()
    old.wait(30)
    capsys.readouterr()
    with instance() as dagster:
        assert recover_stale_runs(dagster) == [run_id]
    assert capsys.readouterr().err == (f"recovered 1 stale run {run_id[:8]} (process {old.pid} is gone): "
                                       "marked failed, pool slots released\n")
    assert run_statuses() == {run_id: "FAILURE"}
    assert claimed_slots() == []


def test_slots_still_held_by_an_ended_run_are_released(capsys, monkeypatch_dagster_home):
    """A run marked failed from outside (the UI's "terminate" of a dead run) keeps its slots: Dagster's daemon
    frees them later, and the CLI runs no daemon, so the CLI frees them before its run."""
    from emission_assets.cli import prepare_dagster_home
    from emission_assets.orchestration.run_control import recover_stale_runs

    prepare_dagster_home()
    old = subprocess.Popen([sys.executable, "-c", UNTAGGED_RUN], env={**os.environ}, stdout=subprocess.PIPE, text=True)
    Cli.started.append(type("Started", (), {"process": old})())
    assert old.stdout.readline().strip() == "holding"
    old.kill()
    old.wait(30)
    (run_id,) = run_statuses()
    with instance() as dagster:
        dagster.report_run_failed(dagster.get_run_by_id(run_id), "terminated from the UI")
    assert run_statuses() == {run_id: "FAILURE"} and claimed_slots() == [("smard_api", run_id)]
    capsys.readouterr()

    with instance() as dagster:
        assert recover_stale_runs(dagster) == []  # nothing stale: the run has ended

    assert capsys.readouterr().err == f"released the pool slots still held by ended run(s) {run_id[:8]}\n"
    assert claimed_slots() == []
