"""Checks on the data before a model is trained: leakage and declared monotone signs.

- **Leakage**: a single feature that on its own separates bad from good loans
  almost perfectly (AUC at or above ``threshold``, 0.85 by default) is usually
  recorded after the outcome (the SBA ``Term``, a charge-off date). It is
  flagged, with its AUC, before any model is trained.
- **Monotone signs**: each declared sign is tested against the data: the rank
  correlation (Spearman) of the feature with the label, with its p-value, and the
  bad rate per decile of the feature as evidence. A sign the data contradicts
  (opposite correlation, p < 0.05) is reported; training drops it by default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats
from sklearn.model_selection import StratifiedKFold

from . import metrics
from .spec import Feature

Array = npt.NDArray[Any]

LEAKAGE_AUC = 0.85
CONTRADICTION_P = 0.05
# A sign is suggested only with strong evidence: p below this and a binned trend
# that goes the same way in (nearly) every step.
SUGGEST_P = 0.001
SUGGEST_BINNED_RHO = 0.8
MIN_ROWS = 30


def single_feature_auc(values: Array, y: Array, categorical: bool, seed: int = 0) -> float:
    """Return how well one feature alone separates bad from good (AUC, 0.5-1).

    Numeric features: the AUC of the value itself, missing values put at either
    end (the better of the two, and of either direction). Categorical ones:
    cross-fitted bad rates per category (5 folds), so a category seen once
    cannot look predictive.
    """
    v = np.asarray(values, dtype=float)
    y = np.asarray(y, dtype=np.int64)
    if y.min() == y.max():
        return math.nan
    if categorical:
        score = np.full(len(v), float(y.mean()))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        for tr, te in folds.split(v.reshape(-1, 1), y):
            prior, weight = float(y[tr].mean()), 10.0
            codes_tr = np.where(np.isnan(v[tr]), -1, v[tr]).astype(np.int64)
            codes_te = np.where(np.isnan(v[te]), -1, v[te]).astype(np.int64)
            offset = 1
            size = int(max(codes_tr.max(initial=0), codes_te.max(initial=0))) + 2
            sums = np.bincount(codes_tr + offset, weights=y[tr], minlength=size)
            counts = np.bincount(codes_tr + offset, minlength=size)
            rate = (sums + prior * weight) / (counts + weight)
            score[te] = rate[codes_te + offset]
        a = metrics.auc(y, score)
        return max(a, 1.0 - a)
    best = 0.5
    present = ~np.isnan(v)
    if present.sum() == 0:
        return 0.5
    lo, hi = np.nanmin(v) - 1.0, np.nanmax(v) + 1.0
    for fill in (lo, hi):
        a = metrics.auc(y, np.where(present, v, fill))
        best = max(best, a, 1.0 - a)
    return float(best)


def leakage_check(
    x: Array,
    y: Array,
    features: Sequence[Feature],
    threshold: float = LEAKAGE_AUC,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Return every feature whose AUC on its own is at least ``threshold``, highest first."""
    out = []
    for j, f in enumerate(features):
        a = single_feature_auc(x[:, j], y, f.kind == "categorical", seed)
        if not math.isnan(a) and a >= threshold:
            out.append({"feature": f.name, "column": f.column, "auc": round(a, 4)})
    return sorted(out, key=lambda d: -float(d["auc"]))


def binned_bad_rates(values: Array, y: Array, bins: int = 10) -> list[dict[str, Any]]:
    """Return rows and bad rate per quantile bin of a feature (missing values left out)."""
    v = np.asarray(values, dtype=float)
    keep = ~np.isnan(v)
    v, yy = v[keep], np.asarray(y, dtype=float)[keep]
    if len(v) == 0:
        return []
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1]))
    idx = np.searchsorted(edges, v, side="right")
    out = []
    for b in range(len(edges) + 1):
        mask = idx == b
        n = int(mask.sum())
        if n == 0:
            continue
        out.append(
            {
                "from": float(v[mask].min()),
                "to": float(v[mask].max()),
                "rows": n,
                "bad_rate": round(float(yy[mask].mean()), 4),
            }
        )
    return out


def monotone_evidence(values: Array, y: Array, declared: int = 0) -> dict[str, Any]:
    """Test a monotone sign against the data.

    Returns
    -------
    dict
        ``rho`` (Spearman, feature vs bad), ``p``, ``binned_rho`` (Spearman of
        the decile bad rates against their order), ``bins`` (the evidence),
        ``suggested`` (+1, -1 or 0) and, for a declared sign, ``verdict``:
        ``supported``, ``no evidence`` (p >= 0.05) or ``contradicted``.
    """
    v = np.asarray(values, dtype=float)
    keep = ~np.isnan(v)
    yy = np.asarray(y, dtype=float)[keep]
    v = v[keep]
    out: dict[str, Any] = {"declared": declared, "rows": int(len(v))}
    if len(v) < MIN_ROWS or np.unique(v).size < 2 or yy.min() == yy.max():
        out.update(rho=None, p=None, binned_rho=None, bins=[], suggested=0)
        if declared:
            out["verdict"] = "no evidence"
        return out
    rho, p = stats.spearmanr(v, yy)
    rho, p = float(rho), float(p)
    bins = binned_bad_rates(v, yy)
    rates = [b["bad_rate"] for b in bins]
    binned = (
        float(stats.spearmanr(np.arange(len(rates)), rates)[0])
        if len(rates) >= 3 and len(set(rates)) > 1
        else 0.0
    )
    if math.isnan(binned):
        binned = 0.0
    suggested = 0
    if p < SUGGEST_P and abs(binned) >= SUGGEST_BINNED_RHO and np.sign(binned) == np.sign(rho):
        suggested = int(np.sign(rho))
    out.update(rho=round(rho, 4), p=float(f"{p:.3g}"), binned_rho=round(binned, 3), bins=bins)
    out["suggested"] = suggested
    if declared:
        if rho * declared < 0 and p < CONTRADICTION_P:
            out["verdict"] = "contradicted"
        elif p >= CONTRADICTION_P:
            out["verdict"] = "no evidence"
        else:
            out["verdict"] = "supported"
    return out


def check_monotone(
    x: Array, y: Array, features: Sequence[Feature], policy: str = "drop"
) -> tuple[list[int], list[dict[str, Any]]]:
    """Check each declared sign; return the signs to train with and the evidence.

    ``policy``: ``drop`` (a contradicted sign becomes 0), ``keep`` (train with
    it anyway, reported) or ``refuse`` (the caller raises on a contradiction).
    """
    used = []
    report = []
    for j, f in enumerate(features):
        if f.monotone == 0 or f.kind == "categorical":
            used.append(0)
            continue
        ev = monotone_evidence(x[:, j], y, f.monotone)
        keep = ev["verdict"] != "contradicted" or policy == "keep"
        used.append(f.monotone if keep else 0)
        report.append(
            {
                "feature": f.name,
                "declared": f.monotone,
                "used": f.monotone if keep else 0,
                "verdict": ev["verdict"],
                "rho": ev["rho"],
                "p": ev["p"],
                "bins": ev["bins"],
            }
        )
    return used, report


def suggest_monotone(x: Array, y: Array, features: Sequence[Feature]) -> list[dict[str, Any]]:
    """Return a suggested sign for every numeric and boolean feature, with the evidence."""
    out = []
    for j, f in enumerate(features):
        if f.kind == "categorical":
            continue
        ev = monotone_evidence(x[:, j], y, f.monotone)
        out.append(
            {
                "feature": f.name,
                "declared": f.monotone,
                "suggested": ev["suggested"],
                "rho": ev["rho"],
                "p": ev["p"],
                "binned_rho": ev["binned_rho"],
                "verdict": ev.get("verdict"),
            }
        )
    return out
