"""Reason codes are true of the applicant: risky side, reason_if, missing values, old models."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import load_model, load_spec
from scoring.spec import (
    GERMAN_CREDIT_SPEC_PATH,
    PLATFORM_SPEC_PATH,
    SBA_CASE_SPEC_PATH,
    Condition,
    spec_from_dict,
)

Check = Callable[[Any, Mapping[str, Any], Mapping[str, Any]], str]
ROOT = Path(__file__).resolve().parents[2]

# The audit's case: a certified tech SME without bad credit records.
AUDIT_ROW: dict[str, Any] = {
    "firm_age_years": 5,
    "employees": 20,
    "revenue_10k": 800,
    "revenue_growth": 0.05,
    "net_margin": 0.06,
    "debt_ratio": 0.4,
    "tax_paid_10k": 30,
    "tax_credit_rank": 1,
    "social_insured_ratio": 0.9,
    "invention_patents": 0,
    "other_ip": 2,
    "tech_certifications": 1,
    "park_or_chamber_member": 0,
    "has_bank_loan_history": 1,
    "existing_loan_to_revenue": 0.1,
    "overdue_count_24m": 0,
    "max_overdue_days_24m": 0,
    "pending_lawsuits": 0,
    "enforcement_records": 0,
    "admin_penalties_24m": 0,
    "serious_bad_credit_24m": 0,
    "credit_repair_completed": 0,
    "amount_to_revenue": 0.2,
    "term_months": 12,
}
FALSE_FOR_AUDIT_ROW = {"tech_certifications", "credit_repair_completed"}


def _contribution(model: Any, row: Mapping[str, Any], name: str) -> float:
    contribs = model.contributions(model.encoder.encode_row(row))[0]
    return float(contribs[model.feature_names.index(name)])


def _row(df: pd.DataFrame, i: int) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and math.isnan(v) else v)
        for k, v in df.iloc[i].to_dict().items()
    }


def test_the_audit_case_gets_neither_false_reason(reference_model: Any) -> None:
    # SHAP alone would name both: they raise this firm's risk relative to the average.
    for name in FALSE_FOR_AUDIT_ROW:
        assert _contribution(reference_model, AUDIT_ROW, name) > 0
    every = len(reference_model.feature_names)
    reasons = reference_model.score_one(AUDIT_ROW, max_reasons=every).reasons
    assert reasons  # other, true reasons remain (not a park or chamber member, no patents)
    assert FALSE_FOR_AUDIT_ROW.isdisjoint(r["feature"] for r in reasons)
    texts = {r["text_zh"] for r in reasons}
    assert not any(t.startswith("未取得科技型中小企业") or "信用修复" in t for t in texts)
    batch = reference_model.score_many(pd.DataFrame([AUDIT_ROW]), reasons=True, max_reasons=every)
    assert batch["reasons"].iloc[0] == reasons


def test_the_audit_case_on_the_command_line(reference_dir: dict[str, Any]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "score", "--model", str(reference_dir["dir"])]
        + ["--row", json.dumps(AUDIT_ROW), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["status"] == "scored"
    assert list(out)[:5] == ["status", "pd", "score", "grade", "reasons"]
    assert FALSE_FOR_AUDIT_ROW.isdisjoint(r["feature"] for r in out["reasons"])


def test_credit_repair_is_a_reason_only_after_serious_bad_credit(reference_model: Any) -> None:
    every = len(reference_model.feature_names)
    bad = dict(AUDIT_ROW, serious_bad_credit_24m=1, credit_repair_completed=0)
    assert _contribution(reference_model, bad, "credit_repair_completed") > 0
    names = [r["feature"] for r in reference_model.score_one(bad, max_reasons=every).reasons]
    assert "serious_bad_credit_24m" in names
    assert "credit_repair_completed" in names
    repaired = dict(bad, credit_repair_completed=1)
    names = [r["feature"] for r in reference_model.score_one(repaired, max_reasons=every).reasons]
    assert "credit_repair_completed" not in names


def test_counts_and_booleans_follow_their_value(reference_model: Any) -> None:
    every = len(reference_model.feature_names)

    def names(**change: Any) -> set[str]:
        row = dict(AUDIT_ROW, **change)
        return {r["feature"] for r in reference_model.score_one(row, max_reasons=every).reasons}

    assert "overdue_count_24m" in names(overdue_count_24m=2, max_overdue_days_24m=40)
    assert "overdue_count_24m" not in names(overdue_count_24m=0)
    assert "tech_certifications" in names(tech_certifications=0)
    assert "park_or_chamber_member" not in names(park_or_chamber_member=1)
    # A missing certification count is not "no certification": the spec has no text for it.
    assert "tech_certifications" not in names(tech_certifications=None)
    # The tax grade has a missing-value text, and uses it.
    missing_grade = reference_model.score_one(
        dict(AUDIT_ROW, tax_credit_rank=None, debt_ratio=0.8), max_reasons=every
    ).reasons
    for r in missing_grade:
        if r["feature"] == "tax_credit_rank":
            assert r["text_zh"] == "未提供纳税信用等级"


def test_continuous_features_are_reasons_only_on_the_risky_side_of_the_median(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    medians = reference_model.metadata["reason_thresholds"]
    assert medians["revenue_10k"] > 0 and 0 < medians["debt_ratio"] < 1
    out = reference_model.score_many(fresh_reference.head(3000), reasons=True, max_reasons=24)
    for i, reasons in enumerate(out["reasons"]):
        row = fresh_reference.iloc[i]
        for r in reasons:
            if r["feature"] == "debt_ratio" and not math.isnan(row["debt_ratio"]):
                assert row["debt_ratio"] > medians["debt_ratio"] - 1e-6
            if r["feature"] == "net_margin":
                assert row["net_margin"] < medians["net_margin"] + 1e-6


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    index=st.integers(0, 9_999),
    blank=st.sets(
        st.sampled_from(
            [
                "debt_ratio",
                "tax_credit_rank",
                "net_margin",
                "invention_patents",
                "credit_repair_completed",
            ]
        )
    ),
    counts=st.fixed_dictionaries(
        {},
        optional={
            "overdue_count_24m": st.integers(0, 6),
            "tech_certifications": st.integers(0, 4),
            "serious_bad_credit_24m": st.integers(0, 1),
            "credit_repair_completed": st.integers(0, 1),
            "invention_patents": st.integers(0, 3),
        },
    ),
)
def test_every_reason_is_true_of_its_row(
    reference_model: Any,
    fresh_reference: pd.DataFrame,
    reason_check: Check,
    index: int,
    blank: set[str],
    counts: dict[str, int],
) -> None:
    row = _row(fresh_reference, index)
    row.update(counts)
    row.update(dict.fromkeys(blank))
    every = len(reference_model.feature_names)
    reasons = reference_model.score_one(row, max_reasons=every).reasons
    for r in reasons:
        assert reason_check(reference_model, row, r) == ""
    batch = reference_model.score_many(pd.DataFrame([row]), reasons=True, max_reasons=every)
    assert batch["reasons"].iloc[0] == reasons


def test_every_batch_reason_is_true_of_its_row(
    reference_model: Any, fresh_reference: pd.DataFrame, reason_check: Check
) -> None:
    df = fresh_reference.head(4000)
    out = reference_model.score_many(df, reasons=True, max_reasons=24)
    seen = set()
    for i, reasons in enumerate(out["reasons"]):
        row = _row(df, i)
        for r in reasons:
            assert reason_check(reference_model, row, r) == "", r
            seen.add(r["feature"])
    assert "credit_repair_completed" in seen or "serious_bad_credit_24m" in seen
    assert len(seen) >= 12


def _as_old_model(src: Path, dst: Path) -> Path:
    """A copy of the model as saved before reason rules: no thresholds, no rule keys."""
    shutil.copytree(src, dst)
    meta_path = dst / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["reason_thresholds"]
    rule_keys = ("reason_threshold", "reason_if", "reason_missing_zh", "reason_missing_en")
    for f in meta["spec"]["features"]:
        for k in rule_keys:
            f.pop(k, None)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return dst


def test_models_saved_before_reason_rules_still_load_and_tell_the_truth(
    reference_dir: dict[str, Any], fresh_reference: pd.DataFrame, tmp_path: Path
) -> None:
    old = load_model(_as_old_model(reference_dir["dir"], tmp_path / "old"))
    every = len(old.feature_names)
    names = {r["feature"] for r in old.score_one(AUDIT_ROW, max_reasons=every).reasons}
    assert FALSE_FOR_AUDIT_ROW.isdisjoint(names)
    out = old.score_many(fresh_reference.head(2000), reasons=True, max_reasons=every)
    seen = {r["feature"] for rs in out["reasons"] for r in rs}
    # Booleans and counts (thresholds from the packaged platform spec) still give reasons...
    assert {"park_or_chamber_member", "tech_certifications", "invention_patents"} <= seen
    # ... continuous features, with no training median to compare with, never do
    # (except for a missing value where the spec has a text for that).
    continuous = {"net_margin", "debt_ratio", "tax_paid_10k", "social_insured_ratio"}
    continuous |= {"amount_to_revenue", "existing_loan_to_revenue", "term_months"}
    for i, reasons in enumerate(out["reasons"]):
        for r in reasons:
            if r["feature"] in continuous:
                assert math.isnan(fresh_reference[r["feature"]].iloc[i])
                assert r["text_zh"].startswith("未提供")
    bad = dict(AUDIT_ROW, serious_bad_credit_24m=1)
    bad_names = {r["feature"] for r in old.score_one(bad, max_reasons=every).reasons}
    assert "credit_repair_completed" in bad_names


def test_spec_reason_rules_are_validated_and_round_trip() -> None:
    base = load_spec(PLATFORM_SPEC_PATH).to_dict()
    spec = spec_from_dict(base)
    repair = spec.feature("credit_repair_completed")
    assert repair.reason_if == (Condition("serious_bad_credit_24m", "eq", 1),)
    assert spec.feature("tech_certifications").reason_threshold == 1
    assert spec_from_dict(spec.to_dict()) == spec

    def problems(**change: Any) -> str:
        data = json.loads(json.dumps(base))
        feats = {f["name"]: f for f in data["features"]}
        for name, keys in change.items():
            feats[name].update(keys)
        try:
            spec_from_dict(data, "test")
        except ValueError as exc:
            return str(exc)
        return ""

    cond = {"feature": "serious_bad_credit_24m", "op": "eq", "value": 1}
    assert problems(credit_repair_completed={"reason_if": [cond, cond]}) == ""
    assert "not a feature" in problems(
        credit_repair_completed={"reason_if": {"feature": "nope", "op": "eq", "value": 1}}
    )
    assert "op" in problems(
        credit_repair_completed={"reason_if": {"feature": "x", "op": "like", "value": 1}}
    )
    assert "non-empty list" in problems(
        credit_repair_completed={"reason_if": dict(cond, op="in", value=1)}
    )
    assert "needs numbers" in problems(
        credit_repair_completed={"reason_if": dict(cond, value="yes")}
    )
    assert "reason threshold" in problems(park_or_chamber_member={"reason_threshold": 0})
    assert "reason_missing_en" in problems(debt_ratio={"reason_missing_en": ""})
    assert "unknown" in problems(debt_ratio={"reason_when": 1}).lower()


def test_public_data_specs_have_true_reason_rules() -> None:
    german = load_spec(GERMAN_CREDIT_SPEC_PATH)
    assert german.feature("checking_status").reason_if == (
        Condition("checking_status", "in", ("A11", "A12")),
    )
    sba = load_spec(SBA_CASE_SPEC_PATH)
    assert sba.feature("revolving_line").reason_if
    # Neutral texts on unordered features without reason_if: never reasons.
    assert not german.feature("credit_history").reason_if
    assert not sba.feature("low_doc").reason_if


def test_every_actionable_platform_reason_maps_to_a_step() -> None:
    from scoring import PLATFORM_SPEC_PATH, load_spec, reason_steps

    steps = reason_steps(load_spec(PLATFORM_SPEC_PATH))
    assert "DEBT_RATIO" in steps and "OVERDUE_COUNT_24M" in steps
    for code, step in steps.items():
        assert step["action_zh"] and step["action_en"], code
    assert "FIRM_AGE_YEARS" not in steps  # not actionable: context for the advisor only


def test_every_risky_reference_score_is_explained(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    out = reference_model.score_many(fresh_reference.head(3000), reasons=True)
    risky = out[out["grade"] != "A"]
    assert all(r or c for r, c in zip(risky["reasons"], risky["context"], strict=True))
    # A firm is told what to do: each reason names its step.
    assert all(x["action_zh"] for rs in risky["reasons"] for x in rs)
