"""The SQLite event benchmark runs both variants end to end and checks that every materialisation was stored."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_both_variants_store_every_partition_and_print_a_row(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.sqlite_events", "--partitions", "3", "--assets", "1",
                           "--repeat", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "3 daily partitions x 1 empty assets = 3 materialisation events" in done.stdout
    assert re.search(r"^\| 1 \| [\d.]+ s, [\d.]+ ms \| [\d.]+ s, [\d.]+ ms \|$", done.stdout, re.MULTILINE)
    assert list(tmp_path.glob("sqlite-events-*")) == []  # the homes are removed

