"""Where the tests find the repository, the package and the committed fixtures."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "emission_assets"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# SMARD hourly production over the autumn DST switch (24 + 25 + 24 hours), the CSV most CLI suites import.
SMARD_AUTUMN_HOUR_CSV = FIXTURES / "smard" / "smard_realisierte_erzeugung_DE_hour_2022-10-29_2022-10-31.csv"
