"""A fake Tibber GraphQL endpoint serving a recorded household in Tibber's wire format, independent of the product.

The reference is a real response of Tibber's public demo account, ``fixtures/tibber/
tibber_demo_consumption_response_2023-04-10.json`` (13 hourly nodes of 2023-04-10). From it the fake takes:

- the nodes exactly as Tibber shows them: ``from``/``to`` in the home's local time with offset and milliseconds
  (``2023-04-10T00:00:00.000+02:00``), prices and costs in SEK, integer ``0`` where Tibber sends ``0``;
- the values: a history of any length repeats the 13 recorded hours hour after hour, anchored so that
  2023-04-10 00:00-13:00 local are the recorded nodes themselves (``test_client`` checks this against the file);
- Relay cursors as Tibber builds them (base64 of a node's ``from``, e.g. ``MjAyMy0wNC0xMFQwMDowMDowMC4wMDArMDI6MDA=``)
  and Tibber's ``pageInfo`` fields (``startCursor endCursor hasNextPage hasPreviousPage count currency totalCost
  totalConsumption filtered``). The recording has no ``pageInfo`` (it was not queried): their values follow the
  Relay connection spec that Tibber's API implements, with a cursor compared as the time it encodes.

A GraphQL server answers exactly the fields asked, so the fake reads the selection of ``nodes`` and ``pageInfo``
from the query and rejects fields Tibber's schema does not have. Nothing here imports ``emission_assets``: the
client is tested against this model of Tibber, not against the product's own ``sample`` module.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from werkzeug import Request, Response

from emission_assets_tests.support.paths import FIXTURES

DEMO_RESPONSE = FIXTURES / "tibber" / "tibber_demo_consumption_response_2023-04-10.json"
DEMO_HOME_ID = "96a14971-525a-4420-aae9-e5aedaa129ff"  # Tibber's public demo home
DEMO_TIME_ZONE = "Europe/Stockholm"  # the demo home is Swedish (prices in SEK); same offsets as Europe/Berlin
DEMO_CURRENCY = "SEK"
WEBSOCKET_URL = "wss://websocket-api.tibber.com/v1-beta/gql/subscriptions"
PATH = "/v1-beta/gql"
MAX_PAGE_SIZE = 744

# Tibber's schema: fields of Consumption nodes and of HomeConsumptionPageInfo
NODE_FIELDS = ("from", "to", "unitPrice", "unitPriceVAT", "consumption", "consumptionUnit", "cost", "currency")
PAGE_INFO_FIELDS = ("endCursor", "hasNextPage", "hasPreviousPage", "startCursor", "count", "currency", "totalCost",
                    "totalConsumption", "filtered")
_HOUR = timedelta(hours=1)
_UTC = timezone.utc


def recorded_hourly_nodes() -> list[dict]:
    """The 13 hourly nodes of the real demo response, as received."""
    return json.loads(DEMO_RESPONSE.read_bytes())["data"]["viewer"]["homes"][0]["hourly"]["nodes"]


def tibber_time(moment: datetime, time_zone: str = DEMO_TIME_ZONE) -> str:
    """A node time as Tibber writes it: local time, milliseconds, UTC offset."""
    return moment.astimezone(ZoneInfo(time_zone)).isoformat(timespec="milliseconds")


def tibber_cursor(node_from: str) -> str:
    return base64.b64encode(node_from.encode("ascii")).decode("ascii")


def recorded_history(start: datetime, end: datetime, time_zone: str = DEMO_TIME_ZONE) -> list[dict]:
    """Hourly nodes for ``[start, end)`` (aware datetimes on whole hours) with the recording's values, repeated;
    a fresh list of fresh nodes on every call, for the caller to edit."""
    return [dict(node) for node in _history(start.astimezone(_UTC), end.astimezone(_UTC), time_zone)]


@lru_cache(maxsize=8)
def _history(start: datetime, end: datetime, time_zone: str) -> tuple[dict, ...]:
    recorded = recorded_hourly_nodes()
    anchor = datetime.fromisoformat(recorded[0]["from"]).astimezone(_UTC)
    moment, nodes = start.astimezone(_UTC), []
    while moment < end:
        template = recorded[int((moment - anchor) / _HOUR) % len(recorded)]
        nodes.append({**template, "from": tibber_time(moment, time_zone), "to": tibber_time(moment + _HOUR, time_zone)})
        moment += _HOUR
    return tuple(nodes)


@lru_cache(maxsize=100_000)
def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def error(message: str, code: str, path: list | None = None, data=None) -> dict:
    """A GraphQL error document in Apollo's shape (which Tibber's API uses)."""
    entry = {"message": message, "locations": [], "extensions": {"code": code}}
    if path is not None:
        entry["path"] = path
    document = {"errors": [entry]}
    if data is not None:
        document["data"] = data
    return document


class FakeTibber:
    """One Tibber account with one home and its hourly history; :meth:`answer` is request JSON -> response JSON.

    ``history`` is a list of nodes with every field of :data:`NODE_FIELDS` but ``currency`` (as recorded); tests
    may edit it (e.g. null the most recent hours). ``token``: the bearer token the account accepts.
    """

    def __init__(self, history: list[dict], *, token: str, home_id: str = DEMO_HOME_ID,
                 time_zone: str = DEMO_TIME_ZONE, homes: list[dict] | None = None) -> None:
        self.history = history
        self.token = token
        self.home_id = home_id
        self.time_zone = time_zone
        self.homes = homes if homes is not None else [{"id": home_id, "timeZone": time_zone}]
        self.requests: list[dict] = []  # every request body, in order of arrival

    # --- HTTP -------------------------------------------------------------------------------------------------

    def serve(self, server, handler=None) -> str:
        """Answers POSTs to :data:`PATH` on ``server`` (``handler(request) -> Response`` to inject a fault; it may
        call :meth:`respond`); returns the URL."""
        server.expect_request(PATH, method="POST").respond_with_handler(handler or self.respond)
        return server.url_for(PATH)

    def respond(self, request: Request) -> Response:
        """Tibber's answer over HTTP: 401 with an UNAUTHENTICATED error for a wrong token, else :meth:`answer`."""
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.json(error("Context creation failed: invalid token", "UNAUTHENTICATED"), status=401)
        return self.json(self.answer(request.get_json()))

    @staticmethod
    def json(document, status: int = 200) -> Response:
        return Response(json.dumps(document), status=status, content_type="application/json")

    # --- GraphQL ----------------------------------------------------------------------------------------------

    def answer(self, body: dict) -> dict:
        self.requests.append(copy.deepcopy(body))
        query, variables = body.get("query") or "", body.get("variables") or {}
        text = " ".join(query.split())
        if re.search(r"\{ viewer \{ homes \{ id timeZone \} \} \}$", text):
            return {"data": {"viewer": {"homes": copy.deepcopy(self.homes)}}}
        if re.search(r"\{ viewer \{ websocketSubscriptionUrl \} \}$", text):
            return {"data": {"viewer": {"websocketSubscriptionUrl": WEBSOCKET_URL}}}
        if "consumption(" in text and "home(id: $homeId)" in text:
            return self._consumption(text, variables)
        return error("Cannot query this in the fake Tibber API", "GRAPHQL_VALIDATION_FAILED")

    def _consumption(self, text: str, variables: dict) -> dict:
        path, partial = ["viewer", "home", "consumption"], {"viewer": {"home": {"consumption": None}}}
        selections = dict(re.findall(r"(pageInfo|nodes) \{ ([\w ]+) \}", text))
        for name, allowed, type_name in (("nodes", NODE_FIELDS, "Consumption"),
                                         ("pageInfo", PAGE_INFO_FIELDS, "HomeConsumptionPageInfo")):
            for field in selections.get(name, "").split():
                if field not in allowed:
                    return error(f'Cannot query field "{field}" on type "{type_name}".', "GRAPHQL_VALIDATION_FAILED")
        if "resolution: HOURLY" not in text:
            return error("the fake Tibber API records HOURLY only", "BAD_USER_INPUT", path, partial)
        if variables.get("homeId") != self.home_id:
            return error(f"Could not find home with id {variables.get('homeId')!r}", "NOT_FOUND",
                         ["viewer", "home"], {"viewer": {"home": None}})
        first, last = variables.get("first"), variables.get("last")
        if (first is None) == (last is None) or not 0 <= (first if first is not None else last) <= MAX_PAGE_SIZE:
            return error(f"give one of first/last, at most {MAX_PAGE_SIZE}", "BAD_USER_INPUT", path, partial)
        try:
            after = self._cursor_ms(variables.get("after"))
            before = self._cursor_ms(variables.get("before"))
        except ValueError as bad:
            return error(str(bad), "BAD_USER_INPUT", path, partial)
        filter_empty = "filterEmptyNodes: true" in text
        nodes = [n for n in self.history if not (filter_empty and n["consumption"] is None)]
        window = [i for i, n in enumerate(nodes)
                  if (after is None or _ms(n["from"]) > after) and (before is None or _ms(n["from"]) < before)]
        chosen = window[:first] if first is not None else window[len(window) - last:] if last else []
        page = [nodes[i] for i in chosen]
        info = {
            "endCursor": tibber_cursor(page[-1]["from"]) if page else None,
            "hasNextPage": bool(page) and chosen[-1] < len(nodes) - 1,
            "hasPreviousPage": bool(page) and chosen[0] > 0,
            "startCursor": tibber_cursor(page[0]["from"]) if page else None,
            "count": len(page),
            "currency": DEMO_CURRENCY,
            "totalCost": sum(n["cost"] or 0 for n in page),
            "totalConsumption": sum(n["consumption"] or 0 for n in page),
            "filtered": len(self.history) - len(nodes),
        }
        connection = {}
        for name, fields in selections.items():  # a GraphQL response follows the query's field order
            if name == "pageInfo":
                connection["pageInfo"] = {field: info[field] for field in fields.split()}
            else:
                connection["nodes"] = [{field: (DEMO_CURRENCY if field == "currency" else node[field])
                                        for field in fields.split()} for node in page]
        return {"data": {"viewer": {"home": {"consumption": connection}}}}

    @staticmethod
    def _cursor_ms(cursor) -> int | None:
        if cursor is None:
            return None
        try:
            return _ms(base64.b64decode(str(cursor), validate=True).decode("ascii"))
        except (binascii.Error, UnicodeError, ValueError):
            raise ValueError(f"Invalid cursor {cursor!r}") from None
