"""Model cards: what a model was trained on and how well it does, as JSON and Markdown."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .metrics import calibration_table
from .scale import Grades, ScoreScale

Array = npt.NDArray[Any]


def score_bands(
    y: Array,
    pds: Array,
    scale: ScoreScale,
    width: float | None = None,
    below: int = 5,
    above: int = 5,
) -> list[dict[str, Any]]:
    """Return rows, bad rate and mean PD per score band of ``width`` points (default: PDO)."""
    w = width or scale.pdo
    scores = scale.scores(pds)
    edges = [scale.base_score + w * k for k in range(-below, above)]
    idx = np.searchsorted(np.asarray(edges), scores, side="right")
    y = np.asarray(y, dtype=float)
    out = []
    for b in range(len(edges) + 1):
        mask = idx == b
        lo = edges[b - 1] if b > 0 else None
        hi = edges[b] if b < len(edges) else None
        n = int(mask.sum())
        out.append(
            {
                "band": _band_label(lo, hi),
                "score_from": lo,
                "score_to": hi,
                "rows": n,
                "share": n / len(scores) if len(scores) else 0.0,
                "bad_rate": float(y[mask].mean()) if n else None,
                "mean_pd": float(np.asarray(pds)[mask].mean()) if n else None,
            }
        )
    return out


def _band_label(lo: float | None, hi: float | None) -> str:
    if lo is None:
        return f"< {hi:g}"
    if hi is None:
        return f">= {lo:g}"
    return f"{lo:g}-{hi - 1:g}"


def grade_table(y: Array, pds: Array, grades: Grades, scale: ScoreScale) -> list[dict[str, Any]]:
    """Return, per grade, its score range and nominal PD range with rows, bad rate and mean PD."""
    scores = scale.scores(pds)
    codes = grades.codes(scores, scale)
    lowest = grades.min_scores(scale)
    y = np.asarray(y, dtype=float)
    out = []
    lower = 0.0
    for i, (name, bound) in enumerate(grades.bands):
        mask = codes == i
        n = int(mask.sum())
        out.append(
            {
                "grade": name,
                "pd_from": lower,
                "pd_to": bound,
                "score_from": lowest[i] if i < len(lowest) else None,
                "score_to": lowest[i - 1] - 1 if i > 0 else None,
                "rows": n,
                "share": n / len(y) if len(y) else 0.0,
                "bad_rate": float(y[mask].mean()) if n else None,
                "mean_pd": float(np.asarray(pds)[mask].mean()) if n else None,
            }
        )
        lower = bound
    return out


def evaluation_tables(
    y: Array, pds: Array, scale: ScoreScale, grades: Grades
) -> dict[str, list[dict[str, Any]]]:
    """Return the calibration table by decile, the score-band table and the grade table."""
    return {
        "calibration_table": calibration_table(y, pds, 10),
        "score_bands": score_bands(y, pds, scale),
        "grade_table": grade_table(y, pds, grades, scale),
    }


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * float(v):.2f}%"


def render_markdown(card: dict[str, Any]) -> str:
    """Render a model card as Markdown."""
    data, m, mdl = card["data"], card["metrics"], card["model"]
    lines = [
        f"# Model card: {card['version']}",
        "",
    ]
    if card.get("synthetic"):
        lines += [
            "> **Synthetic reference data.** This model was trained on generated data "
            "(the documented process in docs/SCORING.md), not on real loans. Its scores "
            "show how the method works; they are not evidence about any real enterprise.",
            "",
        ]
    lines += [
        "## Data",
        "",
        f"- Source: {data['source']}",
        f"- Period: {data['period'] or 'not stated'}",
        f"- Rows: {data['rows']:,} (bad rate {_pct(data['bad_rate'])})",
        "- Splits: "
        + ", ".join(f"{k} {v:,}" for k, v in data["splits"].items())
        + " — hold-out rows never reach the trees or the calibration; the calibration is "
        "fitted on out-of-fold margins (cross-fitting), the final trees on all fit rows.",
    ]
    if data.get("sha256"):
        lines.append(f"- Training data SHA-256: `{data['sha256']}`")
    if data.get("file_sha256"):
        lines.append(f"- Data file SHA-256: `{data['file_sha256']}`")
    if data.get("out_of_time_by"):
        lines.append(f"- Hold-out: the latest period by `{data['out_of_time_by']}` (out of time)")
    if card.get("excluded_protected"):
        lines.append(
            "- Protected characteristics left out of the model: "
            + ", ".join(card["excluded_protected"])
        )
    lines += [
        "",
        f"## Performance on the {card.get('metrics_on', 'hold-out')} "
        f"({m['rows']:,} rows, bad rate {_pct(m['bad_rate'])})",
        "",
        "| method | AUC | KS | Brier | ECE (deciles) |",
        "|---|---|---|---|---|",
        f"| pipeline | {_fmt(m['auc'])} | {_fmt(m['ks'])} | {_fmt(m['brier'])} | {_fmt(m['ece'])} |",
    ]
    for name, b in (card.get("baselines") or {}).items():
        lines.append(
            f"| {name} (baseline) | {_fmt(b['auc'])} | {_fmt(b['ks'])} | {_fmt(b['brier'])} "
            f"| {_fmt(b['ece'])} |"
        )
    check = card.get("baseline_check") or {}
    if check.get("worse_than"):
        worse = ", ".join(f"{w['baseline']} by {w['auc_gap']:.4f}" for w in check["worse_than"])
        lines += [
            "",
            f"> **{'Do not promote' if not check.get('passed') else 'Note'}:** the pipeline's "
            f"AUC is below a baseline's on the hold-out ({worse} AUC).",
        ]
    lines += [""]
    for leak in card.get("leakage") or []:
        lines.append(
            f"> **Possible leakage:** `{leak['feature']}` alone has AUC {leak['auc']:.3f}."
        )
    lines += [
        "",
        "### Calibration by decile of PD",
        "",
        "| decile | rows | PD range | mean PD | observed bad rate |",
        "|---|---|---|---|---|",
    ]
    for r in card["calibration_table"]:
        lines.append(
            f"| {r['bin']} | {r['rows']} | {_pct(r['pd_min'])}–{_pct(r['pd_max'])} "
            f"| {_pct(r['mean_pd'])} | {_pct(r['bad_rate'])} |"
        )
    lines += [
        "",
        "### Grades",
        "",
        "| grade | PD range | score range | rows | share | mean PD | bad rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in card["grade_table"]:
        lo, hi = r["score_from"], r["score_to"]
        if lo is not None and hi is not None:
            span = f"{lo}–{hi}"
        elif lo is not None:
            span = f">= {lo}"
        else:
            span = "all" if hi is None else f"<= {hi}"
        lines.append(
            f"| {r['grade']} | {_pct(r['pd_from'])}–{_pct(r['pd_to'])} | {span} "
            f"| {r['rows']} | {_pct(r['share'])} | {_pct(r['mean_pd'])} | {_pct(r['bad_rate'])} |"
        )
    lines += [
        "",
        "### Score bands",
        "",
        "| score | rows | share | mean PD | bad rate |",
        "|---|---|---|---|---|",
    ]
    for r in card["score_bands"]:
        lines.append(
            f"| {r['band']} | {r['rows']} | {_pct(r['share'])} | {_pct(r['mean_pd'])} | {_pct(r['bad_rate'])} |"
        )
    sc = card["scale"]
    lines += [
        "",
        "## Model",
        "",
        f"- XGBoost {mdl['xgboost_version']} (`hist`), {mdl['rounds']} trees "
        f"(early stopping chose {mdl['best_rounds']} on average over the cross-fitting folds, "
        f"scaled to all rows), seed {mdl['seed']}",
        f"- Parameters: `{mdl['params']}`",
        f"- Calibration: {mdl['calibration']} on {mdl.get('calibration_rows', 0):,} out-of-fold "
        f"margins ({mdl.get('folds', 5)} folds)",
        f"- Score: {sc['base_score']:g} points at {sc['base_odds']:g}:1 good:bad odds, "
        f"{sc['pdo']:g} points to double the odds",
        "",
        "## Features",
        "",
        "| feature | kind | monotone | may be a reason | mean abs SHAP (log-odds) |",
        "|---|---|---|---|---|",
    ]
    for f in card["features"]:
        mono = {1: "+1 (more = riskier)", -1: "-1 (more = safer)", 0: "free"}[f["monotone"]]
        lines.append(
            f"| {f['name']} | {f['kind']} | {mono} | {'yes' if f['actionable'] else 'no'} "
            f"| {_fmt(f['importance'])} |"
        )
    checked = card.get("monotone_check") or []
    if checked:
        lines += [
            "",
            "## Monotone signs checked against the data",
            "",
            "| feature | declared | used | verdict | Spearman | p |",
            "|---|---|---|---|---|---|",
        ]
        for r in checked:
            lines.append(
                f"| {r['feature']} | {r['declared']:+d} | {r['used']:+d} | {r['verdict']} "
                f"| {_fmt(r['rho'])} | {r['p'] if r['p'] is not None else '–'} |"
            )
    search = card.get("search")
    if search:
        lines += [
            "",
            "## Hyper-parameter search",
            "",
            f"- {search['method']}, Optuna {search['optuna_version']}, seed {search['seed']}: "
            f"{search['trials']} trials in {search['seconds']} s "
            f"(asked {search['trials_asked']} trials, budget {search['seconds_budget']} s)",
            f"- Out-of-fold log-loss: spec parameters {search['spec_params_logloss']}, "
            f"best {search['best_logloss']}; chosen: `{search['best_params']}`",
        ]
    lines += ["", "## Intended use and limits", ""]
    lines += [f"- {t}" for t in card.get("limitations", [])]
    return "\n".join(lines) + "\n"
