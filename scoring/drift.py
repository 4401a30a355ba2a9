"""Population stability index (PSI) between training data and new data.

The training data is kept only as a summary in the model's metadata: for each
feature (and for the score) the bin edges and the share of rows per bin, with a
separate bin for missing values. New data is binned on the same edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd

    from .model import CreditModel

Array = npt.NDArray[Any]

# Usual reading of PSI in credit risk: below 0.1 stable, 0.1-0.25 worth a look,
# above 0.25 the population has shifted (e.g. Siddiqi, Credit Risk Scorecards).
PSI_WATCH = 0.10
PSI_ALERT = 0.25
_EPS = 1e-4


def _edges(values: Array, bins: int) -> list[float]:
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return []
    qs = np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1])
    return [float(e) for e in np.unique(qs)]


def bin_shares(values: Array, edges: list[float] | None, categorical: bool = False) -> list[float]:
    """Return the share of rows per bin (missing last) for the given edges or categories."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    missing = np.isnan(v)
    if categorical:
        k = len(edges or [])
        counts = np.bincount(v[~missing].astype(np.int64), minlength=k)[:k].astype(float)
    else:
        idx = np.searchsorted(np.asarray(edges or [], dtype=float), v[~missing], side="right")
        counts = np.bincount(idx, minlength=len(edges or []) + 1).astype(float)
    counts = np.append(counts, float(missing.sum()))
    return [float(c) for c in (counts / n if n else counts)]


# Categories rarer than this share of the training rows share one "other" bin, and at
# most MAX_CATEGORY_BINS categories get a bin of their own: with hundreds of cities or
# banks, one bin each would make a random slice of the same population look shifted.
MIN_CATEGORY_SHARE = 0.01
MAX_CATEGORY_BINS = 20


def summarise(values: Array, bins: int = 10, categories: list[str] | None = None) -> dict[str, Any]:
    """Summarise one column for later PSI: edges (or grouped categories) and shares per bin."""
    v = np.asarray(values, dtype=float)
    if categories is not None:
        k = len(categories)
        present = v[~np.isnan(v)].astype(np.int64)
        counts = np.bincount(present, minlength=k)[:k] if k else np.zeros(0)
        total = max(1, len(v))
        order = [int(c) for c in np.argsort(-counts, kind="stable")]
        own = [c for c in order if counts[c] / total >= MIN_CATEGORY_SHARE][:MAX_CATEGORY_BINS]
        group = [len(own)] * k  # everything else: the "other" bin
        for b, c in enumerate(own):
            group[c] = b
        summary = {"categories": list(categories), "groups": group, "bins": len(own) + 1}
        summary["shares"] = _group_shares(v, summary)
        return summary
    edges = _edges(v, bins)
    return {"edges": edges, "shares": bin_shares(v, edges)}


def _group_shares(values: Array, summary: dict[str, Any]) -> list[float]:
    """Shares per category group (own bins, then "other" with unseen codes), missing last."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    missing = np.isnan(v)
    groups = np.asarray(list(summary["groups"]) + [summary["bins"] - 1], dtype=np.int64)
    codes = v[~missing].astype(np.int64)
    codes = np.where((codes < 0) | (codes >= len(groups) - 1), len(groups) - 1, codes)
    counts = np.bincount(groups[codes], minlength=summary["bins"]).astype(float)
    counts = np.append(counts, float(missing.sum()))
    return [float(c) for c in (counts / n if n else counts)]


def shares_like(summary: dict[str, Any], values: Array) -> list[float]:
    """Bin new values the way ``summary`` was binned."""
    if "groups" in summary:
        return _group_shares(values, summary)
    if "categories" in summary:  # models saved before categories were grouped
        return bin_shares(values, list(range(len(summary["categories"]))), True)
    return bin_shares(values, summary["edges"])


def psi_from_shares(expected: list[float] | Array, actual: list[float] | Array) -> float:
    """Return PSI = sum((a - e) * ln(a / e)) over bins; empty bins count as 0.01%."""
    e = np.maximum(np.asarray(expected, dtype=float), _EPS)
    a = np.maximum(np.asarray(actual, dtype=float), _EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected: Array, actual: Array, bins: int = 10) -> float:
    """Return the PSI of ``actual`` values against ``expected`` ones.

    Parameters
    ----------
    expected : array-like
        Reference values (e.g. the training rows); bins are its quantiles.
    actual : array-like
        New values.
    bins : int
        Number of quantile bins (missing values get one more bin).

    Returns
    -------
    float
    """
    summary = summarise(np.asarray(expected, dtype=float), bins)
    return psi_from_shares(summary["shares"], shares_like(summary, np.asarray(actual, dtype=float)))


def status(value: float) -> str:
    """Return ``stable``, ``watch`` or ``shifted`` for a PSI value."""
    if value >= PSI_ALERT:
        return "shifted"
    if value >= PSI_WATCH:
        return "watch"
    return "stable"


def drift_report(model: CreditModel, df: pd.DataFrame) -> dict[str, Any]:
    """Compare new data with the model's training data summary.

    Parameters
    ----------
    model : CreditModel
    df : pandas.DataFrame
        New rows (feature names or source columns). A feature column absent
        from ``df`` counts as all missing, which shows up as drift.

    Returns
    -------
    dict
        ``rows``, ``score_psi``, ``score_status``, ``feature_psi`` (name -> PSI),
        ``shifted`` (features with PSI >= 0.25), ``watch`` (0.1 <= PSI < 0.25).
        With no rows: ``score_psi`` None and ``score_status`` ``no data``.
    """
    if len(df) == 0:
        # Nothing to compare: no PSI rather than a huge one.
        return {
            "rows": 0,
            "score_psi": None,
            "score_status": "no data",
            "feature_psi": {},
            "shifted": [],
            "watch": [],
        }
    summary = model.metadata["data_summary"]
    x = model.encoder.transform(df, missing_ok=True)
    feature_psi: dict[str, float] = {}
    for j, name in enumerate(model.feature_names):
        ref = summary["features"][name]
        feature_psi[name] = round(psi_from_shares(ref["shares"], shares_like(ref, x[:, j])), 6)
    scores = model.scores_from_matrix(x).astype(float)
    score_psi = psi_from_shares(summary["score"]["shares"], shares_like(summary["score"], scores))
    return {
        "rows": len(df),
        "score_psi": round(score_psi, 6),
        "score_status": status(score_psi),
        "feature_psi": feature_psi,
        "shifted": sorted(n for n, v in feature_psi.items() if v >= PSI_ALERT),
        "watch": sorted(n for n, v in feature_psi.items() if PSI_WATCH <= v < PSI_ALERT),
    }
