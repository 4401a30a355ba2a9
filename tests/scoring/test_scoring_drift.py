"""PSI of the score and each feature against the training data summary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring import drift_report, psi


def test_psi_of_a_sample_against_itself_is_zero_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=20_000)
    assert psi(a, a) == 0.0
    assert psi(a, rng.normal(size=20_000)) < 0.01
    small, large = psi(a, rng.normal(0.2, 1, 20_000)), psi(a, rng.normal(1.0, 1, 20_000))
    assert 0.01 < small < large
    assert large > 0.25
    with_missing = rng.normal(size=20_000)
    with_missing[:5000] = np.nan
    assert psi(a, with_missing) > 0.25  # a quarter of values gone missing is drift too


def test_same_population_shows_no_drift(
    reference_model: Any, fresh_reference: pd.DataFrame
) -> None:
    report = drift_report(reference_model, fresh_reference)
    assert report["rows"] == len(fresh_reference)
    assert report["score_psi"] < 0.1
    assert report["score_status"] == "stable"
    assert set(report["feature_psi"]) == set(reference_model.feature_names)
    assert max(report["feature_psi"].values()) < 0.1
    assert report["shifted"] == []


def test_shifted_population_is_flagged(reference_model: Any, fresh_reference: pd.DataFrame) -> None:
    shifted = fresh_reference.copy()
    shifted["debt_ratio"] = shifted["debt_ratio"] + 0.3
    shifted["overdue_count_24m"] = shifted["overdue_count_24m"] + 2
    shifted["amount_to_revenue"] = shifted["amount_to_revenue"] * 3
    report = drift_report(reference_model, shifted)
    assert {"debt_ratio", "overdue_count_24m", "amount_to_revenue"} <= set(report["shifted"])
    assert "term_months" not in report["shifted"]
    assert report["score_psi"] > 0.25
    assert report["score_status"] == "shifted"


def test_no_rows_means_no_psi(reference_model: Any, fresh_reference: pd.DataFrame) -> None:
    report = drift_report(reference_model, fresh_reference.head(0))
    assert report["rows"] == 0
    assert report["score_psi"] is None
    assert report["score_status"] == "no data"
    assert reference_model.score_many(fresh_reference.head(0)).empty


def test_high_cardinality_categories_do_not_cry_wolf_and_a_tripled_amount_is_shifted(
    sba_path: Any,
) -> None:
    from scoring import load_spec, read_data, train
    from scoring.spec import SBA_CASE_SPEC_PATH

    spec = load_spec(SBA_CASE_SPEC_PATH)
    df = read_data(sba_path, spec)
    model = train(df, spec, seed=0, nthread=1).model
    assert len(model.encoder.categories["city"]) > 100  # hundreds of cities
    same = drift_report(model, df.sample(400, random_state=1))
    # A random slice of the same population: no column shifted, cities and banks included.
    assert same["shifted"] == [] and same["score_status"] == "stable"
    assert max(same["feature_psi"][c] for c in ("city", "bank", "naics")) < 0.1
    tripled = df.copy()
    for column in ("GrAppv", "DisbursementGross", "SBA_Appv"):
        tripled[column] = tripled[column] * 3
    report = drift_report(model, tripled)
    assert {"gross_approved", "disbursement_gross", "sba_approved"} <= set(report["shifted"])
