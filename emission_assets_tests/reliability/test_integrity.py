"""Reservoir integrity end to end: files that do not match their sidecar are quarantined (kept, named, never
ingested), their days are fetched again by a normal run, and a bronze run without the reservoir step fails naming
the file and the days; halves without their pair are listed once per run. Real Dagster runs against the fake SMARD
and Tibber servers on 127.0.0.1; every value the fakes serve must land exactly once."""
from __future__ import annotations

import json
import logging
import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize
from werkzeug import Request, Response

from emission_assets.lakehouse.reservoir import QUARANTINE_DIR, Reservoir, SidecarError
from emission_assets.lakehouse.reservoir_integrity import Inspector
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.redispatch.assets import REDISPATCH_ASSETS
from emission_assets.redispatch.layout import import_redispatch_csv
from emission_assets.settings import paths
from emission_assets.smard.integrity import SMARD_RULES
from emission_assets.smard.windows import build_window, store_window
from emission_assets.tibber import sample
from emission_assets.timeutil import UTC, day_bounds_utc, local_midnight, to_epoch_ms, week_start
from emission_assets_tests.support.fake_smard import FakeSmard
from emission_assets_tests.support.redispatch_fixture import REDISPATCH_CSV, measures_starting_on
from emission_assets_tests.support.smard_runs import (
    DAY,
    EARLIER,
    FILTERS,
    PV,
    SMARD_RESERVOIR,
    TIBBER_PATH,
    Outcome,
    bronze_files,
    published,
    quick,
    run,
    silver,
    silver_snapshot,
    smard_api_for,
    sql,
    window_name,
    window_stem,
)


@pytest.fixture
def smard_api(httpserver, tmp_path) -> FakeSmard:
    """The fake SMARD API serving the two filters' weeks of EARLIER and DAY."""
    return smard_api_for(httpserver, tmp_path / "smard_api")


SMARD_BRONZE_SILVER = AssetSelection.assets(AssetKey(["bronze", "smard_responses"]), AssetKey(["silver", "production"]))
SMARD_ALL = AssetSelection.tag("source", "smard")
TIBBER_ALL = AssetSelection.tag("source", "tibber")
TIBBER_BRONZE_SILVER = AssetSelection.assets(AssetKey(["bronze", "tibber_responses"]),
                                             AssetKey(["silver", "consumption"]))


def stored(stem: str) -> Path:
    """The one reservoir payload whose name begins with ``stem`` (outside the quarantine)."""
    [path] = [p for p in paths().reservoir.glob(f"smard/*/{stem}__*.json") if not p.name.endswith(".meta.json")]
    return path


def quarantined() -> dict[str, dict]:
    """Original name -> reason record of every quarantined file."""
    root = paths().reservoir / QUARANTINE_DIR
    return {(r := json.loads(p.read_text()))["name"]: r for p in root.rglob("*.reason.json")}


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # the same length: only the sha256 tells
    path.write_bytes(bytes(data))


# --- SMARD: a corrupt window -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("corrupt", [truncate, flip_a_bit], ids=["truncated", "bit_flip"])
def test_a_corrupt_window_is_quarantined_and_a_normal_run_fetches_it_again(spark, smard_api, corrupt):
    days = (DAY, DAY + timedelta(days=1))
    assert run(*days, AssetSelection.assets(SMARD_RESERVOIR), smard=quick(smard_api)).success  # stored, not ingested
    bad = stored(window_stem(PV, DAY))
    corrupt(bad)
    corrupted = bad.read_bytes()
    name = bad.relative_to(paths().reservoir).as_posix()
    requests = len(smard_api.window_requests())

    outcome = run(*days, SMARD_ALL, smard=quick(smard_api))

    assert outcome.success
    # fetched again: one request for the photovoltaics window, none for lignite (intact)
    assert smard_api.window_requests()[requests:] == [f"/app/chart_data/{PV}/DE/{window_name(PV, DAY)}"]
    for day in days:  # exactly the served values, each once: 96 quarter-hours x 2 types per day
        assert silver(day) == published(smard_api, day) and len(silver(day)) == 96 * len(FILTERS)
    assert name not in {n for n, _ in bronze_files()}  # never ingested
    assert len(bronze_files()) == len(FILTERS)  # the lignite window and the fresh photovoltaics window
    kept = paths().reservoir / QUARANTINE_DIR / name
    assert kept.read_bytes() == corrupted and kept.with_name(kept.name.replace(".json", ".meta.json")).is_file()
    record = quarantined()[name]
    expected = "payload has 1000 bytes" if corrupt is truncate else "payload sha256"
    assert expected in record["reason"] and record["step"] == "reservoir/smard_responses"
    named = [w for w in outcome.warnings if name in w]
    assert len(named) == 1 and "quarantined 1 reservoir file" in named[0] and expected in named[0]
    assert outcome.metadata("reservoir", "smard_responses")["files_quarantined"] == 1

    again = run(*days, SMARD_ALL, smard=quick(smard_api))  # repaired: nothing to fetch, nothing to say
    assert again.success and len(smard_api.window_requests()) == requests + 1
    assert not any("quarantine" in w for w in again.warnings)
    assert all(silver(day) == published(smard_api, day) for day in days)


def test_a_bronze_run_without_the_reservoir_step_fails_naming_the_file_and_days_and_loses_nothing(spark, smard_api):
    assert run(EARLIER, EARLIER, SMARD_ALL, smard=quick(smard_api)).success
    landed = silver_snapshot(EARLIER)
    days = (DAY, DAY + timedelta(days=1))
    assert run(*days, AssetSelection.assets(SMARD_RESERVOIR), smard=quick(smard_api)).success
    bad = stored(window_stem(PV, DAY))
    truncate(bad)
    name = bad.relative_to(paths().reservoir).as_posix()

    outcome = run(*days, SMARD_BRONZE_SILVER)

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "ReservoirIntegrityError"
    assert "\n" not in message
    assert name in message and "payload has 1000 bytes" in message
    assert f"leaves {DAY}..{DAY + timedelta(days=1)} (DE photovoltaics) incomplete" in message
    assert (f"Repair: emission-tracker materialize --start {DAY} --end {DAY + timedelta(days=1)} "
            "--select 'tag:source=smard'") in message
    assert name in quarantined() and name not in {n for n, _ in bronze_files()}
    # the intact lignite window is in bronze; silver did not run: the earlier days are untouched, the new ones empty
    assert len([n for n, _ in bronze_files() if window_stem(1223, DAY) in n]) == 1
    assert silver_snapshot(EARLIER) == landed
    assert all(silver(day) == [] for day in days)

    again = run(*days, SMARD_BRONZE_SILVER)  # the quarantine is remembered: still incomplete, still failing
    assert not again.success and name in again.error()[1]

    repaired = run(*days, SMARD_ALL, smard=quick(smard_api))  # what the message says to run
    assert repaired.success
    for day in (EARLIER, *days):
        assert silver(day) == published(smard_api, day)
    names = [n for n, _ in bronze_files()]
    assert len(names) == len(set(names)) == 2 * len(FILTERS)
    assert run(*days, SMARD_BRONZE_SILVER).success  # an intact file covers the days now


def test_a_malformed_sidecar_is_one_line_naming_it_and_its_days_are_fetched_again(spark, smard_api):
    assert run(DAY, DAY, AssetSelection.assets(SMARD_RESERVOIR), smard=quick(smard_api)).success
    payload = stored(window_stem(PV, DAY))
    sidecar = payload.with_name(payload.name.replace(".json", ".meta.json"))
    sidecar.write_text('{"sha256": "ab')  # cut off
    name = payload.relative_to(paths().reservoir).as_posix()
    with pytest.raises(SidecarError, match=rf"reservoir sidecar {sidecar}: sidecar is not valid JSON"):
        Reservoir(paths().reservoir).list(payload.parent.relative_to(paths().reservoir).as_posix())

    outcome = run(DAY, DAY, SMARD_ALL, smard=quick(smard_api))

    assert outcome.success
    named = [w for w in outcome.warnings if name in w]
    assert len(named) == 1 and "sidecar is not valid JSON" in named[0]
    assert silver(DAY) == published(smard_api, DAY)
    assert "not valid JSON" in quarantined()[name]["reason"]
    # the record knows what the file covered from its name, so a bronze run can say which days it leaves out
    assert quarantined()[name]["meta"]["filter_id"] == PV


def test_a_malformed_sidecar_in_a_bronze_only_run_fails_naming_it(spark, smard_api):
    assert run(DAY, DAY, AssetSelection.assets(SMARD_RESERVOIR), smard=quick(smard_api)).success
    payload = stored(window_stem(PV, DAY))
    payload.with_name(payload.name.replace(".json", ".meta.json")).write_text("[1, 2]")
    name = payload.relative_to(paths().reservoir).as_posix()

    outcome = run(DAY, DAY, SMARD_BRONZE_SILVER)

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "ReservoirIntegrityError" and "\n" not in message
    assert f"{name} (sidecar is JSON but not an object (list))" in message
    assert f"leaves {DAY} (DE photovoltaics) incomplete" in message


# --- halves without their pair ---------------------------------------------------------------------------------------

def test_files_without_their_pair_are_listed_once_per_run_and_a_lost_payload_is_fetched_again(spark, smard_api):
    days = (DAY - timedelta(days=1), DAY + timedelta(days=1))  # three days, one run
    assert run(*days, AssetSelection.assets(SMARD_RESERVOIR), smard=quick(smard_api)).success
    lost = stored(window_stem(PV, DAY))
    lost.unlink()  # its sidecar stays
    folder = lost.parent
    (folder / "stray.json").write_bytes(b'{"series": []}')  # a file without sidecar
    (folder / f".{lost.name}.k2j3h4.tmp").write_bytes(b"in flight")  # an atomic write in flight: not a file yet
    requests = len(smard_api.window_requests())

    outcome = run(*days, SMARD_ALL, smard=quick(smard_api))

    assert outcome.success
    relative = folder.relative_to(paths().reservoir).as_posix()
    listed = [w for w in outcome.warnings if "without their pair" in w]
    assert len(listed) == 1  # once per run, not once per day or per step
    assert f"{relative}/{lost.name.replace('.json', '.meta.json')} (sidecar without payload)" in listed[0]
    assert f"{relative}/stray.json (no sidecar)" in listed[0] and ".tmp" not in listed[0]
    assert outcome.metadata("bronze", "smard_responses")["files_without_pair"] == 2
    # the sidecar alone covers nothing: the window was fetched again, every value landed once
    assert smard_api.window_requests()[requests:] == [f"/app/chart_data/{PV}/DE/{window_name(PV, DAY)}"]
    for day in (days[0], DAY, days[1]):
        assert silver(day) == published(smard_api, day)
    assert len(bronze_files()) == len(FILTERS)
    assert (folder / "stray.json").is_file()  # listed, not touched


# --- Tibber: a corrupt page ------------------------------------------------------------------------------------------

@pytest.fixture
def tibber_api(httpserver, monkeypatch):
    """A GraphQL endpoint on 127.0.0.1 answering from the sample household; records every consumption node sent."""
    monkeypatch.setenv("TIBBER_API_URL", httpserver.url_for(TIBBER_PATH))
    monkeypatch.setenv("TIBBER_TOKEN", "tbr-INTEGRITY-test")
    served: list[dict] = []

    def graphql(request: Request) -> Response:
        document = sample.answer(request.get_json())
        consumption = document.get("data", {}).get("viewer", {}).get("home", {}).get("consumption")
        if consumption is not None:
            served.extend(consumption["nodes"])
        return Response(json.dumps(document), status=200, content_type="application/json")

    httpserver.expect_request(TIBBER_PATH, method="POST").respond_with_handler(graphql)
    return served


def consumption(day: date) -> list[tuple[int, float]]:
    rows = sql("SELECT unix_millis(interval_start) AS t, energy_kwh FROM silver.consumption "
               f"WHERE year = {day.year} AND month = {day.month} AND day = {day.day}")
    return sorted((r.t, float(r.energy_kwh)) for r in rows)


def served_on(served: list[dict], day: date) -> list[tuple[int, float]]:
    start, end = day_bounds_utc(day)
    return sorted({(to_epoch_ms(datetime.fromisoformat(n["from"])), n["consumption"]) for n in served
                   if start <= datetime.fromisoformat(n["from"]) < end})


def test_a_corrupt_tibber_page_fails_a_bronze_run_and_a_normal_run_fetches_it_again(spark, tibber_api):
    day = date(2022, 5, 18)
    assert run(day, day, AssetSelection.assets(AssetKey(["reservoir", "tibber_responses"]))).success
    [page] = [p for p in paths().reservoir.glob("tibber/hourly/*/*.json") if not p.name.endswith(".meta.json")]
    flip_a_bit(page)
    name = page.relative_to(paths().reservoir).as_posix()

    failed = run(day, day, TIBBER_BRONZE_SILVER)

    assert not failed.success
    kind, message = failed.error()
    assert kind == "ReservoirIntegrityError" and "\n" not in message
    assert name in message and "payload sha256" in message and f"leaves {day} (Tibber consumption) incomplete" in message
    assert f"emission-tracker materialize --start {day} --end {day} --select 'tag:source=tibber'" in message
    assert consumption(day) == []

    tibber_api.clear()
    repaired = run(day, day, TIBBER_ALL)

    assert repaired.success
    expected = served_on(tibber_api, day)
    assert len(expected) == 24 and consumption(day) == expected  # the fresh page's values, each hour once
    assert name in quarantined()
    bronze = sorted(r.file_name for r in sql("SELECT file_name FROM bronze.tibber_responses"))
    assert name not in bronze and len(bronze) == len(set(bronze)) == 1


# --- redispatch: an imported file cannot be fetched again -------------------------------------------------------------

def test_a_corrupt_imported_redispatch_file_fails_naming_it_and_how_to_repair(spark, tmp_path, monkeypatch):
    monkeypatch.delenv("NETZTRANSPARENZ_CLIENT_ID", raising=False)
    monkeypatch.delenv("NETZTRANSPARENZ_CLIENT_SECRET", raising=False)
    reservoir = Reservoir(tmp_path / "reservoir")
    resources = {"spark": SparkResource(), "reservoir": ReservoirResource(root=str(reservoir.root))}
    [file] = import_redispatch_csv([REDISPATCH_CSV], reservoir).written
    truncate(file.path)

    with DagsterInstance.ephemeral() as instance:
        result = materialize(REDISPATCH_ASSETS, partition_key="2024-03-26", resources=resources, instance=instance,
                             raise_on_error=False)
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level >= logging.WARNING]
    outcome = Outcome(result, warnings)

    assert not outcome.success
    kind, message = outcome.error()
    assert kind == "ReservoirIntegrityError" and "\n" not in message
    assert file.name in message and "leaves 2024-03-26 (redispatch) incomplete" in message
    assert "import the downloaded CSV again (`emission-tracker import redispatch-csv <file>`)" in message
    assert len([w for w in warnings if file.name in w and "quarantined 1" in w]) == 1  # by the reservoir step
    assert (reservoir.root / QUARANTINE_DIR / file.name).read_bytes() == REDISPATCH_CSV.read_bytes()[:1000]

    import_redispatch_csv([REDISPATCH_CSV], reservoir)  # the repair the message names
    assert materialize(REDISPATCH_ASSETS, partition_key="2024-03-26", resources=resources).success
    count = sql("SELECT count(*) AS n FROM silver.redispatch WHERE year = 2024 AND month = 3 AND day = 26")[0].n
    assert count == measures_starting_on(date(2024, 3, 26)) > 0


# --- the quarantine itself -------------------------------------------------------------------------------------------

def _window(reservoir: Reservoir, fetched: datetime):
    start = to_epoch_ms(local_midnight(week_start(DAY)))
    points = [(start + i * 3_600_000, 1.0) for i in range(7 * 24)]
    return store_window(reservoir, filter_id=PV, region="DE", resolution="hour", window_start_ms=start,
                        payload=build_window(points, fetched), url="test://", fetched_at=fetched, source="api")


def test_quarantine_never_overwrites_and_finishes_a_move_cut_short(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    file = _window(reservoir, datetime(2024, 5, 1, tzinfo=UTC))
    sidecar = file.path.with_name(file.path.name.replace(".json", ".meta.json"))
    original = (file.path.read_bytes(), sidecar.read_bytes())

    # a crash after the sidecar was moved: the record and sidecar are in the quarantine, the payload is not
    first = reservoir.quarantine(file.name, {"reason": "test"})
    os.rename(reservoir.root / first, file.path)
    inspector = Inspector(reservoir, SMARD_RULES, "test")
    assert inspector.listed("smard", DAY - timedelta(days=7), DAY) == []
    assert inspector.files_without_sidecar == [] and inspector.completed == [first]
    assert (reservoir.root / first).read_bytes() == original[0] and not file.path.exists()

    # the same name again (a user restored it by hand): a second copy, the first one kept
    (file.path.write_bytes(original[0]), sidecar.write_bytes(original[1]))
    second = reservoir.quarantine(file.name, {"reason": "again"})
    assert second != first and second.endswith("~1.json")
    assert (reservoir.root / first).read_bytes() == (reservoir.root / second).read_bytes() == original[0]
    assert sorted(r["reason"] for r in reservoir.quarantine_records("smard", date(2024, 4, 15), date(2024, 4, 15))) \
        == ["again", "test"]

    # another run moved the sidecar first: nothing is moved twice, no record left behind
    assert reservoir.quarantine(file.name, {"reason": "late"}) is None
    assert len(list((reservoir.root / QUARANTINE_DIR).rglob("*.reason.json"))) == 2


def test_a_quarantined_live_batch_is_covered_by_an_hourly_page_and_otherwise_named_with_its_day(tmp_path):
    from emission_assets.lakehouse.reservoir_integrity import ReservoirIntegrityError
    from emission_assets.tibber.integrity import TIBBER_RULES
    from emission_assets.tibber.layout import HOURLY, LIVE, store_hourly_page, store_live_batch, stored_files

    day = date(2024, 4, 17)
    start, end = (to_epoch_ms(moment) for moment in day_bounds_utc(day))
    reservoir = Reservoir(tmp_path / "reservoir")
    batch = store_live_batch(reservoir, home_id="home-1", written_at=datetime(2024, 4, 17, 12, tzinfo=UTC),
                             measurements=[{"timestamp": "2024-04-17T12:00:00+02:00", "power": 1.0}])
    batch.path.write_bytes(batch.path.read_bytes()[:-5])  # cut short

    def inspect() -> tuple[Inspector, list]:
        inspector = Inspector(reservoir, TIBBER_RULES, "bronze/tibber_responses")
        files = stored_files(reservoir, HOURLY, day, day, inspector) + stored_files(reservoir, LIVE, day, day, inspector)
        return inspector, inspector.verified(files)

    inspector, intact = inspect()
    assert intact == [] and [d.name for d in inspector.quarantined] == [batch.name]
    with pytest.raises(ReservoirIntegrityError, match=rf"{batch.name} \(payload has \d+ bytes.* leaves {day} "
                       r"\(Tibber consumption\) incomplete.*live measurements cannot be fetched again"):
        inspector.conclude(logging.getLogger("test"), then="-", coverage=(intact, day, day, set()))

    # an intact hourly page of the day: silver falls back to it, so nothing is incomplete
    page = store_hourly_page(reservoir, home_id="home-1", payload=b"{}", url="test://", source="api",
                             fetched_at=datetime(2024, 5, 1, tzinfo=UTC), series_start_ms=start, series_end_ms=end,
                             nodes=24, non_null_nodes=24)
    inspector, intact = inspect()
    assert intact == [page] and inspector.quarantined == []  # quarantined once, in the run before
    assert inspector.incomplete(intact, day, day, held=set()) == []
    # bronze holding the batch (ingested while intact) also leaves nothing incomplete
    assert inspector.incomplete([], day, day, held={batch.name}) == []
