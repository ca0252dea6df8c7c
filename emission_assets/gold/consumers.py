"""Consumer views: one ``gold.consumer_<name>`` per consumer of ``emission_assets/data/consumers.yaml``.

Each view's SELECT is built from three clauses, so a consumer sees nothing below its level:

- aggregation: the level picks the source view and the grain (``interval`` rows of gold.consumption_emissions,
  or one row per ``monthly`` / ``yearly`` key of gold.emissions_monthly / gold.emissions_yearly, enforced with a
  GROUP BY over the level's keys, so the view stays at that grain whatever the source holds);
- obfuscation: the home as the raw ``home_id`` (the owner) or as ``home_key``, a keyed hash (HMAC-SHA256 with the
  secret ``$EMISSION_PSEUDONYM_KEY``, :mod:`emission_assets.tibber.pseudonyms`) joined from silver.home_pseudonyms:
  without the key nobody can compute a home's pseudonym from its id. That is pseudonymisation, not anonymisation
  (the key holder can link the rows), so pseudonymised rows remain personal data. Without a key set the
  pseudonymised views are not created;
- access: a consumer with raw home ids must say whose rows it sees, by construction: ``homes`` (only these home
  ids) or, on Unity Catalog, ``owners`` (home id -> the user or group owning it: a row filter on the reading
  principal, ``current_user()`` / ``is_account_group_member``). Sail has no principals, so an ``owners``-only view
  is created on Unity Catalog only.

On Databricks the views are what a principal gets SELECT on (:func:`grant_statements`); Unity Catalog views run
with their owner's rights, so consumers need no grant on the source views. Locally (Sail) nothing enforces
grants: the statements are only printed (``emission-tracker grants --catalog <catalog>``).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from emission_assets.lakehouse.registry import CONSUMER_VIEW_PREFIX, Registry
from emission_assets.tibber import pseudonyms

log = logging.getLogger(__name__)
CONFIG_PATH = Path(__file__).resolve().parents[1] / "data" / "consumers.yaml"
HOME_MODES = ("raw", "pseudonymised")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HOME_ID = re.compile(r"^[A-Za-z0-9_.:-]+$")
_PRINCIPAL = re.compile(r"^[A-Za-z0-9@._+ -]+$")  # Unity Catalog users, groups, service principals; no quotes
_warned: set[str] = set()  # one warning per process for a view left out, not one per session start

# Measures of the monthly and yearly levels with their aggregate over the level's keys (one source row per group:
# the sums and the max are the source's values; g_per_kwh is re-derived as emissions over energy).
_PERIOD_MEASURES = {
    "energy_kwh": "sum(energy_kwh)",
    "ev_kwh": "sum(ev_kwh)",
    "household_kwh": "sum(household_kwh)",
    "emissions_kg": "sum(emissions_kg)",
    "ev_emissions_kg": "sum(ev_emissions_kg)",
    "household_emissions_kg": "sum(household_emissions_kg)",
    "g_per_kwh": "CAST(sum(emissions_kg) * 1000 / nullif(CAST(sum(energy_kwh) AS DOUBLE), 0) AS DOUBLE)",
    "spread_kg": "max(spread_kg)",
}


@dataclass(frozen=True)
class Level:
    source: str  # registry name of the view the level reads
    leading: tuple[str, ...]  # key columns before the home column
    after_home: tuple[str, ...]  # key columns after it
    trailing: tuple[str, ...]  # key columns after the measures
    measures: Mapping[str, str | None]  # column -> aggregate (None: the level is the source's grain, no GROUP BY)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.leading + self.after_home + self.trailing

    @property
    def aggregated(self) -> bool:
        return any(expression is not None for expression in self.measures.values())


LEVELS: dict[str, Level] = {
    "interval": Level(
        source="gold.consumption_emissions",
        leading=("interval_start", "interval_end"),
        after_home=("model", "basis"),
        trailing=("year", "month", "day"),
        measures=dict.fromkeys(
            ("energy_kwh", "ev_kwh", "household_kwh", "g_per_kwh", "emissions_g", "ev_emissions_g",
             "household_emissions_g"),
        ),
    ),
    "monthly": Level("gold.emissions_monthly", ("year", "month"), ("model", "basis"), (), _PERIOD_MEASURES),
    "yearly": Level("gold.emissions_yearly", ("year",), ("model", "basis"), (), _PERIOD_MEASURES),
}


@dataclass(frozen=True)
class Consumer:
    name: str
    principal: str
    level: str
    home: str
    columns: tuple[str, ...]
    homes: tuple[str, ...] = ()
    description: str = ""
    owners: Mapping[str, str] = field(default_factory=dict)  # home id -> owning user or group (Unity Catalog)

    @property
    def view(self) -> str:
        return f"{CONSUMER_VIEW_PREFIX}{self.name}"

    @property
    def home_column(self) -> str:
        return "home_id" if self.home == "raw" else "home_key"


def parse_consumers(config: Mapping) -> dict[str, Consumer]:
    """Validated consumers from the config mapping (``{"consumers": {name: {...}}}``); ValueError names the consumer."""
    if not isinstance(config, Mapping) or not isinstance(config.get("consumers"), Mapping):
        raise ValueError("the consumer config needs a mapping 'consumers: {name: {...}}'")
    consumers = {}
    for name, entry in config["consumers"].items():
        consumers[name] = _consumer(str(name), entry)
    return consumers


def _consumer(name: str, entry) -> Consumer:
    def fail(problem: str):
        raise ValueError(f"consumer {name!r}: {problem}")

    if not _NAME.match(name):
        fail("the name must be lower-case letters, digits and underscores (it names the view)")
    if not isinstance(entry, Mapping):
        fail("needs a mapping with principal, level, home and columns")
    unknown_keys = set(entry) - {"principal", "level", "home", "columns", "homes", "owners", "description"}
    if unknown_keys:
        fail(f"unknown setting(s) {sorted(unknown_keys)}")
    principal = entry.get("principal")
    if not isinstance(principal, str) or not principal.strip():
        fail("needs a principal (the Unity Catalog user, group or service principal)")
    level = entry.get("level")
    if level not in LEVELS:
        fail(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    home = entry.get("home")
    if home not in HOME_MODES:
        fail(f"unknown home {home!r}; choose one of {', '.join(HOME_MODES)}")
    columns = entry.get("columns")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
        fail("needs a non-empty list of columns")
    if {"home_id", "home_key"} & set(columns):
        fail("the home column is set by 'home' (raw or pseudonymised), not listed in columns")
    allowed = LEVELS[level]
    unknown = [c for c in columns if c not in allowed.measures and c not in allowed.keys]
    if unknown:
        fail(f"unknown column(s) {unknown} at level {level!r}; allowed: {', '.join(allowed.measures)}")
    homes = entry.get("homes") or []
    if not isinstance(homes, list) or not all(isinstance(h, str) and _HOME_ID.match(h) for h in homes):
        fail("homes must be a list of home ids (letters, digits, '-', '_', '.', ':')")
    owners = entry.get("owners") or {}
    if not isinstance(owners, Mapping) or not all(
            isinstance(h, str) and _HOME_ID.match(h) and isinstance(p, str) and _PRINCIPAL.match(p.strip())
            for h, p in owners.items()):
        fail("owners must map home ids to the Unity Catalog user or group owning each (letters, digits, '@._+ -')")
    if home == "raw" and not homes and not owners:
        fail("exposes raw home ids, so it must name its homes ('homes: [<home id>, ...]') or, on Unity Catalog, "
             "their owners ('owners: {<home id>: <user or group>}')")
    measures = tuple(dict.fromkeys(c for c in columns if c not in allowed.keys))  # keys are always there
    return Consumer(name, principal.strip(), level, home, measures, tuple(homes), str(entry.get("description") or ""),
                    {h: p.strip() for h, p in owners.items()})


def _read_config(path: Path | str):
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            try:
                return yaml.safe_load(handle) or {}
            except yaml.YAMLError as error:
                raise ValueError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read ({error})") from None


def load_consumers(path: Path | str = CONFIG_PATH) -> dict[str, Consumer]:
    return parse_consumers(_read_config(path))


def consumer_entries(path: Path | str = CONFIG_PATH) -> dict[str, Consumer | ValueError]:
    """Per configured consumer name: its validated consumer, or the error naming the file, consumer and field.

    One broken entry fails only that consumer's view asset; a file that cannot be read or parsed raises
    ValueError (naming the file)."""
    config = _read_config(path)
    if not isinstance(config, Mapping) or not isinstance(config.get("consumers"), Mapping):
        raise ValueError(f"{path}: the consumer config needs a mapping 'consumers: {{name: {{...}}}}'")
    entries: dict[str, Consumer | ValueError] = {}
    for name, entry in config["consumers"].items():
        try:
            entries[str(name)] = _consumer(str(name), entry)
        except ValueError as error:
            entries[str(name)] = ValueError(f"{path}: {error}")
    return entries


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _access_clause(consumer: Consumer) -> list[str]:
    conditions = []
    if consumer.homes:
        conditions.append(f"home_id IN ({', '.join(_sql_string(h) for h in consumer.homes)})")
    if consumer.owners:  # row filter on the reading principal (Unity Catalog functions)
        per_home = [f"(home_id = {_sql_string(h)} AND (current_user() = {_sql_string(p)} "
                    f"OR is_account_group_member({_sql_string(p)})))" for h, p in consumer.owners.items()]
        conditions.append("(" + " OR ".join(per_home) + ")")
    return conditions


def view_sql(registry: Registry, consumer: Consumer) -> str:
    """The consumer view's SELECT: the level's keys, the home (raw or pseudonymised) and the allowed measures.

    Pseudonymised views join silver.home_pseudonyms (inner join: a home without a pseudonym yet is left out rather
    than shown); the SQL holds no key and no hash recipe."""
    level = LEVELS[consumer.level]
    home = consumer.home_column
    if level.aggregated:
        measures = [f"{level.measures[c]} AS {c}" for c in consumer.columns]
        group_by = [*level.leading, home, *level.after_home, *level.trailing]
    else:
        measures, group_by = list(consumer.columns), []
    selected = [*level.leading, home, *level.after_home, *measures, *level.trailing]
    sql = f"SELECT {', '.join(selected)} FROM {registry.sql_name(level.source)}"
    if consumer.home == "pseudonymised":
        sql += f" JOIN {registry.sql_name(pseudonyms.TABLE)} USING (home_id)"
    access = _access_clause(consumer)
    if access:
        sql += " WHERE " + " AND ".join(access)
    if group_by:  # aggregation clause
        sql += f" GROUP BY {', '.join(group_by)}"
    return sql


def skipped_reason(registry: Registry, consumer: Consumer) -> str | None:
    """Why a consumer's view cannot be created safely here, or None."""
    if consumer.home == "pseudonymised" and pseudonyms.pseudonym_key() is None:
        return pseudonyms.MISSING_KEY
    if consumer.owners and not consumer.homes and not registry.catalog:
        return (f"consumer view {consumer.view} not created: its rows are filtered by the reading principal "
                "(owners), which only Unity Catalog knows; add 'homes' for a local view")
    return None


def consumer_views(registry: Registry, consumers: Mapping[str, Consumer] | None = None) -> dict[str, str]:
    """View name -> SELECT for every consumer whose view can be created safely here (see :func:`skipped_reason`)."""
    consumers = load_consumers() if consumers is None else consumers
    views = {}
    for consumer in consumers.values():
        reason = skipped_reason(registry, consumer)
        if reason is None:
            views[consumer.view] = view_sql(registry, consumer)
        elif reason not in _warned:  # every session start registers the views: said once, and quietly (the runs
            _warned.add(reason)      # that would fill the views and a query naming one say it as a warning)
            log.info(reason)
    return views


def missing_view_hint(sql: str, registry: Registry, consumers: Mapping[str, Consumer] | None = None) -> str | None:
    """Why a consumer view that ``sql`` names was not created (for the ``query`` command's error), or None."""
    consumers = load_consumers() if consumers is None else consumers
    for consumer in consumers.values():
        if consumer.view in sql and (reason := skipped_reason(registry, consumer)):
            return reason
    return None


def create_consumer_views(spark, registry: Registry, consumers: Mapping[str, Consumer] | None = None) -> list[str]:
    """(Re)create the consumer views now (their source views must exist); returns the views' SQL names."""
    created = []
    for name, sql in consumer_views(registry, consumers).items():
        spark.sql(f"CREATE OR REPLACE VIEW {registry.sql_name(name)} AS {sql}")
        created.append(registry.sql_name(name))
    return created


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def grant_statements(registry: Registry, consumers: Mapping[str, Consumer] | None = None) -> list[str]:
    """Unity Catalog GRANTs giving each consumer's principal its view, and only that: USE CATALOG and USE SCHEMA
    (once per principal), then SELECT on the view. A consumer filtered by its owners gets its view's definition
    first, so the row filter on the principal is there to review. For Databricks; never executed on Sail."""
    if not registry.catalog:
        raise ValueError("GRANT statements need a Unity Catalog catalog (a registry with catalog=...)")
    consumers = load_consumers() if consumers is None else consumers
    statements: list[str] = []
    seen: set[str] = set()
    for consumer in consumers.values():
        principal = _quote(consumer.principal)
        catalog, schema, view = registry.sql_name(consumer.view).split(".")
        if principal not in seen:
            seen.add(principal)
            statements.append(f"GRANT USE CATALOG ON CATALOG {_quote(catalog)} TO {principal}")
            statements.append(f"GRANT USE SCHEMA ON SCHEMA {_quote(catalog)}.{_quote(schema)} TO {principal}")
        if consumer.owners:
            statements.append(f"CREATE OR REPLACE VIEW {_quote(catalog)}.{_quote(schema)}.{_quote(view)} AS "
                              f"{view_sql(registry, consumer)}")
        statements.append(
            f"GRANT SELECT ON VIEW {_quote(catalog)}.{_quote(schema)}.{_quote(view)} TO {principal}"
        )
    return statements


def builders(registry: Registry, consumers: Mapping[str, Consumer] | None = None) -> dict[str, Callable[[Registry], str]]:
    """The configured consumers' views that can be created on ``registry``, for emission_assets.gold.views
    (registered after the views they read)."""
    return {name: (lambda _registry, sql=sql: sql) for name, sql in consumer_views(registry, consumers).items()}


def skipped_view_reason(registry: Registry, view: str, path: Path | str = CONFIG_PATH) -> str | None:
    """Why the configured consumer whose asset writes ``view`` (``gold.consumer_<name>``) cannot have its view
    here (:func:`skipped_reason`); None if it can, or if no valid consumer entry writes that view."""
    import re

    for name, entry in consumer_entries(path).items():
        if isinstance(entry, Consumer) and f"{CONSUMER_VIEW_PREFIX}{re.sub(r'[^a-z0-9_]', '_', name.lower())}" == view:
            return skipped_reason(registry, entry)
    return None
