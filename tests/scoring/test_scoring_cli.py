"""``python -m scoring``: each command prints exactly its documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scoring import generate_reference_data
from scoring.spec import GERMAN_CREDIT_SPEC_PATH

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_json(*args: str) -> dict[str, Any]:
    proc = run(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "reference.csv"
    generate_reference_data(4000, seed=1).to_csv(data, index=False)
    proc = run(
        "train",
        "--data",
        str(data),
        "--spec",
        "scoring/specs/platform.yaml",
        "--out",
        str(tmp / "m"),
        "--seed",
        "1",
    )
    assert proc.returncode == 0, proc.stderr
    assert "round 0" in proc.stderr and "saved platform-" in proc.stderr  # progress on stderr
    return {"dir": tmp / "m", "data": data, "tmp": tmp}


def test_train_reference_json(tmp_path: Path) -> None:
    out = run_json("train", "--reference", "--rows", "3000", "--out", str(tmp_path / "ref"))
    assert set(out) == {"version", "out", "rows", "bad_rate", "auc", "ks", "brier", "ece"}
    assert out["rows"] == 3000
    assert (tmp_path / "ref" / "model.json").exists()


def test_cv_json_keys(german_path: Path) -> None:
    out = run_json(
        "cv",
        "--data",
        str(german_path),
        "--spec",
        str(GERMAN_CREDIT_SPEC_PATH),
        "--folds",
        "3",
        "--seed",
        "0",
    )
    assert list(out) == ["auc_mean", "auc_std", "folds", "rows", "bad_rate"]
    assert out["folds"] == 3 and out["rows"] == 1000


def test_evaluate_json_keys(cli_model: dict[str, Path]) -> None:
    out = run_json("evaluate", "--model", str(cli_model["dir"]), "--data", str(cli_model["data"]))
    assert list(out) == ["auc", "ks", "brier", "ece", "rows", "bad_rate"]
    assert out["rows"] == 4000


def test_score_json_keys(cli_model: dict[str, Path]) -> None:
    row = {
        "overdue_count_24m": 3,
        "max_overdue_days_24m": 60,
        "debt_ratio": 0.9,
        "tax_credit_rank": 4,
    }
    out = run_json("score", "--model", str(cli_model["dir"]), "--row", json.dumps(row))
    assert list(out) == ["pd", "score", "grade", "reasons"]
    assert out["reasons"]
    for r in out["reasons"]:
        assert list(r) == ["feature", "contribution", "text_zh", "text_en"]
    path = cli_model["tmp"] / "row.json"
    path.write_text(json.dumps(row), encoding="utf-8")
    assert run_json("score", "--model", str(cli_model["dir"]), "--row", str(path)) == out


def test_drift_json_keys(cli_model: dict[str, Path]) -> None:
    out = run_json("drift", "--model", str(cli_model["dir"]), "--data", str(cli_model["data"]))
    assert list(out) == ["rows", "score_psi", "score_status", "feature_psi", "shifted", "watch"]


def test_bench_json_keys(cli_model: dict[str, Path]) -> None:
    out = run_json("bench", "--model", str(cli_model["dir"]), "--rows", "20000", "--threads", "1")
    assert list(out) == [
        "score_explain_p50_ms",
        "score_explain_p99_ms",
        "batch_rows_per_s",
        "model_load_ms",
    ]
    assert all(v > 0 for v in out.values())


def test_errors_are_clear_and_exit_2(tmp_path: Path) -> None:
    proc = run("evaluate", "--model", str(tmp_path), "--data", "x.csv")
    assert proc.returncode == 2
    assert "not a model directory" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ntarget: {column: y, bad_values: [1]}\nfeatures: []\n", encoding="utf-8"
    )
    proc = run("cv", "--data", "x.csv", "--spec", str(bad))
    assert proc.returncode == 2
    assert "features" in proc.stderr
