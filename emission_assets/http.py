"""The HTTP session every API client uses: retries with backoff from urllib3's ``Retry`` (a kept library)."""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


def retrying_session(
    *,
    retries: int,
    backoff_factor: float,
    user_agent: str,
    methods: tuple[str, ...] = ("GET",),
    retry_after_max: float | None = None,
) -> requests.Session:
    """A session retrying connect/read errors and 429/5xx with exponential backoff, honouring Retry-After.

    ``raise_on_status=False``: after the last retry the response comes back to the client, which words the error
    (naming what it asked for) instead of urllib3's generic one.
    """
    options = {"retry_after_max": retry_after_max} if retry_after_max is not None else {}
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(methods),
        respect_retry_after_header=True,
        raise_on_status=False,
        **options,
    )
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class ClosingClient:
    """``with Client(...) as client:`` closes the client's ``session``."""

    session: requests.Session

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
