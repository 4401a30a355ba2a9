"""Train from the platform's own outcomes: feature snapshots with loan outcomes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

from .frame import to_bool
from .spec import PLATFORM_SPEC_PATH, Spec, load_spec
from .training import TrainedModel, train

# Below these, a challenger's hold-out metrics are noise and its calibration
# unstable: with 500 loans and 50 bads the hold-out still has about 10 bads.
MIN_ROWS = 500
MIN_BADS = 50

# Loan outcomes recorded on a referral (DESIGN.md lifecycle). Loans still
# running ("disbursed") have no outcome yet and are left out.
BAD_OUTCOMES = frozenset({"overdue_90", "defaulted"})
GOOD_OUTCOMES = frozenset({"repaid"})


class InsufficientDataError(ValueError):
    """Too few outcomes to train a model, with the message in Chinese and English."""

    def __init__(self, rows: int, bads: int, min_rows: int, min_bads: int) -> None:
        self.rows, self.bads = rows, bads
        self.min_rows, self.min_bads = min_rows, min_bads
        self.message_zh = (
            f"可用于训练的贷款结果不足：共 {rows} 笔，其中不良 {bads} 笔；"
            f"至少需要 {min_rows} 笔且不良不少于 {min_bads} 笔。请继续积累放款及还款情况后再训练。"
        )
        self.message_en = (
            f"Not enough loan outcomes to train: {rows} loans with {bads} bad; "
            f"need at least {min_rows} loans and {min_bads} bad. "
            "Keep recording outcomes and train again later."
        )
        super().__init__(f"{self.message_en} / {self.message_zh}")


def _label(record: Mapping[str, Any]) -> float | None:
    """Return 1.0 bad, 0.0 good, or None when the record has no final outcome."""
    for key in ("bad", "label"):
        if key in record and record[key] is not None:
            v = to_bool(record[key])
            return None if v != v else v  # NaN: unreadable label
    outcome = record.get("outcome")
    if outcome in BAD_OUTCOMES:
        return 1.0
    if outcome in GOOD_OUTCOMES:
        return 0.0
    return None


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def records_frame(records: Iterable[Mapping[str, Any]], spec: Spec) -> tuple[pd.DataFrame, str]:
    """Turn outcome records into a training frame; also return the period they cover."""
    rows: list[dict[str, Any]] = []
    days: list[date] = []
    for r in records:
        label = _label(r)
        if label is None:
            continue
        features = r.get("features")
        if not isinstance(features, Mapping):
            features = {k: v for k, v in r.items() if k not in ("bad", "label", "outcome")}
        row = dict(features)
        row[spec.target.column] = int(label)
        rows.append(row)
        d = _day(r.get("scored_at") or r.get("observed_at"))
        if d is not None:
            days.append(d)
    period = f"{min(days).isoformat()} to {max(days).isoformat()}" if days else ""
    df = pd.DataFrame.from_records(rows)
    # A snapshot taken by an older model may lack a newer feature: it is missing.
    for f in spec.model_features:
        if f.column not in df.columns and f.name not in df.columns:
            df[f.name] = float("nan")
    return df, period


def train_from_records(
    records: Iterable[Mapping[str, Any]],
    spec: Spec | None = None,
    seed: int = 0,
    *,
    min_rows: int = MIN_ROWS,
    min_bads: int = MIN_BADS,
    progress: Callable[[str], None] | None = None,
    source: str = "platform outcomes (bank decisions and loan outcomes recorded on FinPortal)",
    **overrides: Any,
) -> TrainedModel:
    """Train a challenger from the platform's recorded outcomes.

    Parameters
    ----------
    records : iterable of mapping
        One per loan: ``features`` (the snapshot taken at scoring time, keyed by
        feature name) and either ``bad`` / ``label`` (1 = bad) or ``outcome``
        (``overdue_90`` and ``defaulted`` are bad, ``repaid`` good; others such
        as a loan still running are skipped). Optional ``scored_at`` dates give
        the model card's period.
    spec : Spec, optional
        Default: the platform spec.
    seed : int
    min_rows, min_bads : int
        Refuse to train below these.
    progress : callable, optional
    source : str
        Data source named in the model card.
    **overrides
        Any :class:`scoring.training.TrainConfig` field.

    Returns
    -------
    TrainedModel

    Raises
    ------
    InsufficientDataError
        Fewer than ``min_rows`` usable records or fewer than ``min_bads`` bad
        ones (or fewer than ``min_bads`` good ones).
    """
    spec = spec or load_spec(PLATFORM_SPEC_PATH)
    df, period = records_frame(records, spec)
    n = len(df)
    bads = int(df[spec.target.column].sum()) if n else 0
    if n < min_rows or bads < min_bads or n - bads < min_bads:
        raise InsufficientDataError(n, bads, min_rows, min_bads)
    return train(df, spec, seed=seed, progress=progress, source=source, period=period, **overrides)
