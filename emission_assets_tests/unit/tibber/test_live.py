"""Pulse live recorder against a fake Tibber websocket server (graphql-transport-ws on 127.0.0.1).

Real websockets and real threads; the recorder's clock/sleep are injected (real monotonic time plus the waits it
asked for) so backoff, the 4429 rate limit and the hourly connection budget are observed without waiting.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.tibber import layout
from emission_assets.tibber.live import (
    LIVE_QUERY,
    SUBPROTOCOL,
    LiveAuthError,
    LiveRecorder,
)
from emission_assets.timeutil import UTC
from emission_assets_tests.support.fake_tibber_ws import TOKEN, Conn, FakeTibber
from emission_assets_tests.support.paths import REPO_ROOT

# websockets shortens logged frames ("abc...xyz"): look for any 6-character piece of the token, not only all of it
TOKEN_PIECES = [TOKEN[i : i + 6] for i in range(len(TOKEN) - 5)]
HOME = "96a14971-525a-4420-aae9-e5aedaa129ff"
DAY = date(2024, 3, 31)  # DST starts at 02:00 local: offsets +01:00 and +02:00 on one day


def measurement(i: int) -> dict:
    moment = datetime(2024, 3, 31, 0, 59, 30, tzinfo=UTC) + timedelta(seconds=10 * i)
    local = moment.astimezone(ZoneInfo("Europe/Berlin"))
    return {
        "timestamp": local.isoformat(timespec="milliseconds"),
        "power": 1000.0 + i,
        "accumulatedConsumption": round(3.2 + 0.003 * i, 6),
        "accumulatedCost": round(1.1 + 0.001 * i, 6),
        "currency": "EUR",
        "minPower": 150.0,
        "averagePower": 800.5,
        "maxPower": 4200.0,
        "powerProduction": 0.0,
        "accumulatedProduction": 0.0,
    }


MEASUREMENTS = [measurement(i) for i in range(400)]


class FakeTime:
    """Real monotonic time plus every wait the recorder asked for (which is recorded, not slept)."""

    def __init__(self):
        self.offset = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        time.sleep(0.001)


class ManualClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self):
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def tibber():
    started: list[FakeTibber] = []

    def start(script, clock=time.monotonic) -> FakeTibber:
        fake = FakeTibber(script, clock)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.close()
    for fake in started:
        assert not fake.errors, fake.errors


@pytest.fixture
def reservoir(tmp_path):
    return Reservoir(tmp_path / "reservoir")


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


class Background:
    """``recorder.run`` in a thread; ``finish()`` stops it and returns the stats (or raises its error)."""

    def __init__(self, recorder: LiveRecorder, duration: float | None = None):
        self.recorder = recorder
        self.stop = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(duration,), daemon=True)
        self.thread.start()

    def _run(self, duration):
        try:
            self.result = self.recorder.run(self.stop, duration)
        except BaseException as exc:  # noqa: BLE001
            self.error = exc

    def finish(self, timeout: float = 10.0):
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "recorder did not stop"
        if self.error is not None:
            raise self.error
        return self.result


def stored_measurements(reservoir: Reservoir) -> tuple[list, list[dict]]:
    files = sorted(layout.stored_files(reservoir, layout.LIVE, DAY, DAY), key=lambda f: f.meta["series_start_ms"])
    items = []
    for f in files:
        body = json.loads(f.read_bytes())
        assert body["home_id"] == HOME
        items.extend(body["measurements"])
    return files, items


def recorder_for(fake: FakeTibber, reservoir: Reservoir, **options) -> LiveRecorder:
    return LiveRecorder(fake.url, TOKEN, HOME, reservoir, **options)


def assert_no_token_piece(text: str, where: str) -> None:
    leaked = [piece for piece in TOKEN_PIECES if piece in text]
    assert not leaked, f"token pieces {leaked} in {where}"


def assert_token_nowhere(reservoir: Reservoir, caplog) -> None:
    for path in reservoir.root.rglob("*"):
        if path.is_file():
            assert_no_token_piece(path.read_bytes().decode("utf-8", "replace"), str(path))
    assert_no_token_piece(caplog.text, "the log")
    for record in caplog.records:
        assert_no_token_piece(record.getMessage(), f"log record {record.name}")
        assert_no_token_piece(record.exc_text or "", f"log record {record.name}")


# --------------------------------------------------------------------------------------------------- happy path
def test_happy_path_batches_hold_each_measurement_once_and_ping_is_answered(tibber, reservoir, caplog):
    caplog.set_level(logging.DEBUG)
    sent = MEASUREMENTS[:5]
    assert sent[0]["timestamp"].endswith("+01:00") and sent[-1]["timestamp"].endswith("+02:00")
    pongs = []

    frozen = ManualClock()  # the recorder flushes when the test advances the clock, not after a real sleep

    def script(conn: Conn):
        conn.handshake()
        for item in sent[:3]:
            conn.send_next(item)
        pongs.append(conn.ping({"nonce": 7}))
        wait_for(lambda: recorder.stats.measurements_received == 3)
        frozen.advance(0.2)  # flush_seconds have passed: the first three land in their own batch
        wait_for(lambda: recorder.stats.batches_written == 1)
        for item in sent[3:]:
            conn.send_next(item)
        conn.hold()

    fake = tibber(script)
    recorder = recorder_for(fake, reservoir, flush_seconds=0.2, clock=frozen.clock)
    background = Background(recorder)
    wait_for(lambda: recorder.stats.measurements_received == len(sent))
    stats = background.finish()

    # the server's ping got a pong echoing its payload
    assert pongs == [{"type": "pong", "payload": {"nonce": 7}}]
    conn = fake.connections[0]
    assert len(fake.connections) == 1
    # the token travels only in connection_init; a descriptive User-Agent; home id as a variable
    assert "Authorization" not in conn.headers
    assert conn.headers["User-Agent"].startswith("energy-emission-tracker/")
    assert conn.headers["Sec-WebSocket-Protocol"] == SUBPROTOCOL
    assert conn.subscribe_payload == {"query": LIVE_QUERY, "variables": {"homeId": HOME}}
    assert HOME not in conn.subscribe_payload["query"]
    # the client sent nothing but init, subscribe, pong and, on stop, complete
    assert [m["type"] for m in conn.received] == ["connection_init", "subscribe", "pong", "complete"]
    assert conn.received[-1]["id"] == conn.sub_id

    files, items = stored_measurements(reservoir)
    assert items == sent
    assert [json.loads(f.read_bytes())["measurements"] for f in files] == [sent[:3], sent[3:]]  # the rest on stop
    assert stats.batches_written == len(files) == 2
    assert sorted(stats.files) == sorted(f.name for f in files)
    assert stats.connections_opened == 1 and stats.reconnects == 0 and stats.measurements_received == 5
    for f in files:
        meta_path = f.path.with_name(f.path.name[: -len(".json")] + ".meta.json")
        assert stat.S_IMODE(f.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(meta_path.stat().st_mode) == 0o600
        assert f.meta["kind"] == "live" and f.meta["home_id"] == HOME
    assert_token_nowhere(reservoir, caplog)
    assert TOKEN not in repr(recorder)


# ------------------------------------------------------------------------------------------------- reconnects
def test_dropped_connection_reconnects_resubscribes_and_keeps_every_measurement_once(tibber, reservoir):
    fake_time = FakeTime()

    def script(conn: Conn):
        conn.handshake()
        if conn.index == 0:
            for item in MEASUREMENTS[0:3]:
                conn.send_next(item)
            time.sleep(0.1)
            conn.drop()
            return
        conn.send_next(MEASUREMENTS[2])  # the server repeats the latest measurement after a reconnect
        for item in MEASUREMENTS[3:6]:
            conn.send_next(item)
        conn.hold()

    fake = tibber(script, fake_time.clock)
    recorder = recorder_for(fake, reservoir, flush_seconds=60.0, clock=fake_time.clock, sleep=fake_time.sleep)
    background = Background(recorder)
    wait_for(lambda: recorder.stats.measurements_received == 7)
    stats = background.finish()

    assert len(fake.connections) == 2
    assert fake.connections[1].sub_id is not None  # resubscribed
    assert stats.connections_opened == 2 and stats.reconnects == 1 and stats.duplicates_dropped == 1
    assert len(fake_time.sleeps) == 1 and 5.0 <= fake_time.sleeps[0] <= 5.5  # backoff_initial + jitter <= 10 %
    files, items = stored_measurements(reservoir)
    assert items == MEASUREMENTS[:6]
    # what the lost connection delivered was flushed at the loss, before reconnecting
    assert [json.loads(f.read_bytes())["measurements"] for f in files] == [MEASUREMENTS[0:3], MEASUREMENTS[3:6]]
    assert "abruptly" in stats.last_error


def test_close_4429_waits_the_rate_limited_backoff_before_reconnecting(tibber, reservoir):
    fake_time = FakeTime()

    def script(conn: Conn):
        if conn.index == 0:
            conn.expect("connection_init")
            conn.ws.close(4429, "Too many connections")
            return
        conn.handshake()
        conn.send_next(MEASUREMENTS[0])
        conn.hold()

    fake = tibber(script, fake_time.clock)
    recorder = recorder_for(
        fake, reservoir, rate_limited_backoff=600.0, clock=fake_time.clock, sleep=fake_time.sleep
    )
    background = Background(recorder)
    wait_for(lambda: recorder.stats.measurements_received == 1)
    stats = background.finish()

    assert len(fake_time.sleeps) == 1 and 600.0 <= fake_time.sleeps[0] <= 660.0
    assert fake.connections[1].opened_at - fake.connections[0].opened_at >= 600.0
    assert stats.connections_opened == 2
    assert "4429" in stats.last_error
    assert stored_measurements(reservoir)[1] == [MEASUREMENTS[0]]


def test_never_more_than_max_connections_in_any_rolling_hour(tibber, reservoir, caplog):
    caplog.set_level(logging.WARNING)
    fake_time = FakeTime()
    fake = tibber(lambda conn: None, fake_time.clock)  # accept, then close at once, every time
    recorder = recorder_for(
        fake, reservoir, max_connections_per_hour=2, clock=fake_time.clock, sleep=fake_time.sleep
    )
    stats = recorder.run(duration=2.5 * 3600)  # virtual time: the waits are recorded, not slept

    opened = [c.opened_at - fake.connections[0].opened_at for c in fake.connections]
    assert len(opened) >= 4  # it kept trying, hour after hour
    assert sum(1 for t in opened if t < 3600 - 1) == 2  # a third connection waited for the hour to pass
    for first, third in zip(opened, opened[2:]):
        assert third - first >= 3600 - 0.5
    assert any(s > 3000 for s in fake_time.sleeps)  # it waited instead of connecting
    assert "connection budget" in caplog.text
    assert stats.batches_written == 0 and stats.files == []


def test_missing_connection_ack_counts_as_a_failed_connection(tibber, reservoir):
    fake_time = FakeTime()

    def script(conn: Conn):
        if conn.index == 0:
            conn.expect("connection_init")
            conn.hold()  # never acknowledges
            return
        conn.handshake()
        conn.send_next(MEASUREMENTS[0])
        conn.hold()

    fake = tibber(script, fake_time.clock)
    recorder = recorder_for(fake, reservoir, ack_timeout=0.3, clock=fake_time.clock, sleep=fake_time.sleep)
    background = Background(recorder)
    wait_for(lambda: recorder.stats.measurements_received == 1)
    stats = background.finish()
    assert len(fake.connections) == 2
    assert "connection_ack" in stats.last_error


# ------------------------------------------------------------------------------------------------ auth errors
@pytest.mark.parametrize("how", ["close_4401", "error_message"])
def test_auth_failure_raises_live_auth_error_naming_the_variable_not_the_token(tibber, reservoir, caplog, how):
    caplog.set_level(logging.DEBUG)
    fake_time = FakeTime()

    def script(conn: Conn):
        if how == "close_4401":
            conn.expect("connection_init")
            conn.ws.close(4401, "Unauthorized")
            return
        conn.handshake()
        conn.ws.send(
            json.dumps(
                {
                    "id": conn.sub_id,
                    "type": "error",
                    "payload": [{"message": f"Unauthorized: token {TOKEN} is not valid"}],
                }
            )
        )
        conn.hold()

    fake = tibber(script, fake_time.clock)
    recorder = recorder_for(fake, reservoir, clock=fake_time.clock, sleep=fake_time.sleep)
    with pytest.raises(LiveAuthError, match="TIBBER_TOKEN") as raised:
        recorder.run(duration=60)
    message = str(raised.value)
    assert "TIBBER_TOKEN" in message
    assert_no_token_piece(message, "the exception")
    assert_no_token_piece(repr(raised.value.__cause__) + repr(raised.value.__context__), "chained exceptions")
    assert len(fake.connections) == 1 and fake_time.sleeps == []  # no retry with a rejected token
    assert_token_nowhere(reservoir, caplog)


# ------------------------------------------------------------------------------------- crash safety (subprocess)
RECORDER_PROCESS = """
import json, os, sys
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.tibber.live import LiveRecorder, run_live_from_env
url, root, mode = sys.argv[1:4]
if mode == "kill":
    LiveRecorder(url, os.environ["TIBBER_TOKEN"], sys.argv[4], Reservoir(root), flush_seconds=0.3).run()
else:
    stats = run_live_from_env(Reservoir(root), sys.argv[4], url, None, 0.3, None)
    print(json.dumps({"received": stats.measurements_received, "batches": stats.batches_written}))
"""


def streaming_script(conn: Conn):
    conn.handshake()
    for item in MEASUREMENTS:
        conn.send_next(item)
        time.sleep(0.01)
        try:  # record what the client sends meanwhile (its final complete)
            conn.received.append(json.loads(conn.ws.recv(timeout=0)))
        except TimeoutError:
            pass
    conn.hold()


def start_recorder_process(fake: FakeTibber, reservoir: Reservoir, mode: str) -> subprocess.Popen:
    env = {**os.environ, "TIBBER_TOKEN": TOKEN, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", RECORDER_PROCESS, fake.url, str(reservoir.root), mode, HOME],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def live_files(reservoir: Reservoir) -> list:
    return reservoir.list(f"{layout.RESERVOIR_DIR}/{layout.LIVE}/{DAY.isoformat()}")


def assert_complete_prefix(reservoir: Reservoir, sent: list[dict]) -> list[dict]:
    files = sorted(live_files(reservoir), key=lambda f: f.meta["series_start_ms"])
    items = []
    for f in files:
        assert not f.name.endswith(".tmp")
        data = f.read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.meta["sha256"]  # complete payload behind every sidecar
        body = json.loads(data)
        assert body["measurements"] and len(body["measurements"]) == f.meta["points"]
        items.extend(body["measurements"])
    stamps = [m["timestamp"] for m in items]
    assert len(stamps) == len(set(stamps)), "a measurement is in two batches"
    assert items == sent[: len(items)], "batches are not a prefix of the stream"
    return items


def test_kill_9_between_batches_leaves_only_complete_batches(tibber, reservoir):
    fake = tibber(streaming_script)
    process = start_recorder_process(fake, reservoir, "kill")
    try:
        wait_for(lambda: len(live_files(reservoir)) >= 3, timeout=15)
        flushed_before_kill = sum(f.meta["points"] for f in live_files(reservoir))
    finally:
        process.kill()  # SIGKILL: no chance to flush
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL, stderr
    items = assert_complete_prefix(reservoir, fake.sent)
    assert len(items) >= flushed_before_kill  # nothing flushed is lost
    assert len(fake.sent) < len(MEASUREMENTS)  # killed mid-stream


def test_sigterm_stops_cleanly_and_flushes_everything_received(tibber, reservoir):
    fake = tibber(streaming_script)
    process = start_recorder_process(fake, reservoir, "term")
    try:
        wait_for(lambda: len(live_files(reservoir)) >= 2, timeout=15)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    stats = json.loads(stdout)
    items = assert_complete_prefix(reservoir, fake.sent)
    assert len(items) == stats["received"]  # the buffered rest was flushed on SIGTERM
    wait_for(lambda: fake.connections[0].received[-1]["type"] == "complete")
    assert_no_token_piece(stderr, "stderr")
