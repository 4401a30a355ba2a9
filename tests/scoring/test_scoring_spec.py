"""Feature specs: the shipped specs load; broken specs fail with clear messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring import PLATFORM_SPEC_PATH, SpecError, load_spec
from scoring.spec import GERMAN_CREDIT_SPEC_PATH, SBA_CASE_SPEC_PATH, spec_from_dict


def _spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "t",
        "target": {"column": "bad", "bad_values": [1]},
        "features": [
            {
                "name": "x",
                "kind": "numeric",
                "monotone": 1,
                "actionable": True,
                "reason_zh": "x 偏高",
                "reason_en": "High x",
            },
        ],
    }
    base.update(changes)
    return base


def _feature(**changes: Any) -> dict[str, Any]:
    f = {"name": "y", "kind": "numeric", "reason_zh": "y", "reason_en": "y"}
    f.update(changes)
    return f


def test_platform_spec_covers_the_profile_features() -> None:
    spec = load_spec(PLATFORM_SPEC_PATH)
    names = {f.name for f in spec.features}
    for expected in (
        "firm_age_years",
        "employees",
        "revenue_10k",
        "revenue_growth",
        "net_margin",
        "debt_ratio",
        "tax_paid_10k",
        "tax_credit_rank",
        "social_insured_ratio",
        "invention_patents",
        "other_ip",
        "tech_certifications",
        "park_or_chamber_member",
        "existing_loan_to_revenue",
        "overdue_count_24m",
        "max_overdue_days_24m",
        "pending_lawsuits",
        "enforcement_records",
        "admin_penalties_24m",
        "serious_bad_credit_24m",
        "credit_repair_completed",
        "amount_to_revenue",
        "term_months",
    ):
        assert expected in names
    assert spec.feature("overdue_count_24m").monotone == 1
    assert spec.feature("firm_age_years").actionable is False
    assert all(f.reason_zh and f.reason_en for f in spec.features)


def test_german_spec_keeps_protected_attributes_out_of_the_model() -> None:
    spec = load_spec(GERMAN_CREDIT_SPEC_PATH)
    protected = {f.name for f in spec.features if f.protected}
    assert protected == {"personal_status_sex", "foreign_worker"}
    assert protected.isdisjoint(f.name for f in spec.model_features)
    assert len(spec.model_features) == 18
    kinds = {f.name: f.kind for f in spec.features}
    assert [n for n, k in kinds.items() if k == "numeric"] == [
        "duration_months",
        "credit_amount",
        "installment_rate",
        "residence_since",
        "age_years",
        "existing_credits",
        "dependents",
    ]


def test_sba_spec_leaves_out_leaking_columns() -> None:
    spec = load_spec(SBA_CASE_SPEC_PATH)
    columns = {f.column for f in spec.features}
    leaking = {
        "Term",
        "daysterm",
        "xx",
        "ChgOffDate",
        "ChgOffPrinGr",
        "BalanceGross",
        "MIS_Status",
        "DisbursementDate",
        "LoanNr_ChkDgt",
        "Name",
        "Zip",
        "Selected",
        "RealEstate",
        "Recession",
    }
    assert columns.isdisjoint(leaking)
    for col in ("ApprovalFY", "State", "BankState"):
        assert next(f for f in spec.features if f.column == col).actionable is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_spec(features=[_feature(kind="text")]), "features.0.kind: Must be one of"),
        (_spec(features=[_feature(kind="categorical", monotone=1)]), "monotone must be 0"),
        (_spec(features=[_feature(monotone=2)]), "features.0.monotone"),
        (_spec(features=[_feature(protected=True, actionable=True)]), "cannot be actionable"),
        (_spec(features=[_feature(), _feature()]), "feature names repeat: y"),
        (_spec(features=[_feature(column="bad")]), "target column 'bad' is also a feature"),
        (
            _spec(features=[_feature(kind="categorical", range=[0, 1])]),
            "features.0.range: range is [lowest, highest] of a numeric feature",
        ),
        (_spec(features=[_feature(kind="boolean", true_values=[1])]), "give both"),
        (_spec(read={"header": False}), "needs read.columns"),
        (_spec(colour="red"), "colour: Unknown field"),
        (_spec(target={"column": "bad", "bad_values": []}), "target.bad_values"),
        (_spec(features=[_feature(protected=True)]), "every feature is protected"),
    ],
)
def test_broken_spec_is_refused_with_a_clear_message(data: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        spec_from_dict(data, "test.yaml")
    assert message in str(info.value)
    assert "test.yaml" in str(info.value)


def test_load_spec_reports_bad_yaml_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")


def test_spec_round_trips_through_plain_data(tmp_path: Path) -> None:
    spec = load_spec(GERMAN_CREDIT_SPEC_PATH)
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(spec.to_dict(), allow_unicode=True), encoding="utf-8")
    assert load_spec(path) == spec


def test_unknown_training_setting_is_refused() -> None:
    from scoring.training import TrainConfig

    spec = spec_from_dict(_spec(params={"learning_rate": 0.1}))
    with pytest.raises(SpecError, match="params.learning_rate: unknown setting"):
        TrainConfig.from_spec(spec)
    spec = spec_from_dict(_spec(params={"xgboost": {"monotone_constraints": "(0)"}}))
    with pytest.raises(SpecError, match="set by the pipeline"):
        TrainConfig.from_spec(spec)


def test_reason_texts_are_generated_from_labels_when_the_spec_has_none() -> None:
    spec = spec_from_dict(
        _spec(
            features=[
                {"name": "debt_ratio", "kind": "numeric", "monotone": 1, "label_zh": "资产负债率"},
                {"name": "Attr7", "kind": "numeric", "description": "EBIT / total assets"},
            ]
        )
    )
    debt, attr = spec.features
    assert (debt.reason_zh, debt.reason_en) == ("资产负债率偏高", "High 资产负债率")
    assert (attr.reason_zh, attr.reason_en) == (
        "EBIT / total assets：{value}",
        "EBIT / total assets: {value}",
    )
