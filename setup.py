"""energy_emission_tracker: CO2 of a German household's electricity, as a Dagster asset graph."""
from setuptools import find_packages, setup

setup(
    name="energy-emission-tracker",
    version="0.1.0",
    description="Dagster asset graph attributing a household's electricity use to CO2 (SMARD + Tibber)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=find_packages(exclude=["emission_assets_tests", "emission_assets_tests.*"]),
    include_package_data=True,
    package_data={"emission_assets": ["data/**/*", "data/*"]},
    # Versions known to work together in one venv (embedded Sail engine + classic local Spark);
    # constraints.txt pins the whole resolved set.
    install_requires=[
        "dagster==1.13.27",
        "dagster-webserver==1.13.27",
        "dagster-databricks==0.29.27",
        "dagster-pyspark==0.29.27",
        "dagster-postgres==0.29.27",  # optional Postgres run/event/schedule storage (EMISSION_DAGSTER_POSTGRES_URL)
        "psycopg2-binary==2.9.13",  # dagster-postgres's driver (postgresql+psycopg2:// URLs), a wheel: no libpq needed
        "pyspark[connect]==4.2.0",
        "delta-spark==4.4.1",
        "pysail==0.7.2",
        "pandas<3",
        "deltalake==1.6.6",
        "requests==2.34.2",
        "requests-file==3.0.1",
        "urllib3==2.8.0",
        "click==8.5.1",
        "tabulate==0.10.0",
        "tenacity==9.2.1",
        "websockets==17.4",
        "matplotlib==3.11.2",
        "orjson==3.13.0",  # SMARD windows parsed ~3x faster than json.loads (same floats, bit for bit)
        "sqlglot==30.30.0",  # query: tell read-only statements from writing ones
        "pydantic-settings==2.16.3",  # every environment variable in one validated settings object
    ],
    extras_require={
        "dev": ["pytest==9.2.0", "pytest-httpserver==1.2.0", "pytest-xdist==3.8.0", "syrupy==7.0.2", "import-linter==2.17",
                "ruff==0.17.6", "duckdb==2.0.0",
                "pgserver==0.1.4"],  # a real PostgreSQL server from a wheel: the Postgres storage tests and bench
        # only to regenerate the bundled Tibber sample (scripts/build_tibber_sample.py)
        "sample": ["demandlib==0.2.2"],
    },
    entry_points={"console_scripts": ["emission-tracker=emission_assets.cli:main"]},
)
