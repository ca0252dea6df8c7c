"""How a CLI run behaves around its edges: it recovers runs a killed process left behind, ends cleanly on
SIGINT/SIGTERM, says what it is doing (planning, steps, waits for a pool) and turns a full or read-only disk into
one line.

The CLI runs Dagster in-process against the persistent instance in ``$EMISSION_HOME/dagster``. A process killed
there (SIGKILL, OOM, a closed laptop) leaves its run STARTED and its pool slots claimed forever, and Dagster's
own run monitoring only watches runs that a run launcher started (the daemon), not in-process ones. So every CLI
run records who runs it (host, pid, the process's start time: a pid is reused, a pid with its start time is not)
as run tags, and before a new run starts, runs whose process is gone are marked failed and their slots freed, as
Dagster's run monitoring and its "free concurrency slots" action do, with the public instance APIs.
"""
from __future__ import annotations

import errno
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import click

HOST_TAG = "emission/host"
PID_TAG = "emission/pid"
PROCESS_START_TAG = "emission/process_start"  # "<boot id>/<start time in clock ticks since boot>" (Linux)
# Exit codes of a run ended by a signal: the shell's 128 + signal number.
SIGNAL_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
HEARTBEAT_SECONDS = 60  # a line at least this often while the run is busy with one thing


# ---------------------------------------------------------------------------------------- process identities
def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or None without such a (living) process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields  # a zombie has ended; only its exit status is left


def process_start(pid: int) -> str | None:
    """The start of process ``pid`` as ``<boot id>/<clock ticks since boot>`` (Linux), None if it does not run.
    On a system without ``/proc`` the pid alone identifies the process (``"?"`` while it runs)."""
    if not Path("/proc/self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # it runs, under another user
        return "?"
    fields = _proc_stat(pid)
    return None if fields is None else f"{_boot_id()}/{fields[19]}"  # field 22 of stat: starttime


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), None if unknown or it does not run."""
    fields = _proc_stat(pid) if Path("/proc/stat").exists() else None
    if fields is None:
        return None
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime "))
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def process_tags() -> dict[str, str]:
    """Tags naming this process, recorded on every run the CLI starts."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()), PROCESS_START_TAG: process_start(os.getpid())}


@dataclass(frozen=True)
class Owner:
    """The process that runs a run, and whether it still runs (None: cannot tell from this host)."""

    pid: int | None
    host: str | None
    alive: bool | None

    def describe(self) -> str:
        where = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        return f"process {self.pid}{where}" if self.pid else "an unknown process"


def owner_of(instance, record) -> Owner:
    """Who runs ``record``'s run. A run tagged by this CLI names host, pid and process start. An older run without
    the tags (from before they existed, or started by ``dagster dev``) is judged by the pid of its RUN_START event:
    its process is gone when no process has that pid, or the one that has it started after that event (the pid
    was reused). Such a run's host is taken to be this one: the instance is a local SQLite database."""
    from dagster import DagsterEventType

    tags = record.dagster_run.tags
    if PID_TAG in tags:
        pid, host = int(tags[PID_TAG]), tags.get(HOST_TAG)
        if host and host != socket.gethostname():
            return Owner(pid, host, None)
        started = process_start(pid)
        recorded = tags.get(PROCESS_START_TAG)
        return Owner(pid, host, started is not None and (started == recorded or "?" in (started, recorded)))
    starts = instance.get_records_for_run(record.dagster_run.run_id, of_type=DagsterEventType.RUN_START, limit=1)
    entry = starts.records[0].event_log_entry if starts.records else None
    event = entry.dagster_event if entry else None
    if event is None or not event.pid:
        return Owner(None, None, None)  # never started a process (e.g. still queued): not ours to judge
    started_at = process_started_at(event.pid)
    if started_at is None:
        return Owner(event.pid, None, process_start(event.pid) is not None)
    return Owner(event.pid, None, started_at <= entry.timestamp + 1)  # 1 s: the start is known in clock ticks


def _short(run_id: str) -> str:
    return run_id[:8]


def release(instance, run_id: str) -> None:
    """Free every pool slot the run holds or waits for (what the UI's "free concurrency slots" does)."""
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slots_for_run(run_id)


def recover_stale_runs(instance, run_ids=None) -> list[str]:
    """Mark failed every unfinished run (or those of ``run_ids``) whose process is gone, free its pool slots and
    print one line saying so; returns the recovered run ids. Runs of a live process, of another host or without
    a known process are left alone."""
    from dagster import DagsterRunStatus, RunsFilter

    active = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING,
              DagsterRunStatus.NOT_STARTED]
    records = instance.get_run_records(RunsFilter(run_ids=list(run_ids) if run_ids else None, statuses=active))
    recovered = []
    for record in records:
        run = record.dagster_run
        if run.status == DagsterRunStatus.NOT_STARTED and PID_TAG not in run.tags:
            continue  # created by someone else and not started: maybe a queued launch
        owner = owner_of(instance, record)
        if owner.alive is not False:
            continue
        message = (f"{owner.describe()} that ran it is gone (killed?); marked by emission-tracker "
                   f"(pid {os.getpid()}) before its next run")
        if run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message)
        else:
            instance.report_run_failed(run, message)
        release(instance, run.run_id)
        recovered.append((run.run_id, owner))
    if recovered:
        listed = ", ".join(f"{_short(run_id)} ({owner.describe()} is gone)" for run_id, owner in recovered)
        count = f"{len(recovered)} stale run{'s' if len(recovered) > 1 else ''}"
        click.echo(f"recovered {count} {listed}: marked failed, pool slots released", err=True)
    if run_ids is None:
        release_slots_of_ended_runs(instance)
    return [run_id for run_id, _ in recovered]


def release_slots_of_ended_runs(instance) -> list[str]:
    """Free pool slots still held by runs that have ended or no longer exist (what Dagster's daemon does after
    ``free_slots_after_run_end_seconds``; the CLI runs no daemon). One line if there were any."""
    from dagster import DagsterRunStatus, RunsFilter

    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holding = storage.get_concurrency_run_ids()
    if not holding:
        return []
    known = {r.dagster_run.run_id: r.dagster_run.status for r in instance.get_run_records(RunsFilter(run_ids=list(holding)))}
    ended = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    freed = sorted(run_id for run_id in holding if run_id not in known or known[run_id] in ended)
    for run_id in freed:
        storage.free_concurrency_slots_for_run(run_id)
    if freed:
        click.echo(f"released the pool slots still held by ended run(s) {', '.join(map(_short, freed))}", err=True)
    return freed


def pool_holders(instance, pool: str, own_run_id: str) -> list[str]:
    """Runs other than ours holding a slot of ``pool``."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return sorted({slot.run_id for slot in info.claimed_slots if slot.run_id != own_run_id})


# ------------------------------------------------------------------------------------------------ signals
class SignalGuard:
    """SIGINT/SIGTERM end the CLI at once, whatever Dagster is doing: the current run is marked CANCELED, its
    pool slots freed, one line printed, exit code 130 / 143.

    Dagster installs its own SIGINT/SIGTERM handlers during ``execute_in_process``: they only note the signal,
    and the in-process executor never looks while a step waits for a pool slot (the run then ignores the
    signal for good). Python's wakeup fd is written for every handled signal, whoever's handler runs, so a
    thread reading it sees the signal in every case. Ending the process mid-step is what a SIGKILL does, which
    the writes survive (atomic reservoir files, Delta commits); the next run redoes the step.
    """

    active: SignalGuard | None = None  # the guard of the command running now

    def __init__(self):
        self.instance = None
        self.run_id: str | None = None
        self.ending = threading.Event()

    @classmethod
    def watch(cls, instance, run_id: str | None) -> None:
        """Tell the active guard (if any) which run to cancel on a signal (None: no run between now and the next).
        While a signal is being handled, the caller waits here for the exit (the run's own outcome is moot)."""
        guard = cls.active
        if guard is not None:
            if guard.ending.is_set():
                threading.Event().wait()
            guard.instance, guard.run_id = instance, run_id

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers belong to the main thread (e.g. a test calling the CLI from a thread)
        SignalGuard.active = self
        self._reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._writer = writer
        self._previous = {s: signal.getsignal(s) for s in SIGNAL_EXIT_CODES}
        for number in SIGNAL_EXIT_CODES:
            signal.signal(number, lambda *_: None)  # the watcher acts; outside a run there is nothing to undo
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="emission-signal-watch", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if not hasattr(self, "_writer"):
            return
        SignalGuard.active = None
        signal.set_wakeup_fd(self._previous_fd)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._writer.close()  # the watcher's recv ends: it returns

    def _watch(self) -> None:
        while True:
            try:
                data = self._reader.recv(1)
            except OSError:
                return
            if not data:
                self._reader.close()
                return
            if data[0] in SIGNAL_EXIT_CODES:
                self._end(signal.Signals(data[0]))

    def _end(self, number: signal.Signals) -> None:
        self.ending.set()
        what = "before a run started"
        try:
            if self.run_id is not None:
                run = self.instance.get_run_by_id(self.run_id)
                if run is not None and not run.is_finished:
                    self.instance.report_run_canceled(run, f"{number.name} received by the emission-tracker CLI")
                    release(self.instance, run.run_id)
                    what = f"run {_short(run.run_id)} marked canceled, pool slots released"
                elif run is not None:
                    what = f"run {_short(run.run_id)} had already ended ({run.status.value})"
        except Exception as error:  # the instance may be unusable (disk full): still exit, and say so
            what = f"could not mark run {_short(self.run_id)} canceled ({error}); the next run recovers it"
        code = SIGNAL_EXIT_CODES[number]
        sys.stdout.flush()
        sys.stderr.write(f"interrupted by {number.name}: {what}; exit {code}\n")
        sys.stderr.flush()
        os._exit(code)


# ----------------------------------------------------------------------------------------------- progress
class RunProgress(logging.Handler):
    """One line per finished step (with its elapsed seconds and the days it covered) and per pool wait, on
    stdout; a line at least every minute while the run is busy with one thing (planning, a long step)."""

    def __init__(self, instance, run_id: str, days: int | None, day_steps: frozenset[str] = frozenset()):
        """``days``: the days of a day-partitioned run; ``day_steps``: its steps that are day-partitioned (an
        unpartitioned asset riding in the same run, such as the factor dimension, covers no days)."""
        super().__init__(logging.DEBUG)
        self.instance, self.run_id, self.days, self.day_steps = instance, run_id, days, day_steps
        self.started = time.monotonic()
        self.last_line = self.started
        self.step_started: dict[str, float] = {}
        self.steps_total = 0
        self.steps_done = 0
        self.doing = "planning"
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def echo(self, line: str) -> None:
        with self._lock:
            click.echo(line)
            sys.stdout.flush()
            self.last_line = time.monotonic()

    def planning(self, assets: int) -> None:
        partitioned = len(self.day_steps)
        what = f"{assets} asset(s)"
        if self.days and partitioned:
            what += f", {partitioned} of them x {self.days:,} day(s) = {partitioned * self.days:,} asset partitions"
        self.echo(f"run {_short(self.run_id)}: planning {what}")
        threading.Thread(target=self._heartbeat, name="emission-progress", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _heartbeat(self) -> None:
        while not self._stop.wait(5):
            now = time.monotonic()
            if now - self.last_line >= HEARTBEAT_SECONDS:
                self.echo(f"  ... still {self.doing} ({now - self.started:.0f} s elapsed)")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._event(getattr(record, "dagster_event", None))
        except Exception:  # progress must never break a run
            logging.getLogger(__name__).debug("progress line failed", exc_info=True)

    def _event(self, event) -> None:
        from dagster import DagsterEventType

        if event is None:
            return
        kind = event.event_type_value
        now = time.monotonic()
        if kind == DagsterEventType.RUN_START.value:
            if self.days:  # a partitioned run: Dagster records every asset partition before the run starts
                self.echo(f"run {_short(self.run_id)}: planned in {now - self.started:.1f} s")
            self.doing = "running"
        elif kind == DagsterEventType.STEP_START.value:
            self.step_started[event.step_key] = now
            self.doing = f"running step {event.step_key}"
        elif kind in (DagsterEventType.STEP_SUCCESS.value, DagsterEventType.STEP_FAILURE.value):
            self.steps_done += 1
            took = now - self.step_started.pop(event.step_key, now)
            outcome = "done" if kind == DagsterEventType.STEP_SUCCESS.value else "FAILED"
            days = f"{self.days:,} day(s); " if event.step_key in self.day_steps and outcome == "done" else ""
            self.echo(f"  step {event.step_key} {outcome} in {took:.1f} s ({days}{self.steps_done} step(s) "
                      f"finished, {now - self.started:.1f} s since the run started)")
            self.doing = "running"
        elif kind == DagsterEventType.ENGINE_EVENT.value and "blocked by limit for pool" in (event.message or ""):
            self._blocked(event)

    def _blocked(self, event) -> None:
        """A step waits for a pool slot: name the runs holding it, and recover those whose process is gone."""
        pool = event.message.rsplit(" ", 1)[-1]
        holders = pool_holders(self.instance, pool, self.run_id)
        recovered = set(recover_stale_runs(self.instance, holders)) if holders else set()
        live = [h for h in holders if h not in recovered]
        self.doing = f"waiting for pool {pool}"
        if not live:
            self.echo(f"  step {event.step_key}: waiting for pool {pool} (its slot is being freed)")
            return
        descriptions = []
        for run_id in live:
            record = self.instance.get_run_record_by_id(run_id)
            owner = owner_of(self.instance, record) if record else Owner(None, None, None)
            state = {True: "alive", False: "gone", None: "not checkable from here"}[owner.alive]
            descriptions.append(f"run {_short(run_id)} ({owner.describe()}, {state})")
        self.echo(f"  step {event.step_key}: waiting for pool {pool}, held by {', '.join(descriptions)}")


# ------------------------------------------------------------------------------------------------ disk errors
# errno -> what the user is told
_DISK_ERRORS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
}
_PYTHON_OS_ERROR = re.compile(r"\[Errno (\d+)\] [^:]*?(?::\s*'(?P<path>[^']+)')?\s*$")
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_RUST_PATH = re.compile(r"(?:file|path|directory|location)\s+[\"'`]?(?P<path>/[^\s\"'`:]+)", re.IGNORECASE)


def disk_error(text: str) -> tuple[int, str | None] | None:
    """(errno, path) if ``text`` (an error message, Python's or the engine's) is a permission, read-only or
    full-disk error; else None."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    match = _PYTHON_OS_ERROR.search(first)
    if match and int(match.group(1)) in _DISK_ERRORS:
        return int(match.group(1)), match.group("path")
    match = _RUST_OS_ERROR.search(text)
    if match and int(match.group(1)) in _DISK_ERRORS:
        path = _RUST_PATH.search(text)
        return int(match.group(1)), path.group("path") if path else None
    if "database or disk is full" in text:
        return errno.ENOSPC, None
    if "attempt to write a readonly database" in text:
        return errno.EROFS, None
    return None


def disk_error_message(number: int, path: str | None) -> str:
    """One line for a disk error: what, where, which setting points there, and what to do."""
    name, value = _setting_for(path)
    where = path or value
    if number in (errno.ENOSPC, errno.EDQUOT):
        hint = f"free space there (or point {name} at a larger disk) and re-run: no half-written file is used"
    else:
        hint = f"make it writable (or point {name} at a writable folder) and re-run"
    return f"cannot write {where}: {_DISK_ERRORS[number]} ({name}={value}); {hint}"


def folder_of_step(step_key: str) -> str:
    """Where a step writes: the reservoir for ``reservoir__*``, else the lakehouse (engine errors name no path)."""
    from emission_assets.settings import paths

    home = paths()
    return str(home.reservoir if step_key.startswith("reservoir__") else home.lakehouse)


def _setting_for(path: str | None) -> tuple[str, Path]:
    """The variable (and its value) that put ``path`` where it is."""
    from emission_assets.settings import paths, settings

    home = paths()
    if path and settings().storage.reservoir:
        try:
            Path(path).resolve().relative_to(home.reservoir.resolve())
            return "EMISSION_RESERVOIR", home.reservoir
        except ValueError:
            pass
    return "EMISSION_HOME", home.home


def check_writable(*folders: Path) -> None:
    """Raise a one-line :class:`UserInputError` unless each folder (or, where it does not exist yet, the nearest
    existing parent it would be created in) accepts a new file. A probe, not ``os.access``: root passes
    ``os.access`` on a read-only mount."""
    import tempfile

    from emission_assets.errors import UserInputError

    for folder in folders:
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        try:
            with tempfile.TemporaryFile(dir=existing, prefix=".write-probe-"):
                pass
        except OSError as error:
            number = error.errno if error.errno in _DISK_ERRORS else errno.EACCES
            raise UserInputError(disk_error_message(number, str(folder))) from None


def disk_failure(error: BaseException) -> str | None:
    """The one-line message for an exception raised outside a step (the Dagster instance's SQLite, a mkdir) that
    is a permission, read-only or full-disk error; None for anything else (a bug keeps its traceback)."""
    if isinstance(error, OSError) and error.errno in _DISK_ERRORS:
        return disk_error_message(error.errno, error.filename and str(error.filename))
    if type(error).__name__ != "OperationalError":  # SQLite's, through SQLAlchemy: the Dagster instance
        return None
    from emission_assets.settings import paths

    text, home = str(error), paths().dagster_home
    found = disk_error(text)
    if found is None and "disk I/O error" in text and _full(home):  # SQLite's word for a full disk in its journal
        found = errno.ENOSPC, None
    return disk_error_message(found[0], str(home)) if found else None


def _full(folder: Path) -> bool:
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False
