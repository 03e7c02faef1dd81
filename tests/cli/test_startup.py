"""Start-up: the CLI imports no heavy library before it parses its arguments (speed lives in
benchmarks/bench_cli.py; these tests check the cause, not the time)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "src" / "clvlab" / "cli"
#: libraries that take a noticeable part of a second to import; commands import them when they run
HEAVY = ("pandas", "numpy", "ibis", "duckdb", "scipy", "sklearn", "jieba", "pyarrow", "polars",
         "sqlalchemy")

_PROBE = """
import json, sys
from clvlab.cli import main
for argv in ([], ["--help"], ["--version"], ["voc", "text", "--help"], ["load", "--help"],
             ["cases", "list", "--help"], ["demo", "--help"]):
    sys.argv = ["clvlab", *argv]
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))))
"""


def test_help_and_version_import_no_heavy_library() -> None:
    """`clvlab`, `--help`, `--version` and `<cmd> --help`, run in a fresh interpreter, leave
    pandas, NumPy, Ibis, DuckDB, SciPy, scikit-learn, jieba (...) unimported."""
    code = _PROBE.replace("HEAVY", repr(HEAVY))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=300)
    imported = json.loads(proc.stdout.strip().splitlines()[-1])
    assert imported == [], f"the CLI imports {imported} at start-up: import them inside the command"


def _module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of imports that run when the module is imported (not under TYPE_CHECKING)."""
    found: list[tuple[int, str]] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                break
            if isinstance(sub, ast.Import):
                found += [(sub.lineno, alias.name) for alias in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                found.append((sub.lineno, sub.module))
    return found


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_no_heavy_import_at_module_level_in_cli(path: Path) -> None:
    """Every module of clvlab.cli imports pandas & co. inside the function that needs them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [f"{path.name}:{line} imports {mod}" for line, mod in _module_level_imports(tree)
           if mod.split(".")[0] in HEAVY]
    assert bad == [], "; ".join(bad) + " at module level: move the import into the function"
