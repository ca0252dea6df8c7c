"""Spark portability is tested, not assumed: the pure SMARD silver transforms give identical results on the embedded
engine (Sail over Spark Connect) and on classic local JVM Spark.

The classic side runs in a subprocess (``classic_spark_runner``): a Spark Connect client session and a classic JVM
session in one Python process can interfere. Both sides build the same bronze input and normalise results with the
same code from that module; timestamps leave each engine as UTC epoch milliseconds.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from emission_assets.timeutil import BERLIN, UTC, expected_intervals, to_epoch_ms
from emission_assets_tests.support import classic_spark_runner as runner
from emission_assets_tests.support.paths import REPO_ROOT

PROJECT_ROOT = REPO_ROOT
CLASSIC_TIMEOUT_S = 180
# Environment that would turn the child's session into a Spark Connect client (or point it elsewhere).
CONNECT_ENV = ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_API_MODE", "SPARK_LOCAL_REMOTE", "PYSPARK_SUBMIT_ARGS")
# A non-UTC process/JVM default zone on the classic side: results must depend on the session time zone only.
CHILD_TZ = "Asia/Kolkata"


def _java_home(java: str) -> str | None:
    """JAVA_HOME for the ``java`` on PATH (``.../bin/java`` -> ``...``), if it looks like a JDK layout."""
    home = Path(java).resolve().parent.parent
    return str(home) if (home / "bin" / "java").exists() else None


def _classic_once(tmp_path_factory) -> dict:
    """The classic run once per test session, also when pytest-xdist gives this module's tests to both workers: the
    first worker starts the JVM, the other waits for it and reads its result (pytest-xdist's documented pattern for a
    session-wide fixture: a file under the shared base temp dir, behind a file lock)."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the workers' base temp dirs share this parent
    cached = shared / "classic_spark_result.json"
    with FileLock(str(cached) + ".lock"):
        if not cached.exists():
            cached.write_text(_run_classic(tmp_path_factory.mktemp("classic-spark")), encoding="utf-8")
        payload = cached.read_text(encoding="utf-8")
    result = json.loads(payload)
    for key in ("production", "quality"):
        result[key] = sorted(tuple(row) for row in result[key])
    for key in ("production_schema", "quality_schema"):
        result[key] = [tuple(field) for field in result[key]]
    return result


def _run_classic(tmp_path: Path) -> str:
    """The classic runner's result line (JSON), from a subprocess of its own."""
    java = shutil.which("java")
    if java is None and not os.environ.get("JAVA_HOME"):
        pytest.fail(
            "classic Spark conformance test needs Java 17 (`java` on PATH or JAVA_HOME set); none found. "
            "Install a JDK 17 (e.g. `apt-get install openjdk-17-jdk-headless`) — this test must not be skipped."
        )
    env = {k: v for k, v in os.environ.items() if k not in CONNECT_ENV}
    if not env.get("JAVA_HOME") and java is not None:
        home = _java_home(java)
        if home:
            env["JAVA_HOME"] = home
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["TZ"] = CHILD_TZ
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    try:
        completed = subprocess.run(
            [sys.executable, "-m", runner.__name__],
            cwd=tmp_path,  # anything Spark drops in the working directory lands in the test's temp dir
            env=env,
            capture_output=True,
            text=True,
            timeout=CLASSIC_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"classic Spark runner did not finish in {CLASSIC_TIMEOUT_S} s; stderr tail:\n{(error.stderr or '')[-3000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith(runner.RESULT_MARKER)]
    if completed.returncode != 0 or not lines:
        pytest.fail(
            f"classic Spark runner failed (exit {completed.returncode}, JAVA_HOME={env.get('JAVA_HOME')!r}).\n"
            f"stdout tail:\n{completed.stdout[-2000:]}\nstderr tail:\n{completed.stderr[-4000:]}"
        )
    return lines[-1][len(runner.RESULT_MARKER):]


def _values_equal(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, (int, float)) and isinstance(b, (int, float))
            and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
        )
    return type(a) is type(b) and a == b


def _rows_equal(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(_values_equal(x, y) for x, y in zip(a, b))


def _assert_same_rows(name: str, columns: tuple[str, ...], embedded: list[tuple], classic: list[tuple], engine: str):
    assert len(embedded) == len(classic), (
        f"{name}: {len(embedded)} rows on Sail, {len(classic)} on {engine}; "
        f"only on Sail: {sorted(set(embedded) - set(classic))[:5]}, only on classic: {sorted(set(classic) - set(embedded))[:5]}"
    )
    differing = [(e, c) for e, c in zip(embedded, classic) if not _rows_equal(e, c)]
    assert not differing, f"{name}: {len(differing)} rows differ between Sail and {engine}; first ones:\n" + "\n".join(
        "  column diff " + ", ".join(
            f"{col}: sail={x!r} classic={y!r}" for col, x, y in zip(columns, e, c) if not _values_equal(x, y)
        ) + f"\n    sail row {e}"
        for e, c in differing[:5]
    )


@pytest.fixture(scope="module")
def results(spark, tmp_path_factory):
    started = time.monotonic()
    embedded = runner.run_transforms(spark)
    embedded_s = time.monotonic() - started
    started = time.monotonic()
    classic = _classic_once(tmp_path_factory)
    classic_s = time.monotonic() - started
    print(f"\nSail {embedded_s:.1f} s; {classic['engine']} {classic_s:.1f} s (subprocess, incl. JVM start)")
    return embedded, classic


def test_production_identical_on_sail_and_classic_spark(results):
    embedded, classic = results
    assert embedded["production_schema"] == classic["production_schema"]
    _assert_same_rows("silver.production", runner.PRODUCTION_COLUMNS, embedded["production"], classic["production"],
                      classic["engine"])


def test_quality_summary_identical_on_sail_and_classic_spark(results):
    embedded, classic = results
    assert embedded["quality_schema"] == classic["quality_schema"]
    _assert_same_rows("quality summary", runner.QUALITY_COLUMNS, embedded["quality"], classic["quality"],
                      classic["engine"])


# Absolute facts about the input, checked on both engines, so the test fails on its own and not only on a mismatch.

def test_consumption_identical_on_sail_and_classic_spark(results):
    embedded, classic = results
    assert [list(c) for c in embedded["consumption_schema"]] == [list(c) for c in classic["consumption_schema"]]
    _assert_same_rows("silver.consumption", runner.CONSUMPTION_COLUMNS, embedded["consumption"],
                      classic["consumption"], classic["engine"])


@pytest.mark.parametrize("side", [0, 1], ids=["sail", "classic"])
def test_consumption_facts(results, side):
    rows = [dict(zip(runner.CONSUMPTION_COLUMNS, r)) for r in results[side]["consumption"]]
    per_day = {}
    for r in rows:
        per_day.setdefault((r["year"], r["month"], r["day"]), []).append(r)
    assert sorted(per_day) == [(2022, 10, 29), (2022, 10, 30), (2022, 10, 31)]
    # 2022-10-30 has 25 hours; the corrected page (v1) wins, its null at 05:00 UTC keeps v0's value.
    assert len(per_day[(2022, 10, 30)]) == 25 and {r["source"] for r in per_day[(2022, 10, 30)]} == {"hourly_api"}
    assert {r["source_file"] for r in per_day[(2022, 10, 29)]} == {"hourly_v0", "hourly_v1"}
    # 2022-10-31: live covers 00:00-01:00 local fully (4 quarters) -> live; 01:00-02:00 partly -> hourly.
    live = [r for r in per_day[(2022, 10, 31)] if r["source"] == "live"]
    assert len(live) == 4 and len(per_day[(2022, 10, 31)]) == 4 + 23
    assert sum(float(r["ev_kwh"]) for r in live) == 2.75 * 2  # 11 kW for the two quarters fully charging
    for r in rows:
        assert Decimal(r["ev_kwh"]) + Decimal(r["household_kwh"]) == Decimal(r["energy_kwh"])


def _by_column(rows: list[tuple]) -> list[dict]:
    return [dict(zip(runner.PRODUCTION_COLUMNS, row)) for row in rows]


def _local_day(row: dict) -> date:
    return date(row["year"], row["month"], row["day"])


def _ms(moment: datetime) -> int:
    return to_epoch_ms(moment)


@pytest.mark.parametrize("side", ["sail", "classic"])
def test_expected_rows_per_day_and_resolution(results, side):
    rows = _by_column(results[0 if side == "sail" else 1]["production"])
    counts = Counter((r["filter_id"], _local_day(r), r["resolution"]) for r in rows)
    assert counts == {
        (1223, date(2024, 3, 28), "quarterhour"): 96,
        (1223, date(2024, 3, 29), "quarterhour"): 96,
        (1223, date(2024, 3, 30), "quarterhour"): 96,
        (1223, date(2024, 3, 31), "quarterhour"): 92,  # spring DST: 23 hours
        # Photovoltaics reported no quarter-hours on 03-28, so only there the hourly series fills in.
        (4068, date(2024, 3, 28), "hour"): 24,
        (4068, date(2024, 3, 29), "quarterhour"): 96,
        (4068, date(2024, 3, 30), "quarterhour"): 96,
        (4068, date(2024, 3, 31), "quarterhour"): 92,
    }
    assert expected_intervals(date(2024, 3, 31), "quarterhour") == 92
    # Grid load (not a generation filter) and the previous week's window do not appear.
    assert {r["production_type"] for r in rows} == {"lignite", "photovoltaics"}
    assert min(r["interval_start_ms"] for r in rows) == _ms(datetime(2024, 3, 27, 23, 0, tzinfo=UTC))
    assert max(r["interval_end_ms"] for r in rows) == _ms(datetime(2024, 3, 31, 22, 0, tzinfo=UTC))
    # Every interval once per series, the right length, power from energy, local day from the Berlin start.
    assert len({(r["filter_id"], r["interval_start_ms"]) for r in rows}) == len(rows)
    for r in rows:
        minutes = 15 if r["resolution"] == "quarterhour" else 60
        assert r["interval_end_ms"] - r["interval_start_ms"] == minutes * 60_000
        assert r["power_mw"] == pytest.approx(r["energy_mwh"] * 60 / minutes, rel=1e-12)
        start = datetime.fromtimestamp(r["interval_start_ms"] / 1000, tz=UTC)
        assert start.astimezone(BERLIN).date() == _local_day(r)
        assert r["region"] == "DE"


@pytest.mark.parametrize("side", ["sail", "classic"])
def test_latest_download_wins_per_interval(results, side):
    rows = {(r["filter_id"], r["interval_start_ms"]): r for r in _by_column(results[0 if side == "sail" else 1]["production"])}
    lignite = {k[1]: r for k, r in rows.items() if k[0] == 1223}
    lignite_files = {r["source_file"] for r in lignite.values()}
    assert all("_quarterhour_" in name for name in lignite_files)  # the newer hourly import lost everywhere
    for moment in runner.slots(datetime(2024, 3, 27, 23, 0, tzinfo=UTC), datetime(2024, 3, 30, 23, 0, tzinfo=UTC),
                               "quarterhour"):
        row = lignite[_ms(moment)]
        base = runner.lignite_value(moment, "quarterhour")
        if moment in runner.LIGNITE_REDOWNLOAD_GAP:
            # Null in the re-download: the first download's value stays.
            assert (row["energy_mwh"], row["fetched_at_ms"]) == (base, _ms(runner.LIGNITE_QH_FIRST))
        elif moment == runner.LIGNITE_NEGATIVE_AT:
            assert (row["energy_mwh"], row["fetched_at_ms"]) == (-12.3, _ms(runner.LIGNITE_QH_REDOWNLOAD))
        else:
            assert row["energy_mwh"] == base + runner.LIGNITE_REVISION, moment
            assert row["fetched_at_ms"] == _ms(runner.LIGNITE_QH_REDOWNLOAD), moment
    # On 03-31 two copies share fetched_at to the second: the greater file name wins.
    last_day = [r for r in lignite.values() if _local_day(r) == date(2024, 3, 31)]
    assert len(last_day) == 92
    assert all(r["source_file"].endswith("_zz.json") and r["fetched_at_ms"] == _ms(runner.SAME_SECOND) for r in last_day)
    first = datetime(2024, 3, 30, 23, 0, tzinfo=UTC)
    assert lignite[_ms(first)]["energy_mwh"] == runner.lignite_value(first, "quarterhour") + 200.0
    # Photovoltaics on 03-28 from the hourly file, microsecond fetch time preserved as milliseconds.
    pv = [r for (f, _), r in rows.items() if f == 4068]
    assert {r["fetched_at_ms"] for r in pv if r["resolution"] == "hour"} == {_ms(runner.PV_HOUR)}
    assert {r["fetched_at_ms"] for r in pv if r["resolution"] == "quarterhour"} == {_ms(runner.PV_QH)}
    noon = datetime(2024, 3, 28, 11, 0, tzinfo=UTC)  # 12:00 CET
    assert rows[(4068, _ms(noon))]["energy_mwh"] == runner.pv_value(noon, "hour")
    assert rows[(4068, _ms(noon))]["power_mw"] == runner.pv_value(noon, "hour")


@pytest.mark.parametrize("side", ["sail", "classic"])
def test_quality_summary_facts(results, side):
    quality = [dict(zip(runner.QUALITY_COLUMNS, row)) for row in results[0 if side == "sail" else 1]["quality"]]
    assert len(quality) == 8
    assert all(q["duplicates"] == 0 for q in quality)
    intervals = {(q["production_type"], date(q["year"], q["month"], q["day"]), q["resolution"]): q["intervals"]
                 for q in quality}
    assert intervals[("lignite", date(2024, 3, 31), "quarterhour")] == 92
    assert intervals[("photovoltaics", date(2024, 3, 28), "hour")] == 24
    negatives = {(q["production_type"], date(q["year"], q["month"], q["day"])): q["negatives"] for q in quality}
    assert negatives.pop(("lignite", date(2024, 3, 29))) == 1
    assert set(negatives.values()) == {0}


def test_input_is_deterministic_and_utc_aware():
    first, second = runner.bronze_rows(), runner.bronze_rows()
    assert first == second
    assert len(first) == 9
    for row in first:
        for value in (row[4], row[5], row[10]):  # fetched_at, ingested_at, window_start
            assert isinstance(value, datetime) and value.utcoffset() == timedelta(0)
