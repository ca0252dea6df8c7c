"""HTTP client for the netztransparenz.de redispatch API (OAuth2 client credentials, free account).

- Token: ``POST {token_url}`` form ``grant_type=client_credentials, client_id, client_secret`` -> ``access_token``
  (+ ``expires_in``), cached until shortly before it expires.
- Data: ``GET {api_url}/data/redispatch/{from}/{to}`` with ``Authorization: Bearer <token>``; ``from``/``to`` are
  ISO ``YYYY-MM-DDTHH:MM:SS`` in UTC; the body is the ``;``-separated CSV (returned as bytes, unparsed).

Retries (connect/read errors, 429 and 5xx, honouring ``Retry-After``) live in urllib3's ``Retry`` on the session's
adapter, not in loops here. The one exception is a single token refresh when the API answers 401 to a cached token
(it may have been revoked early); that is re-authentication, not a retry of a failure.
The client secret is never logged, never part of an error message, ``repr`` or file: errors name the URL and status.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests

from emission_assets.http import RETRY_STATUSES, ClosingClient, retrying_session
from emission_assets.settings import NETZTRANSPARENZ_DEFAULT_API_URL, NETZTRANSPARENZ_DEFAULT_TOKEN_URL, settings
from emission_assets.timeutil import UTC

DEFAULT_TOKEN_URL = NETZTRANSPARENZ_DEFAULT_TOKEN_URL
DEFAULT_API_URL = NETZTRANSPARENZ_DEFAULT_API_URL
CLIENT_ID_ENV = "NETZTRANSPARENZ_CLIENT_ID"
CLIENT_SECRET_ENV = "NETZTRANSPARENZ_CLIENT_SECRET"
TOKEN_URL_ENV = "NETZTRANSPARENZ_TOKEN_URL"
API_URL_ENV = "NETZTRANSPARENZ_API_URL"
DEFAULT_USER_AGENT = "energy-emission-tracker/0.1 (netztransparenz redispatch client; python-requests)"
TOKEN_EXPIRY_MARGIN_S = 30.0
DEFAULT_TOKEN_LIFETIME_S = 300.0  # when the token response has no expires_in


class NetztransparenzError(RuntimeError):
    """A request that failed for good (after retries); names the URL and HTTP status, never the secret."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class NetztransparenzAuthError(NetztransparenzError):
    """Credentials missing, wrong, or not allowed to read the data."""


@dataclass(frozen=True)
class FetchedRedispatch:
    url: str
    payload: bytes  # raw CSV bytes as served
    fetched_at: datetime
    window_start: datetime
    window_end: datetime


def credentials_from_env() -> tuple[str, str] | None:
    """``($NETZTRANSPARENZ_CLIENT_ID, $NETZTRANSPARENZ_CLIENT_SECRET)``, or None unless both are set."""
    configured = settings().netztransparenz
    if not (configured.client_id and configured.client_secret):
        return None
    return configured.client_id, configured.client_secret.get_secret_value()


def api_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class NetztransparenzClient(ClosingClient):
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        api_url: str = DEFAULT_API_URL,
        timeout: tuple[float, float] = (5, 60),
        retries: int = 5,
        backoff_factor: float = 0.5,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        if not client_id or not client_secret:
            raise NetztransparenzAuthError(
                f"netztransparenz.de credentials missing: set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}", url=token_url
            )
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_url = token_url
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = retrying_session(
            retries=retries, backoff_factor=backoff_factor, user_agent=user_agent,
            methods=("GET", "POST"),  # the token POST has no side effects: safe to repeat
        )
        self._token: str | None = None
        self._token_expires: float = 0.0  # time.monotonic() deadline
        self.token_requests = 0

    @classmethod
    def from_env(cls, **kwargs) -> NetztransparenzClient:
        """Client with the credentials (and optional ``$NETZTRANSPARENZ_TOKEN_URL``/``_API_URL``) from the env."""
        credentials = credentials_from_env()
        configured = settings().netztransparenz
        token_url = kwargs.pop("token_url", None)
        if token_url is None or "token_url" in configured.model_fields_set:  # the variable wins, as before
            token_url = configured.token_url
        if credentials is None:
            raise NetztransparenzAuthError(
                f"netztransparenz.de credentials missing: set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} "
                "(free account at netztransparenz.de)", url=token_url,
            )
        kwargs.setdefault("api_url", configured.api_url)
        return cls(*credentials, token_url=token_url, **kwargs)

    def __repr__(self) -> str:
        return f"NetztransparenzClient(client_id={self.client_id!r}, token_url={self.token_url!r}, api_url={self.api_url!r})"

    def redispatch_url(self, start: datetime, end: datetime) -> str:
        return f"{self.api_url}/data/redispatch/{api_timestamp(start)}/{api_timestamp(end)}"

    def token(self) -> str:
        """A valid access token, requested again only shortly before the cached one expires."""
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        data = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._client_secret}
        response = self._send("POST", self.token_url, data=data)
        self.token_requests += 1
        if response.status_code in (400, 401, 403):
            raise NetztransparenzAuthError(
                f"netztransparenz.de token request POST {self.token_url} was rejected (HTTP {response.status_code}"
                f"{_oauth_error(response)}): the client credentials are wrong; check {CLIENT_ID_ENV} and "
                f"{CLIENT_SECRET_ENV}",
                url=self.token_url, status=response.status_code,
            )
        self._check(response, "POST", self.token_url)
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME_S)
        except (ValueError, KeyError, TypeError):
            raise NetztransparenzError(
                f"netztransparenz.de token response from {self.token_url} (HTTP {response.status_code}) has no "
                "access_token", url=self.token_url, status=response.status_code,
            ) from None
        self._token = token
        self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_EXPIRY_MARGIN_S)
        return token

    def redispatch(self, start: datetime, end: datetime) -> FetchedRedispatch:
        """The CSV of the measures in ``[start, end)`` (timezone-aware datetimes, sent as UTC)."""
        if end <= start:
            raise ValueError(f"empty window {start.isoformat()}..{end.isoformat()}")
        url = self.redispatch_url(start, end)
        response = self._send("GET", url, headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code == 401:  # a cached token revoked early: authenticate once more
            self._token = None
            response = self._send("GET", url, headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code in (401, 403):
            raise NetztransparenzAuthError(
                f"netztransparenz.de GET {url} returned HTTP {response.status_code} with a fresh token: the "
                f"account behind {CLIENT_ID_ENV} may not read redispatch data, or the credentials are wrong",
                url=url, status=response.status_code,
            )
        self._check(response, "GET", url)
        return FetchedRedispatch(url=url, payload=response.content, fetched_at=datetime.now(UTC),
                                 window_start=start.astimezone(UTC), window_end=end.astimezone(UTC))

    def _send(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            # The exception text holds the URL and reason only (the form body is never part of it).
            raise NetztransparenzError(
                f"netztransparenz.de {method} {url} failed (after retries): {type(error).__name__}", url=url
            ) from None

    def _check(self, response: requests.Response, method: str, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        gave_up = ""
        if status in RETRY_STATUSES:
            history = getattr(getattr(response.raw, "retries", None), "history", ())
            gave_up = f" after {len(history)} retries"
        body = response.content[:120].decode("utf-8", "replace").replace(self._client_secret, "***")
        raise NetztransparenzError(
            f"netztransparenz.de {method} {url} returned HTTP {status} {response.reason or ''}{gave_up}; "
            f"body starts {body!r}",
            url=url, status=status,
        )


def _oauth_error(response: requests.Response) -> str:
    """The OAuth ``error`` code (e.g. ``invalid_client``), which never echoes the secret."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f", {code}" if isinstance(code, str) and code.isidentifier() else ""
