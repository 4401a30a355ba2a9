"""The pipeline against its baselines: hold-out check, search, out-of-time, monotone evidence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scoring import Spec, cross_validate, load_spec, read_data, train
from scoring.cli import main
from scoring.spec import GERMAN_CREDIT_SPEC_PATH, SBA_CASE_SPEC_PATH


@pytest.fixture(scope="module")
def german(german_path: Path) -> tuple[pd.DataFrame, Spec]:
    spec = load_spec(GERMAN_CREDIT_SPEC_PATH)
    return read_data(german_path, spec), spec


@pytest.fixture(scope="module")
def sba(sba_path: Path) -> tuple[pd.DataFrame, Spec]:
    spec = load_spec(SBA_CASE_SPEC_PATH)
    return read_data(sba_path, spec), spec


def _crippled(spec: Spec) -> Spec:
    """A pipeline made worse on purpose: stumps and two rounds."""
    params = dict(spec.params)
    params.update(num_boost_round=2, early_stopping_rounds=1, xgboost={"max_depth": 1})
    return replace(spec, params=params)


def test_train_compares_with_both_baselines_on_the_hold_out(sba: tuple[pd.DataFrame, Spec]) -> None:
    df, spec = sba
    trained = train(df, spec, seed=0, nthread=1)
    card = trained.card
    assert set(card["baselines"]) == {"logistic", "xgboost"}
    for b in card["baselines"].values():
        assert b["rows"] == card["metrics"]["rows"] == 421  # the same hold-out rows
    assert card["baseline_check"]["passed"] is True
    assert card["metrics"]["auc"] >= card["baselines"]["xgboost"]["auc"]
    assert "xgboost (baseline)" in trained.card_markdown


def test_a_worse_pipeline_is_flagged_and_refused_on_request(
    sba: tuple[pd.DataFrame, Spec],
    sba_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    df, spec = sba
    lines: list[str] = []
    card = train(df, _crippled(spec), seed=0, nthread=1, progress=lines.append).card
    assert card["baseline_check"]["passed"] is False
    assert {w["baseline"] for w in card["baseline_check"]["worse_than"]} == {"logistic", "xgboost"}
    assert any("WORSE than a baseline" in line for line in lines)
    assert "Do not promote" in train(df, _crippled(spec), seed=0, nthread=1).card_markdown
    crippled = tmp_path / "crippled.yaml"
    import yaml

    crippled.write_text(yaml.safe_dump(_crippled(spec).to_dict()), encoding="utf-8")
    args = ["train", "--data", str(sba_path), "--spec", str(crippled), "--out", str(tmp_path / "m")]
    assert main(args) == 0  # saved for inspection, with the warning
    assert main([*args, "--require-better"]) == 3
    assert "worse than a baseline" in capsys.readouterr().err


def test_search_is_seeded_budgeted_and_recorded(german: tuple[pd.DataFrame, Spec]) -> None:
    df, spec = german
    a = train(df, spec, seed=1, nthread=1, search_trials=4)
    b = train(df, spec, seed=1, nthread=1, search_trials=4)
    search = a.card["search"]
    assert search["trials"] == 4 and search["seed"] == 1
    assert search["best_logloss"] <= search["spec_params_logloss"]  # the spec is trial 1
    assert set(search["best_params"]) >= {"max_depth", "eta", "min_child_weight"}
    assert a.version == b.version  # same data, seed and trials: the same model
    assert "Hyper-parameter search" in a.card_markdown
    timed = train(df, spec, seed=1, nthread=1, search_seconds=0.5)
    assert timed.card["search"]["trials"] >= 1
    assert timed.card["search"]["seconds"] < 10


def test_out_of_time_cv_and_train(sba: tuple[pd.DataFrame, Spec]) -> None:
    df, spec = sba
    result = cross_validate(df, spec, folds=3, seed=0, nthread=1, by="ApprovalDate")
    assert list(result["methods"]) == ["pipeline", "pipeline_recent", "logistic", "xgboost"]
    assert result["by"] == "ApprovalDate"
    # Each fold trains on earlier approvals only and tests on the next period.
    oof = cross_validate(
        df, spec, folds=3, seed=0, nthread=1, by="ApprovalDate", oof=True, baseline=False
    )["oof"]
    dates = df["ApprovalDate"].to_numpy()
    first = dates[oof.loc[oof["fold"] == 1, "row"]]
    last = dates[oof.loc[oof["fold"] == 3, "row"]]
    assert first.max() <= last.min()
    trained = train(df, spec, seed=0, nthread=1, by="ApprovalDate")
    card = trained.card
    assert card["data"]["out_of_time_by"] == "ApprovalDate"
    assert card["recalibration"]["rows"] > 0
    assert isinstance(card["recalibration"]["applied"], bool)


def test_a_contradicted_monotone_sign_is_dropped_with_evidence(
    german: tuple[pd.DataFrame, Spec],
) -> None:
    df, spec = german
    wrong = replace(
        spec,
        features=tuple(
            replace(f, monotone=-1) if f.name == "duration_months" else f for f in spec.features
        ),
    )
    lines: list[str] = []
    model = train(df, wrong, seed=0, nthread=1, progress=lines.append).model
    report = {r["feature"]: r for r in model.card["monotone_check"]}
    duration = report["duration_months"]
    assert duration["verdict"] == "contradicted" and duration["used"] == 0
    assert duration["rho"] > 0 and duration["p"] < 0.05
    assert duration["bins"][0]["bad_rate"] < duration["bins"][-1]["bad_rate"]
    assert model.metadata["training"]["monotone_used"]["duration_months"] == 0
    assert any("duration_months" in line and "contradicted" in line for line in lines)
    refused = replace(wrong, params={**wrong.params, "monotone_check": "refuse"})
    with pytest.raises(ValueError, match="contradicts declared monotone signs: duration_months"):
        train(df, refused, seed=0, nthread=1)


def test_suggest_monotone_on_the_command_line(
    german_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    args = ["spec", "check", "--data", str(german_path), "--spec", str(GERMAN_CREDIT_SPEC_PATH)]
    assert main([*args, "--suggest-monotone", "--json"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    by = {r["feature"]: r for r in out["monotone"]}
    assert by["duration_months"]["suggested"] == 1
    assert by["duration_months"]["verdict"] == "supported"
    assert "credit_amount" in by  # every numeric feature, declared or not
    assert out["leakage"] == []
