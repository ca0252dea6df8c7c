"""A reservoir writer process for the crash tests: ``python -m emission_assets_tests.support.reservoir_child FIRST
LAST BASE_URL [CALL N]`` fills $EMISSION_HOME's reservoir with the SMARD windows of FIRST..LAST (every region and
generation type, quarter-hours) from BASE_URL, as the reservoir asset does.

With ``CALL N`` (``link`` or ``fsync``) the process SIGKILLs itself on entering its N-th ``os.link`` / ``os.fsync``:
a crash at an exact point of a batch of writes, with no hook in the product code (and, being SIGKILL, no
``finally`` of it runs). Links happen in order on the calling thread, so ``link N`` lands deterministically.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import date

from emission_assets.lakehouse.reservoir import Reservoir
from emission_assets.settings import paths
from emission_assets.smard.catalog import GENERATION_FILTERS, REGIONS
from emission_assets.smard.client import SmardClient
from emission_assets.smard.reservoir import fill


def die_at(call: str, n: int) -> None:
    real = getattr(os, call)
    calls = 0
    lock = threading.Lock()

    def counted(*args, **kwargs):
        nonlocal calls
        with lock:
            calls += 1
            if calls == n:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(os, call, counted)


if __name__ == "__main__":
    first, last, base_url, *crash = sys.argv[1:]
    if crash:
        die_at(crash[0], int(crash[1]))
    with SmardClient(base_url) as client:
        report = fill(client, Reservoir(paths().reservoir), date.fromisoformat(first), date.fromisoformat(last),
                      regions=list(REGIONS), filters=list(GENERATION_FILTERS), resolution="quarterhour")
    print(f"written {len(report.written)}", flush=True)
