"""Declarative automation and backfills in a running ``dagster dev``, on a home with a demo run: what the UI's
automation and backfill dialogs do, driven through Dagster's GraphQL API. Not part of `make test` (it needs the
daemon that `dagster dev` runs); for the closing note of a change to the graph or its automation.

    make demo
    python scripts/automation_walkthrough.py --home .emission_home

1. Turns ``automation_sensor`` on and waits for its first tick (which requests nothing).
2. Materialises one day of ``silver/production`` (``emission-tracker materialize --select key:silver/production``)
   and waits for the automation's runs: the gold month that day falls in, and the views downstream of silver.
3. Launches a backfill of ``silver/production`` over a month of days and one of ``gold/grid_intensity`` over three
   months, as the UI's backfill dialog does, and counts their runs (one per partitions definition).
4. Waits for further automation ticks and prints what they requested after the backfills.
Prints the runs each step started (id, status, assets, partition or range) and turns the sensor off again.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from screenshot_ui import free_port, wait_for  # noqa: E402

LOCATION = "emission_assets.definitions"
SENSOR = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "sensorName": "automation_sensor"}
RUNS = """query { runsOrError(limit: 200) { ... on Runs { results { runId status assetSelection { path }
  tags { key value } } } } }"""


class Dagster:
    def __init__(self, base: str):
        self.url = f"{base}/graphql"

    def query(self, text: str, **variables) -> dict:
        body = json.dumps({"query": text, "variables": variables}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        if answer.get("errors"):
            raise SystemExit(f"GraphQL: {answer['errors']}")
        return answer["data"]

    def runs(self) -> dict[str, dict]:
        return {r["runId"]: r for r in self.query(RUNS)["runsOrError"]["results"]}

    def set_sensor(self, on: bool) -> str:
        if on:
            data = self.query("mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { "
                              "... on Sensor { sensorState { status } } ... on PythonError { message } } }", s=SENSOR)
            return json.dumps(data["startSensor"])
        state = self.query("query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { "
                           "sensorState { id selectorId } } } }", s=SENSOR)["sensorOrError"]["sensorState"]
        data = self.query("mutation($o: String, $i: String) { stopSensor(id: $o, jobSelectorId: $i) { "
                          "... on StopSensorMutationResult { instigationState { status } } } }",
                          o=state["id"], i=state["selectorId"])
        return json.dumps(data["stopSensor"])

    def backfill(self, key: list[str], partitions: list[str]) -> str:
        data = self.query(
            "mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) { "
            "... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } "
            "... on InvalidStepError { invalidStepKey } ... on PartitionSetNotFoundError { message } } }",
            p={"assetSelection": [{"path": key}], "partitionNames": partitions, "fromFailure": False})
        result = data["launchPartitionBackfill"]
        if "backfillId" not in result:
            raise SystemExit(f"backfill of {key}: {result}")
        return result["backfillId"]


def describe(run: dict) -> str:
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assets = ", ".join("/".join(a["path"]) for a in run["assetSelection"] or [])
    if "dagster/asset_partition_range_start" in tags:
        part = f"{tags['dagster/asset_partition_range_start']}..{tags['dagster/asset_partition_range_end']}"
    else:
        part = tags.get("dagster/partition", "-")
    origin = ("automation" if tags.get("dagster/from_automation_condition") or "dagster/tick" in tags
              else f"backfill {tags['dagster/backfill']}" if "dagster/backfill" in tags else "cli/other")
    return f"  {run['runId'][:8]} {run['status']:<9} {origin:<20} {part:<24} {assets}"


def settle(dagster: Dagster, known: set[str], wait_s: float, quiet_s: float = 75) -> dict[str, dict]:
    """New runs until none is running and none started for ``quiet_s`` (at most ``wait_s``)."""
    deadline, last_change, seen = time.monotonic() + wait_s, time.monotonic(), set()
    while time.monotonic() < deadline:
        runs = {k: v for k, v in dagster.runs().items() if k not in known}
        busy = any(r["status"] in ("QUEUED", "STARTING", "STARTED", "NOT_STARTED") for r in runs.values())
        if set(runs) != seen or busy:
            seen, last_change = set(runs), time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            return runs
        time.sleep(5)
    return {k: v for k, v in dagster.runs().items() if k not in known}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".emission_home")
    parser.add_argument("--day", default="2022-06-15", help="the silver day to update")
    args = parser.parse_args()
    home = args.home.resolve()
    dagster_home = home / "dagster"
    env = {**os.environ, "EMISSION_HOME": str(home), "DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(ROOT)}
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster")), "dev", "-w", str(ROOT / "workspace.yaml"), "-h",
         "127.0.0.1", "-p", str(port)], cwd=dagster_home, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    dagster = Dagster(base)
    try:
        wait_for(f"{base}/server_info", server, timeout_s=240)
        known = set(dagster.runs())
        print(f"dagster dev on {base}; {len(known)} runs in the history")
        print("1. automation_sensor on:", dagster.set_sensor(True))
        first = settle(dagster, known, wait_s=120, quiet_s=65)
        print(f"   runs after its first ticks: {len(first)}")
        known |= set(first)

        cli = [sys.executable, "-m", "emission_assets.cli", "materialize", "--start", args.day, "--end", args.day,
               "--select", "key:silver/production"]
        print(f"2. {' '.join(cli[2:])}")
        done = subprocess.run(cli, env=env, cwd=ROOT, capture_output=True, text=True)
        print(f"   exit {done.returncode}: {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ''}")
        after = settle(dagster, known, wait_s=300)
        for run in after.values():
            print(describe(run))
        known |= set(after)

        days = [f"2022-07-{d:02d}" for d in range(1, 32)]
        months = ["2022-01-01", "2022-02-01", "2022-03-01"]
        print("3. backfills:", dagster.backfill(["silver", "production"], days), "(31 days of silver/production),",
              dagster.backfill(["gold", "grid_intensity"], months), "(3 months of gold/grid_intensity)")
        backfilled = settle(dagster, known, wait_s=420)
        for run in backfilled.values():
            print(describe(run))
        print("4. automation after the backfills: the runs above that are marked automation")
    finally:
        try:
            print("   automation_sensor off:", dagster.set_sensor(False))
        except Exception as error:  # the server may be gone already
            print(f"   could not turn the sensor off: {error}")
        os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
