"""Where the tests find the repository, the package and the committed fixtures."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "emission_assets"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
