"""Tell a read-only SQL statement from one that changes something, before ``query`` hands it to the engine.

The engine runs whatever it is given (``DELETE`` commits to Delta, ``DROP TABLE`` drops the catalog entry), so the
``query`` command parses the text first (sqlglot, Spark dialect) and lets through only one single query: SELECT,
WITH ... SELECT, set operations, VALUES, SHOW, DESCRIBE, or EXPLAIN of a query. Data changes go through the assets
and ``reset``. sqlglot parses SHOW and EXPLAIN as opaque ``Command`` nodes: SHOW statements never write in Spark, and
an EXPLAIN's remainder is parsed and checked again as a query.
"""
from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from emission_assets.errors import UserInputError

ACCEPTED = "a single SELECT, WITH ... SELECT, SHOW, DESCRIBE or EXPLAIN of a query"
# EXPLAIN [mode] statement (Spark SQL reference)
EXPLAIN_MODES = ("EXTENDED", "CODEGEN", "COST", "FORMATTED")
# DESCRIBE QUERY <query> (Spark) is not in sqlglot's grammar: the query after it is checked on its own
DESCRIBE_QUERY = re.compile(r"\s*DESC(?:RIBE)?\s+QUERY\s+(.*)", re.IGNORECASE | re.DOTALL)
# Nodes that change data, schema or session state: none may appear anywhere inside an accepted statement.
WRITING_NODES = (exp.DML, exp.DDL, exp.Command, exp.Set, exp.Use, exp.Cache, exp.Uncache, exp.Refresh,
                 exp.TruncateTable, exp.Analyze, exp.Pragma, exp.Transaction, exp.Commit, exp.Rollback)


class NotReadOnly(UserInputError):
    """A ``query`` statement that is not one read-only query: the message says what was seen instead."""

    def __init__(self, seen: str):
        super().__init__(f"query accepts only {ACCEPTED}: {seen}")


def check_read_only(sql: str) -> None:
    """Raise :class:`NotReadOnly` unless ``sql`` is exactly one read-only statement."""
    described = DESCRIBE_QUERY.fullmatch(sql)
    if described:
        sql = described.group(1)
    statements = [statement for statement in _parse(sql) if statement is not None]
    if not statements:
        raise NotReadOnly("no statement")
    if len(statements) > 1:
        kinds = ", ".join(_kind(statement) for statement in statements)
        raise NotReadOnly(f"{len(statements)} statements ({kinds})")
    if described and not isinstance(statements[0], (exp.Query, exp.Values)):
        raise NotReadOnly(f"DESCRIBE QUERY of {_kind(statements[0])}")
    _check_statement(statements[0])


def _parse(sql: str) -> list[exp.Expression | None]:
    # sqlglot warns ("contains unsupported syntax") when it falls back to a Command node: expected for SHOW/EXPLAIN
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)
    try:
        return sqlglot.parse(sql, read="spark")
    except SqlglotError as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise NotReadOnly(f"SQL that does not parse ({first_line})") from None
    finally:
        sqlglot_logger.setLevel(level)


def _check_statement(statement: exp.Expression) -> None:
    if isinstance(statement, exp.Command):
        command = str(statement.this).upper()
        if command == "SHOW":
            return
        if command == "EXPLAIN":
            _check_explained(statement)
            return
        raise NotReadOnly(f"{_kind(statement)} statement")
    if isinstance(statement, exp.Describe):
        _check_no_writes(statement.this, statement)
        return
    if isinstance(statement, (exp.Query, exp.Values)):
        _check_no_writes(statement, statement)
        return
    raise NotReadOnly(f"{_kind(statement)} statement")


def _check_explained(statement: exp.Command) -> None:
    """EXPLAIN [mode] <query>: the remainder must itself be a query (EXPLAIN of an INSERT is refused too)."""
    rest = statement.expression.name.strip() if statement.expression is not None else ""
    words = rest.split(None, 1)
    if words and words[0].upper() in EXPLAIN_MODES:
        rest = words[1] if len(words) > 1 else ""
    inner = [part for part in _parse(rest) if part is not None]
    if len(inner) != 1 or not isinstance(inner[0], (exp.Query, exp.Values)):
        seen = _kind(inner[0]) if len(inner) == 1 else "nothing"
        raise NotReadOnly(f"EXPLAIN of {seen}")
    _check_no_writes(inner[0], inner[0])


def _check_no_writes(tree: exp.Expression | None, statement: exp.Expression) -> None:
    if tree is None:
        return
    for node in tree.walk():
        if isinstance(node, WRITING_NODES):
            raise NotReadOnly(f"{_kind(node)} inside {_kind(statement)}")


def _kind(statement: exp.Expression) -> str:
    """What a statement is, in the user's words: DELETE, INSERT, DROP TABLE, CACHE, SET, EXPLAIN ..."""
    if isinstance(statement, exp.Command):
        return str(statement.this).upper()
    if isinstance(statement, (exp.Create, exp.Drop)):
        verb = "CREATE" if isinstance(statement, exp.Create) else "DROP"
        kind = statement.args.get("kind")
        return f"{verb} {kind.upper()}" if kind else verb
    if isinstance(statement, exp.Insert) and statement.args.get("with_"):
        return "INSERT (wrapped in WITH)"
    if isinstance(statement, exp.Select):
        return "SELECT"
    names = {exp.TruncateTable: "TRUNCATE TABLE", exp.Uncache: "UNCACHE TABLE", exp.Cache: "CACHE TABLE",
             exp.Alter: "ALTER"}
    for node_type, name in names.items():
        if isinstance(statement, node_type):
            return name
    if isinstance(statement, (exp.DML, exp.DDL, exp.Set, exp.Use, exp.Refresh, exp.Analyze, exp.Describe)):
        return type(statement).__name__.upper()
    # not a statement sqlglot knows (``LIST FILES`` parses as an alias): the statement's first word
    words = statement.sql(dialect="spark").split()
    return words[0].upper() if words else type(statement).__name__.upper()
