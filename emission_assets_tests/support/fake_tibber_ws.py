"""A fake Tibber Pulse websocket server (graphql-transport-ws on 127.0.0.1), driven per connection by a script."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve

from emission_assets.tibber.live import SUBPROTOCOL

TOKEN = "Zq8RwX4vLp2YmK7dNc5sHj3Tg9Bx"  # fake
SERVER_LOG = logging.getLogger("fake_tibber_server")
SERVER_LOG.setLevel(logging.CRITICAL + 1)  # the fake server sees the token in frames: keep it silent


class Conn:
    """One accepted connection, driven by a test's script."""

    def __init__(self, fake: FakeTibber, ws, index: int):
        self.fake = fake
        self.ws = ws
        self.index = index
        self.opened_at = fake.clock()
        self.headers = ws.request.headers
        self.received: list[dict] = []
        self.sub_id: str | None = None
        self.subscribe_payload: dict | None = None

    def expect(self, kind: str, timeout: float = 5.0) -> dict:
        while True:
            message = json.loads(self.ws.recv(timeout=timeout))
            self.received.append(message)
            if message.get("type") == kind:
                return message

    def handshake(self) -> None:
        init = self.expect("connection_init")
        if init.get("payload") != {"token": self.fake.token}:
            raise AssertionError("connection_init without the expected token payload")
        self.ws.send(json.dumps({"type": "connection_ack"}))
        sub = self.expect("subscribe")
        self.sub_id = sub["id"]
        self.subscribe_payload = sub["payload"]

    def send_next(self, item: dict) -> None:
        self.ws.send(json.dumps({"id": self.sub_id, "type": "next", "payload": {"data": {"liveMeasurement": item}}}))
        self.fake.sent.append(item)

    def ping(self, payload: dict) -> dict:
        self.ws.send(json.dumps({"type": "ping", "payload": payload}))
        return self.expect("pong")

    def drop(self) -> None:
        """Vanish without a close frame (network loss)."""
        self.ws.socket.shutdown(socket.SHUT_RDWR)

    def hold(self) -> None:
        """Keep the connection open, recording what the client sends, until the client closes it."""
        try:
            while True:
                self.received.append(json.loads(self.ws.recv()))
        except ConnectionClosed:
            pass


class FakeTibber:
    def __init__(self, script, clock=time.monotonic, token: str = TOKEN):
        self.script = script
        self.token = token
        self.clock = clock
        self.connections: list[Conn] = []
        self.sent: list[dict] = []
        self.errors: list[BaseException] = []
        self.server = serve(
            self._handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL], logger=SERVER_LOG, compression=None
        )
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/v1-beta/gql/subscriptions"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self, ws) -> None:
        conn = Conn(self, ws, len(self.connections))
        self.connections.append(conn)
        try:
            self.script(conn)
        except ConnectionClosed:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported by the fixture
            self.errors.append(exc)

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
