"""HTTP client for the SMARD chart-data API (Bundesnetzagentur | SMARD.de, CC BY 4.0).

Retries live in urllib3's ``Retry`` on the session's adapter, not in loops here, so backoff and ``Retry-After``
handling are the library's well-tested ones. Every failure surfaces as ``SmardRequestError`` naming the series,
window, URL and HTTP status, because a scheduled backfill log is read by someone who did not start it.
A ``file://`` base URL with the same ``chart_data/...`` layout replays recorded responses through the same code.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import requests
import urllib3.exceptions
from requests_file import FileAdapter

from emission_assets.http import RETRY_STATUSES, ClosingClient, retrying_session
from emission_assets.settings import SMARD_DEFAULT_BASE_URL, settings
from emission_assets.smard import catalog
from emission_assets.smard.windows import (
    SmardFormatError,
    describe,
    parse_index,
    parse_window,
)
from emission_assets.timeutil import UTC

DEFAULT_BASE_URL = SMARD_DEFAULT_BASE_URL
BASE_URL_ENV = "SMARD_BASE_URL"
DEFAULT_USER_AGENT = "energy-emission-tracker/0.1 (SMARD chart_data client; python-requests)"


class SmardRequestError(RuntimeError):
    """A SMARD request that failed for good (after retries), or whose body is not a valid SMARD document."""

    def __init__(self, message: str, *, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


@dataclass(frozen=True)
class FetchedWindow:
    """One validated window response; ``fetched_at`` is our download time (SMARD's ``created`` is no version)."""

    url: str
    payload: bytes
    fetched_at: datetime
    # the validated series (parse_window of the payload), so storing and checking the window parse it no more
    points: list[tuple[int, float | None]] = field(repr=False, compare=False)


class SmardClient(ClosingClient):
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: tuple[float, float] = (5, 30),
        retries: int = 5,
        backoff_factor: float = 0.5,
        user_agent: str = DEFAULT_USER_AGENT,
        lookup: Callable[[int], catalog.SmardSeries] = catalog.series,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # The catalog of filter ids this client accepts: SMARD's realised series, or the day-ahead forecasts
        # (emission_assets.smard_forecast.catalog); an unknown id is refused before any request.
        self.lookup = lookup
        self.timeout = timeout
        self.session = retrying_session(retries=retries, backoff_factor=backoff_factor, user_agent=user_agent)
        self.session.mount("file://", FileAdapter())
        self._indexes: dict[tuple[int, str, str], list[int]] = {}

    @classmethod
    def from_env(cls, **kwargs) -> SmardClient:
        """Client for ``$SMARD_BASE_URL`` (the live API when unset), e.g. a ``file://`` replay folder in tests."""
        return cls(settings().smard.base_url, **kwargs)

    def index_url(self, filter_id: int, region: str, resolution: str) -> str:
        return f"{self.base_url}/chart_data/{filter_id}/{region}/index_{resolution}.json"

    def window_url(self, filter_id: int, region: str, resolution: str, window_start_ms: int) -> str:
        # Filter and region appear twice in the path; SMARD answers 404 otherwise.
        return (
            f"{self.base_url}/chart_data/{filter_id}/{region}/"
            f"{filter_id}_{region}_{resolution}_{window_start_ms}.json"
        )

    def index(self, filter_id: int, region: str, resolution: str) -> list[int]:
        """Sorted start timestamps (epoch ms) of every window SMARD offers for the series."""
        self._check(filter_id, region, resolution)
        context = describe(filter_id, region, resolution, lookup=self.lookup) + ", index"
        url = self.index_url(filter_id, region, resolution)
        response = self._get(url, context)
        try:
            return parse_index(response.content, f"{context} ({url}, HTTP {response.status_code})")
        except SmardFormatError as error:
            raise SmardRequestError(str(error), url=url, status=response.status_code) from error

    def window(self, filter_id: int, region: str, resolution: str, window_start_ms: int) -> FetchedWindow:
        """Download one window; the body is validated here so a truncated response is never stored."""
        self._check(filter_id, region, resolution)
        context = describe(filter_id, region, resolution, window_start_ms, self.lookup)
        url = self.window_url(filter_id, region, resolution, window_start_ms)
        response = self._get(url, context)
        fetched_at = datetime.now(UTC)
        # The content type tells an error page served with status 200 from a cut-off or changed JSON body.
        served = f"HTTP {response.status_code}, {response.headers.get('Content-Type') or 'no Content-Type'}"
        try:
            points = parse_window(response.content, f"{context} ({url}, {served})")
        except SmardFormatError as error:
            raise SmardRequestError(str(error), url=url, status=response.status_code) from error
        return FetchedWindow(url=url, payload=response.content, fetched_at=fetched_at, points=points)

    def window_for(self, filter_id: int, region: str, resolution: str, moment_ms: int) -> int | None:
        """Start of the window containing ``moment_ms`` (largest index timestamp <= it), None if before all.

        The index is fetched once per series and client, since a backfill asks for many moments of one series.
        """
        self._check(filter_id, region, resolution)
        key = (filter_id, region, resolution)
        if key not in self._indexes:
            self._indexes[key] = self.index(filter_id, region, resolution)
        stamps = self._indexes[key]
        position = bisect_right(stamps, moment_ms)
        return stamps[position - 1] if position else None

    def first_window(self, filter_id: int, region: str, resolution: str) -> int | None:
        """Start (epoch ms) of the series' first window, None if the index is empty (index cached like
        :meth:`window_for`)."""
        self.window_for(filter_id, region, resolution, 0)
        stamps = self._indexes[(filter_id, region, resolution)]
        return stamps[0] if stamps else None

    def _check(self, filter_id: int, region: str, resolution: str) -> None:
        self.lookup(filter_id)
        catalog.check_region(region)
        catalog.check_resolution(resolution)

    def _get(self, url: str, context: str) -> requests.Response:
        try:
            response = self.session.get(url, timeout=self.timeout)
        except requests.RequestException as error:
            kind = "timed out" if _timed_out(error) else "failed"
            # from None: the message carries the cause, and `emission-tracker` prints a run's root cause, which
            # would otherwise be urllib3's text without the series and window.
            raise SmardRequestError(
                f"{context}: GET {url} {kind} (after retries): {type(error).__name__}: {error}", url=url
            ) from None
        except ValueError as error:  # e.g. FileAdapter rejecting a file:// URL with a host part
            raise SmardRequestError(f"{context}: GET {url} failed: {error}", url=url) from error
        status = response.status_code
        if status == 404:
            raise SmardRequestError(
                f"{context}: GET {url} returned HTTP 404: the window or series does not exist "
                "(check filter, region, resolution and the window timestamp against the index)",
                url=url,
                status=status,
            )
        if status >= 400:
            gave_up = ""
            if status in RETRY_STATUSES:
                history = getattr(getattr(response.raw, "retries", None), "history", ())
                gave_up = f" after {len(history)} retries"
            raise SmardRequestError(
                f"{context}: GET {url} returned HTTP {status} {response.reason or ''}{gave_up}; "
                f"body starts {response.content[:120]!r}",
                url=url,
                status=status,
            )
        return response


def _timed_out(error: requests.RequestException) -> bool:
    """requests reports an exhausted read-timeout retry as a ConnectionError wrapping urllib3's timeout."""
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # urllib3 files "refused" under connect timeouts
        return False
    return isinstance(error, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError)
