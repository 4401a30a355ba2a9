"""Discrimination and calibration measures used in model cards and tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score, roc_curve

Array = npt.NDArray[Any]


def auc(y: Array, p: Array) -> float:
    """Return the area under the ROC curve (NaN when only one class is present)."""
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


def ks(y: Array, p: Array) -> float:
    """Return the Kolmogorov-Smirnov statistic: the largest gap between bad and good CDFs."""
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def brier(y: Array, p: Array) -> float:
    """Return the Brier score (mean squared error of the PD)."""
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def _decile_bins(p: Array, bins: int) -> list[Array]:
    """Split row indices into ``bins`` groups of (nearly) equal size by PD."""
    order = np.argsort(np.asarray(p), kind="stable")
    return [chunk for chunk in np.array_split(order, bins) if len(chunk)]


def calibration_table(y: Array, p: Array, bins: int = 10) -> list[dict[str, float]]:
    """Return mean PD against observed bad rate for equal-count PD bins (deciles)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    rows = []
    for i, idx in enumerate(_decile_bins(p, bins), start=1):
        rows.append(
            {
                "bin": i,
                "rows": int(len(idx)),
                "pd_min": float(p[idx].min()),
                "pd_max": float(p[idx].max()),
                "mean_pd": float(p[idx].mean()),
                "bad_rate": float(y[idx].mean()),
            }
        )
    return rows


def ece(y: Array, p: Array, bins: int = 10) -> float:
    """Return the expected calibration error over equal-count PD bins.

    Equal-count bins (deciles) rather than equal-width ones: with a low bad rate
    almost every row would fall in the first equal-width bin and hide errors.
    """
    table = calibration_table(y, p, bins)
    n = sum(r["rows"] for r in table)
    return float(sum(r["rows"] / n * abs(r["mean_pd"] - r["bad_rate"]) for r in table))


def summary(y: Array, p: Array) -> dict[str, float | int]:
    """Return ``auc``, ``ks``, ``brier``, ``ece``, ``rows`` and ``bad_rate``."""
    y = np.asarray(y)
    return {
        "auc": auc(y, p),
        "ks": ks(y, p),
        "brier": brier(y, p),
        "ece": ece(y, p),
        "rows": int(len(y)),
        "bad_rate": float(np.mean(y)) if len(y) else float("nan"),
    }
