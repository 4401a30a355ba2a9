"""products/ stays pure: it imports neither flask, sqlalchemy nor finportal."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import pkgutil, importlib, sys
import products
for module in pkgutil.walk_packages(products.__path__, "products."):
    if module.name != "products.__main__":
        importlib.import_module(module.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {"flask", "sqlalchemy", "finportal"})
print(",".join(bad))
"""


def test_products_imports_no_web_or_database_code() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
