"""scoring/ is pure: importing it (and running it) loads neither Flask, SQLAlchemy nor finportal."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "sqlalchemy", "finportal")


def test_importing_scoring_loads_no_web_or_database_code() -> None:
    code = (
        "import json, sys, pkgutil, importlib, scoring\n"
        "for m in pkgutil.walk_packages(scoring.__path__, 'scoring.'):\n"
        "    if m.name != 'scoring.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "from scoring.reference import generate_reference_data\n"
        "generate_reference_data(100)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout)
    assert "scoring.training" in modules and "xgboost" in modules
    leaked = [m for m in modules if m.split(".")[0] in FORBIDDEN]
    assert leaked == []


def test_no_source_file_imports_them() -> None:
    for path in (ROOT / "scoring").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path} imports {name}"
