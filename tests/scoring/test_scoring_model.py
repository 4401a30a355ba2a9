"""The reference model: calibration, monotonicity, reasons, scaling, persistence."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    Grades,
    ModelError,
    ScoreScale,
    compare_on_holdout,
    generate_reference_data,
    load_model,
    load_spec,
    train,
)
from scoring.metrics import calibration_table, ece
from scoring.spec import PLATFORM_SPEC_PATH


def _rows(df: pd.DataFrame, names: list[str], n: int) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in df[names].head(n).to_dict("records")
    ]


def test_reference_model_trains_fast_and_says_it_is_synthetic(
    reference_dir: dict[str, Any],
) -> None:
    assert reference_dir["seconds"] < 30
    model = load_model(reference_dir["dir"])
    assert model.card["synthetic"] is True
    assert "synthetic reference data" in model.card["data"]["source"]
    assert "Synthetic reference data" in model.card_markdown
    assert model.version.startswith("platform-")
    for key in ("auc", "ks", "brier", "ece", "rows", "bad_rate"):
        assert key in model.card["metrics"]
    assert len(model.card["calibration_table"]) == 10
    assert sum(b["rows"] for b in model.card["score_bands"]) == model.card["metrics"]["rows"]
    assert [g["grade"] for g in model.card["grade_table"]] == ["A", "B", "C", "D", "E"]
    files = sorted(p.name for p in Path(reference_dir["dir"]).iterdir())
    assert files == ["metadata.json", "model.ubj", "model_card.json", "model_card.md"]
    # The card says which data trained it, and how it did against the two baselines.
    assert len(model.card["data"]["sha256"]) == 64
    assert model.metadata["training_data_sha256"] == model.card["data"]["sha256"]
    assert set(model.card["baselines"]) == {"logistic", "xgboost"}
    assert model.card["baseline_check"]["passed"] is True


def test_calibration_on_held_out_reference_data(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    # The card's own hold-out (5,000 rows never used for trees or calibration) ...
    card = reference_model.card
    assert card["metrics"]["rows"] >= 5000
    assert card["metrics"]["ece"] <= 0.03
    # ... and 10,000 freshly generated rows.
    y = fresh_reference["bad"].to_numpy()
    pd_ = reference_model.predict_pd(fresh_reference)
    assert ece(y, pd_) <= 0.03
    assert abs(pd_.mean() - y.mean()) < 0.01
    table = calibration_table(y, pd_)
    assert table[0]["bad_rate"] < table[-1]["bad_rate"]
    assert reference_model.card["metrics"]["auc"] > 0.75


def test_ece_detects_a_miscalibrated_model(fresh_reference: pd.DataFrame) -> None:
    y = fresh_reference["bad"].to_numpy()
    assert ece(y, np.full(len(y), 0.3)) > 0.2


def test_monotone_features_never_move_pd_the_wrong_way(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    rng = np.random.default_rng(7)
    names = reference_model.feature_names
    base = reference_model.encoder.transform(fresh_reference)
    rows = base[rng.choice(len(base), 300, replace=False)]
    checked = 0
    for j, f in enumerate(reference_model.features):
        if f.monotone == 0:
            continue
        col = base[:, j][~np.isnan(base[:, j])]
        grid = np.unique(np.quantile(col, np.linspace(0, 1, 12)))
        grid = np.concatenate([[col.min() - 1], grid, [col.max() * 2 + 1]])
        pds = []
        for value in grid:
            x = rows.copy()
            x[:, j] = value
            pds.append(reference_model.pds_from_matrix(x, 1))
        steps = np.diff(np.vstack(pds), axis=0) * f.monotone
        assert (steps >= -1e-12).all(), f"{names[j]} moved PD against monotone {f.monotone}"
        checked += 1
    assert checked == sum(1 for f in reference_model.features if f.monotone)


def test_more_overdue_records_never_lower_the_pd_of_one_application(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    for row in _rows(fresh_reference, reference_model.feature_names, 50):
        pds = []
        for n in range(0, 8):
            row["overdue_count_24m"] = n
            pds.append(reference_model.score_one(row, explain=False).pd)
        assert pds == sorted(pds)


def test_reasons_are_actionable_risk_raising_and_bilingual(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    never = {f.name for f in reference_model.spec.features if not f.actionable or f.protected}
    assert never  # the platform spec has non-actionable features to keep out
    out = reference_model.score_many(fresh_reference.head(3000), reasons=True)
    seen: set[str] = set()
    for reasons in out["reasons"]:
        assert len(reasons) <= 4
        contributions = [r["contribution"] for r in reasons]
        assert contributions == sorted(contributions, reverse=True)
        for r in reasons:
            keys = {"feature", "code", "contribution", "text_zh", "text_en", "action_zh"}
            assert set(r) == keys | {"action_en"}
            assert r["feature"] not in never
            assert r["contribution"] > 0
            spec_f = reference_model.spec.feature(r["feature"])
            assert (r["text_zh"], r["text_en"]) in {
                (spec_f.reason_zh, spec_f.reason_en),
                (spec_f.reason_missing_zh, spec_f.reason_missing_en),
            }
            assert r["text_zh"] and r["text_en"]
            seen.add(r["feature"])
    # Non-actionable features do push risk up for many rows: the filter is doing work.
    contribs = reference_model.contributions(
        reference_model.encoder.transform(fresh_reference.head(3000))
    )
    idx = [reference_model.feature_names.index(n) for n in never]
    assert (contribs[:, idx] > 0).any()
    assert len(seen) >= 8


def test_reasons_come_from_xgboost_shap_values(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    row = _rows(fresh_reference, reference_model.feature_names, 1)[0]
    row.update(
        overdue_count_24m=5, max_overdue_days_24m=120, debt_ratio=0.95, serious_bad_credit_24m=1
    )
    result = reference_model.score_one(row, max_reasons=10)
    contribs = reference_model.contributions(reference_model.encoder.encode_row(row))[0]
    # SHAP values add up to the booster's margin.
    margin = reference_model.booster.inplace_predict(
        reference_model.encoder.encode_row(row), predict_type="margin"
    )[0]
    assert contribs.sum() == pytest.approx(margin, abs=1e-4)
    by_name = dict(zip(reference_model.feature_names, contribs, strict=False))
    for r in result.reasons:
        assert r["contribution"] == pytest.approx(by_name[r["feature"]], abs=1e-4)
    assert {"overdue_count_24m", "debt_ratio"} & {r["feature"] for r in result.reasons}
    assert result.grade in "DE"


def test_score_one_matches_score_many(reference_model: Any, fresh_reference: pd.DataFrame) -> None:
    batch = reference_model.score_many(fresh_reference.head(200))
    for i, row in enumerate(_rows(fresh_reference, reference_model.feature_names, 200)):
        one = reference_model.score_one(row, explain=False)
        assert one.pd == pytest.approx(batch["pd"].iloc[i], rel=1e-6)
        assert one.score == batch["score"].iloc[i]
        assert one.grade == batch["grade"].iloc[i]


def test_score_scale_and_grades(reference_model: Any, fresh_reference: pd.DataFrame) -> None:
    scale = ScoreScale()
    assert scale.score_one(1 / 51) == 600  # 50:1 good:bad odds
    assert scale.score_one(1 / 101) == 620  # odds doubled: +20 points
    assert scale.pd_at(600) == pytest.approx(1 / 51)
    assert Grades().min_scores(scale) == [600, 573, 551, 528]
    assert [reference_model.grade_of(s) for s in (600, 599, 573, 572, 551, 550, 528, 527)] == list(
        "ABBCCDDE"
    )
    custom = ScoreScale(base_score=500, base_odds=20, pdo=40)
    assert custom.score_one(1 / 21) == 500
    assert custom.score_one(1 / 41) == 540
    out = reference_model.score_many(fresh_reference)
    # Higher score, lower PD; grades follow the PD cut-offs.
    order = np.argsort(out["pd"].to_numpy())
    assert (np.diff(out["score"].to_numpy()[order]) <= 0).all()
    ranges = {"A": (600, 10_000), "B": (573, 599), "C": (551, 572), "D": (528, 550), "E": (0, 527)}
    for grade, (lo, hi) in ranges.items():
        sub = out.loc[out["grade"] == grade, "score"]
        assert ((sub >= lo) & (sub <= hi)).all()
        # The nominal PD bounds hold to within half a point of score.
    assert (out.loc[out["grade"] == "A", "pd"] < scale.pd_at(599.5)).all()
    assert (out.loc[out["grade"] == "E", "pd"] > scale.pd_at(527.5)).all()
    assert set(out["grade"].unique()) == set("ABCDE")


def test_missing_values_are_allowed_but_an_empty_row_is_not_scored(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    empty = reference_model.score_one({})
    assert (empty.status, empty.pd, empty.score, empty.grade) == (
        "insufficient_data",
        None,
        None,
        None,
    )
    assert set(empty.missing_required) == set(reference_model.required)
    row = _rows(fresh_reference, reference_model.feature_names, 1)[0]
    partial = reference_model.score_one({**row, "debt_ratio": "0.9", "net_margin": None})
    assert partial.status == "scored" and 0 < partial.pd < 1
    assert "net_margin" in partial.missing
    no_record = reference_model.score_one({**row, "overdue_count_24m": None})
    assert no_record.status == "insufficient_data"
    assert no_record.missing_required == ["overdue_count_24m"]
    # Batches follow the same rule: rows without required inputs get no PD, score or grade.
    few = reference_model.score_many(pd.DataFrame({"debt_ratio": [0.2, 0.9]}), missing_ok=True)
    assert few["pd"].isna().all() and few["grade"].isna().all() and few["score"].isna().all()
    frame = fresh_reference.head(2).copy()
    frame["debt_ratio"] = [0.2, 0.9]
    frame["serious_bad_credit_24m"] = 0.0
    scored = reference_model.score_many(frame)
    assert scored["grade"].notna().all()
    with pytest.raises(ValueError, match="not in the data"):
        reference_model.score_many(pd.DataFrame({"debt_ratio": [0.2]}))


def test_to_dict_has_the_cli_keys(reference_model: Any, fresh_reference: pd.DataFrame) -> None:
    row = _rows(fresh_reference, reference_model.feature_names, 1)[0]
    d = reference_model.score_one(row).to_dict()
    assert list(d) == [
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
    json.dumps(d, ensure_ascii=False)


def test_save_load_round_trip_gives_identical_predictions(
    reference_dir: dict[str, Any],
    reference_model: Any,
    fresh_reference: pd.DataFrame,
    tmp_path: Path,
) -> None:
    trained = reference_dir["trained"]
    before = trained.score_many(fresh_reference)
    after = reference_model.score_many(fresh_reference)
    pd.testing.assert_frame_equal(before, after)
    assert reference_model.version == trained.version
    again = load_model(reference_model.save(tmp_path / "copy"))
    pd.testing.assert_frame_equal(again.score_many(fresh_reference), after)
    raw = (tmp_path / "copy" / "model.ubj").read_bytes()
    assert raw.startswith(b"{") and b"learner" in raw  # XGBoost's own UBJSON, not a pickle


def test_changed_booster_file_is_refused(reference_dir: dict[str, Any], tmp_path: Path) -> None:
    copy = load_model(reference_dir["dir"]).save(tmp_path / "m")
    raw = (copy / "model.ubj").read_bytes()
    (copy / "model.ubj").write_bytes(raw.replace(b"learner", b"learnes", 1))
    with pytest.raises(ModelError, match="does not match"):
        load_model(copy)
    with pytest.raises(ModelError, match="not a model directory"):
        load_model(tmp_path / "nothing")


def test_training_is_reproducible_with_a_seed(fresh_reference: pd.DataFrame) -> None:
    spec = load_spec(PLATFORM_SPEC_PATH)
    df = generate_reference_data(6000, seed=3)
    a = train(df, spec, seed=5, nthread=1)
    b = train(df, spec, seed=5, nthread=1)
    c = train(df, spec, seed=6, nthread=1)
    assert a.version == b.version
    np.testing.assert_array_equal(
        a.model.predict_pd(fresh_reference), b.model.predict_pd(fresh_reference)
    )
    assert c.version != a.version


def test_calibration_is_cross_fitted_on_every_fit_row(reference_model: Any) -> None:
    splits = reference_model.metadata["training"]["splits"]
    rows = reference_model.card["data"]["rows"]
    assert splits["fit"] + splits["holdout"] == rows
    assert splits["holdout"] == rows // 5
    # No rows carved out for calibration: it saw the out-of-fold margin of every fit row.
    assert reference_model.metadata["calibration"]["rows"] == splits["fit"]
    assert reference_model.card["model"]["folds"] == 5


def test_compare_on_holdout(reference_model: Any, fresh_reference: pd.DataFrame) -> None:
    spec = load_spec(PLATFORM_SPEC_PATH)
    weak = train(generate_reference_data(1500, seed=9), spec, seed=0, nthread=1).model
    out = compare_on_holdout(reference_model, weak, fresh_reference)
    assert out["rows"] == len(fresh_reference)
    assert out["champion"]["version"] == reference_model.version
    assert out["challenger"]["version"] == weak.version
    assert out["delta_auc"] == pytest.approx(out["challenger"]["auc"] - out["champion"]["auc"])
    assert out["better"] == "champion"
    assert compare_on_holdout(weak, reference_model, fresh_reference)["better"] == "challenger"


def test_isotonic_calibration_is_an_option_and_stays_monotone(
    fresh_reference: pd.DataFrame,
) -> None:
    spec = load_spec(PLATFORM_SPEC_PATH)
    trained = train(
        generate_reference_data(25_000, seed=2), spec, seed=2, nthread=1, calibration="isotonic"
    )
    cal = trained.model.calibrator
    assert cal.method_ == "isotonic"
    assert (np.diff(cal.y_) > 0).all() and (np.diff(cal.x_) > 0).all()
    y = fresh_reference["bad"].to_numpy()
    pds = trained.model.predict_pd(fresh_reference)
    assert ece(y, pds) <= 0.03
    # Interpolated between block centres: far more distinct PDs than blocks.
    assert len(np.unique(pds)) > 10 * len(cal.x_)


@given(data=st.data())
@settings(max_examples=150, deadline=None, derandomize=True)
def test_raising_a_monotone_feature_never_moves_pd_against_it(
    reference_model: Any, fresh_reference: pd.DataFrame, data: st.DataObject
) -> None:
    names = reference_model.feature_names
    row = _rows(fresh_reference, names, 500)[data.draw(st.integers(0, 499), label="row")]
    monotone = [f for f in reference_model.features if f.monotone]
    f = monotone[data.draw(st.integers(0, len(monotone) - 1), label="feature")]
    if f.kind == "boolean":
        low, high = 0.0, float(data.draw(st.integers(0, 1), label="high"))
    else:
        # Within the plausible range: values outside it are refused (a separate test).
        lo = -5.0 if f.valid_min is None else f.valid_min
        hi = 500.0 if f.valid_max is None else min(f.valid_max, lo + 1000.0)
        low = data.draw(st.floats(lo, hi, allow_nan=False), label="low")
        high = low + data.draw(st.floats(0, hi - low, allow_nan=False), label="step")
    pd_low = reference_model.score_one({**row, f.name: low}, explain=False).pd
    pd_high = reference_model.score_one({**row, f.name: high}, explain=False).pd
    assert (pd_high - pd_low) * f.monotone >= -1e-12


def test_batch_encoding_does_not_depend_on_column_types(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    df = fresh_reference[reference_model.feature_names].head(2000)
    original = df.copy(deep=True)
    expected = reference_model.score_many(df)
    as_float32 = df.astype(np.float32)  # one block: pandas may hand out a read-only view
    pd.testing.assert_frame_equal(reference_model.score_many(as_float32), expected)
    shuffled = df[list(reversed(df.columns))].copy()
    shuffled["extra"] = "ignored"
    pd.testing.assert_frame_equal(reference_model.score_many(shuffled), expected)
    as_text = df.astype(object).where(df.notna(), None).astype(str)
    pd.testing.assert_frame_equal(reference_model.score_many(as_text), expected, atol=1e-6)
    # A yes/no column holding something other than 0/1 is missing, not "yes".
    odd = df.copy()
    odd["serious_bad_credit_24m"] = 2.0
    x = reference_model.encoder.transform(odd)
    assert np.isnan(x[:, reference_model.feature_names.index("serious_bad_credit_24m")]).all()
    odd32 = odd.astype(np.float32)
    reference_model.score_many(odd32)
    assert (odd32["serious_bad_credit_24m"] == 2.0).all()  # the caller's frames are left alone
    assert df.equals(original)
