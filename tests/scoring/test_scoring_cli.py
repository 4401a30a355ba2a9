"""``python -m scoring``: each command prints exactly its documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scoring import generate_reference_data
from scoring.cli import main
from scoring.spec import GERMAN_CREDIT_SPEC_PATH

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scoring`` in a fresh interpreter (the real entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process (no interpreter start-up per test)."""
    capsys.readouterr()
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    status, out, err = run(capsys, *args, "--json")
    assert status == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "reference.csv"
    generate_reference_data(4000, seed=1).to_csv(data, index=False)
    proc = run_module(
        "train",
        "--data",
        str(data),
        "--spec",
        "scoring/specs/platform.yaml",
        "--out",
        str(tmp / "m"),
        "--seed",
        "1",
        "--source",
        "test export",
        "--period",
        "2020-2024",
    )
    assert proc.returncode == 0, proc.stderr
    assert "round 0" in proc.stderr and "saved platform-" in proc.stderr  # progress on stderr
    return {"dir": tmp / "m", "data": data, "tmp": tmp}


def test_train_reference_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "train", "--reference", "--rows", "3000", "--out", str(tmp_path / "ref"))
    assert set(out) == {"version", "out", "rows", "bad_rate", "auc", "ks", "brier", "ece"}
    assert out["rows"] == 3000
    assert (tmp_path / "ref" / "model.json").exists()


def test_cv_json_keys(german_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys,
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
    args = ["cv", "--data", str(german_path), "--spec", str(GERMAN_CREDIT_SPEC_PATH)]
    both = run_json(capsys, *args, "--folds", "3", "--baseline")
    assert list(both) == [*out, "baseline_auc_mean", "baseline_auc_std"]
    assert both["auc_mean"] == out["auc_mean"]
    assert 0.6 < both["baseline_auc_mean"] < 0.85


def test_evaluate_json_keys(cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys, "evaluate", "--model", str(cli_model["dir"]), "--data", str(cli_model["data"])
    )
    assert list(out) == ["auc", "ks", "brier", "ece", "rows", "bad_rate"]
    assert out["rows"] == 4000
    card = json.loads((cli_model["dir"] / "model_card.json").read_text(encoding="utf-8"))
    assert (card["data"]["source"], card["data"]["period"]) == ("test export", "2020-2024")


def test_score_json_keys(cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    row = {
        "overdue_count_24m": 3,
        "max_overdue_days_24m": 60,
        "debt_ratio": 0.9,
        "tax_credit_rank": 4,
    }
    out = run_json(capsys, "score", "--model", str(cli_model["dir"]), "--row", json.dumps(row))
    assert list(out) == ["pd", "score", "grade", "reasons"]
    assert out["reasons"]
    for r in out["reasons"]:
        assert list(r) == ["feature", "contribution", "text_zh", "text_en"]
    path = cli_model["tmp"] / "row.json"
    path.write_text(json.dumps(row), encoding="utf-8")
    assert run_json(capsys, "score", "--model", str(cli_model["dir"]), "--row", str(path)) == out


def test_drift_json_keys(cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys, "drift", "--model", str(cli_model["dir"]), "--data", str(cli_model["data"])
    )
    assert list(out) == ["rows", "score_psi", "score_status", "feature_psi", "shifted", "watch"]


def test_bench_json_keys(cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys, "bench", "--model", str(cli_model["dir"]), "--rows", "20000", "--threads", "1"
    )
    assert list(out) == [
        "score_explain_p50_ms",
        "score_explain_p99_ms",
        "batch_rows_per_s",
        "model_load_ms",
    ]
    assert all(v > 0 for v in out.values())
    cpu = run_json(
        capsys, "bench", "--model", str(cli_model["dir"]), "--rows", "20000", "--clock", "cpu"
    )
    assert list(cpu) == list(out)


def test_errors_are_clear_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "evaluate", "--model", str(tmp_path), "--data", "x.csv")
    assert status == 2
    assert "not a model directory" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ntarget: {column: y, bad_values: [1]}\nfeatures: []\n", encoding="utf-8"
    )
    status, _, err = run(capsys, "cv", "--data", "x.csv", "--spec", str(bad))
    assert status == 2
    assert "features: Shorter than minimum length 1" in err


def test_python_dash_m_entry_point(cli_model: dict[str, Path]) -> None:
    row = json.dumps({"debt_ratio": 0.9})
    proc = run_module("score", "--model", str(cli_model["dir"]), "--row", row, "--json")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)) == ["pd", "score", "grade", "reasons"]
    proc = run_module("score", "--model", str(cli_model["dir"]), "--row", "{broken")
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr
