"""HTTP client for Tibber's GraphQL API: the household's hourly consumption history.

Like the SMARD client, retries live in urllib3's ``Retry`` on the session's adapter (429/5xx, connect and read errors,
``Retry-After`` honoured); every failure surfaces as a :class:`TibberError` subclass whose message names what was
asked, the URL and the HTTP status, because a scheduled backfill log is read by someone who did not start it.

The token is a secret. It lives in exactly one place, the session's ``Authorization`` header: it is no attribute of
the client, not in ``repr()``, and no message is built from it. Messages are built from the status, the URL and the
server's body only, and text taken from a body is scrubbed of the token anyway. Tibber blocks clients that send
more than about 100 requests in 5 minutes, so every client (one per run) has a request budget (``max_requests``).

A ``sample://`` API URL serves the bundled synthetic household (:mod:`emission_assets.tibber.sample`) through the
same code, without network.
"""
from __future__ import annotations

import base64
import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import requests
import urllib3.exceptions

from emission_assets.http import RETRY_STATUSES, ClosingClient, retrying_session
from emission_assets.settings import TIBBER_DEFAULT_API_URL, settings
from emission_assets.timeutil import BERLIN, UTC, to_epoch_ms

log = logging.getLogger(__name__)

DEFAULT_API_URL = TIBBER_DEFAULT_API_URL
API_URL_ENV = "TIBBER_API_URL"
TOKEN_ENV = "TIBBER_TOKEN"
SECRET_SCOPE_ENV = "TIBBER_SECRET_SCOPE"
SECRET_KEY_ENV = "TIBBER_SECRET_KEY"
SAMPLE_SCHEME = "sample://"
DEFAULT_USER_AGENT = "energy-emission-tracker/0.1 (Tibber consumption history; python-requests)"
AUTH_STATUSES = (401, 403)
MAX_PAGE_SIZE = 744  # Tibber caps hourly pages at about 744 nodes (31 days) since late 2024
RETRY_AFTER_MAX_SECONDS = 300  # never sleep longer than Tibber's 5-minute rate window on one Retry-After
_HOUR = timedelta(hours=1)
_TOKEN_HINT = f"set {TOKEN_ENV} to a valid personal access token from developer.tibber.com"

HOMES_QUERY = "query Homes { viewer { homes { id timeZone } } }"
WEBSOCKET_QUERY = "query WebsocketUrl { viewer { websocketSubscriptionUrl } }"
CONSUMPTION_QUERY = (
    "query HourlyConsumption($homeId: ID!, $first: Int, $after: String, $last: Int, $before: String) "
    "{ viewer { home(id: $homeId) { consumption(resolution: HOURLY, first: $first, after: $after, last: $last, "
    "before: $before, filterEmptyNodes: false) { "
    "pageInfo { startCursor endCursor hasNextPage hasPreviousPage count } "
    "nodes { from to consumption consumptionUnit cost unitPrice unitPriceVAT currency } } } } }"
)


class TibberError(RuntimeError):
    """Any failure talking to Tibber; ``url`` and ``status`` (HTTP, if a response came) tell where."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class TibberAuthError(TibberError):
    """No token, or Tibber rejected it (HTTP 401/403 or GraphQL ``UNAUTHENTICATED``)."""


class TibberGraphQLError(TibberError):
    """The response carries an ``errors`` array; partial ``data`` next to it is not accepted."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 errors: list | None = None) -> None:
        super().__init__(message, url=url, status=status)
        self.errors = errors or []


class TibberRequestError(TibberError):
    """HTTP failure after retries, a timeout, or a body that is not the expected JSON document."""


class TibberRequestBudgetError(TibberError):
    """The client's request budget for this run is used up (Tibber blocks clients that send too many)."""


class TibberHomeError(TibberError):
    """The home to fetch cannot be determined (unknown id, none, or several without a choice)."""


@dataclass(frozen=True)
class FetchedPage:
    """One validated consumption page. ``payload`` is the response body exactly as received (no token in it).

    ``series_start_ms``/``series_end_ms``: epoch ms of the first node's ``from`` and the last node's ``to`` (None
    for a page without nodes); ``non_null_nodes`` counts nodes whose ``consumption`` is known.
    """

    url: str
    payload: bytes
    fetched_at: datetime
    nodes: list[dict]
    page_info: dict
    series_start_ms: int | None
    series_end_ms: int | None
    non_null_nodes: int


# --- token and URL from the environment ------------------------------------------------------------------------------

def api_url_from_environment() -> str:
    return settings().tibber.api_url


def token_from_environment() -> str:
    """``$TIBBER_TOKEN``; else, on Databricks, the secret ``$TIBBER_SECRET_SCOPE``/``$TIBBER_SECRET_KEY``."""
    configured = settings().tibber
    if configured.token:
        return configured.token.get_secret_value()
    scope, key = configured.secret_scope or "", configured.secret_key or ""
    if scope or key:
        if not (scope and key):
            raise TibberAuthError(f"no Tibber token: {TOKEN_ENV} is not set and the Databricks secret needs both "
                                  f"{SECRET_SCOPE_ENV} and {SECRET_KEY_ENV}")
        dbutils = _databricks_dbutils()
        if dbutils is None:
            raise TibberAuthError(
                f"no Tibber token: {TOKEN_ENV} is not set and {SECRET_SCOPE_ENV}={scope!r} names a Databricks secret "
                "scope, but Databricks utilities (dbutils) are not available here"
            )
        try:
            token = str(dbutils.secrets.get(scope=scope, key=key) or "").strip()
        except Exception as error:  # noqa: BLE001 - dbutils raises Py4J/ Databricks-specific types
            raise TibberAuthError(
                f"no Tibber token: reading Databricks secret scope {scope!r} key {key!r} failed ({type(error).__name__})"
            ) from None
        if token:
            return token
        raise TibberAuthError(f"no Tibber token: Databricks secret scope {scope!r} key {key!r} is empty")
    raise TibberAuthError(
        f"no Tibber token: set {TOKEN_ENV} (a personal access token from developer.tibber.com), or on Databricks "
        f"{SECRET_SCOPE_ENV} and {SECRET_KEY_ENV} naming a secret that holds it"
    )


def _databricks_dbutils():
    """``dbutils`` on a Databricks cluster or notebook, None anywhere else (no import error escapes)."""
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]

        shell = get_ipython()
        if shell is not None and shell.user_ns.get("dbutils") is not None:
            return shell.user_ns["dbutils"]
    except Exception:  # noqa: BLE001 - no IPython, or not inside a shell
        pass
    if not settings().databricks.on_cluster:
        return None
    try:
        from pyspark.dbutils import DBUtils  # type: ignore[import-not-found]  # only on Databricks runtimes
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        return DBUtils(spark)
    except Exception:  # noqa: BLE001
        return None


# --- parsing ---------------------------------------------------------------------------------------------------------

def node_time_ms(text) -> int:
    """Epoch ms of a node's ``from``/``to`` (ISO-8601 with offset, e.g. ``2023-04-10T00:00:00.000+02:00``)."""
    if not isinstance(text, str):
        raise ValueError(f"node time {text!r} is not an ISO-8601 string")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"node time {text!r} has no UTC offset")
    return to_epoch_ms(moment)


def parse_nodes(nodes) -> tuple[int | None, int | None, int]:
    """``(series_start_ms, series_end_ms, non_null)`` of consumption nodes: first ``from``, last ``to``, and the
    count of nodes with a known ``consumption``. Nodes must be ascending and not overlap; extra or missing price
    fields (``currency``, ``cost``...) do not matter here. Raises ValueError naming the offending node."""
    if not isinstance(nodes, list):
        raise ValueError(f"consumption nodes are a {type(nodes).__name__}, not a list")
    previous_to, non_null = None, 0
    first_from = last_to = None
    for position, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise ValueError(f"node {position} is a {type(node).__name__}, not an object")
        try:
            start, end = node_time_ms(node.get("from")), node_time_ms(node.get("to"))
        except ValueError as error:
            raise ValueError(f"node {position}: {error}") from None
        if end <= start:
            raise ValueError(f"node {position} ends ({node['to']}) before it starts ({node['from']})")
        if previous_to is not None and start < previous_to:
            raise ValueError(f"node {position} ({node['from']}) overlaps or precedes the node before it")
        consumption = node.get("consumption")
        if consumption is not None:
            if isinstance(consumption, bool) or not isinstance(consumption, (int, float)):
                raise ValueError(f"node {position} ({node['from']}): consumption {consumption!r} is not a number")
            non_null += 1
        if first_from is None:
            first_from = start
        previous_to = last_to = end
    return first_from, last_to, non_null


def consumption_connection(document) -> tuple[list[dict], dict]:
    """``(nodes, pageInfo)`` of ``data.viewer.home.consumption`` in a parsed response (ValueError otherwise)."""
    if not isinstance(document, dict):
        raise ValueError("the response is not a JSON object")
    connection = document.get("data")
    for key in ("viewer", "home", "consumption"):
        if not isinstance(connection, dict) or not isinstance(connection.get(key), dict):
            raise ValueError(f"the response has no data.viewer.home.consumption object (missing {key!r})")
        connection = connection[key]
    nodes = connection.get("nodes")
    page_info = connection.get("pageInfo") or {}
    if not isinstance(nodes, list) or not isinstance(page_info, dict):
        raise ValueError("consumption.nodes is not a list or consumption.pageInfo is not an object")
    return nodes, page_info


def parse_consumption_response(payload: bytes | str) -> tuple[list[dict], dict]:
    """Nodes and pageInfo of a stored consumption page body (as written to the reservoir)."""
    return consumption_connection(json.loads(payload))


def cursor_for(moment: datetime, time_zone: str | tzinfo = BERLIN) -> str:
    """Relay cursor as Tibber builds it: base64 of the ISO-8601 local time with offset and milliseconds,
    e.g. ``base64("2023-04-10T00:00:00.000+02:00")``."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must be timezone-aware")
    zone = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
    text = moment.astimezone(zone).isoformat(timespec="milliseconds")
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def _describe_cursor(cursor: str | None) -> str:
    try:
        return base64.b64decode(cursor or "", validate=True).decode("ascii")
    except (ValueError, UnicodeError):
        return repr(cursor)


def _check_page_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page size must be an integer 1..{MAX_PAGE_SIZE} (Tibber's hourly page cap), got {size!r}")
    return size


# --- the client ------------------------------------------------------------------------------------------------------

class TibberClient(ClosingClient):
    """Tibber GraphQL client for one run; ``max_requests`` bounds the HTTP attempts it makes (retries included)."""

    def __init__(
        self,
        token: str,
        api_url: str | None = None,
        *,
        timeout: tuple[float, float] = (5, 30),
        retries: int = 5,
        backoff_factor: float = 1.0,
        max_requests: int = 60,
        user_agent: str = DEFAULT_USER_AGENT,
        time_zone: str = "Europe/Berlin",
    ) -> None:
        """``api_url`` None means ``$TIBBER_API_URL`` or :data:`DEFAULT_API_URL`. ``time_zone`` is the homes' zone
        for cursors until :meth:`homes` has told the real one."""
        if not isinstance(token, str) or not token.strip():
            raise TibberAuthError(f"no Tibber token: the token is empty; {_TOKEN_HINT}")
        token = token.strip()
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
            # requests would quote the whole header value in its InvalidHeader message: refuse it here instead
            raise TibberAuthError(f"the Tibber token contains whitespace or control characters; {_TOKEN_HINT}")
        self.api_url = api_url or api_url_from_environment()
        self.timeout = timeout
        self.max_requests = max_requests
        self.requests_sent = 0
        self.time_zone = time_zone
        self._time_zones: dict[str, str] = {}
        self.session = retrying_session(
            retries=retries, backoff_factor=backoff_factor, user_agent=user_agent,
            methods=("GET", "POST"),  # GraphQL queries are reads: safe to repeat
            retry_after_max=RETRY_AFTER_MAX_SECONDS,
        )
        # The only place the token is kept: requests drops it on redirects to other hosts, urllib3 never logs it.
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["Accept"] = "application/json"
        if self.api_url.startswith(SAMPLE_SCHEME):
            from emission_assets.tibber.sample import SampleTibberAdapter

            self.session.mount(SAMPLE_SCHEME, SampleTibberAdapter())

    @classmethod
    def from_env(cls, **kwargs) -> TibberClient:
        """Client for ``$TIBBER_API_URL`` (the live API when unset) with :func:`token_from_environment`'s token;
        the bundled sample (``sample://``) needs no token."""
        api_url = kwargs.pop("api_url", None) or api_url_from_environment()
        if api_url.startswith(SAMPLE_SCHEME) and not settings().tibber.token:
            return cls("sample", api_url, **kwargs)
        return cls(token_from_environment(), api_url, **kwargs)

    def __repr__(self) -> str:
        return f"TibberClient(api_url={self.api_url!r}, requests_sent={self.requests_sent}/{self.max_requests})"

    # --- queries ---------------------------------------------------------------------------------------------------

    def query(self, query: str, variables: dict | None = None) -> dict:
        """Any GraphQL query; returns its ``data`` object (all errors, partial data included, raise)."""
        return self._execute(query, variables or {}, "Tibber query")[1]

    def homes(self) -> list[dict]:
        """The token's homes as ``{"id", "timeZone"}`` (never addresses or other personal fields)."""
        context = "Tibber homes"
        response, data = self._execute(HOMES_QUERY, {}, context)
        homes = _dig(data, "viewer", "homes")
        if not isinstance(homes, list) or not all(isinstance(h, dict) and h.get("id") for h in homes):
            raise TibberRequestError(f"{context}: POST {self.api_url}: data.viewer.homes is not a list of homes "
                                     "with ids", url=self.api_url, status=response.status_code)
        result = [{"id": str(home["id"]), "timeZone": home.get("timeZone")} for home in homes]
        for home in result:
            if home["timeZone"]:
                self._time_zones[home["id"]] = home["timeZone"]
        return result

    def resolve_home(self, home_id: str | None = None) -> str:
        """``home_id`` if the token has it, else the token's only home; errors list the known ids."""
        ids = [home["id"] for home in self.homes()]
        known = ", ".join(ids) or "none"
        if home_id:
            if home_id in ids:
                return home_id
            raise TibberHomeError(f"Tibber home {home_id!r} is not one of this token's homes (known home ids: {known})")
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise TibberHomeError("this Tibber token has no homes: check the account at developer.tibber.com")
        raise TibberHomeError(
            f"this Tibber token has {len(ids)} homes; set TIBBER_HOME_ID / --home-id to one of: {known}"
        )

    def websocket_url(self) -> str:
        """The Pulse live-data websocket URL (``viewer.websocketSubscriptionUrl``)."""
        context = "Tibber websocket subscription URL"
        response, data = self._execute(WEBSOCKET_QUERY, {}, context)
        url = _dig(data, "viewer", "websocketSubscriptionUrl")
        if not isinstance(url, str) or not url:
            raise TibberRequestError(f"{context}: POST {self.api_url}: no data.viewer.websocketSubscriptionUrl",
                                     url=self.api_url, status=response.status_code)
        return url

    def cursor_for(self, moment: datetime, time_zone: str | None = None) -> str:
        """Relay cursor for ``moment`` in ``time_zone`` (default: the client's, Europe/Berlin)."""
        return cursor_for(moment, time_zone or self.time_zone)

    def consumption_page(
        self,
        home_id: str,
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> FetchedPage:
        """One HOURLY page (``filterEmptyNodes: false``: hours not yet known come as nodes with null consumption)."""
        if not home_id:
            raise ValueError("home_id is required (see resolve_home)")
        if (first is None) == (last is None):
            raise ValueError("give exactly one of first (with after) and last (with before)")
        _check_page_size(first if first is not None else last)
        variables = {
            name: value
            for name, value in (("homeId", home_id), ("first", first), ("after", after), ("last", last),
                                ("before", before))
            if value is not None
        }
        window = f"first {first}" if first is not None else f"last {last}"
        if after is not None:
            window += f" after {_describe_cursor(after)}"
        if before is not None:
            window += f" before {_describe_cursor(before)}"
        context = f"Tibber hourly consumption of home {home_id} ({window})"
        response, data = self._execute(CONSUMPTION_QUERY, variables, context)
        fetched_at = datetime.now(UTC)
        try:
            nodes, page_info = consumption_connection({"data": data})
            series_start_ms, series_end_ms, non_null = parse_nodes(nodes)
        except ValueError as error:
            raise TibberRequestError(f"{context}: POST {self.api_url} returned HTTP {response.status_code}: {error}",
                                     url=self.api_url, status=response.status_code) from None
        log.debug("%s: %d nodes (%d with consumption)", context, len(nodes), non_null)
        return FetchedPage(
            url=self.api_url,
            payload=response.content,
            fetched_at=fetched_at,
            nodes=nodes,
            page_info=page_info,
            series_start_ms=series_start_ms,
            series_end_ms=series_end_ms,
            non_null_nodes=non_null,
        )

    def consumption_range(self, home_id: str, start: datetime, end: datetime, page_size: int = MAX_PAGE_SIZE
                          ) -> list[FetchedPage]:
        """Pages covering [start, end), paged backwards from ``end`` (``last``/``before``), oldest page first.

        Stops when a page reaches back to ``start``, Tibber has no earlier page, or a page is empty (empty pages are
        not returned). The first page may reach before ``start``: pages are kept whole, as received.
        """
        start_ms, end_ms, limit = self._range(start, end, page_size)
        pages: list[FetchedPage] = []
        before = self.cursor_for(end, self._time_zones.get(home_id))
        for _ in range(limit):
            page = self.consumption_page(home_id, last=page_size, before=before)
            if not page.nodes:
                break
            pages.append(page)
            if page.series_start_ms <= start_ms or not page.page_info.get("hasPreviousPage"):
                break
            before = self._next_cursor(page, "startCursor", before, home_id)
        else:
            raise self._unbounded(home_id, start, end, limit)
        pages.reverse()
        return pages

    def consumption_range_forward(self, home_id: str, start: datetime, end: datetime,
                                  page_size: int = MAX_PAGE_SIZE) -> list[FetchedPage]:
        """Pages covering [start, end), paged forwards from ``start`` (``first``/``after``), oldest page first.

        Starts after the cursor of the hour before ``start``; stops when a page reaches ``end``, Tibber has no later
        page, or a page is empty. The last page may reach past ``end``.
        """
        start_ms, end_ms, limit = self._range(start, end, page_size)
        pages: list[FetchedPage] = []
        after = self.cursor_for(start.astimezone(UTC) - _HOUR, self._time_zones.get(home_id))
        for _ in range(limit):
            page = self.consumption_page(home_id, first=page_size, after=after)
            if not page.nodes:
                break
            pages.append(page)
            if page.series_end_ms >= end_ms or not page.page_info.get("hasNextPage"):
                break
            after = self._next_cursor(page, "endCursor", after, home_id)
        else:
            raise self._unbounded(home_id, start, end, limit)
        return pages

    # --- internals -------------------------------------------------------------------------------------------------

    @staticmethod
    def _range(start: datetime, end: datetime, page_size: int) -> tuple[int, int, int]:
        _check_page_size(page_size)
        start_ms, end_ms = to_epoch_ms(start), to_epoch_ms(end)  # ValueError for naive datetimes
        if end_ms <= start_ms:
            raise ValueError(f"empty range: end {end.isoformat()} is not after start {start.isoformat()}")
        hours = math.ceil((end_ms - start_ms) / 3_600_000)
        return start_ms, end_ms, math.ceil(hours / page_size) + 2

    def _next_cursor(self, page: FetchedPage, key: str, previous: str, home_id: str) -> str:
        cursor = page.page_info.get(key)
        if not isinstance(cursor, str) or not cursor or cursor == previous:
            raise TibberRequestError(
                f"Tibber hourly consumption of home {home_id}: pageInfo.{key} {cursor!r} does not advance the paging",
                url=self.api_url,
            )
        return cursor

    def _unbounded(self, home_id: str, start: datetime, end: datetime, limit: int) -> TibberRequestError:
        return TibberRequestError(
            f"Tibber hourly consumption of home {home_id} for {start.isoformat()}..{end.isoformat()} was not "
            f"covered within {limit} pages; stopped to stay inside Tibber's rate limits",
            url=self.api_url,
        )

    def _scrub(self, text: str) -> str:
        """Text from a server (body snippets, error messages) with the token masked, should it ever be echoed."""
        token = self.session.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return text.replace(token, "***") if token else text

    def _snippet(self, content: bytes) -> str:
        return repr(self._scrub(content[:160].decode("utf-8", errors="replace")))

    def _execute(self, query: str, variables: dict, context: str) -> tuple[requests.Response, dict]:
        """POST one GraphQL request; returns the response and its ``data`` object, or raises a TibberError."""
        url = self.api_url
        if self.requests_sent >= self.max_requests:
            raise TibberRequestBudgetError(
                f"{context}: request budget of {self.max_requests} Tibber requests for this run is used up "
                f"({self.requests_sent} sent, retries included); Tibber blocks clients that send more than about "
                "100 requests in 5 minutes. Fetch a shorter range, or raise max_requests knowingly.",
                url=url,
            )
        self.requests_sent += 1
        try:
            response = self.session.post(url, json={"query": query, "variables": variables}, timeout=self.timeout)
        except requests.RequestException as error:
            kind = "timed out" if _timed_out(error) else "failed"
            raise TibberRequestError(
                f"{context}: POST {url} {kind} (after retries): {type(error).__name__}: {self._scrub(str(error))}",
                url=url,
            ) from None
        history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
        self.requests_sent += len(history)
        status = response.status_code
        log.debug("%s: POST %s -> HTTP %s, %d bytes, %d retries", context, url, status, len(response.content),
                  len(history))
        if status in AUTH_STATUSES:
            raise TibberAuthError(
                f"{context}: POST {url} returned HTTP {status} {response.reason or ''}: Tibber rejected the token "
                f"(wrong or expired); {_TOKEN_HINT}",
                url=url,
                status=status,
            )
        if status >= 400:
            gave_up = f" after {len(history)} retries" if status in RETRY_STATUSES else ""
            raise TibberRequestError(
                f"{context}: POST {url} returned HTTP {status} {response.reason or ''}{gave_up}; "
                f"body starts {self._snippet(response.content)}",
                url=url,
                status=status,
            )
        try:
            document = json.loads(response.content)
        except ValueError:
            content_type = response.headers.get("Content-Type", "no Content-Type")
            raise TibberRequestError(
                f"{context}: POST {url} returned HTTP {status} with a body that is not JSON ({content_type}), "
                f"e.g. a proxy or maintenance page; body starts {self._snippet(response.content)}",
                url=url,
                status=status,
            ) from None
        if not isinstance(document, dict):
            raise TibberRequestError(f"{context}: POST {url} returned HTTP {status}: the JSON body is a "
                                     f"{type(document).__name__}, not a GraphQL response object", url=url, status=status)
        errors = document.get("errors")
        if errors:
            self._raise_graphql(errors, document.get("data"), context, url, status)
        data = document.get("data")
        if not isinstance(data, dict):
            raise TibberRequestError(f"{context}: POST {url} returned HTTP {status} without a data object; body "
                                     f"starts {self._snippet(response.content)}", url=url, status=status)
        return response, data

    def _raise_graphql(self, errors, data, context: str, url: str, status: int) -> None:
        errors = errors if isinstance(errors, list) else [errors]
        described, unauthenticated = [], False
        for error in errors:
            if not isinstance(error, dict):
                described.append(self._scrub(str(error)[:200]))
                continue
            extensions = error.get("extensions") if isinstance(error.get("extensions"), dict) else {}
            code = extensions.get("code")
            unauthenticated |= code == "UNAUTHENTICATED"
            path = ".".join(str(part) for part in error.get("path") or []) or "-"
            described.append(f"{self._scrub(str(error.get('message', '(no message)'))[:300])} "
                             f"(path {path}, code {code or '-'})")
        listed = "; ".join(described)
        if unauthenticated:
            raise TibberAuthError(
                f"{context}: Tibber rejected the token (GraphQL UNAUTHENTICATED: {listed}): it is wrong or expired; "
                f"{_TOKEN_HINT}",
                url=url,
                status=status,
            )
        partial = " next to partial data (not accepted)" if data else ""
        raise TibberGraphQLError(
            f"{context}: POST {url} returned {len(errors)} GraphQL error(s){partial}: {listed}",
            url=url,
            status=status,
            errors=json.loads(self._scrub(json.dumps(errors))),
        )


def _dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _timed_out(error: requests.RequestException) -> bool:
    """requests reports an exhausted read-timeout retry as a ConnectionError wrapping urllib3's timeout."""
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(error, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError)
