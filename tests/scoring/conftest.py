"""Fixtures for the scoring tests: the reference model, fresh reference data, public data."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scoring import generate_reference_data, load_model, train_reference_model

# The real public data lives beside the project, never inside it.
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GERMAN_DATA = SHARED_DATA / "german-credit" / "german.data"
SBA_DATA = SHARED_DATA / "sba-case" / "SBAcase.11.13.17.csv"


@pytest.fixture(scope="session")
def reference_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Train the reference model once (as the portal demo does) and time it."""
    out = tmp_path_factory.mktemp("reference-model")
    start = time.perf_counter()
    trained = train_reference_model(out, seed=0, nthread=1)
    return {"dir": out, "seconds": time.perf_counter() - start, "trained": trained}


@pytest.fixture(scope="session")
def reference_model(reference_dir: dict[str, Any]) -> Any:
    """The saved reference model, loaded back."""
    return load_model(reference_dir["dir"])


@pytest.fixture(scope="session")
def fresh_reference() -> pd.DataFrame:
    """Reference data the model never saw (another seed): 10,000 rows."""
    return generate_reference_data(10_000, seed=20261127)


def _require(path: Path) -> Path:
    if not path.exists():
        # CI always has shared/ beside the clone: there a missing file is a failure, not a skip.
        if os.environ.get("CI"):
            pytest.fail(f"public data not found at {path}")
        pytest.skip(f"public data not found at {path}")
    return path


@pytest.fixture(scope="session")
def german_path() -> Path:
    """German credit data (skip when the shared data is not on this machine)."""
    return _require(GERMAN_DATA)


@pytest.fixture(scope="session")
def sba_path() -> Path:
    """SBA case-study data (skip when the shared data is not on this machine)."""
    return _require(SBA_DATA)
