"""Fixtures for the scoring tests: the reference model, fresh reference data, public data."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring import generate_reference_data, load_model, train_reference_model
from scoring.frame import to_bool, to_float, value_key
from scoring.spec import Condition, Feature
from tests.helpers import shared_dir

# The real public data lives beside the project, never inside it.
SHARED_DATA = shared_dir() / "data"
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


def _raw(feature: Feature, row: Mapping[str, Any]) -> Any:
    """The row's value of ``feature``: a float (NaN when missing) or a category text."""
    value = row.get(feature.name, row.get(feature.column))
    if feature.kind == "categorical":
        return value_key(value)
    # The model reads float32, so compare what it compares.
    if feature.kind == "boolean":
        return float(np.float32(to_bool(value)))
    return float(np.float32(to_float(value)))


def _holds(c: Condition, value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    targets = c.value if c.op == "in" else (c.value,)
    if isinstance(value, str):
        keys = {value_key(t) for t in targets}
        return value not in keys if c.op == "ne" else value in keys
    nums = [float(t) for t in targets]
    return {
        "eq": value in nums,
        "in": value in nums,
        "ne": value not in nums,
        "gt": value > nums[0],
        "ge": value >= nums[0],
        "lt": value < nums[0],
        "le": value <= nums[0],
    }[c.op]


def reason_text_is_true(model: Any, row: Mapping[str, Any], reason: Mapping[str, Any]) -> str:
    """Return "" when ``reason`` is true of ``row`` by the documented rules, else why not.

    Written from docs/SCORING.md, independently of the model's vectorised code:
    the value is on the risky side (booleans 1 for monotone +1, 0 for -1;
    numeric features above / below ``reason_threshold``, else the training
    median), every ``reason_if`` holds, monotone 0 needs ``reason_if``, and a
    missing value needs (and uses) the spec's missing-value texts.
    """
    spec = model.spec
    f = spec.feature(reason["feature"])
    if not f.actionable or f.protected:
        return f"{f.name} may never be a reason"
    if reason["contribution"] <= 0:
        return f"{f.name} does not raise the risk"
    value = _raw(f, row)
    texts = (reason["text_zh"], reason["text_en"])
    by_name = {g.name: g for g in spec.features}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if not f.reason_missing_zh or texts != (f.reason_missing_zh, f.reason_missing_en):
            return f"{f.name} is missing and the spec has no text for that"
        for c in f.reason_if:
            if c.feature != f.name and not _holds(c, _raw(by_name[c.feature], row)):
                return f"{f.name}: reason_if {c} does not hold"
        return ""
    if texts != (f.reason_zh, f.reason_en):
        return f"{f.name}: wrong text {texts}"
    for c in f.reason_if:
        if not _holds(c, _raw(by_name[c.feature], row)):
            return f"{f.name}: reason_if {c} does not hold for {_raw(by_name[c.feature], row)!r}"
    if f.monotone == 0:
        return "" if f.reason_if else f"{f.name} has monotone 0 and no reason_if"
    if f.kind == "boolean":
        threshold = 0.0 if f.monotone > 0 else 1.0
    elif f.reason_threshold is not None:
        threshold = f.reason_threshold
    else:
        median = model.metadata.get("reason_thresholds", {}).get(f.name)
        if median is None:
            return f"{f.name} has no threshold"
        threshold = median
    risky = value > threshold if f.monotone > 0 else value < threshold
    return "" if risky else f"{f.name}={value!r} is on the safe side of {threshold}"


@pytest.fixture(scope="session")
def reason_check() -> Callable[[Any, Mapping[str, Any], Mapping[str, Any]], str]:
    """The independent check that a reason's text is true of a row."""
    return reason_text_is_true
