"""A synthetic Tibber home, served like Tibber's GraphQL API, for the offline demo and the tests.

The bundled year (``data/tibber_sample/household_2022.csv.gz``, see its README: BDEW H0 household via demandlib plus
synthetic 11 kW EV sessions, all synthetic) is answered for ONE home in Tibber's response format:

- ``viewer { homes { id timeZone } }`` and ``viewer { websocketSubscriptionUrl }``;
- ``viewer { home(id) { consumption(resolution: HOURLY, first/after/last/before, filterEmptyNodes) { pageInfo {...}
  nodes {...} } } }``: hourly nodes are the sums of the four quarter-hours of each local hour (23/25 nodes on DST
  days), ``from``/``to`` ISO-8601 with local offset and milliseconds, a synthetic dynamic tariff in EUR, Relay
  cursors = base64 of each node's ``from``. The connection runs from 2022-01-01 to the sample's "now",
  2023-01-01T00:00:00+01:00.

Only what :class:`emission_assets.tibber.client.TibberClient` sends is understood (queries with ``$variables`` or
literal arguments, no aliases or fragments); anything else gets a GraphQL error in Tibber's shape, never a guess.
:func:`answer` is the pure request-JSON → response-JSON function; :class:`SampleTibberAdapter` serves it to
``requests`` for URLs starting with ``sample://``, so ``TibberClient(token="sample", api_url=SAMPLE_API_URL)``
works without network.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
from bisect import bisect_left, bisect_right
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from emission_assets.timeutil import BERLIN, to_epoch_ms

SAMPLE_HOME_ID = "d1e2a7c0-5a3b-4f8e-9c1d-2b7e6f0a9e11"
SAMPLE_TIME_ZONE = "Europe/Berlin"
SAMPLE_API_URL = "sample://tibber"
SAMPLE_WEBSOCKET_URL = "sample://tibber/subscriptions"
SAMPLE_NOW = datetime(2023, 1, 1, tzinfo=BERLIN)
MAX_PAGE_SIZE = 744
DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "tibber_sample" / "household_2022.csv.gz"
VAT_SHARE = 19 / 119

_HOUR_MS = 3_600_000
_NODE_FIELDS = ("from", "to", "consumption", "consumptionUnit", "cost", "unitPrice", "unitPriceVAT", "currency")
_PAGE_INFO_FIELDS = ("startCursor", "endCursor", "hasNextPage", "hasPreviousPage", "count")
_HOME_FIELDS = ("id", "timeZone")


# --- the data ------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _quarter_hours() -> pd.DataFrame:
    frame = pd.read_csv(DATA_FILE, dtype={"interval_start_ms": "int64", "household_kw": "float64", "ev_kw": "float64"})
    return frame


def load_quarter_hours() -> pd.DataFrame:
    """The truth: ``interval_start_ms`` (UTC epoch ms), ``household_kw``, ``ev_kw`` per real quarter-hour of 2022."""
    return _quarter_hours().copy()


def unit_price(hour_start_ms: int) -> float:
    """Synthetic dynamic tariff, EUR/kWh incl. VAT, 0.25–0.40: dearer in winter and at the evening peak."""
    local = datetime.fromtimestamp(hour_start_ms / 1000, BERLIN)
    season = math.cos(2 * math.pi * (local.timetuple().tm_yday - 15) / 365)  # 1 mid-January, -1 mid-July
    if local.hour <= 5:
        shape = -0.03
    elif 7 <= local.hour <= 9:
        shape = 0.03
    elif 11 <= local.hour <= 15:
        shape = -0.025  # solar noon
    elif 17 <= local.hour <= 20:
        shape = 0.05
    elif local.hour == 21:
        shape = 0.02
    elif local.hour >= 22:
        shape = -0.01
    else:
        shape = 0.005
    jitter = ((hour_start_ms // _HOUR_MS) * 2654435761 % 1000 / 1000 - 0.5) * 0.02  # fixed, hash-like
    return round(min(0.40, max(0.25, 0.31 + 0.03 * season + shape + jitter)), 4)


def _local_iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, BERLIN).isoformat(timespec="milliseconds")


def _cursor(from_iso: str) -> str:
    return base64.b64encode(from_iso.encode("ascii")).decode("ascii")


@lru_cache(maxsize=1)
def _hourly() -> tuple[tuple[dict, ...], tuple[int, ...]]:
    """Every hourly node of the connection (full field set) and their start times (epoch ms), ascending."""
    frame = _quarter_hours()
    kwh = (frame["household_kw"] + frame["ev_kw"]) * 0.25
    hours = kwh.groupby(frame["interval_start_ms"] // _HOUR_MS * _HOUR_MS, sort=True).agg(["sum", "count"])
    if (hours["count"] != 4).any():
        raise ValueError(f"{DATA_FILE}: every hour needs four quarter-hours")
    nodes, starts = [], []
    for start_ms, energy in hours["sum"].items():
        start_ms = int(start_ms)
        if start_ms >= to_epoch_ms(SAMPLE_NOW):
            break
        consumption = round(float(energy), 3)
        price = unit_price(start_ms)
        nodes.append({
            "from": _local_iso(start_ms),
            "to": _local_iso(start_ms + _HOUR_MS),
            "consumption": consumption,
            "consumptionUnit": "kWh",
            "cost": round(consumption * price, 10),
            "unitPrice": price,
            "unitPriceVAT": round(price * VAT_SHARE, 6),
            "currency": "EUR",
        })
        starts.append(start_ms)
    return tuple(nodes), tuple(starts)


# --- GraphQL -------------------------------------------------------------------------------------------------------

class _Reject(Exception):
    def __init__(self, message: str, code: str, path: list | None = None, data: dict | None = None) -> None:
        super().__init__(message)
        self.document = error_document(message, code, path=path, data=data)


def error_document(message: str, code: str, *, path: list | None = None, data: dict | None = None) -> dict:
    """A GraphQL error response in Tibber's (Apollo's) shape; ``data`` is the partial data, if any."""
    error = {"message": message, "locations": [], "extensions": {"code": code}}
    if path:
        error["path"] = path
    document = {"errors": [error]}
    if data is not None:
        document["data"] = data
    return document


_TOKENS = re.compile(r"\s*([{}():])\s*")
_VALUE = r'\$\w+|"(?:[^"\\]|\\.)*"|-?\d+|true|false|null|[A-Za-z_]\w*'
_ARGUMENT = re.compile(rf"(\w+) : ({_VALUE})")
_HOMES = re.compile(r"^\{ viewer \{ homes \{ ([\w ]+) \} \} \}$")
_WEBSOCKET = re.compile(r"^\{ viewer \{ websocketSubscriptionUrl \} \}$")
_CONSUMPTION = re.compile(
    rf"^\{{ viewer \{{ home \( id : ({_VALUE}) \) \{{ consumption \( ([^(){{}}]*) \) \{{ (.*) \}} \}} \}} \}}$"
)
_SUBSELECTION = re.compile(r"(pageInfo|nodes) \{ ([\w ]+) \}")


def _selection(query: str) -> str:
    """The operation's selection set, normalised: ``{ viewer { home ( id : $homeId ) { ... } } }``."""
    text = re.sub(r"#[^\n]*", " ", query).replace(",", " ")
    start = text.find("{")
    if start < 0:
        raise _Reject("Syntax Error: Expected {", "GRAPHQL_PARSE_FAILED")
    header = text[:start].split()
    if header and header[0] != "query":
        raise _Reject(f"the Tibber sample answers queries only, not {header[0]!r}", "GRAPHQL_VALIDATION_FAILED")
    return " ".join(_TOKENS.sub(r" \1 ", text[start:]).split())


def _value(raw: str, variables: dict):
    if raw.startswith("$"):
        return variables.get(raw[1:])
    if raw.startswith('"'):
        return json.loads(raw)
    if raw in ("true", "false", "null"):
        return json.loads(raw)
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw  # an enum value such as HOURLY


def _fields(raw: str, allowed: tuple[str, ...], where: str) -> list[str]:
    fields = raw.split()
    unknown = [name for name in fields if name not in allowed]
    if unknown:
        raise _Reject(
            f"the Tibber sample does not serve {where} field(s) {', '.join(unknown)} (only {', '.join(allowed)})",
            "GRAPHQL_VALIDATION_FAILED",
        )
    return fields


def answer(body: dict) -> dict:
    """Answer one GraphQL request body (``{"query", "variables"}``) like Tibber would for the sample home."""
    try:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise _Reject("Must provide query string.", "BAD_REQUEST")
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            raise _Reject("Variables must be provided as an Object where each property is a variable value.",
                          "BAD_REQUEST")
        selection = _selection(body["query"])
        if match := _HOMES.match(selection):
            fields = _fields(match.group(1), _HOME_FIELDS, "home")
            home = {"id": SAMPLE_HOME_ID, "timeZone": SAMPLE_TIME_ZONE}
            return {"data": {"viewer": {"homes": [{name: home[name] for name in fields}]}}}
        if _WEBSOCKET.match(selection):
            return {"data": {"viewer": {"websocketSubscriptionUrl": SAMPLE_WEBSOCKET_URL}}}
        if match := _CONSUMPTION.match(selection):
            return _consumption(match, variables)
        raise _Reject(
            "the Tibber sample does not support this query (it serves viewer.homes {id timeZone}, "
            "viewer.websocketSubscriptionUrl and viewer.home(id).consumption(resolution: HOURLY))",
            "GRAPHQL_VALIDATION_FAILED",
        )
    except _Reject as rejected:
        return rejected.document


def _consumption(match: re.Match, variables: dict) -> dict:
    home_id = _value(match.group(1), variables)
    arguments = {name: _value(raw, variables) for name, raw in _ARGUMENT.findall(match.group(2))}
    known = {"resolution", "first", "after", "last", "before", "filterEmptyNodes"}
    if unknown := sorted(set(arguments) - known):
        raise _Reject(f"Unknown argument(s) {', '.join(unknown)} on field \"Home.consumption\".",
                      "GRAPHQL_VALIDATION_FAILED")
    subselections = dict(_SUBSELECTION.findall(match.group(3)))
    if not subselections or _SUBSELECTION.sub("", match.group(3)).strip():
        raise _Reject("the Tibber sample serves consumption { pageInfo {...} nodes {...} } only",
                      "GRAPHQL_VALIDATION_FAILED")
    page_fields = _fields(subselections.get("pageInfo", ""), _PAGE_INFO_FIELDS, "pageInfo")
    node_fields = _fields(subselections.get("nodes", ""), _NODE_FIELDS, "node")

    if home_id != SAMPLE_HOME_ID:
        raise _Reject(f"Could not find home with id {home_id!r} for this user", "NOT_FOUND",
                      path=["viewer", "home"], data={"viewer": {"home": None}})
    path = ["viewer", "home", "consumption"]
    partial = {"viewer": {"home": {"consumption": None}}}
    if arguments.get("resolution") != "HOURLY":
        raise _Reject(f"the Tibber sample serves resolution HOURLY only, not {arguments.get('resolution')!r}",
                      "BAD_USER_INPUT", path=path, data=partial)
    first, last = arguments.get("first"), arguments.get("last")
    if (first is None) == (last is None):
        raise _Reject("consumption needs exactly one of 'first' and 'last'", "BAD_USER_INPUT", path=path,
                      data=partial)
    size = first if first is not None else last
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _Reject(f"'first'/'last' must be a non-negative integer, got {size!r}", "BAD_USER_INPUT", path=path,
                      data=partial)
    if size > MAX_PAGE_SIZE:
        raise _Reject(f"Maximum number of nodes per page is {MAX_PAGE_SIZE}, requested {size}", "BAD_USER_INPUT",
                      path=path, data=partial)

    nodes, starts = _hourly()
    if arguments.get("filterEmptyNodes"):
        kept = [i for i, node in enumerate(nodes) if node["consumption"] is not None]
        nodes, starts = tuple(nodes[i] for i in kept), tuple(starts[i] for i in kept)
    low, high = 0, len(nodes)
    if arguments.get("after") is not None:
        low = bisect_right(starts, _cursor_ms(arguments["after"], path, partial))
    if arguments.get("before") is not None:
        high = max(low, bisect_left(starts, _cursor_ms(arguments["before"], path, partial)))
    if first is not None:
        begin, end = low, min(high, low + first)
    else:
        begin, end = max(low, high - last), high
    page = nodes[begin:end]
    info = {
        "startCursor": _cursor(page[0]["from"]) if page else None,
        "endCursor": _cursor(page[-1]["from"]) if page else None,
        "hasNextPage": end < len(nodes),
        "hasPreviousPage": begin > 0,
        "count": len(page),
    }
    connection = {}
    for name in subselections:  # the response follows the query's field order
        if name == "pageInfo":
            connection["pageInfo"] = {field: info[field] for field in page_fields}
        else:
            connection["nodes"] = [{field: node[field] for field in node_fields} for node in page]
    return {"data": {"viewer": {"home": {"consumption": connection}}}}


def _cursor_ms(cursor, path: list, partial: dict) -> int:
    try:
        text = base64.b64decode(str(cursor).encode("ascii"), validate=True).decode("ascii")
        moment = datetime.fromisoformat(text)
        return to_epoch_ms(moment)
    except (binascii.Error, UnicodeError, ValueError):
        raise _Reject(f"Invalid cursor {cursor!r}", "BAD_USER_INPUT", path=path, data=partial) from None


# --- requests transport --------------------------------------------------------------------------------------------

class SampleTibberAdapter(BaseAdapter):
    """Serves :func:`answer` for ``sample://`` URLs (mount it on a session); any non-empty bearer token is accepted."""

    def send(self, request: PreparedRequest, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        status = 200
        authorization = request.headers.get("Authorization", "")
        if request.method != "POST":
            status, document = 405, error_document("GraphQL requests are POSTs", "BAD_REQUEST")
        elif not authorization.startswith("Bearer ") or not authorization[len("Bearer "):].strip():
            document = error_document("Context creation failed: invalid token", "UNAUTHENTICATED")
        else:
            try:
                body = request.body.decode("utf-8") if isinstance(request.body, bytes) else request.body
                document = answer(json.loads(body or ""))
            except ValueError:
                status, document = 400, error_document("POST body is not valid JSON", "BAD_REQUEST")
        response = Response()
        response.status_code = status
        response.reason = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}[status]
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response._content = json.dumps(document, separators=(",", ":")).encode("utf-8")
        response.encoding = "utf-8"
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass
