"""``python -m scoring``: each command prints exactly its documented JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
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
    assert "fold 1/5: early stopping chose" in proc.stderr  # progress on stderr
    assert "baseline logistic" in proc.stderr and "saved platform-" in proc.stderr
    return {"dir": tmp / "m", "data": data, "tmp": tmp}


def test_train_reference_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(capsys, "train", "--reference", "--rows", "3000", "--out", str(tmp_path / "ref"))
    assert set(out) == {
        "version",
        "out",
        "rows",
        "bad_rate",
        "auc",
        "ks",
        "brier",
        "ece",
        "baselines",
        "baseline_check",
        "data_sha256",
    }
    assert out["rows"] == 3000
    assert (tmp_path / "ref" / "model.ubj").exists()


def test_cv_prints_the_pipeline_and_both_baselines_on_the_same_folds(
    german_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    oof = tmp_path / "oof.csv"
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
        "--save-oof",
        str(oof),
    )
    assert list(out) == [
        "folds",
        "rows",
        "bad_rate",
        "by",
        "methods",
        "auc_mean",
        "auc_std",
        "leakage",
        "verdict",
        "baseline_auc_mean",
        "baseline_auc_std",
    ]
    assert out["folds"] == 3 and out["rows"] == 1000
    assert list(out["methods"]) == ["pipeline", "logistic", "xgboost"]
    for m in out["methods"].values():
        assert {"auc", "ks", "brier", "ece", "auc_std"} <= set(m)
        assert len(m["fold_auc"]) == 3
    assert out["auc_mean"] == out["methods"]["pipeline"]["auc"]
    assert 0.6 < out["methods"]["xgboost"]["auc"] < 0.85
    frame = pd.read_csv(oof)
    assert list(frame.columns) == ["row", "fold", "bad", "pipeline", "logistic", "xgboost"]
    assert len(frame) == 1000 and sorted(frame["fold"].unique()) == [1, 2, 3]
    # The same folds for every method: the table printed on stderr lists all three.
    status, _, err = run(
        capsys,
        "cv",
        "--data",
        str(german_path),
        "--spec",
        str(GERMAN_CREDIT_SPEC_PATH),
        "--folds",
        "3",
    )
    assert status == 0
    assert "pipeline" in err and "logistic" in err and "xgboost" in err and "ECE" in err


def test_evaluate_json_keys(cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(
        capsys, "evaluate", "--model", str(cli_model["dir"]), "--data", str(cli_model["data"])
    )
    assert list(out) == ["auc", "ks", "brier", "ece", "rows", "bad_rate"]
    assert out["rows"] == 4000
    card = json.loads((cli_model["dir"] / "model_card.json").read_text(encoding="utf-8"))
    assert (card["data"]["source"], card["data"]["period"]) == ("test export", "2020-2024")


def _complete_row(**overrides: Any) -> dict[str, Any]:
    """A whole application from the reference data, with some values changed."""
    row = generate_reference_data(5, seed=8).drop(columns=["bad"]).iloc[0].to_dict()
    row = {k: (None if v != v else v) for k, v in row.items()}
    row.update(overrides)
    return row


SCORE_KEYS = [
    "status",
    "pd",
    "score",
    "grade",
    "reasons",
    "context",
    "missing_inputs",
    "missing_required",
    "coerced",
    "problems",
]
REASON_KEYS = ["feature", "code", "contribution", "text_zh", "text_en", "action_zh", "action_en"]


def test_score_json_keys(cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    row = _complete_row(
        overdue_count_24m=3, max_overdue_days_24m=60, debt_ratio=0.9, tax_credit_rank=4
    )
    out = run_json(capsys, "score", "--model", str(cli_model["dir"]), "--row", json.dumps(row))
    assert list(out) == SCORE_KEYS
    assert out["status"] == "scored"
    assert out["reasons"]
    for r in out["reasons"]:
        assert list(r) == REASON_KEYS
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
    out = json.loads(proc.stdout)
    assert list(out) == SCORE_KEYS
    # One figure is not an application: no score, and the required inputs are named.
    assert out["status"] == "insufficient_data" and out["grade"] is None
    assert "revenue_10k" in out["missing_required"]
    proc = run_module("score", "--model", str(cli_model["dir"]), "--row", "{broken")
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr


def test_an_empty_or_misspelt_row_is_never_scored(
    cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(cli_model["dir"])
    empty = run_json(capsys, "score", "--model", model, "--row", "{}")
    assert empty["status"] == "insufficient_data"
    assert (empty["pd"], empty["score"], empty["grade"]) == (None, None, None)
    assert len(empty["missing_inputs"]) == 24
    misspelt = {k.replace("_", "-"): v for k, v in _complete_row().items()}
    status, _, err = run(capsys, "score", "--model", model, "--row", json.dumps(misspelt))
    assert status == 2
    assert "unknown input 'debt-ratio' (did you mean 'debt_ratio'?)" in err
    lenient = run_json(
        capsys, "score", "--model", model, "--row", json.dumps(misspelt), "--lenient"
    )
    assert lenient["status"] == "insufficient_data" and lenient["grade"] is None
    assert any("debt-ratio" in p for p in lenient["problems"])


def test_coercions_are_explicit_and_impossible_values_refused(
    cli_model: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(cli_model["dir"])
    base = _complete_row(debt_ratio=0.37951)
    plain = run_json(capsys, "score", "--model", model, "--row", json.dumps(base))
    comma = run_json(
        capsys, "score", "--model", model, "--row", json.dumps({**base, "debt_ratio": "0,37951"})
    )
    # A decimal comma is a decimal point (not 37951), and the output says how it was read.
    assert comma["pd"] == plain["pd"]
    assert comma["coerced"] == [
        {
            "feature": "debt_ratio",
            "given": "0,37951",
            "used": pytest.approx(0.37951),
            "note": "decimal comma read as a point",
        }
    ]
    for value, message in (
        ("1e400", "out of the range of numbers"),
        ("inf", "is not a number"),
        (37951, "outside the plausible range"),
    ):
        row = json.dumps({**base, "debt_ratio": value})
        status, _, err = run(capsys, "score", "--model", model, "--row", row)
        assert status == 2, value
        assert message in err, err
    row = json.dumps({**base, "serious_bad_credit_24m": 2})
    status, _, err = run(capsys, "score", "--model", model, "--row", row)
    assert status == 2
    assert "serious_bad_credit_24m: '2' is not yes/no" in err
