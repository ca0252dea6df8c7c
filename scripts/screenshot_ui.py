"""Screenshots of the Dagster UI on a home with a demo run: the gold asset group's lineage, an asset's partitions
page and the runs list, in headless Chromium. Not part of `make test`; for the closing note of a change to the graph.

    make demo                                   # or: EMISSION_HOME=/some/home emission-tracker demo
    python scripts/screenshot_ui.py --home .emission_home --out screenshots

Starts ``dagster dev`` (as ``emission-tracker ui`` does: DAGSTER_HOME under the home) on a free port of 127.0.0.1,
waits for the web server, takes the screenshots with ``chromium --headless --screenshot`` and stops the server.
Chromium: ``apt-get install -y chromium`` (Debian's /usr/bin/chromium).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The flags headless Chromium needs on a machine without a GPU, a sandbox or outside network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
PAGES = {  # file name -> path of the page in the Dagster UI
    "gold_asset_graph": "/asset-groups/gold/lineage",
    "gold_emissions_report_partitions": "/assets/gold/emissions_report?view=partitions",
    "silver_production_partitions": "/assets/silver/production?view=partitions",
    "runs": "/runs",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"dagster dev exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s")


def screenshot(chromium: str, url: str, target: Path, size: str, wait_ms: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
             f"--virtual-time-budget={wait_ms}", f"--screenshot={target}", url],
            capture_output=True, text=True, timeout=180,
        )
    if done.returncode != 0 or not target.exists():
        raise SystemExit(f"chromium failed on {url} ({done.returncode}): {done.stderr.strip()[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".emission_home", help="EMISSION_HOME with a demo run")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the PNG files")
    parser.add_argument("--size", default="1600,1000", help="window size WIDTH,HEIGHT")
    parser.add_argument("--wait-ms", type=int, default=20000, help="virtual time the page gets to load its data")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()

    home = args.home.resolve()
    dagster_home = home / "dagster"
    if not (dagster_home / "dagster.yaml").exists():
        raise SystemExit(f"{dagster_home}/dagster.yaml not found: run `emission-tracker demo` with EMISSION_HOME={home}")
    if not Path(args.chromium).exists():
        raise SystemExit(f"{args.chromium} not found: apt-get install -y chromium")
    args.out.mkdir(parents=True, exist_ok=True)

    port = free_port()
    env = {**os.environ, "EMISSION_HOME": str(home), "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(ROOT)}
    dagster = Path(sys.executable).with_name("dagster")
    server = subprocess.Popen(
        [str(dagster), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=dagster_home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/server_info", server, timeout_s=240)
        for name, path in PAGES.items():
            target = args.out / f"{name}.png"
            screenshot(args.chromium, base + path, target, args.size, args.wait_ms)
            print(f"{target}  <- {base}{path}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # dagster dev and its code server / daemon children
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
