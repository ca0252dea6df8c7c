"""Every environment variable the project reads, in one pydantic-settings object: :func:`settings`.

Each variable is a field with its type, default and description, grouped by what it configures (``storage``,
``engine``, ``smard``, ``tibber``, ``netztransparenz``, ``gold``, ``privacy``, ``databricks``). A group is
validated the first time it is read, so a bronze step never fails on a gold variable; ``settings().check()``
validates every group at once (the CLI does, before any run). A bad value raises :class:`UserInputError` naming the variable and what is
expected, never the value of a secret (secrets are :class:`pydantic.SecretStr`: hidden in ``repr`` and logs).

A blank variable counts as unset. Checks that need knowledge above this layer (a SMARD region or filter id) are
made where the value is used, with the same wording (e.g. :func:`emission_assets.gold.aggregates.home_region`).

Also where things live: ``EMISSION_HOME`` selects the home directory (lakehouse, reservoir, Dagster home),
``./.emission_home`` in the working directory when unset; ``EMISSION_DAGSTER_POSTGRES_URL`` moves Dagster's run,
event log and schedule storage from SQLite files in the home to a PostgreSQL database.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, get_args, get_origin
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emission_assets.errors import UserInputError

DEFAULT_HOME_NAME = ".emission_home"
SMARD_DEFAULT_BASE_URL = "https://www.smard.de/app"
TIBBER_DEFAULT_API_URL = "https://api.tibber.com/v1-beta/gql"
TIBBER_DEFAULT_WS_URL = "wss://websocket-api.tibber.com/v1-beta/gql/subscriptions"
NETZTRANSPARENZ_DEFAULT_TOKEN_URL = "https://identity.netztransparenz.de/users/connect/token"
NETZTRANSPARENZ_DEFAULT_API_URL = "https://ds.netztransparenz.de/api/v1"
DATABRICKS_DEFAULT_SECRETS = ("TIBBER_TOKEN", "NETZTRANSPARENZ_CLIENT_ID", "NETZTRANSPARENZ_CLIENT_SECRET")
MIN_PSEUDONYM_KEY_CHARACTERS = 16
# dagster-postgres needs psycopg2: its `NOTIFY channel, :id` fails under psycopg 3, which binds parameters on the
# server ("syntax error at or near $1"). SQLAlchemy 2.1 gives a plain postgresql:// URL to psycopg 3, so the URL
# names the driver.
POSTGRES_SCHEME = "postgresql+psycopg2"
CommaList = Annotated[tuple[str, ...], NoDecode]  # "a, b" -> ("a", "b"), not JSON


def env(name: str, default: Any = None, description: str = "", **kwargs) -> Any:
    """A field read from the variable ``name``."""
    if "default_factory" not in kwargs:
        kwargs["default"] = default
    return Field(validation_alias=name, description=description, **kwargs)


# --- checks shared with callers outside the settings ------------------------------------------------------------

def _directory(name: str, value: str | Path) -> Path:
    """``value`` (from ``$name``) as a path that is a directory or does not exist yet (it is created on use)."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise UserInputError(f"{name}={str(value)!r} is a file, not a directory")
    return path


def check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    """``value`` (from ``$name``) if it is a URL with one of ``schemes`` and a host (a ``file://`` URL: an existing
    directory); else an error naming the variable and what is expected."""
    parts = urlsplit(value.strip())
    expected = " or ".join(f"{s}://" for s in schemes)
    if parts.scheme not in schemes:
        raise UserInputError(f"{name}={value!r} is not a URL starting with {expected}")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UserInputError(f"{name}={value!r}: a file URL has no host part, e.g. file:///path/to/folder")
        if not Path(url2pathname(parts.path)).is_dir():
            raise UserInputError(f"{name}={value!r}: folder {url2pathname(parts.path)} does not exist")
    elif not parts.netloc:
        raise UserInputError(f"{name}={value!r} has no host; expected e.g. {schemes[0]}://host/path")
    return value


# --- the groups -------------------------------------------------------------------------------------------------

class _Group(BaseSettings):
    """Variables by their exact (case-sensitive) names; blank values are unset; the object is read-only."""

    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, populate_by_name=True, extra="ignore", frozen=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        stripped = {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}
        return {key: value for key, value in stripped.items() if value != ""}

    @classmethod
    def variable(cls, field: str) -> str:
        return cls.model_fields[field].validation_alias

    @classmethod
    def secret_variables(cls) -> set[str]:
        return {f.validation_alias for f in cls.model_fields.values() if _is_secret(f.annotation)}


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _url_check(*schemes: str):
    def check(cls, value, info: ValidationInfo):
        return value if value is None else check_url(cls.variable(info.field_name), value, schemes)

    return classmethod(check)


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class StorageSettings(_Group):
    home: Path = env("EMISSION_HOME", default_factory=lambda: Path.cwd() / DEFAULT_HOME_NAME, validate_default=True,
                     description="home directory: lakehouse, reservoir and Dagster storage (default ./.emission_home)")
    reservoir: Optional[Path] = env("EMISSION_RESERVOIR", description="reservoir root (default $EMISSION_HOME/"
                                    "reservoir; on Databricks a Unity Catalog Volume path)")
    dagster_postgres_url: Optional[SecretStr] = env(
        "EMISSION_DAGSTER_POSTGRES_URL", description="PostgreSQL URL of Dagster's run, event log and schedule "
        "storage, e.g. postgresql+psycopg2://user:password@host:5432/dagster (secret; default: SQLite files under "
        "$EMISSION_HOME/dagster)")
    dagster_sqlite_sync: Literal["normal", "full"] = env(
        "EMISSION_DAGSTER_SQLITE_SYNC", "normal", description="when Dagster's SQLite storage (the default) flushes "
        "to disk: normal = at WAL checkpoints (an application crash loses nothing, a power cut may lose the last "
        "events), full = at every event's commit (SQLite's default; slower)")

    @field_validator("dagster_sqlite_sync", mode="before")
    @classmethod
    def _lower(cls, value):
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("home", "reservoir", mode="before")
    @classmethod
    def _is_a_directory(cls, value, info: ValidationInfo):
        if value is None:
            return None
        path = _directory(cls.variable(info.field_name), value)
        return path.resolve() if info.field_name == "home" else path

    @field_validator("dagster_postgres_url")
    @classmethod
    def _postgres_url(cls, value):
        """Only the scheme is checked here (the URL is a secret: never echoed); whether the server answers is
        checked when the Dagster home is prepared (:mod:`emission_assets.cli.dagster_storage`)."""
        if value is None:
            return value
        scheme = urlsplit(value.get_secret_value()).scheme
        expected = f"expected {POSTGRES_SCHEME}://user:password@host:port/database"
        if scheme in ("postgresql", "postgresql+psycopg"):
            raise UserInputError(f"EMISSION_DAGSTER_POSTGRES_URL starts with {scheme}://, which selects psycopg 3 "
                                 f"(SQLAlchemy 2.1), a driver dagster-postgres does not support; {expected}")
        if scheme != POSTGRES_SCHEME:
            raise UserInputError(f"EMISSION_DAGSTER_POSTGRES_URL is not a PostgreSQL URL; {expected}")
        return value


Environment = Literal["local", "databricks"]
Engine = Literal["embedded", "remote", "databricks"]


class EngineSettings(_Group):
    environment: Environment = env("EMISSION_ENV", "local", "deployment: local, or databricks (step launcher)")
    engine: Optional[Engine] = env("EMISSION_ENGINE", description="Spark engine: embedded (default), remote "
                                   "(SPARK_REMOTE), databricks (the runtime's session)")
    spark_remote: Optional[str] = env("SPARK_REMOTE", description="Spark Connect URL sc://host:port for the remote "
                                      "engine (set alone, it selects the remote engine)")
    catalog: Optional[str] = env("EMISSION_CATALOG", description="Unity Catalog catalog (databricks engine)")

    @field_validator("environment", "engine", mode="before")
    @classmethod
    def _lower(cls, value):
        return value.lower() if isinstance(value, str) else value

    @field_validator("spark_remote")
    @classmethod
    def _connect_url(cls, value):
        if value is not None and not value.startswith("sc://"):
            raise UserInputError(f"SPARK_REMOTE={value!r} is not a Spark Connect URL; expected sc://host:port")
        return value

    @property
    def selected_engine(self) -> str:
        """``EMISSION_ENGINE``, else ``remote`` when ``SPARK_REMOTE`` is set, else ``embedded``."""
        return self.engine or ("remote" if self.spark_remote else "embedded")


class SmardSettings(_Group):
    base_url: str = env("SMARD_BASE_URL", SMARD_DEFAULT_BASE_URL, "SMARD API base URL; file:///folder replays "
                        "recorded responses")
    sensor_filters: Optional[CommaList] = env("SMARD_SENSOR_FILTERS", description="comma-separated filter ids the "
                                              "SMARD sensor watches (default: the 12 generation filters)")
    sensor_regions: CommaList = env("SMARD_SENSOR_REGIONS", ("DE",), "comma-separated regions the SMARD sensor "
                                    "watches")
    sensor_resolutions: CommaList = env("SMARD_SENSOR_RESOLUTIONS", ("quarterhour",), "comma-separated "
                                        "resolutions the SMARD sensor watches")

    _check_base_url = field_validator("base_url")(_url_check("https", "http", "file"))
    _split_lists = field_validator("sensor_filters", "sensor_regions", "sensor_resolutions", mode="before")(
        classmethod(lambda cls, value: _split(value)))


class TibberSettings(_Group):
    api_url: str = env("TIBBER_API_URL", TIBBER_DEFAULT_API_URL, "Tibber GraphQL URL; sample://tibber serves the "
                       "bundled sample household")
    token: Optional[SecretStr] = env("TIBBER_TOKEN", description="Tibber personal access token (secret)")
    home_id: Optional[str] = env("TIBBER_HOME_ID", description="Tibber home id (default: the account's only home)")
    secret_scope: Optional[str] = env("TIBBER_SECRET_SCOPE", description="Databricks secret scope holding the token "
                                      "(when TIBBER_TOKEN is unset)")
    secret_key: Optional[str] = env("TIBBER_SECRET_KEY", description="key of the token in TIBBER_SECRET_SCOPE")
    ws_url: str = env("TIBBER_WS_URL", TIBBER_DEFAULT_WS_URL, "websocket URL of the Pulse live stream")

    _check_api_url = field_validator("api_url")(_url_check("https", "http", "sample"))
    _check_ws_url = field_validator("ws_url")(_url_check("wss", "ws"))

    @property
    def configured(self) -> bool:
        """A Tibber source is configured: a token, a secret scope or an API URL of one's own."""
        return bool(self.token or self.secret_scope or "api_url" in self.model_fields_set)


class NetztransparenzSettings(_Group):
    client_id: Optional[str] = env("NETZTRANSPARENZ_CLIENT_ID", description="netztransparenz.de OAuth client id")
    client_secret: Optional[SecretStr] = env("NETZTRANSPARENZ_CLIENT_SECRET", description="netztransparenz.de "
                                             "OAuth client secret (secret)")
    token_url: str = env("NETZTRANSPARENZ_TOKEN_URL", NETZTRANSPARENZ_DEFAULT_TOKEN_URL, "OAuth token endpoint")
    api_url: str = env("NETZTRANSPARENZ_API_URL", NETZTRANSPARENZ_DEFAULT_API_URL, "redispatch data API")

    _check_urls = field_validator("token_url", "api_url")(_url_check("https", "http"))


class GoldSettings(_Group):
    home_region: str = env("EMISSION_HOME_REGION", "DE", "SMARD region of the household's grid (average, merit "
                           "order, worst emitter)")
    control_area: str = env("EMISSION_CONTROL_AREA", "TenneT", "control area of the household (locality model)")
    # The market-based view (emission_assets/gold/market_based.py); unset: the German residual mix.
    supplier_g_per_kwh: Optional[float] = env("EMISSION_SUPPLIER_G_PER_KWH", description="your supplier's disclosed "
                                              "CO2 g/kWh (Stromkennzeichnung, section 42 EnWG), every year",
                                              ge=0, le=2000, allow_inf_nan=False)
    supplier_source: Optional[str] = env("EMISSION_SUPPLIER_SOURCE", description="where the supplier figure is from "
                                         "(shown in the report)")
    supplier: Optional[str] = env("EMISSION_SUPPLIER", description="a supplier of emission_assets/data/"
                                  "market_based_factors.csv (its yearly disclosures)")


class PrivacySettings(_Group):
    pseudonym_key: Optional[SecretStr] = env("EMISSION_PSEUDONYM_KEY", description="HMAC key of the pseudonymised "
                                             f"consumer views, at least {MIN_PSEUDONYM_KEY_CHARACTERS} characters "
                                             "(secret)")

    @field_validator("pseudonym_key")
    @classmethod
    def _long_enough(cls, value):
        if value is not None and len(value.get_secret_value()) < MIN_PSEUDONYM_KEY_CHARACTERS:
            raise UserInputError(
                f"EMISSION_PSEUDONYM_KEY is too short ({len(value.get_secret_value())} characters): use a random "
                f"secret of at least {MIN_PSEUDONYM_KEY_CHARACTERS} characters")
        return value


class DatabricksSettings(_Group):
    host: Optional[str] = env("DATABRICKS_HOST", description="workspace URL, e.g. https://adb-123.4.azuredatabricks."
                              "net (EMISSION_ENV=databricks)")
    token: Optional[SecretStr] = env("DATABRICKS_TOKEN", description="Databricks access token (secret)")
    runtime_version: Optional[str] = env("DATABRICKS_RUNTIME_VERSION", description="set by every Databricks "
                                         "runtime: the code runs on a cluster")
    cluster_id: Optional[str] = env("EMISSION_DATABRICKS_CLUSTER_ID", description="existing cluster for the steps")
    spark_version: Optional[str] = env("EMISSION_DATABRICKS_SPARK_VERSION", description="runtime of a new job "
                                       "cluster, e.g. 15.4.x-scala2.12")
    node_type: Optional[str] = env("EMISSION_DATABRICKS_NODE_TYPE", description="node type of a new job cluster")
    workers: int = env("EMISSION_DATABRICKS_WORKERS", 1, "workers of a new job cluster", ge=0)
    staging: str = env("EMISSION_DATABRICKS_STAGING", "/dagster_staging", "DBFS directory for the step files")
    libraries: CommaList = env("EMISSION_DATABRICKS_LIBRARIES", (), "comma-separated extra PyPI requirements")
    poll_seconds: float = env("EMISSION_DATABRICKS_POLL_SECONDS", 5.0, "launcher poll interval", ge=0.1)
    max_wait_seconds: int = env("EMISSION_DATABRICKS_MAX_WAIT_SECONDS", 86400, "fail a step running longer", ge=1)
    secret_scope: Optional[str] = env("EMISSION_SECRET_SCOPE", description="secret scope the job exports "
                                      "EMISSION_SECRETS from")
    secrets: CommaList = env("EMISSION_SECRETS", DATABRICKS_DEFAULT_SECRETS, "comma-separated secret keys exported "
                             "as variables of the same name")
    bronze_autoloader: bool = env("EMISSION_BRONZE_AUTOLOADER", False, "SMARD bronze through Auto Loader "
                                  "(Databricks only)")

    _split_lists = field_validator("libraries", "secrets", mode="before")(classmethod(lambda cls, value: _split(value)))

    @property
    def on_cluster(self) -> bool:
        return bool(self.runtime_version)


GROUPS: dict[str, type[_Group]] = {
    "storage": StorageSettings, "engine": EngineSettings, "smard": SmardSettings, "tibber": TibberSettings,
    "netztransparenz": NetztransparenzSettings, "gold": GoldSettings, "privacy": PrivacySettings,
    "databricks": DatabricksSettings,
}
VARIABLES: tuple[str, ...] = tuple(
    field.validation_alias for group in GROUPS.values() for field in group.model_fields.values()
)


# --- errors -----------------------------------------------------------------------------------------------------

def _expected(group: type[_Group], variable: str, error: dict) -> str:
    field = next(f for f in group.model_fields.values() if f.validation_alias == variable)
    whole = int in (field.annotation, *get_args(field.annotation))
    kind = "a whole number" if whole else "a number"
    kind_of = {"int_parsing": kind, "int_from_float": kind, "int_type": kind, "float_parsing": kind,
               "float_type": kind, "bool_parsing": "1/0, true/false, yes/no or on/off"}
    if error["type"] in kind_of:
        return f"expected {kind_of[error['type']]}"
    if error["type"] in ("greater_than_equal", "greater_than"):
        bound = error["ctx"].get("ge", error["ctx"].get("gt"))
        return f"expected {kind} {'>=' if 'ge' in error['ctx'] else '>'} {bound}"
    if error["type"] in ("less_than_equal", "less_than"):
        bound = error["ctx"].get("le", error["ctx"].get("lt"))
        return f"expected {kind} {'<=' if 'le' in error['ctx'] else '<'} {bound}"
    if error["type"] == "finite_number":
        return f"expected a finite {kind.removeprefix('a ')}"
    if error["type"] == "literal_error":
        return f"choose one of {', '.join(map(str, _choices(field.annotation)))}"
    return error["msg"]


def _choices(annotation: Any) -> tuple:
    """The values of the ``Literal`` in ``annotation`` (also inside ``Optional``)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return next((found for arg in get_args(annotation) if (found := _choices(arg))), ())


def _message(group: type[_Group], error: ValidationError) -> str:
    """One line per bad variable, each naming it (its value too, unless it is a secret)."""
    lines = []
    for item in error.errors(include_url=False):
        variable = str(item["loc"][0]) if item["loc"] else group.__name__
        if item["type"] == "value_error" and isinstance(item.get("ctx", {}).get("error"), UserInputError):
            lines.append(str(item["ctx"]["error"]))  # our own checks name the variable themselves
        elif variable in group.secret_variables():
            lines.append(f"{variable}: {_expected(group, variable, item)}")
        else:
            lines.append(f"{variable}={item['input']!r}: {_expected(group, variable, item)}")
    return "; ".join(lines)


def _load(group: type[_Group]) -> _Group:
    try:
        return group()
    except ValidationError as error:
        raise UserInputError(_message(group, error)) from None


class Settings:
    """The groups, each read from the environment and validated on first access."""

    @cached_property
    def storage(self) -> StorageSettings:
        return _load(StorageSettings)

    @cached_property
    def engine(self) -> EngineSettings:
        return _load(EngineSettings)

    @cached_property
    def smard(self) -> SmardSettings:
        return _load(SmardSettings)

    @cached_property
    def tibber(self) -> TibberSettings:
        return _load(TibberSettings)

    @cached_property
    def netztransparenz(self) -> NetztransparenzSettings:
        return _load(NetztransparenzSettings)

    @cached_property
    def gold(self) -> GoldSettings:
        return _load(GoldSettings)

    @cached_property
    def privacy(self) -> PrivacySettings:
        return _load(PrivacySettings)

    @cached_property
    def databricks(self) -> DatabricksSettings:
        return _load(DatabricksSettings)

    def check(self) -> Settings:
        """Validate every group; the first bad one raises."""
        for name in GROUPS:
            getattr(self, name)
        return self

    def __repr__(self) -> str:
        loaded = ", ".join(f"{name}={self.__dict__[name]!r}" for name in GROUPS if name in self.__dict__)
        return f"Settings({loaded})"


@lru_cache(maxsize=16)
def _settings_for(environment: tuple) -> Settings:
    return Settings()


def settings() -> Settings:
    """The settings for the current environment variables and working directory (cached per state: a changed
    variable, e.g. a test's ``monkeypatch.setenv``, gives a new object)."""
    try:
        cwd = os.getcwd()
    except FileNotFoundError:  # a deleted working directory matters only to a default EMISSION_HOME
        cwd = None
    return _settings_for((cwd, *(os.environ.get(name) for name in VARIABLES)))


# --- where things live ------------------------------------------------------------------------------------------

def source_variable(name: str) -> str | None:
    """A source's own variable that is not a project setting (e.g. a new source's pass-through URL for the
    Databricks cluster): its stripped value, or None when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def lakehouse(self) -> Path:
        return self.home / "lakehouse"

    @property
    def reservoir(self) -> Path:
        return settings().storage.reservoir or self.home / "reservoir"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def emission_home() -> Path:
    """``$EMISSION_HOME``, else ``./.emission_home`` in the working directory."""
    return settings().storage.home


def paths() -> Paths:
    return Paths(emission_home())
