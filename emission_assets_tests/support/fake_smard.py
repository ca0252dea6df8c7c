"""A fake SMARD chart-data API on 127.0.0.1 that speaks the real wire format, fed with deterministic series."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from emission_assets.smard.catalog import INGEST_FILTERS
from emission_assets.smard.replay import full_week, write_tree
from emission_assets.timeutil import local_midnight, to_epoch_ms, week_start

CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)


def synthetic_value(filter_id: int, epoch_ms: int, version: int = 0) -> float:
    """Deterministic, distinct per filter, interval and data version; exact in binary floating point."""
    return float(filter_id % 97) * 10 + (epoch_ms // 900_000) % 96 * 0.25 + version * 1000


class FakeSmard:
    """Serves ``root/chart_data/...`` like www.smard.de/app; records every request path."""

    def __init__(self, server: HTTPServer, root: Path):
        self.server = server
        self.root = root
        self.requests: list[str] = []
        self.failures: dict[str, int] = {}  # path suffix -> HTTP status to answer instead
        # path suffix -> handler for fault injection; a handler returning None lets the published file be served
        self.hooks: dict[str, Callable[[Request], Response | None]] = {}
        server.expect_request(re.compile(r"^/app/chart_data/.*")).respond_with_handler(self._handle)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/app")

    def _handle(self, request: Request) -> Response:
        self.requests.append(request.path)
        for suffix, status in self.failures.items():
            if request.path.endswith(suffix):
                return Response("<html>Service Unavailable</html>", status=status, content_type="text/html")
        for suffix, hook in self.hooks.items():
            if request.path.endswith(suffix) and (response := hook(request)) is not None:
                return response
        relative = request.path.removeprefix("/app/")
        target = self.root / relative
        if not target.is_file():
            return Response("<html>404 Not Found</html>", status=404, content_type="text/html")
        return Response(target.read_bytes(), content_type="application/json")

    def publish_weeks(self, first_monday: date, weeks: int, *, resolution="quarterhour", region="DE",
                      filters=INGEST_FILTERS, version: int = 0, null_from: datetime | None = None) -> None:
        """Publish full weekly windows; values from ``null_from`` on are null (not yet published)."""
        step_ms = {"quarterhour": 900_000, "hour": 3_600_000}[resolution]
        windows = []
        for week in range(weeks):
            monday = week_start(first_monday) + timedelta(days=7 * week)
            start_ms = to_epoch_ms(local_midnight(monday))
            end_ms = to_epoch_ms(local_midnight(monday + timedelta(days=7)))
            cut = to_epoch_ms(null_from) if null_from else end_ms
            for filter_id in filters:
                points = [(t, synthetic_value(filter_id, t, version) if t < cut else None)
                          for t in range(start_ms, end_ms, step_ms)]
                windows.append((filter_id, start_ms, full_week(start_ms, resolution, points)))
        write_tree(self.root, region, resolution, windows, CREATED)

    def publish_recorded_forecast(self) -> None:
        """SMARD's recorded day-ahead forecasts (real values, DE, 2022-01-01..03, filters 3791, 123, 125, 411:
        :mod:`emission_assets_tests.support.forecast_fixture`) beside whatever else is published."""
        from emission_assets_tests.support.forecast_fixture import copy_tree

        copy_tree(self.root)

    def window_requests(self) -> list[str]:
        return [p for p in self.requests if "/index_" not in p]


def index_of(root: Path, filter_id: int, region: str, resolution: str) -> list[int]:
    return json.loads((root / "chart_data" / str(filter_id) / region / f"index_{resolution}.json").read_text())["timestamps"]
