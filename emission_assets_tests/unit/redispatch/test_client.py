"""NetztransparenzClient against a fake token + API server on 127.0.0.1."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from emission_assets.redispatch.client import (
    NetztransparenzAuthError,
    NetztransparenzClient,
    NetztransparenzError,
    api_timestamp,
)
from emission_assets.timeutil import BERLIN, UTC

CLIENT_ID, SECRET = "demo-client", "s3cr3t-do-not-print"
TOKEN_PATH = "/users/connect/token"
START, END = datetime(2024, 3, 25, tzinfo=BERLIN), datetime(2024, 3, 26, tzinfo=BERLIN)
DATA_PATH = "/api/v1/data/redispatch/2024-03-24T23:00:00/2024-03-25T23:00:00"
CSV = b"BEGINN_DATUM;BEGINN_UHRZEIT\r\n25.03.2024;00:00\r\n"


def client_for(server: HTTPServer, **kwargs) -> NetztransparenzClient:
    kwargs.setdefault("retries", 3)
    return NetztransparenzClient(
        CLIENT_ID, SECRET, token_url=server.url_for(TOKEN_PATH), api_url=server.url_for("/api/v1"),
        timeout=(2, 5), backoff_factor=0.01, **kwargs,
    )


def token_handler(seen: list):
    def handle(request: Request) -> Response:
        seen.append(dict(request.form))
        return Response(json.dumps({"access_token": f"token-{len(seen)}", "expires_in": 3600, "token_type": "Bearer"}),
                        content_type="application/json")
    return handle


def data_handler(seen: list, body: bytes = CSV):
    def handle(request: Request) -> Response:
        seen.append(request.headers.get("Authorization"))
        return Response(body, content_type="text/csv")
    return handle


def test_token_form_bearer_header_and_caching(httpserver):
    tokens, auth = [], []
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_handler(token_handler(tokens))
    httpserver.expect_request(DATA_PATH, method="GET").respond_with_handler(data_handler(auth))
    with client_for(httpserver) as client:
        first = client.redispatch(START, END)
        second = client.redispatch(START, END)
    assert tokens == [{"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}]
    assert auth == ["Bearer token-1", "Bearer token-1"]  # cached, requested once
    assert client.token_requests == 1
    assert first.payload == CSV and second.payload == CSV
    assert first.url == httpserver.url_for(DATA_PATH)
    assert first.window_start == datetime(2024, 3, 24, 23, tzinfo=UTC)
    assert SECRET not in repr(client)


def test_expired_token_is_requested_again(httpserver):
    tokens, auth = [], []

    def short_lived(request: Request) -> Response:
        tokens.append(dict(request.form))
        return Response(json.dumps({"access_token": f"token-{len(tokens)}", "expires_in": 1}),
                        content_type="application/json")

    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_handler(short_lived)
    httpserver.expect_request(DATA_PATH).respond_with_handler(data_handler(auth))
    with client_for(httpserver) as client:
        client.redispatch(START, END)
        client.redispatch(START, END)
    assert auth == ["Bearer token-1", "Bearer token-2"]  # lifetime below the safety margin: never reused


def test_wrong_credentials_401_without_the_secret(httpserver):
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_json(
        {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}, status=401)
    with client_for(httpserver) as client, pytest.raises(NetztransparenzAuthError, match="credentials are wrong") as caught:
        client.redispatch(START, END)
    message = str(caught.value)
    assert caught.value.status == 401
    assert "credentials are wrong" in message and "NETZTRANSPARENZ_CLIENT_SECRET" in message
    assert "invalid_client" in message
    assert SECRET not in message and SECRET not in repr(caught.value.args)
    assert caught.value.__cause__ is None


def test_server_error_then_success(httpserver):
    tokens, auth = [], []
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_handler(token_handler(tokens))
    httpserver.expect_oneshot_request(DATA_PATH).respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request(DATA_PATH).respond_with_data("oops", status=502)
    httpserver.expect_request(DATA_PATH).respond_with_handler(data_handler(auth))
    with client_for(httpserver) as client:
        fetched = client.redispatch(START, END)
    assert fetched.payload == CSV
    assert auth == ["Bearer token-1"]
    assert len([entry for entry in httpserver.log if entry[0].path == DATA_PATH]) == 3


def test_persistent_server_error_names_url_and_status(httpserver):
    tokens = []
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_handler(token_handler(tokens))
    httpserver.expect_request(DATA_PATH).respond_with_data("down", status=500)
    with client_for(httpserver, retries=2) as client, pytest.raises(NetztransparenzError, match="HTTP 500") as caught:
        client.redispatch(START, END)
    message = str(caught.value)
    assert caught.value.status == 500
    assert httpserver.url_for(DATA_PATH) in message and "HTTP 500" in message and "after 2 retries" in message
    assert SECRET not in message


def test_api_401_with_fresh_token(httpserver):
    tokens = []
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_handler(token_handler(tokens))
    httpserver.expect_request(DATA_PATH).respond_with_data("no", status=401)
    with client_for(httpserver) as client, pytest.raises(NetztransparenzAuthError, match="HTTP 401"):
        client.redispatch(START, END)
    assert len(tokens) == 2  # the cached token was dropped once, then the error


def test_credentials_from_env(monkeypatch, httpserver):
    monkeypatch.delenv("NETZTRANSPARENZ_CLIENT_ID", raising=False)
    monkeypatch.delenv("NETZTRANSPARENZ_CLIENT_SECRET", raising=False)
    with pytest.raises(NetztransparenzAuthError, match="NETZTRANSPARENZ_CLIENT_ID and NETZTRANSPARENZ_CLIENT_SECRET"):
        NetztransparenzClient.from_env()
    monkeypatch.setenv("NETZTRANSPARENZ_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("NETZTRANSPARENZ_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("NETZTRANSPARENZ_TOKEN_URL", httpserver.url_for(TOKEN_PATH))
    monkeypatch.setenv("NETZTRANSPARENZ_API_URL", httpserver.url_for("/api/v1"))
    client = NetztransparenzClient.from_env()
    assert client.redispatch_url(START, END) == httpserver.url_for(DATA_PATH)
    assert api_timestamp(datetime(2024, 7, 1, 0, 0, tzinfo=BERLIN)) == "2024-06-30T22:00:00"
