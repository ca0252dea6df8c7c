"""Screenshots of the Dagster UI on a home with a demo run: the gold asset group's lineage, an asset's partitions
page and the runs list, in headless Chromium. Not part of `make test`; for the closing note of a change to the graph.

    make demo                                   # or: EMISSION_HOME=/some/home emission-tracker demo
    python scripts/screenshot_ui.py --home .emission_home --out screenshots

Starts ``dagster dev`` (as ``emission-tracker ui`` does: DAGSTER_HOME under the home) on a free port of 127.0.0.1,
waits for the web server, takes the screenshots in headless Chromium (driven over its DevTools protocol) and stops
the server.
Chromium: ``apt-get install -y chromium`` (Debian's /usr/bin/chromium).
"""
from __future__ import annotations

import argparse
import base64
import json
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
LOCATION = "emission_assets.definitions"  # workspace.yaml's python_module
PAGES = {  # file name -> path of the page in the Dagster UI
    "gold_asset_graph": f"/locations/{LOCATION}/asset-groups/gold/lineage",
    "gold_grid_intensity_partitions": "/assets/gold/grid_intensity?view=partitions",
    "gold_emissions_report": "/assets/gold/emissions_report",
    "silver_production_partitions": "/assets/silver/production?view=partitions",
    "runs": "/runs",
    "gold_intensity_profile": "/assets/gold/intensity_profile",
    "gold_ev_shift_savings_lineage": "/assets/gold/ev_shift_savings?view=lineage&lineageScope=neighbors",
    "gold_intensity_forecast_lineage": "/assets/gold/intensity_forecast?view=lineage&lineageScope=upstream",
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


class Browser:
    """Headless Chromium driven over the DevTools protocol (websockets, already a dependency): navigate, dismiss
    Dagster's first-visit dialog, let the page load its data, capture a PNG."""

    def __init__(self, chromium: str, size: str):
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        self.process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile.name}", f"--window-size={size}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        active = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not active.exists() or len(active.read_text().splitlines()) < 2:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = active.read_text().splitlines()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        from websockets.sync.client import connect

        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None).__enter__()  # closed in close()
        self.next_id = 0

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise SystemExit(f"chromium: {method}: {message['error']}")
                return message.get("result", {})

    def screenshot(self, url: str, target: Path, settle_s: float) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(settle_s)
        # The "Join the Dagster community" dialog of a first visit covers the page: skip it when it shows.
        self.call("Runtime.evaluate", expression=(
            "for (const b of document.querySelectorAll('button')) { if (b.textContent.trim() === 'Skip') b.click(); }"))
        time.sleep(2)
        png = self.call("Page.captureScreenshot", format="png")["data"]
        target.write_bytes(base64.b64decode(png))

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(30)
        self.profile.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".emission_home", help="EMISSION_HOME with a demo run")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots", help="folder for the PNG files")
    parser.add_argument("--size", default="1600,1000", help="window size WIDTH,HEIGHT")
    parser.add_argument("--settle-s", type=float, default=8.0, help="seconds a page gets to load its data")
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
        browser = Browser(args.chromium, args.size)
        try:
            for name, path in PAGES.items():
                target = args.out / f"{name}.png"
                browser.screenshot(base + path, target, args.settle_s)
                print(f"{target}  <- {base}{path}")
        finally:
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # dagster dev and its code server / daemon children
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
