"""Every Delta write goes through the writer, and none of Sail's table-overwriting traps is used anywhere.

Reads the package's syntax trees, so docstrings and comments that name the traps do not count.
"""
from __future__ import annotations

import ast
from pathlib import Path

from emission_assets_tests.support.paths import PACKAGE

WRITER = PACKAGE / "lakehouse" / "writer.py"

TRAP_ATTRIBUTES = {"insertInto", "overwritePartitions", "forPath", "forName"}  # unsupported over Connect / on Sail
TRAP_TEXT = ("partitionOverwriteMode", "INSERT OVERWRITE")  # dynamic overwrite replaces whole tables on Sail
WRITE_ATTRIBUTES = {"saveAsTable", "writeTo", "save", "writeStream", "toTable"}
WRITE_TEXT = ("MERGE INTO",)


def uses(path: Path):
    """(line, what) for attribute accesses and non-docstring string constants in a module."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            # DataFrame.write is a property (not called); file.write(...) is a call and is not a table write.
            yield node.lineno, node.attr + ("()" if id(node) in called else "")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value for v in node.values if isinstance(v, ast.Constant))


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_sail_traps_in_the_package():
    offences = [
        f"{path.relative_to(PACKAGE)}:{line}: {what}"
        for path in modules()
        for line, what in uses(path)
        if what.rstrip("()") in TRAP_ATTRIBUTES or any(text in what for text in TRAP_TEXT)
    ]
    assert offences == []


def test_only_the_writer_writes_tables():
    offences = [
        f"{path.relative_to(PACKAGE)}:{line}: {what}"
        for path in modules()
        if path != WRITER
        for line, what in uses(path)
        if what == "write" or what.rstrip("()") in WRITE_ATTRIBUTES or any(text in what for text in WRITE_TEXT)
    ]
    assert offences == []


def test_the_checker_sees_writes(tmp_path):
    """The checks above would catch a write outside the writer (guards against a checker that sees nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text('df.write.format("delta").save(p)\nspark.sql(f"MERGE INTO {t} USING s")\nopen(p).write("x")\n')
    found = [what for _, what in uses(sample)]
    assert "write" in found and "save()" in found and any("MERGE INTO" in w for w in found)
    assert found.count("write()") == 1  # the file write is a call, told apart from DataFrame.write
