"""The dependency rule: the pure core imports no I/O library (checked by walking imports)."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ["scheduler", "ivr/protocol", "ivr/flow.py", "ivr/inbound_flow.py", "ivr/questions.py",
        "ivr/call_tracker.py", "ivr/call_actions.py", "ivr/call_report.py", "audio/catalogue.py",
        "ivr/phone.py", "ivr/errors.py",
        "ivr/nodes.py"]
FORBIDDEN = {"asyncio", "aiosqlite", "panoramisk", "pydub", "sqlite3", "socket", "subprocess"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def pure_files() -> list[Path]:
    files = []
    for entry in PURE:
        p = ROOT / entry
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else [])
    return files


def test_the_pure_core_exists():
    names = {str(p.relative_to(ROOT)) for p in pure_files()}
    assert "ivr/protocol/outcome.py" in names and "scheduler/outcome.py" in names


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_module_imports_no_io_library(path):
    bad = imported_modules(path) & FORBIDDEN
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_checker_sees_a_forbidden_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\nfrom asyncio import sleep\nimport panoramisk.manager\n")
    assert imported_modules(f) & FORBIDDEN == {"asyncio", "panoramisk"}


def test_the_phone_module_needs_only_the_standard_library_and_phonenumbers():
    """ivr/phone.py is imported by the missed-call fallback script and the pure core alike:
    nothing but the standard library, phonenumbers' metadata and the error root (itself
    standard library only)."""
    import sys
    assert "phonenumbers" in imported_modules(ROOT / "ivr/phone.py")
    for path in (ROOT / "ivr/phone.py", ROOT / "ivr/errors.py"):
        names = imported_modules(path)
        assert names - {"phonenumbers", "ivr"} <= set(sys.stdlib_module_names) | {"__future__"}
    project = {n.module for n in ast.walk(ast.parse((ROOT / "ivr/phone.py").read_text()))
               if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("ivr")}
    assert project == {"ivr.errors"}


# ------------------------------------------------------------------ SQL lives in ivr/adapters/
# The production code outside ivr/adapters/ (and the migrations) holds no SQL and calls no
# database directly: it asks an adapter module, named by what it reads or writes.
SQL_HOMES = ("ivr/adapters/", "ivr/migrations/")
PRODUCTION = ["ivr", "scheduler", "audio", "cli.py"]
SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|"
                 r"DELETE\s+FROM|CREATE\s+(TABLE|INDEX|VIEW|TRIGGER|DATABASE|ROLE)|"
                 r"DROP\s+(TABLE|INDEX|DATABASE|ROLE)|"
                 r"ALTER\s+TABLE|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|EXCLUSIVE|TRANSACTION))\b")
DB_METHODS = {"execute", "executemany", "executescript", "fetchall", "fetchone", "fetchmany"}
DB_MODULES = {"sqlite3", "aiosqlite"}


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's literal parts (its holes as a space)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else " " for v in node.values)
    return None


def database_uses(source: str) -> list[str]:
    """What in this module talks to a database: SQL text, a cursor-style call
    (x.execute / fetchall...), sqlite3/aiosqlite.connect, or the psql client named to run
    (its statements pass as arguments, unseen). Docstrings are prose, not SQL."""
    tree = ast.parse(source)
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                    ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr)}
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        text = _text(node)
        if text is not None and id(node) not in docstrings | parts and SQL.search(text):
            found.append((node.lineno, f"SQL {text.strip()[:40]!r}"))
        if text is not None and (text == "psql" or text.endswith("/psql")):
            found.append((node.lineno, "psql"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr in DB_METHODS:
                found.append((node.lineno, f".{node.func.attr}() call"))
            elif node.func.attr == "connect" and isinstance(owner, ast.Name) \
                    and owner.id in DB_MODULES:
                found.append((node.lineno, f"{owner.id}.connect()"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def production_files() -> list[Path]:
    files = []
    for entry in PRODUCTION:
        p = ROOT / entry
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return [f for f in files if not str(f.relative_to(ROOT)).startswith(SQL_HOMES)]


def test_no_database_access_outside_the_adapters():
    bad = {}
    for path in production_files():
        uses = database_uses(path.read_text(encoding="utf-8"))
        if uses:
            bad[str(path.relative_to(ROOT))] = uses
    assert not bad, f"SQL or database calls outside ivr/adapters/: {bad}"


def test_the_sql_checker_sees_sql_and_database_calls():
    source = '''
"""A docstring may say SELECT x FROM y: prose."""
import sqlite3
QUERY = "SELECT id, phone " "FROM subscribers WHERE id = ?"
async def f(store, t):
    await store.execute(f"UPDATE deliveries SET status = ? WHERE {t}", ())
    rows = await store.fetchall("SELECT 1")
    db = sqlite3.connect(":memory:")
    return "Select a woman from the list"
'''
    found = database_uses(source)
    assert [u.split(":")[0] for u in found] == [
        "line 4", "line 6", "line 6", "line 7", "line 8"], found
    assert database_uses('LABEL = "DELETE the file from disk"\nx = "UPDATE"\n') == []
    assert database_uses('def f(name):\n    run(f"CREATE DATABASE {name}")\n') == [
        "line 2: SQL 'CREATE DATABASE'"]
    assert database_uses('run([str(bin / "psql"), "-l"])\nrun(["/usr/bin/psql", "-c", x])\n'
                         'HELP = "psql is the client"\n') == ["line 1: psql", "line 2: psql"]
