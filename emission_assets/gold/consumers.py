"""Gold views: consumers (in progress)."""
from __future__ import annotations

BUILDERS: dict = {}
