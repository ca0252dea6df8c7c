"""Gold views: aggregates (in progress)."""
from __future__ import annotations

BUILDERS: dict = {}
