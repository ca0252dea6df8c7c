"""Gold views: intensity (in progress)."""
from __future__ import annotations

BUILDERS: dict = {}
