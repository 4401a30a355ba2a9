"""Fairness and stability by group: calibration and approval rates per group, with alerts.

Protected characteristics are never model inputs or reasons; this monitor looks
at outcomes by groups the platform knows (size class, district, first-borrower
status, industry) to see whether the model is equally well calibrated for
each, and whether banks approve them at similar rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

# A group is judged only with at least this many loans with an outcome.
MIN_GROUP_ROWS = 30
# Alert when a group's mean PD and its observed bad rate differ by more than
# both this and two standard errors of the bad rate.
CALIBRATION_GAP = 0.05


def group_report(
    frame: pd.DataFrame,
    groups: Sequence[str],
    *,
    pd_col: str = "pd",
    bad_col: str = "bad",
    approved_col: str = "approved",
    min_rows: int = MIN_GROUP_ROWS,
    gap: float = CALIBRATION_GAP,
) -> dict[str, Any]:
    """Return, per grouping column and group, rows, mean PD, bad rate, gap and approval rate.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per scored application: ``pd_col``; ``bad_col`` 1/0 or missing
        (no outcome yet); ``approved_col`` 1/0 or missing (no bank decision).
    groups : sequence of str
        Columns to group by (a missing value is its own group, "unknown").

    Returns
    -------
    dict
        ``groups``: {column: [row per group]}, ``alerts``: groups whose
        calibration drifted (enough outcomes and a gap beyond ``gap`` and two
        standard errors).
    """
    out: dict[str, Any] = {"groups": {}, "alerts": [], "rows": int(len(frame))}
    for col in groups:
        rows = []
        keys = frame[col].astype("object").where(frame[col].notna(), "unknown")
        for key, part in frame.groupby(keys, sort=True):
            outcomes = part[bad_col].dropna()
            decided = part[approved_col].dropna()
            n_out = int(len(outcomes))
            bad_rate = float(outcomes.mean()) if n_out else math.nan
            mean_pd_out = float(part.loc[outcomes.index, pd_col].mean()) if n_out else math.nan
            cal_gap = mean_pd_out - bad_rate if n_out else math.nan
            row: dict[str, Any] = {
                "group": str(key),
                "applications": int(len(part)),
                "mean_pd": float(part[pd_col].mean()),
                "outcomes": n_out,
                "bad_rate": bad_rate,
                "calibration_gap": cal_gap,
                "decisions": int(len(decided)),
                "approval_rate": float(decided.mean()) if len(decided) else math.nan,
                "alert": False,
            }
            if n_out >= min_rows:
                se = math.sqrt(max(bad_rate * (1 - bad_rate), 1e-6) / n_out)
                if abs(cal_gap) > max(gap, 2 * se):
                    row["alert"] = True
                    out["alerts"].append({"by": col, **row})
            rows.append(row)
        out["groups"][col] = rows
    return out


def approval_gaps(report: dict[str, Any]) -> dict[str, float]:
    """Return, per grouping column, the spread of approval rates across judged groups."""
    gaps = {}
    for col, rows in report["groups"].items():
        rates = [r["approval_rate"] for r in rows if r["decisions"] >= MIN_GROUP_ROWS]
        gaps[col] = float(np.max(rates) - np.min(rates)) if len(rates) >= 2 else math.nan
    return gaps
