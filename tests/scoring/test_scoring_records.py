"""Training from the platform's own outcomes, and refusing when there are too few."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from scoring import InsufficientDataError, generate_reference_data, train_from_records


def _records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    df = generate_reference_data(n, seed)
    out: list[dict[str, Any]] = []
    start = date(2026, 1, 1)
    for i, row in enumerate(df.to_dict("records")):
        bad = row.pop("bad")
        features = {k: (None if v != v else v) for k, v in row.items()}
        outcome = ("defaulted" if i % 2 else "overdue_90") if bad else "repaid"
        out.append(
            {"features": features, "outcome": outcome, "scored_at": start + timedelta(days=i % 300)}
        )
    return out


def test_too_few_outcomes_are_refused_in_both_languages() -> None:
    records = _records(300)
    with pytest.raises(InsufficientDataError) as info:
        train_from_records(records, seed=0)
    err = info.value
    assert err.rows == 300
    assert "300" in err.message_zh and "不足" in err.message_zh
    assert "Not enough loan outcomes" in err.message_en and "500" in err.message_en
    assert err.message_en in str(err) and err.message_zh in str(err)


def test_too_few_bads_are_refused() -> None:
    records = [r for r in _records(3000) if r["outcome"] == "repaid"][:1000]
    records += [r for r in _records(3000) if r["outcome"] != "repaid"][:20]
    with pytest.raises(InsufficientDataError, match="20 bad"):
        train_from_records(records)


def test_running_loans_are_not_counted() -> None:
    records = _records(600)
    for r in records[:200]:
        r["outcome"] = "disbursed"
    with pytest.raises(InsufficientDataError) as info:
        train_from_records(records)
    assert info.value.rows == 400


def test_enough_outcomes_train_a_challenger() -> None:
    records = _records(4000, seed=4)
    records[0]["features"].pop("term_months")  # an older snapshot without a newer feature
    records[1] = {"features": records[1]["features"], "bad": 1}
    trained = train_from_records(records, seed=0, nthread=1)
    card = trained.card
    assert card["synthetic"] is False
    assert card["data"]["rows"] == 4000
    assert card["data"]["period"] == "2026-01-01 to 2026-10-27"
    assert "platform outcomes" in card["data"]["source"]
    assert 0.6 < card["metrics"]["auc"] < 0.95
    pds = trained.model.predict_pd(generate_reference_data(500, 99))
    assert np.all((pds > 0) & (pds < 1))
