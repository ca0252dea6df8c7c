"""Retention: only files bronze has ingested and that are older than the retention are removed."""
from datetime import date, datetime, timedelta

from emission_assets.lakehouse.reservoir import META_SUFFIX, Reservoir
from emission_assets.orchestration.resources import ReservoirResource, SparkResource
from emission_assets.orchestration.retention import delete_expired, expired_files, retention_job_for, source_of
from emission_assets.smard.windows import build_window, store_window
from emission_assets.sources import all_sources
from emission_assets.tibber.layout import store_live_batch
from emission_assets.timeutil import UTC, local_midnight, to_epoch_ms

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SOURCES = all_sources()
retention_job = retention_job_for(SOURCES)


def window(reservoir: Reservoir, fetched_at: datetime, filter_id: int = 1223):
    start = to_epoch_ms(local_midnight(date(2024, 4, 1)))
    points = [(start + i * 3_600_000, 1.0) for i in range(24)]
    return store_window(reservoir, filter_id=filter_id, region="DE", resolution="hour", window_start_ms=start,
                        payload=build_window(points, fetched_at), url="test://", fetched_at=fetched_at, source="api")


def live(reservoir: Reservoir, written_at: datetime):
    return store_live_batch(reservoir, home_id="h", written_at=written_at,
                            measurements=[{"timestamp": "2024-04-01T10:00:00+02:00", "power": 1.0}])


def sidecar(file):
    return file.path.with_name(file.path.name[: -len(".json")] + META_SUFFIX)


def test_only_old_ingested_files_go(tmp_path):
    reservoir = Reservoir(tmp_path / "reservoir")
    old_ingested = window(reservoir, NOW - timedelta(days=40))
    old_not_ingested = window(reservoir, NOW - timedelta(days=40), filter_id=4068)
    young_ingested = window(reservoir, NOW - timedelta(days=2))
    old_live = live(reservoir, NOW - timedelta(days=31))
    ingested = {old_ingested.name, young_ingested.name, old_live.name}

    expired = expired_files(reservoir, ingested, timedelta(days=30), NOW)
    assert sorted(f.name for f in expired) == sorted([old_ingested.name, old_live.name])
    assert old_ingested.path.exists()  # listing deletes nothing

    dry = delete_expired(reservoir, ingested, timedelta(days=30), NOW, dry_run=True)
    assert len(dry) == 2 and old_ingested.path.exists()

    removed = delete_expired(reservoir, ingested, timedelta(days=30), NOW)
    assert sorted(f.name for f in removed) == sorted([old_ingested.name, old_live.name])
    assert {source_of(f.name, SOURCES) for f in removed} == {"smard", "tibber"}
    for gone in (old_ingested, old_live):
        assert not gone.path.exists() and not sidecar(gone).exists()
    for kept in (old_not_ingested, young_ingested):
        assert kept.path.exists() and sidecar(kept).exists()
    # Nothing is ingested: nothing goes, however old.
    assert delete_expired(reservoir, set(), timedelta(0), NOW + timedelta(days=3650)) == []
    assert delete_expired(reservoir, ingested, timedelta(days=30), NOW) == []


def test_retention_job_reads_bronze_file_names(tmp_path, spark):
    from emission_assets.lakehouse.session import open_lakehouse
    from emission_assets.smard import bronze as bronze_smard

    reservoir = Reservoir(tmp_path / "reservoir")
    now = datetime.now(UTC)
    ingested = window(reservoir, now - timedelta(days=45))
    not_ingested = window(reservoir, now - timedelta(days=45), filter_id=4068)
    young = window(reservoir, now - timedelta(days=1), filter_id=4069)
    lakehouse = open_lakehouse()
    assert bronze_smard.ingest(lakehouse.spark, lakehouse.writer, [ingested, young], "test-run") > 0

    result = retention_job.execute_in_process(
        resources={"reservoir": ReservoirResource(root=str(reservoir.root)), "spark": SparkResource()},
        run_config={"ops": {"reservoir_retention": {"config": {"retention_days": 30}}}},
    )
    assert result.success
    output = result.output_for_node("reservoir_retention")
    assert output["removed"] == [ingested.name]
    assert output["per_source"] == {"smard": 1, "smard_forecast": 0, "tibber": 0, "redispatch": 0}  # with a reservoir
    assert not ingested.path.exists()
    assert not_ingested.path.exists() and young.path.exists()


def test_quarantined_files_are_never_removed_and_are_counted(tmp_path):
    from emission_assets.lakehouse.reservoir import QUARANTINE_DIR
    from emission_assets.orchestration.retention import quarantined_count

    reservoir = Reservoir(tmp_path / "reservoir")
    corrupt = window(reservoir, NOW - timedelta(days=400))
    kept_as = reservoir.quarantine(corrupt.name, {"reason": "test"})
    ingested = {corrupt.name, kept_as}

    assert delete_expired(reservoir, ingested, timedelta(0), NOW + timedelta(days=3650)) == []
    assert (reservoir.root / kept_as).is_file() and kept_as.startswith(f"{QUARANTINE_DIR}/smard/")
    assert quarantined_count(reservoir) == 1
