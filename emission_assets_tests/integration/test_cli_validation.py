"""Mistakes at the edges (arguments, environment, input files) through the real ``emission-tracker`` CLI.

Every case must end in a clear message naming the bad value and a non-zero exit code (2: a mistake in the call
or the configuration; 1: a run that failed), never in a Python traceback. No case starts the Spark engine: the
checks run before it.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from emission_assets.errors import UserInputError
from emission_assets.settings import paths
from emission_assets_tests.support.cli import invoke
from emission_assets_tests.support.paths import FIXTURES, SMARD_AUTUMN_HOUR_CSV

SMARD_HOUR = SMARD_AUTUMN_HOUR_CSV
REDISPATCH = FIXTURES / "redispatch" / "redispatch_synthetic_2024-03-25_2024-04-03.csv"
CONSUMPTION = FIXTURES / "smard" / "smard_realisierter_stromverbrauch_DE_hour_2023-12-23_2023-12-24.csv"
# statements `query` must refuse before any engine starts (issue 10)
WRITING_SQL = {
    "{delete}": ["DELETE FROM silver.production WHERE production_type = 'lignite'"],
    "{insert}": ["INSERT INTO silver.production SELECT * FROM silver.production"],
    "{drop}": ["DROP TABLE silver.production"],
    "{with-insert}": ["WITH p AS (SELECT * FROM silver.production) INSERT INTO silver.production SELECT * FROM p"],
    "{two}": ["SELECT 1; DROP TABLE silver.production"],
}
DAY = ["--start", "2022-01-01", "--end", "2022-01-01"]
DATABRICKS = {  # a complete EMISSION_ENV=databricks set-up for a new job cluster, to vary one value of
    "EMISSION_ENV": "databricks", "EMISSION_CATALOG": "energy", "EMISSION_RESERVOIR": "/Volumes/energy/raw/reservoir",
    "DATABRICKS_HOST": "https://127.0.0.1:9", "DATABRICKS_TOKEN": "dapi-secret-value-123",
    "EMISSION_DATABRICKS_SPARK_VERSION": "15.4.x-scala2.12", "EMISSION_DATABRICKS_NODE_TYPE": "m5d.large",
}


def smard_lines() -> list[str]:
    return SMARD_HOUR.read_text(encoding="utf-8-sig").splitlines()


def smard_variant(header=lambda h: h, rows=lambda r: r) -> str:
    lines = smard_lines()
    return "\n".join([header(lines[0]), *rows(lines[1:])]) + "\n"


def redispatch_variant(header=lambda h: h, rows=lambda r: r) -> str:
    lines = REDISPATCH.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()
    return "\n".join([header(lines[0]), *rows(lines[1:3])]) + "\n"


def daily_rows(rows: list[str]) -> list[str]:
    """The hourly export's first two days as day intervals (00:00 -> 00:00), as a 'Tag' export has them."""
    return [f"{day};00:00;00:00;" + ";".join(["1.000"] * 12) for day in ("29.10.2022", "30.10.2022")]


def bad_number(rows: list[str]) -> list[str]:
    cells = rows[0].split(";")
    cells[5] = "12.5 MWh"
    return [";".join(cells), *rows[1:]]


# name -> file content (str: UTF-8 text, bytes: written as is); small files shaped like the fixtures.
FILES: dict[str, str | bytes] = {
    "empty.csv": b"",
    "binary.csv": b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 4,
    "export.xlsx.csv": b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(200),  # an XLSX renamed to .csv
    "smard_unit_gwh.csv": smard_variant(header=lambda h: h.replace("Biomasse [MWh]", "Biomasse [GWh]")),
    "smard_capacity_mw.csv": smard_variant(header=lambda h: h.replace("[MWh]", "[MW]")),
    "smard_daily.csv": smard_variant(rows=daily_rows),
    "smard_comma.csv": smard_variant(header=lambda h: h.replace(";", ","), rows=lambda r: []),
    "smard_bad_number.csv": smard_variant(rows=bad_number),
    "smard_header_only.csv": smard_variant(rows=lambda r: []),
    "smard_unknown_type.csv": smard_variant(header=lambda h: h.replace("Wasserkraft", "Kohlestaub")),
    "redispatch_missing_column.csv": redispatch_variant(header=lambda h: h.replace(";PRIMAERENERGIEART", "")),
    "redispatch_comma.csv": redispatch_variant(header=lambda h: h.replace(";", ","), rows=lambda r: []),
    "redispatch_header_only.csv": redispatch_variant(rows=lambda r: []),
    "redispatch_bad_direction.csv": redispatch_variant(rows=lambda r: [r[0].replace("erh¿hen", "halten")]),
    "consumers_binary.yaml": b"\xf0\x28\x8c\x28 consumers:\n",
    "consumers_raw_for_all.yaml": "consumers:\n  household:\n    principal: owner\n    level: interval\n"
                                  "    home: raw\n    columns: [energy_kwh]\n",
    "a_file": "not a directory\n",
}

# (id, arguments, environment, exit code, words the message must contain). "{tmp}" is the folder of FILES,
# "{smard}"/"{redispatch}" the real fixture exports.
CASES = [
    # --- import smard-csv: wrong file, wrong layout, wrong unit / resolution / region, unusable paths
    ("smard-empty", "import smard-csv {tmp}/empty.csv", {}, 2, ["empty.csv", "file is empty"]),
    ("smard-binary", "import smard-csv {tmp}/binary.csv", {}, 2,
     ["binary.csv", "binary (or UTF-16) file", "not a SMARD CSV"]),
    ("smard-xlsx", "import smard-csv {tmp}/export.xlsx.csv", {}, 2, ["export.xlsx.csv", "Excel", "CSV format"]),
    ("smard-directory", "import smard-csv {tmp}", {}, 2, ["is a directory"]),
    ("smard-missing", "import smard-csv {tmp}/nope.csv", {}, 2, ["no such file", "nope.csv"]),
    ("smard-redispatch-file", "import smard-csv {redispatch}", {}, 2,
     ["redispatch_synthetic", "line 1", "not a SMARD export", "Datum;Anfang;Ende"]),
    ("smard-unit-changed", "import smard-csv {tmp}/smard_unit_gwh.csv", {}, 2,
     ["smard_unit_gwh.csv", "Biomasse [GWh]", "'GWh'", "expected 'MWh'"]),
    ("smard-capacity-export", "import smard-csv {tmp}/smard_capacity_mw.csv", {}, 2, ["'MW'", "expected 'MWh'"]),
    ("smard-daily-resolution", "import smard-csv {tmp}/smard_daily.csv", {}, 2,
     ["smard_daily.csv", "a day or longer", "quarter-hour and hour"]),
    ("smard-comma", "import smard-csv {tmp}/smard_comma.csv", {}, 2, ["separated by ','", "';'"]),
    ("smard-bad-number", "import smard-csv {tmp}/smard_bad_number.csv", {}, 2,
     ["line 2", "'12.5 MWh'", "German format"]),
    ("smard-header-only", "import smard-csv {tmp}/smard_header_only.csv", {}, 2, ["no data rows"]),
    ("smard-unknown-type", "import smard-csv {tmp}/smard_unknown_type.csv", {}, 2,
     ["Kohlestaub [MWh]", "known types", "Braunkohle"]),
    ("smard-region", "import smard-csv --region Bavaria {smard}", {}, 2, ["'Bavaria'", "DE, 50Hertz"]),
    ("smard-region-case", "import smard-csv --region tennet {smard}", {}, 2, ["'tennet'", "did you mean 'TenneT'"]),
    # --- import redispatch-csv
    ("redispatch-smard-file", "import redispatch-csv {smard}", {}, 2,
     ["smard_realisierte_erzeugung", "not a redispatch CSV", "BEGINN_DATUM"]),
    ("redispatch-missing-column", "import redispatch-csv {tmp}/redispatch_missing_column.csv", {}, 2,
     ["redispatch_missing_column.csv", "header lacks PRIMAERENERGIEART"]),
    ("redispatch-comma", "import redispatch-csv {tmp}/redispatch_comma.csv", {}, 2, ["separated by ','"]),
    ("redispatch-binary", "import redispatch-csv {tmp}/binary.csv", {}, 2,
     ["binary.csv", "binary (or UTF-16) file"]),
    ("redispatch-empty", "import redispatch-csv {tmp}/empty.csv", {}, 2, ["empty.csv", "empty file"]),
    ("redispatch-header-only", "import redispatch-csv {tmp}/redispatch_header_only.csv", {}, 2,
     ["redispatch_header_only.csv", "no redispatch measures"]),
    ("redispatch-bad-direction", "import redispatch-csv {tmp}/redispatch_bad_direction.csv", {}, 2,
     ["line 2", "RICHTUNG", "halten"]),
    ("redispatch-missing", "import redispatch-csv {tmp}/nope.csv", {}, 2, ["no such file", "nope.csv"]),
    # --- materialize arguments
    ("bad-date", "materialize --start 2022-13-01 --end 2022-12-31", {}, 2, ["--start '2022-13-01'", "YYYY-MM-DD"]),
    ("end-before-start", "materialize --start 2022-12-01 --end 2022-11-01", {}, 2,
     ["--start 2022-12-01 is after --end 2022-11-01"]),
    ("before-first-partition", "materialize --start 1999-01-01 --end 1999-01-02", {}, 2, ["first partition"]),
    ("unknown-region", "materialize {day} --region Bavaria", {}, 2, ["unknown SMARD region 'Bavaria'", "TenneT"]),
    ("unknown-resolution", "materialize {day} --resolution day", {}, 2, ["--resolution", "'day'", "quarterhour"]),
    ("select-syntax", "materialize {day} --select nonsense((", {}, 2,
     ["--select 'nonsense(('", "key:silver/production"]),
    ("select-no-match", "materialize {day} --select key:silver/nope", {}, 2,
     ["--select 'key:silver/nope' matches no asset", "silver/production"]),
    # --- environment, checked before a run or a Spark session starts
    ("env-emission-env", "materialize {day}", {"EMISSION_ENV": "foo"}, 2, ["EMISSION_ENV='foo'", "local, databricks"]),
    ("env-home-region", "materialize {day}", {"EMISSION_HOME_REGION": "XX"}, 2,
     ["EMISSION_HOME_REGION='XX'", "DE, 50Hertz"]),
    ("env-control-area", "materialize {day}", {"EMISSION_CONTROL_AREA": "DE"}, 2,
     ["EMISSION_CONTROL_AREA='DE'", "not a control area", "TransnetBW"]),
    ("env-smard-url", "materialize {day} --select key:reservoir/smard_responses", {"SMARD_BASE_URL": "not-a-url"},
     2, ["SMARD_BASE_URL='not-a-url'", "https://"]),
    ("env-smard-file-url", "materialize {day} --select key:reservoir/smard_responses",
     {"SMARD_BASE_URL": "file:///no/such/replay"}, 2, ["SMARD_BASE_URL", "/no/such/replay does not exist"]),
    ("env-tibber-url", "materialize {day}", {"TIBBER_API_URL": "ftp://api.tibber.com"}, 2,
     ["TIBBER_API_URL='ftp://api.tibber.com'", "sample://"]),
    ("env-engine", "materialize {day}", {"EMISSION_ENGINE": "jvm"}, 2, ["EMISSION_ENGINE", "'jvm'", "embedded"]),
    ("env-spark-remote", "materialize {day}", {"SPARK_REMOTE": "http://spark:15002"}, 2,
     ["SPARK_REMOTE", "sc://", "'http://spark:15002'"]),
    ("env-home-is-a-file", "materialize {day}", {"EMISSION_HOME": "{tmp}/a_file"}, 2,
     ["EMISSION_HOME=", "a_file", "is a file, not a directory"]),
    ("env-reservoir-is-a-file", "materialize {day}", {"EMISSION_RESERVOIR": "{tmp}/a_file"}, 2,
     ["EMISSION_RESERVOIR=", "is a file, not a directory"]),
    ("env-databricks-incomplete", "materialize {day}", {"EMISSION_ENV": "databricks"}, 2,
     ["EMISSION_ENV=databricks needs EMISSION_CATALOG"]),
    ("env-databricks-workers", "materialize {day}", {**DATABRICKS, "EMISSION_DATABRICKS_WORKERS": "two"}, 2,
     ["EMISSION_DATABRICKS_WORKERS='two'", "whole number"]),
    ("env-databricks-volume", "materialize {day}", {**DATABRICKS, "EMISSION_RESERVOIR": "/dbfs/reservoir"}, 2,
     ["EMISSION_RESERVOIR='/dbfs/reservoir'", "/Volumes/"]),
    ("report-env", "report --start 2022-01-01 --end 2022-01-31", {"EMISSION_HOME_REGION": "Bayern"}, 2,
     ["EMISSION_HOME_REGION='Bayern'"]),
    ("query-env", "query {select}", {"EMISSION_ENGINE": "jvm"}, 2, ["EMISSION_ENGINE", "'jvm'"]),
    ("reset-env", "reset --yes", {"EMISSION_HOME": "{tmp}/a_file"}, 2, ["EMISSION_HOME=", "not a directory"]),
    # --- other commands
    ("report-basis", "report --start 2022-01-01 --end 2022-01-31 --basis market", {}, 2,
     ["--basis", "'market'", "direct", "lifecycle"]),
    ("report-date", "report --start 01.01.2022 --end 2022-01-31", {}, 2, ["--start '01.01.2022'", "YYYY-MM-DD"]),
    ("restate-as-of", "restate --start 2022-01-01 --end 2022-01-31 --as-of 2022-02-30", {}, 2,
     ["--as-of '2022-02-30'"]),
    ("restate-as-of-time", "restate --start 2022-01-01 --end 2022-01-31 --as-of 2022-02-01T25:00", {}, 2,
     ["--as-of '2022-02-01T25:00'", "YYYY-MM-DDTHH:MM"]),
    ("live-ws-url", "live --duration 1 --ws-url not-a-url",
     {"TIBBER_API_URL": "sample://tibber", "TIBBER_TOKEN": "test-token"}, 2, ["--ws-url", "'not-a-url'", "wss://"]),
    ("live-api-url", "live --duration 1", {"TIBBER_API_URL": "not-a-url", "TIBBER_TOKEN": "test-token"}, 2,
     ["TIBBER_API_URL='not-a-url'"]),
    ("live-flush", "live --flush-seconds often", {}, 2, ["--flush-seconds", "'often'"]),
    ("grants-binary-config", "grants --catalog energy --config {tmp}/consumers_binary.yaml", {}, 2,
     ["consumers_binary.yaml", "utf-8"]),
    ("grants-missing-config", "grants --catalog energy --config {tmp}/nope.yaml", {}, 2, ["no such file", "nope.yaml"]),
    ("reset-layer", "reset --layer lakehouse --yes", {}, 2, ["--layer", "'lakehouse'", "bronze"]),
    # --- issue 10: query is read-only; import guards; consumer views safe by construction
    ("query-delete", "query {delete}", {}, 2, ["query accepts only a single SELECT", ": DELETE statement"]),
    ("query-insert", "query {insert}", {}, 2, ["query accepts only", ": INSERT statement"]),
    ("query-drop", "query {drop}", {}, 2, ["query accepts only", ": DROP TABLE statement"]),
    ("query-with-insert", "query {with-insert}", {}, 2, ["query accepts only", "INSERT (wrapped in WITH)"]),
    ("query-two-statements", "query {two}", {}, 2, ["query accepts only", "2 statements (SELECT, DROP TABLE)"]),
    ("smard-consumption-as-generation", "import smard-csv {consumption}", {}, 2,
     ["stromverbrauch", "is a consumption export", "not a generation export", "--kind consumption"]),
    ("smard-generation-as-consumption", "import smard-csv --kind consumption {smard}", {}, 2,
     ["erzeugung", "is a generation export", "not a consumption export"]),
    ("grants-raw-ids-for-everyone", "grants --catalog energy --config {tmp}/consumers_raw_for_all.yaml", {}, 2,
     ["consumers_raw_for_all.yaml", "consumer 'household'", "exposes raw home ids", "homes"]),
]


@pytest.fixture
def tmp_files(tmp_path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name, content in FILES.items():
        target = folder / name
        target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Only the case's own settings: none of the variables the CLI checks may leak in from the shell."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # materialize sets it
    for name in ("EMISSION_ENV", "EMISSION_HOME_REGION", "EMISSION_CONTROL_AREA", "TIBBER_API_URL", "TIBBER_TOKEN",
                 "TIBBER_HOME_ID", "EMISSION_CATALOG", "NETZTRANSPARENZ_TOKEN_URL", "NETZTRANSPARENZ_API_URL",
                 "DATABRICKS_RUNTIME_VERSION", "DATABRICKS_HOST", "DATABRICKS_TOKEN", "EMISSION_DATABRICKS_CLUSTER_ID",
                 "EMISSION_DATABRICKS_SPARK_VERSION", "EMISSION_DATABRICKS_NODE_TYPE", "EMISSION_DATABRICKS_WORKERS"):
        monkeypatch.delenv(name, raising=False)


def reservoir_files() -> list[Path]:
    try:
        root = paths().reservoir
    except UserInputError:  # the case's EMISSION_HOME / EMISSION_RESERVOIR is a file: nothing could be written
        return []
    return [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []


@pytest.mark.parametrize(("arguments", "env", "exit_code", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_mistake_gives_a_clear_message_and_exit_code(arguments, env, exit_code, words, tmp_files, monkeypatch):
    values = {"tmp": str(tmp_files), "smard": str(SMARD_HOUR), "redispatch": str(REDISPATCH),
              "consumption": str(CONSUMPTION)}
    expanded = {"{day}": DAY, "{select}": ["SELECT 1"], **WRITING_SQL}
    args = [a for part in arguments.split() for a in (expanded[part] if part in expanded else [part.format(**values)])]
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(**values))

    result = invoke(args)

    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    message = result.stderr
    assert message.strip().splitlines()[-1].startswith("Error: "), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "dapi-secret-value-123" not in result.output  # no secret in a message
    assert reservoir_files() == []  # a mistake writes nothing


def test_a_bad_file_after_a_good_one_imports_neither(tmp_files):
    result = invoke(["import", "smard-csv", str(SMARD_HOUR), str(tmp_files / "smard_bad_number.csv")])
    assert result.exit_code == 2 and "smard_bad_number.csv, line 2" in result.stderr
    assert reservoir_files() == []


def test_the_same_files_import_once_the_mistake_is_fixed(tmp_files):
    """The checks reject the mistake, not the input: the corrected call works."""
    assert invoke(["import", "smard-csv", "--region", "tennet", str(SMARD_HOUR)]).exit_code == 2
    result = invoke(["import", "smard-csv", "--region", "TenneT", str(SMARD_HOUR)])
    assert result.exit_code == 0, result.output
    assert "region TenneT" in result.stdout and reservoir_files()


# --- a run that fails in a step ----------------------------------------------------------------------------------


def test_a_run_failing_on_a_user_mistake_ends_with_the_step_error_and_no_traceback(monkeypatch):
    """No Tibber token: the Tibber reservoir step fails. Dagster's console would print the whole error chain
    with every stack (the STEP_FAILURE event); the CLI prints one line naming the step and the cause."""
    monkeypatch.setenv("TIBBER_API_URL", "http://127.0.0.1:9/gql")  # never contacted: the token is checked first

    result = invoke(["materialize", *DAY, "--select", "key:reservoir/tibber_responses"])

    assert result.exit_code == 1, result.output
    assert "FAILED 2022-01-01..2022-01-01" in result.stdout
    assert "Traceback" not in result.output and "Stack Trace" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: step reservoir__tibber_responses of run ")
    assert lines[0].endswith("failed: TibberAuthError: no Tibber token: set TIBBER_TOKEN (a personal access token "
                             "from developer.tibber.com), or on Databricks TIBBER_SECRET_SCOPE and TIBBER_SECRET_KEY "
                             "naming a secret that holds it")


def test_an_unexpected_error_in_a_step_keeps_its_traceback(capsys):
    """A bug is not a user mistake: its stack is printed (then the one-line summary), so it can be fixed."""
    from dagster import DagsterInstance, asset, materialize

    from emission_assets.cli import echo_failure

    @asset
    def buggy():
        return {}["missing key"]

    @asset
    def mistaken():
        raise UserInputError("regions: 'Bavaria' is not a SMARD region")

    with DagsterInstance.ephemeral() as instance:
        bug = materialize([buggy], instance=instance, raise_on_error=False)
        mistake = materialize([mistaken], instance=instance, raise_on_error=False)
    capsys.readouterr()

    echo_failure(bug)
    printed = capsys.readouterr().err
    assert "KeyError" in printed and 'File "' in printed and "in buggy" in printed
    assert printed.strip().splitlines()[-1] == f"Error: step buggy of run {bug.run_id} failed: KeyError: 'missing key'"

    echo_failure(mistake)
    printed = capsys.readouterr().err
    assert printed == (f"Error: step mistaken of run {mistake.run_id} failed: "
                       "UserInputError: regions: 'Bavaria' is not a SMARD region\n")


def test_a_bug_in_a_command_is_not_turned_into_a_user_error(monkeypatch):
    """Only the project's UserInputError becomes a one-line message; any other exception propagates."""
    import emission_assets.smard.csv_import as csv_import

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(csv_import, "import_smard_csv", broken)  # the command under test is the CLI, not the import
    with pytest.raises(KeyError, match="a bug"):
        invoke(["import", "smard-csv", str(SMARD_HOUR)])


# --- configuration read outside the CLI: sensor environment, run config from the launchpad ----------------------


@pytest.mark.parametrize(("name", "value", "words"), [
    ("SMARD_SENSOR_FILTERS", "1223,lignite", ["SMARD_SENSOR_FILTERS='1223,lignite'", "'lignite'"]),
    ("SMARD_SENSOR_FILTERS", "1223,9999", ["SMARD_SENSOR_FILTERS='1223,9999'", "unknown SMARD filter 9999"]),
    ("SMARD_SENSOR_REGIONS", "DE,Bavaria", ["SMARD_SENSOR_REGIONS='DE,Bavaria'", "'Bavaria'", "TenneT"]),
    ("SMARD_SENSOR_RESOLUTIONS", "day", ["SMARD_SENSOR_RESOLUTIONS='day'", "quarterhour, hour"]),
])
def test_the_smard_sensor_settings_name_the_bad_variable(name, value, words, monkeypatch):
    from emission_assets.smard.sensors import SmardWatch

    monkeypatch.setenv(name, value)
    with pytest.raises(UserInputError, match=re.escape(words[0])) as error:
        SmardWatch.from_env()
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize("settle_hours", [-6.0, -0.5])
def test_a_negative_settle_time_in_run_config_is_rejected_before_any_fetch(settle_hours, fake_smard):
    """A negative ``settle_hours`` would make every stored window count as final: days would never be fetched
    again. The run fails on the config, naming the field, before a request or a reservoir write."""
    from dagster import DagsterInstance, materialize

    from emission_assets.cli import failure_message
    from emission_assets.orchestration.resources import ReservoirResource
    from emission_assets.smard.assets import smard_reservoir
    from emission_assets.smard.resources import SmardResource

    fake_smard.publish_weeks(date(2024, 3, 25), 1)  # with a valid config the run would fetch and succeed
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [smard_reservoir], instance=instance, partition_key="2024-03-27", raise_on_error=False,
            resources={"smard": SmardResource(base_url=fake_smard.base_url), "reservoir": ReservoirResource()},
            run_config={"ops": {"reservoir__smard_responses": {"config": {"settle_hours": settle_hours}}}},
        )
    assert not result.success
    message = failure_message(result)
    assert "settle_hours" in message and "greater than or equal to 0" in message
    assert fake_smard.requests == [] and reservoir_files() == []


@pytest.mark.parametrize("ev_charge_kw", [0.0, -11.0])
def test_a_non_positive_charger_power_in_run_config_is_rejected_by_name(ev_charge_kw, spark):
    """The EV split needs a positive charger power; the run fails on the config, naming the field."""
    from dagster import DagsterInstance, materialize

    from emission_assets.cli import failure_message
    from emission_assets.orchestration.resources import SparkResource
    from emission_assets.tibber.assets import silver_consumption

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [silver_consumption], instance=instance, partition_key="2024-03-27", raise_on_error=False,
            resources={"spark": SparkResource()},
            run_config={"ops": {"silver__consumption": {"config": {"ev_charge_kw": ev_charge_kw}}}},
        )
    assert not result.success
    message = failure_message(result)
    assert "ev_charge_kw" in message and "greater than 0" in message
