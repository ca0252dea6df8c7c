"""Shared fixtures: one embedded Sail session per test process, a fresh lakehouse per test."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from emission_assets.engine.session import EngineConfig, get_spark, stop_spark
from emission_assets.gold.views import view_definitions
from emission_assets.lakehouse.registry import Registry
from emission_assets.lakehouse.writer import DeltaWriter

# Test homes (lakehouse, reservoir, Dagster's SQLite instance) on a RAM disk when one has room: the suite's runs
# commit thousands of small files and SQLite transactions, and their fsyncs were ~20 s of `make test` on a 2-core
# VM's disk. Behaviour does not depend on the disk (the disk-failure tests mount their own small tmpfs); an explicit
# --basetemp or EMISSION_TEST_TMP=disk keeps pytest's default place.
RAM_DISK = Path("/dev/shm")
RAM_DISK_FREE_BYTES = 4 * 2**30
_RAM_BASETEMP = pytest.StashKey[Path]()


def pytest_configure(config):
    if config.option.basetemp or os.environ.get("EMISSION_TEST_TMP") == "disk" or hasattr(config, "workerinput"):
        return  # xdist workers get their folder below the controller's basetemp
    if RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK) and shutil.disk_usage(RAM_DISK).free >= RAM_DISK_FREE_BYTES:
        checkout = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:12]
        config.option.basetemp = str(RAM_DISK / f"emission-tests-{os.getuid()}-{checkout}")
        config.stash[_RAM_BASETEMP] = Path(config.option.basetemp)


def pytest_sessionfinish(session, exitstatus):
    """Give the RAM back: remove the test homes unless a test failed (they then stay for a look until the next run)."""
    folder = session.config.stash.get(_RAM_BASETEMP, None)
    if folder is not None and exitstatus == 0:
        shutil.rmtree(folder, ignore_errors=True)



def isolate_environment(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Nothing a test does may touch the developer's home or the network defaults."""
    monkeypatch.setenv("EMISSION_HOME", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("EMISSION_RESERVOIR", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.delenv("EMISSION_ENGINE", raising=False)
    for name in ("EMISSION_ENV", "TIBBER_API_URL", "TIBBER_TOKEN", "EMISSION_PSEUDONYM_KEY",
                 "EMISSION_DAGSTER_POSTGRES_URL", "DAGSTER_EVENT_BATCH_SIZE"):
        monkeypatch.delenv(name, raising=False)  # the developer's own settings must not change what a test sees
    monkeypatch.setenv("SMARD_BASE_URL", "http://127.0.0.1:9/unreachable-in-tests")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """A fresh home per test (see :func:`isolate_environment`). Every variable the code sets in os.environ itself
    (the CLI points DAGSTER_HOME at the test's home) is put back after the test by monkeypatch, so a worker's next
    test does not see it (pytest-xdist runs many tests in one process)."""
    isolate_environment(monkeypatch, tmp_path / "home")


@pytest.fixture(scope="session")
def spark():
    session = get_spark(EngineConfig())
    yield session
    stop_spark()


@pytest.fixture(scope="session")
def autumn_smard_home(spark, tmp_path_factory):
    """The home after importing the autumn SMARD CSV and materialising its days with SMARD, factors and gold, built
    once per test process (:mod:`emission_assets_tests.support.autumn_home`); tests copy it into their own home."""
    from emission_assets_tests.support.autumn_home import build

    return build(tmp_path_factory.mktemp("autumn-smard") / "home", isolate_environment)


@pytest.fixture
def registry(spark, tmp_path):
    registry = Registry(lakehouse_root=tmp_path / "lakehouse")
    registry.register(spark)
    registry.create_views(spark, view_definitions(registry))  # every gold view over the test's tables
    return registry


@pytest.fixture
def writer(spark, registry):
    return DeltaWriter(spark, registry)


@pytest.fixture
def httpserver():
    """pytest-httpserver's ``httpserver``, but on 127.0.0.1 and a new server (new port, empty log) per test: a
    handler still sleeping past a client's timeout when its test ends cannot put requests into the next test's log.
    Threaded, so such a handler does not hold up the requests after it."""
    from pytest_httpserver import HTTPServer

    class QuickStop(HTTPServer):
        def thread_target(self) -> None:  # the documented hook; stop() returns in ~20 ms instead of ~0.5 s
            self.server.serve_forever(poll_interval=0.02)

    server = QuickStop(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def fake_smard(tmp_path, monkeypatch):
    """A fake SMARD API on 127.0.0.1; the assets' SMARD_BASE_URL points at it."""
    from pytest_httpserver import HTTPServer

    from emission_assets_tests.support.fake_smard import FakeSmard

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    fake = FakeSmard(server, tmp_path / "smard_api")
    monkeypatch.setenv("SMARD_BASE_URL", fake.base_url)
    yield fake
    server.clear()
    server.stop()
