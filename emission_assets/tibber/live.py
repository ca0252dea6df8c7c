"""Record the Tibber Pulse live stream into the reservoir as atomic micro-batches.

Protocol (``graphql-transport-ws``): ``connection_init`` with ``{"token": ...}`` -> ``connection_ack`` ->
``subscribe`` -> repeated ``next``; the server may also send ``ping`` (answered with ``pong``), ``error`` and
``complete``. Tibber allows at most two open connections per server (close code 4429) and warns users who open
more than ~20 connections an hour, so the recorder keeps ONE connection, reconnects with exponential backoff and
never opens more than ``max_connections_per_hour`` connections in any rolling hour.

Buffered measurements are written every ``flush_seconds`` with :func:`layout.store_live_batch` (atomic: a batch is
either complete in the reservoir or absent), when the connection is lost, and on a clean stop. A measurement is
buffered once (duplicates by ``timestamp`` are dropped, also across reconnects) and the buffer is emptied only by
a successful write, so every measurement ends up in exactly one batch.

The token travels only in ``connection_init``'s payload: never in a header, URL, log record, exception or file.
"""
from __future__ import annotations

import json
import logging
import random
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from emission_assets import __version__
from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.settings import TIBBER_DEFAULT_WS_URL, settings
from emission_assets.tibber import layout
from emission_assets.timeutil import UTC

log = logging.getLogger(__name__)

SUBPROTOCOL = "graphql-transport-ws"
DEFAULT_WS_URL = TIBBER_DEFAULT_WS_URL
USER_AGENT = (
    f"energy-emission-tracker/{__version__} (Tibber Pulse live recorder; python-websockets/{websockets.__version__})"
)
LIVE_QUERY = (
    "subscription LiveMeasurement($homeId: ID!) { liveMeasurement(homeId: $homeId) { "
    "timestamp power accumulatedConsumption accumulatedCost currency minPower averagePower maxPower "
    "powerProduction accumulatedProduction } }"
)
ACK_TIMEOUT = 10.0
HOUR = 3600.0
CLOSE_UNAUTHORIZED = (4401, 4403)
CLOSE_TOO_MANY_CONNECTIONS = 4429
# How often the receive loop looks at the stop event (seconds of real time).
_POLL = 0.2
# Timestamps remembered for de-duplication (a day of 2 s measurements is ~43k).
_SEEN_LIMIT = 50_000
_AUTH_WORDS = re.compile(r"unauthori[sz]ed|unauthenticated|not authori[sz]ed|forbidden|invalid token", re.IGNORECASE)


class LiveAuthError(RuntimeError):
    """Tibber rejected the token; retrying would not help."""


@dataclass
class LiveStats:
    connections_opened: int = 0  # websocket handshakes that succeeded
    measurements_received: int = 0  # ``next`` measurements received, duplicates included
    batches_written: int = 0
    files: list[str] = field(default_factory=list)  # reservoir names of the written batches
    reconnects: int = 0  # connection attempts after the first
    last_error: str = ""
    duplicates_dropped: int = 0  # measurements whose timestamp had been recorded already
    invalid_dropped: int = 0  # measurements without a usable timezone-aware ``timestamp``


class LiveStorageError(RuntimeError):
    """A micro-batch could not be written; recording stops (the measurements stay in the recorder's buffer)."""


class _Lost(Exception):
    """The connection ended; carries a description and whether it was the 4429 rate limit."""

    def __init__(self, reason: str, *, rate_limited: bool = False):
        super().__init__(reason)
        self.rate_limited = rate_limited


class _Scrubbed(logging.LoggerAdapter):
    """websockets' logger without frame-level DEBUG output (frames carry the token) and with the token masked."""

    def __init__(self, logger: logging.Logger, scrub: Callable[[str], str]):
        super().__init__(logger, {})
        self._scrub = scrub

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)

    def log(self, level, msg, *args, **kwargs):
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        kwargs.pop("extra", None)
        self.logger.log(level, self._scrub(text), **kwargs)


class LiveRecorder:
    """Keeps one Pulse subscription open and writes its measurements to the reservoir in micro-batches.

    ``clock`` (monotonic seconds) drives flushing, ``duration``, the backoff and the connection budget; ``sleep`` is
    called with every whole wait (backoff, rate limit, connection budget). With the default ``time.sleep`` waits
    are done as ``stop.wait(seconds)`` so a stop (SIGTERM) ends them at once.
    """

    def __init__(
        self,
        ws_url: str,
        token: str,
        home_id: str,
        reservoir: Reservoir,
        *,
        flush_seconds: float = 60.0,
        max_connections_per_hour: int = 4,
        backoff_initial: float = 5.0,
        backoff_max: float = 300.0,
        rate_limited_backoff: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ack_timeout: float = ACK_TIMEOUT,
        user_agent: str = USER_AGENT,
    ):
        if not token:
            raise LiveAuthError("no Tibber token: set TIBBER_TOKEN")
        if max_connections_per_hour < 1:
            raise ValueError("max_connections_per_hour must be at least 1")
        if flush_seconds <= 0:
            raise ValueError("flush_seconds must be positive")
        self.ws_url = ws_url
        self._token = token
        self.home_id = home_id
        self.reservoir = reservoir
        self.flush_seconds = flush_seconds
        self.max_connections_per_hour = max_connections_per_hour
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rate_limited_backoff = rate_limited_backoff
        self.ack_timeout = ack_timeout
        self.user_agent = user_agent
        self._clock = clock
        self._sleep = sleep
        self._ws_logger = _Scrubbed(logging.getLogger(f"{__name__}.websocket"), self._scrub)
        self.stats = LiveStats()
        self._buffer: list[dict] = []
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._attempts: deque[float] = deque()  # clock() of every connection attempt in the last hour
        self._stop = threading.Event()
        self._deadline: float | None = None
        self._next_flush = 0.0

    def __repr__(self) -> str:  # never show the token
        return f"LiveRecorder(ws_url={self._scrub(self.ws_url)!r}, home_id={self.home_id!r})"

    # ------------------------------------------------------------------ public
    def run(self, stop: threading.Event | None = None, duration: float | None = None) -> LiveStats:
        """Record until ``stop`` is set or ``duration`` seconds (of ``clock``) have passed; returns the stats.

        Raises :class:`LiveAuthError` when Tibber rejects the token. Whatever was received is flushed before
        returning or raising (also on KeyboardInterrupt, which is re-raised; ``self.stats`` stays available).
        """
        self._stop = stop if stop is not None else threading.Event()
        self._deadline = None if duration is None else self._clock() + duration
        self._next_flush = self._clock() + self.flush_seconds
        failures = 0  # consecutive connections that delivered no measurement
        rate_limited = False
        first = True
        try:
            while not self._should_stop():
                if not first:
                    delay = self._backoff(failures, rate_limited)
                    why = "Tibber closed with 4429 (too many connections)" if rate_limited else "connection lost"
                    log.info("%s; reconnecting in %.1f s", why, delay)
                    if not self._wait(delay):
                        break
                    self.stats.reconnects += 1
                if not self._wait_for_budget():
                    break
                first = False
                useful, rate_limited = self._session()
                failures = 0 if useful else failures + 1
        except BaseException:
            self._flush_quietly()
            raise
        self._flush()
        return self.stats

    # ------------------------------------------------------------ connection
    def _session(self) -> tuple[bool, bool]:
        """One connection from handshake to loss or stop: (received any measurement, closed with 4429)."""
        self._attempts.append(self._clock())
        received_before = self.stats.measurements_received
        url = self._scrub(self.ws_url)
        log.info("connecting to %s (%d connection(s) in the last hour)", url, len(self._attempts))
        try:
            ws = connect(
                self.ws_url,
                subprotocols=[SUBPROTOCOL],
                user_agent_header=self.user_agent,
                open_timeout=self.ack_timeout,
                logger=self._ws_logger,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise LiveAuthError(
                    f"Tibber refused the live connection (HTTP {status}): check TIBBER_TOKEN"
                ) from None
            self._note_error(f"handshake failed: HTTP {status}")
            return False, status == 429
        except (InvalidHandshake, OSError) as exc:  # TimeoutError is an OSError
            self._note_error(f"could not connect: {type(exc).__name__}: {exc}")
            return False, False
        self.stats.connections_opened += 1
        sub_id = uuid.uuid4().hex
        try:
            with ws:
                if ws.subprotocol != SUBPROTOCOL:
                    self._note_error(f"server did not accept sub-protocol {SUBPROTOCOL}")
                    return False, False
                try:
                    self._converse(ws, sub_id)
                except _Lost as lost:
                    self._note_error(str(lost))
                    return self.stats.measurements_received > received_before, lost.rate_limited
                except ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd is not None else None
                    reason = self._scrub(exc.rcvd.reason) if exc.rcvd is not None else ""
                    if code in CLOSE_UNAUTHORIZED:
                        raise LiveAuthError(
                            f"Tibber closed the live connection with {code} ({reason or 'unauthorized'}): "
                            "check TIBBER_TOKEN"
                        ) from None
                    self._note_error(f"connection closed: {code if code is not None else 'abruptly'} {reason}".strip())
                    return (
                        self.stats.measurements_received > received_before,
                        code == CLOSE_TOO_MANY_CONNECTIONS,
                    )
                except OSError as exc:  # socket errors (storage errors are LiveStorageError)
                    self._note_error(f"connection failed: {type(exc).__name__}: {self._scrub(str(exc))}")
                    return self.stats.measurements_received > received_before, False
                # stopped cleanly: end the subscription politely, then close (the with block)
                try:
                    ws.send(json.dumps({"id": sub_id, "type": "complete"}))
                except (ConnectionClosed, OSError):
                    pass
                return True, False
        finally:
            self._flush()  # what this connection delivered (on loss: before any reconnect)

    def _converse(self, ws, sub_id: str) -> None:
        """Init, wait for the ack, subscribe and receive until stopped (returns) or the connection ends (raises)."""
        ws.send(json.dumps({"type": "connection_init", "payload": {"token": self._token}}))
        ack_deadline = time.monotonic() + self.ack_timeout
        while True:
            if self._should_stop():
                return
            remaining = ack_deadline - time.monotonic()
            if remaining <= 0:
                raise _Lost(f"no connection_ack within {self.ack_timeout:g} s")
            try:
                message = self._decode(ws.recv(timeout=min(remaining, _POLL)))
            except TimeoutError:
                continue
            if message is None:
                continue
            kind = message.get("type")
            if kind == "connection_ack":
                break
            self._handle_control(ws, message, sub_id)
        log.info("connection acknowledged; subscribing to home %s", self.home_id)
        ws.send(
            json.dumps(
                {
                    "id": sub_id,
                    "type": "subscribe",
                    "payload": {"query": LIVE_QUERY, "variables": {"homeId": self.home_id}},
                }
            )
        )
        while not self._should_stop():
            now = self._clock()
            if now >= self._next_flush:
                self._flush()
                self._next_flush = now + self.flush_seconds
            timeout = max(0.0, min(_POLL, self._next_flush - now, self._until_deadline(now)))
            try:
                message = self._decode(ws.recv(timeout=timeout))
            except TimeoutError:
                continue
            if message is None:
                continue
            if message.get("type") == "next" and message.get("id") == sub_id:
                self._on_next(message.get("payload"))
            else:
                self._handle_control(ws, message, sub_id)

    def _handle_control(self, ws, message: dict, sub_id: str) -> None:
        kind = message.get("type")
        if kind == "ping":
            pong = {"type": "pong"}
            if "payload" in message:
                pong["payload"] = message["payload"]
            ws.send(json.dumps(pong))
        elif kind in ("pong", "connection_ack"):
            pass
        elif kind == "error":
            text = self._scrub(json.dumps(message.get("payload"), ensure_ascii=False))
            if _AUTH_WORDS.search(text):
                raise LiveAuthError(f"Tibber rejected the live subscription ({text}): check TIBBER_TOKEN")
            raise _Lost(f"server error: {text}")
        elif kind == "complete":
            if message.get("id") in (None, sub_id):
                raise _Lost("server completed the subscription")
        elif kind == "next":
            log.debug("ignoring a next message for another subscription")
        else:
            log.debug("ignoring a %r message", kind)

    def _on_next(self, payload) -> None:
        payload = payload if isinstance(payload, dict) else {}
        errors = payload.get("errors")
        if errors:
            text = self._scrub(json.dumps(errors, ensure_ascii=False))
            if _AUTH_WORDS.search(text):
                raise LiveAuthError(f"Tibber rejected the live subscription ({text}): check TIBBER_TOKEN")
            log.warning("live subscription reported errors: %s", text)
        data = payload.get("data") or {}
        measurement = data.get("liveMeasurement") if isinstance(data, dict) else None
        if not isinstance(measurement, dict):
            return
        self.stats.measurements_received += 1
        stamp = measurement.get("timestamp")
        try:
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                raise ValueError("naive timestamp")
        except (TypeError, ValueError):
            self.stats.invalid_dropped += 1
            log.warning("dropping a measurement without a timezone-aware timestamp: %r", stamp)
            return
        if stamp in self._seen:
            self.stats.duplicates_dropped += 1
            log.debug("dropping duplicate measurement %s", stamp)
            return
        self._seen.add(stamp)
        self._seen_order.append(stamp)
        if len(self._seen_order) > _SEEN_LIMIT:
            self._seen.discard(self._seen_order.popleft())
        self._buffer.append(measurement)

    # ------------------------------------------------------------- storage
    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        try:
            stored = layout.store_live_batch(
                self.reservoir, home_id=self.home_id, measurements=batch, written_at=datetime.now(UTC)
            )
        except BaseException as exc:
            self._buffer = batch + self._buffer  # not written: keep for the next attempt
            if isinstance(exc, Exception):
                raise LiveStorageError(f"could not write a live batch to the reservoir: {exc}") from exc
            raise
        self.stats.batches_written += 1
        self.stats.files.append(stored.name)
        log.info("wrote %d live measurement(s) to %s", len(batch), stored.name)

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except Exception as exc:  # noqa: BLE001 - already failing: report, keep the original exception
            log.error("could not write the last %d live measurement(s): %s", len(self._buffer), exc)

    # -------------------------------------------------------------- timing
    def _backoff(self, failures: int, rate_limited: bool) -> float:
        """``backoff_initial`` after a connection that delivered data (or the first failure), doubling with each
        further failure up to ``backoff_max``; after a 4429 at least ``rate_limited_backoff``."""
        base = min(self.backoff_max, self.backoff_initial * 2 ** max(0, failures - 1))
        delay = base * (1 + random.uniform(0, 0.1))  # jitter: at most +10 %
        if rate_limited:
            delay = max(delay, self.rate_limited_backoff * (1 + random.uniform(0, 0.1)))
        return delay

    def _wait_for_budget(self) -> bool:
        """Wait until opening a connection keeps at most ``max_connections_per_hour`` in any rolling hour."""
        while True:
            now = self._clock()
            while self._attempts and self._attempts[0] <= now - HOUR:
                self._attempts.popleft()
            if len(self._attempts) < self.max_connections_per_hour:
                return not self._should_stop()
            wait = self._attempts[0] + HOUR - now
            log.warning(
                "connection budget: %d connection(s) opened in the last hour (limit %d, Tibber warns users who "
                "reconnect too often); waiting %.0f s before reconnecting",
                len(self._attempts),
                self.max_connections_per_hour,
                wait,
            )
            if not self._wait(wait):
                return False

    def _wait(self, seconds: float) -> bool:
        """Wait (cut short by stop or the deadline); True if recording should go on."""
        if self._should_stop():
            return False
        seconds = max(0.0, min(seconds, self._until_deadline(self._clock())))
        if self._sleep is time.sleep:
            self._stop.wait(seconds)
        else:
            self._sleep(seconds)
        return not self._should_stop()

    def _until_deadline(self, now: float) -> float:
        return float("inf") if self._deadline is None else self._deadline - now

    def _should_stop(self) -> bool:
        return self._stop.is_set() or (self._deadline is not None and self._clock() >= self._deadline)

    # ---------------------------------------------------------------- misc
    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _decode(self, raw) -> dict | None:
        try:
            message = json.loads(raw)
        except (TypeError, ValueError):
            log.warning("ignoring a message that is not JSON (%d bytes)", len(raw))
            return None
        if not isinstance(message, dict):
            log.warning("ignoring a message that is not a JSON object")
            return None
        return message

    def _note_error(self, text: str) -> None:
        self.stats.last_error = self._scrub(text)
        log.warning("Tibber live stream: %s", self.stats.last_error)


def record_live(
    reservoir: Reservoir | str | Path,
    *,
    home_id: str,
    token: str,
    ws_url: str = DEFAULT_WS_URL,
    stop: threading.Event | None = None,
    duration: float | None = None,
    **options,
) -> LiveStats:
    """Record the live stream (no signal handling); ``options`` go to :class:`LiveRecorder`."""
    store = reservoir if isinstance(reservoir, Reservoir) else Reservoir(reservoir)
    return LiveRecorder(ws_url, token, home_id, store, **options).run(stop=stop, duration=duration)


def run_live_from_env(
    reservoir: Reservoir | str | Path,
    home_id: str | None = None,
    ws_url: str | None = None,
    token: str | None = None,
    flush_seconds: float = 60.0,
    duration: float | None = None,
) -> LiveStats:
    """CLI entry: record until SIGTERM / Ctrl-C / ``duration``; missing arguments come from the environment
    (TIBBER_TOKEN, TIBBER_HOME_ID, TIBBER_WS_URL, else :data:`DEFAULT_WS_URL`).

    In the main thread a SIGTERM handler sets the stop event (the previous handler is restored afterwards);
    Ctrl-C ends the recording cleanly too. Either way the buffered measurements are flushed.
    """
    configured = settings().tibber
    token = token or (configured.token.get_secret_value() if configured.token else "")
    home_id = home_id or configured.home_id or ""
    ws_url = ws_url or configured.ws_url
    if not token:
        raise LiveAuthError("no Tibber token: set TIBBER_TOKEN")
    if not home_id:
        raise ValueError("no Tibber home id: pass one or set TIBBER_HOME_ID")
    store = reservoir if isinstance(reservoir, Reservoir) else Reservoir(reservoir)
    recorder = LiveRecorder(ws_url, token, home_id, store, flush_seconds=flush_seconds)
    stop = threading.Event()
    previous = None
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        return recorder.run(stop=stop, duration=duration)
    except KeyboardInterrupt:
        log.info("interrupted; the buffered measurements were written")
        return recorder.stats
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
