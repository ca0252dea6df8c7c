"""The code location with the orchestration added, built once per worker (Definitions are immutable)."""
import pytest
from dagster import Definitions

from emission_assets_tests.support.orchestrated import build_orchestrated_definitions


@pytest.fixture(scope="session")
def orchestrated_defs() -> Definitions:
    return build_orchestrated_definitions()
