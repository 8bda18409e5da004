"""The dependency rule: the pure core imports no I/O library (checked by walking imports)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ["scheduler", "ivr/protocol", "ivr/flow.py", "ivr/call_tracker.py", "audio/catalogue.py"]
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
