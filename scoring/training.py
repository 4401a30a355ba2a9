"""Train, cross-validate and evaluate credit models from a DataFrame and a spec.

The rows are used as follows:

- a **hold-out** part (``holdout``, 20% by default, stratified and seeded) is
  kept for the model card and for the comparison with the baselines; with
  ``by`` (a date column) it is the latest period instead (out of time);
- on the rest, **cross-fitting**: ``folds`` (5) stratified folds; in each, the
  trees grow on four fifths with **early stopping** on the fifth, and the fifth
  gets out-of-fold margins. The calibration (Platt or isotonic) is fitted on
  those out-of-fold margins of every row, and the final trees grow on **all**
  the rows with the mean best number of rounds, scaled to the larger data.

No rows are carved out for calibration or validation only, and calibration
never sees a margin of a tree that trained on the same row. Optionally a small
seeded hyper-parameter search (Optuna TPE, ``search_trials`` /
``search_seconds``) runs on the same folds first.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import StratifiedKFold, train_test_split

from . import metrics
from .baselines import BASELINES, baseline_pds
from .calibration import METHODS, Calibrator
from .card import evaluation_tables, render_markdown
from .checks import LEAKAGE_AUC, leakage_check
from .drift import summarise
from .frame import DataError, Encoder, FloatMatrix, labels, missing_column_error, parse_date
from .model import (
    BOOSTER_FILE,
    METADATA_FORMAT,
    CreditModel,
    ScoreResult,
    batch_threads,
    booster_digest,
    json_safe,
)
from .scale import Grades, ScoreScale
from .spec import Spec, SpecError

Progress = Callable[[str], None]
Array = npt.NDArray[Any]

# Shallow, regularised trees: credit data is small and noisy, and shallow trees
# keep SHAP reasons readable and batch prediction fast.
DEFAULT_XGB_PARAMS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 3,
    "eta": 0.05,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_bin": 256,
    "max_cat_to_onehot": 1,
}
_FIXED_PARAMS = ("objective", "tree_method", "monotone_constraints", "seed", "nthread")

MIN_ROWS = 50
MIN_EACH_CLASS = 10

# Measured on this project's 2-core machine (docs/BENCHMARKS.md, "Training threads"):
# one thread is as fast as two up to the largest data here, and far faster when
# the other core is busy, so training uses one unless told otherwise.
DEFAULT_TRAIN_THREADS = 1

# The pipeline passes the baseline check when its hold-out AUC is no more than
# this below the best baseline's (half an AUC point: below the noise of any
# realistic hold-out); any shortfall is still reported.
AUC_TOLERANCE = 0.005


def _threads(cfg: TrainConfig, rows: int) -> TrainConfig:
    """Resolve the automatic thread count (see :data:`DEFAULT_TRAIN_THREADS`)."""
    if cfg.nthread is not None:
        return cfg
    return replace(cfg, nthread=DEFAULT_TRAIN_THREADS)


_CONFIG_KEYS = {
    "xgboost",
    "num_boost_round",
    "early_stopping_rounds",
    "holdout",
    "folds",
    "calibration",
    "refit",
    "scale",
    "grades",
    "min_present",
    "search",
    "monotone_check",
    "leakage_auc",
    "recent_share",
}
_RETIRED_KEYS = {
    "calibration_fraction": "calibration is cross-fitted on out-of-fold margins (params.folds)",
    "validation_fraction": "early stopping runs inside the cross-fitting folds (params.folds)",
}


@dataclass(frozen=True)
class TrainConfig:
    """Training settings: XGBoost parameters, folds, calibration, search, checks, scale, grades."""

    xgb_params: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_XGB_PARAMS))
    num_boost_round: int = 1000
    early_stopping_rounds: int = 50
    holdout: float = 0.2
    folds: int = 5
    calibration: str = "platt"
    refit: bool = True
    scale: ScoreScale = field(default_factory=ScoreScale)
    grades: Grades = field(default_factory=Grades)
    nthread: int | None = None
    search_trials: int = 0
    search_seconds: float = 0.0
    monotone_check: str = "drop"
    leakage_auc: float = LEAKAGE_AUC
    recent_share: float = 0.25

    @classmethod
    def from_spec(cls, spec: Spec, **overrides: Any) -> TrainConfig:
        """Build the settings from the spec's ``params`` section, then ``overrides``."""
        raw = dict(spec.params)
        problems = [
            f"params.{k}: no longer used: {why}" for k, why in _RETIRED_KEYS.items() if k in raw
        ]
        unknown = sorted(set(raw) - _CONFIG_KEYS - set(_RETIRED_KEYS))
        problems += [
            f"params.{k}: unknown setting (known: {', '.join(sorted(_CONFIG_KEYS))})"
            for k in unknown
        ]
        if problems:
            raise SpecError(spec.name, problems)
        xgb_params = dict(DEFAULT_XGB_PARAMS)
        for k, v in dict(raw.pop("xgboost", {}) or {}).items():
            if k in _FIXED_PARAMS:
                raise SpecError(
                    spec.name, [f"params.xgboost.{k}: set by the pipeline, not the spec"]
                )
            xgb_params[k] = v
        search = dict(raw.get("search") or {})
        try:
            cfg = cls(
                xgb_params=xgb_params,
                num_boost_round=int(raw.get("num_boost_round", 1000)),
                early_stopping_rounds=int(raw.get("early_stopping_rounds", 50)),
                holdout=float(raw.get("holdout", 0.2)),
                folds=int(raw.get("folds", 5)),
                calibration=str(raw.get("calibration", "platt")),
                refit=bool(raw.get("refit", True)),
                scale=ScoreScale.from_dict(raw.get("scale")),
                grades=Grades.from_list(raw.get("grades")),
                search_trials=int(search.get("trials", 0)),
                search_seconds=float(search.get("seconds", 0.0)),
                monotone_check=str(raw.get("monotone_check", "drop")),
                leakage_auc=float(raw.get("leakage_auc", LEAKAGE_AUC)),
                recent_share=float(raw.get("recent_share", 0.25)),
            )
        except (TypeError, ValueError) as exc:
            raise SpecError(spec.name, [f"params: {exc}"]) from None
        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        if not 0.0 <= cfg.holdout < 0.9:
            raise SpecError(spec.name, [f"params.holdout: must be in [0, 0.9), got {cfg.holdout}"])
        if not 2 <= cfg.folds <= 20:
            raise SpecError(spec.name, [f"params.folds: must be 2 to 20, got {cfg.folds}"])
        if cfg.calibration not in METHODS:
            raise SpecError(
                spec.name,
                [f"params.calibration: {cfg.calibration!r} is not one of {', '.join(METHODS)}"],
            )
        if cfg.monotone_check not in ("drop", "keep", "refuse"):
            raise SpecError(spec.name, ["params.monotone_check: one of drop, keep, refuse"])
        if not 0.0 < cfg.recent_share <= 1.0:
            raise SpecError(spec.name, ["params.recent_share: must be in (0, 1]"])
        return cfg


def _split(idx: Array, y: Array, frac: float, seed: int) -> tuple[Array, Array]:
    """Split indices into (rest, part) with ``part`` holding ``frac`` of them, stratified."""
    if frac <= 0:
        return idx, idx[:0]
    strat = y[idx] if min(np.bincount(y[idx], minlength=2)) >= 2 else None
    rest, part = train_test_split(idx, test_size=frac, random_state=seed, stratify=strat)
    return np.sort(rest), np.sort(part)


def time_order(df: pd.DataFrame, column: str) -> Array:
    """Return the rows' order in time by a date (or number) column; raise if unreadable."""
    if column not in df.columns:
        raise missing_column_error(column, df, "date column")
    series = df[column]
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float)
    else:
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        values = np.where(parsed.isna(), np.nan, (parsed - pd.Timestamp("1970-01-01")).dt.days)
        if np.isnan(values).mean() > 0.5:
            values = np.asarray([parse_date(v)[0] for v in series], dtype=float)
    values = np.asarray(values, dtype=float)
    if np.isnan(values).any():
        raise DataError(
            f"date column {column!r}: {int(np.isnan(values).sum())} rows without a readable date"
        )
    return np.asarray(np.argsort(values, kind="stable"))


@dataclass
class _Fit:
    booster: xgb.Booster
    calibrator: Calibrator
    encoder: Encoder
    x: FloatMatrix
    fit_idx: Array
    oof_margin: Array
    best_rounds: int
    rounds: int
    params: dict[str, Any]
    monotone: list[int]
    monotone_report: list[dict[str, Any]]
    search: dict[str, Any] | None
    recalibrated: dict[str, Any] | None = None


def _dmatrix(x: FloatMatrix, y: Array | None, enc: Encoder, nthread: int | None) -> xgb.DMatrix:
    types = enc.feature_types()
    cat = "c" in types
    return xgb.DMatrix(
        x,
        label=y,
        feature_names=enc.names,
        feature_types=types,
        enable_categorical=cat,
        nthread=nthread,
    )


def _cross_fit(
    x: FloatMatrix,
    y: Array,
    idx: Array,
    enc: Encoder,
    params: dict[str, Any],
    cfg: TrainConfig,
    seed: int,
    report: Progress | None = None,
) -> tuple[Array, list[int]]:
    """Grow trees fold by fold with early stopping; return out-of-fold margins and best rounds."""
    oof = np.empty(len(idx), dtype=float)
    bests: list[int] = []
    folds = StratifiedKFold(n_splits=cfg.folds, shuffle=True, random_state=seed + 1)
    for k, (tr, va) in enumerate(folds.split(np.zeros(len(idx)), y[idx]), start=1):
        d_tr = _dmatrix(x[idx[tr]], y[idx[tr]], enc, cfg.nthread)
        d_va = _dmatrix(x[idx[va]], y[idx[va]], enc, cfg.nthread)
        booster = xgb.train(
            params,
            d_tr,
            num_boost_round=cfg.num_boost_round,
            evals=[(d_va, "valid")],
            early_stopping_rounds=cfg.early_stopping_rounds,
            verbose_eval=False,
        )
        best = int(booster.best_iteration) + 1
        bests.append(best)
        oof[va] = booster.predict(d_va, output_margin=True, iteration_range=(0, best))
        if report is not None:
            report(f"  fold {k}/{cfg.folds}: early stopping chose {best} rounds")
    return oof, bests


def _params(cfg: TrainConfig, seed: int, monotone: list[int]) -> dict[str, Any]:
    params = dict(cfg.xgb_params)
    params.update(
        seed=seed,
        nthread=cfg.nthread,
        monotone_constraints="(" + ",".join(str(m) for m in monotone) + ")",
    )
    return params


def _fit(
    df: pd.DataFrame,
    y: Array,
    spec: Spec,
    idx: Array,
    cfg: TrainConfig,
    seed: int,
    progress: Progress | None,
    *,
    recent: Array | None = None,
) -> _Fit:
    """Cross-fit, calibrate on the out-of-fold margins and grow the final trees on all ``idx``.

    ``recent``: positions (within ``idx``) of the latest period; when the
    out-of-fold PDs there drift from the observed bad rate, the calibration is
    refitted on those rows only.
    """
    from .checks import check_monotone as _check

    # Category lists come from the rows the trees see; others count as unknown.
    enc = Encoder(spec.model_features, decimal=spec.read.decimal).fit(df.iloc[idx])
    x = enc.transform(df)
    counts = np.bincount(y[idx], minlength=2)
    if counts.min() < cfg.folds:
        raise DataError(
            f"the training rows hold {counts[1]} bad and {counts[0]} good loans: "
            f"need at least {cfg.folds} of each for {cfg.folds} folds"
        )
    monotone, mono_report = _check(x[idx], y[idx], enc.features, cfg.monotone_check)
    contradicted = [r for r in mono_report if r["verdict"] == "contradicted"]
    if contradicted and cfg.monotone_check == "refuse":
        raise DataError(
            "the data contradicts declared monotone signs: "
            + "; ".join(
                f"{r['feature']} declared {r['declared']:+d}, Spearman {r['rho']} (p {r['p']})"
                for r in contradicted
            )
        )
    if progress is not None:
        for r in contradicted:
            action = "dropped" if r["used"] == 0 else "kept (monotone_check: keep)"
            progress(
                f"WARNING monotone sign of {r['feature']} ({r['declared']:+d}) is contradicted "
                f"by the data (Spearman {r['rho']}, p {r['p']}): {action}"
            )
    search_result = None
    if cfg.search_trials > 0 or cfg.search_seconds > 0:
        from .search import search_params

        best_params, search_result = search_params(
            x, y, idx, enc, cfg, seed, monotone, _cross_fit, _params, progress
        )
        cfg = replace(cfg, xgb_params=best_params)
    params = _params(cfg, seed, monotone)
    if progress is not None:
        progress(
            f"cross-fitting on {len(idx):,} rows in {cfg.folds} folds (early stopping in each)"
        )
    oof, bests = _cross_fit(x, y, idx, enc, params, cfg, seed, progress)
    best = max(1, round(float(np.mean(bests))))
    # More rows support more rounds at the same learning rate: scale by the size ratio.
    rounds = max(1, round(best * cfg.folds / (cfg.folds - 1))) if cfg.refit else best
    if progress is not None:
        progress(f"growing {rounds} trees on all {len(idx):,} rows")
    booster = xgb.train(params, _dmatrix(x[idx], y[idx], enc, cfg.nthread), num_boost_round=rounds)
    booster.set_param({"nthread": cfg.nthread})
    calibrator = Calibrator(cfg.calibration).fit(oof, y[idx])
    recal = None
    if recent is not None and len(recent):
        recal = _recalibrate_recent(calibrator, oof, y[idx], recent, cfg)
        if recal["applied"]:
            calibrator = recal.pop("calibrator")
        else:
            recal.pop("calibrator")
        if progress is not None:
            progress(
                f"latest period ({len(recent):,} rows): mean PD {recal['mean_pd']:.4f} vs "
                f"bad rate {recal['bad_rate']:.4f}; "
                + ("recalibrated on it" if recal["applied"] else "calibration holds")
            )
    if progress is not None:
        progress(f"calibrated ({calibrator.method_}) on {len(idx):,} out-of-fold margins")
    return _Fit(
        booster,
        calibrator,
        enc,
        x,
        idx,
        oof,
        best,
        rounds,
        params,
        monotone,
        mono_report,
        search_result,
        recal,
    )


def _recalibrate_recent(
    calibrator: Calibrator, oof: Array, y: Array, recent: Array, cfg: TrainConfig
) -> dict[str, Any]:
    """Test calibration on the latest period; refit it there when it drifts.

    Drift: the mean out-of-fold PD of the latest rows differs from their bad
    rate by more than two standard errors (and by at least 0.5 points).
    """
    pds = calibrator.apply(oof[recent])
    rate = float(y[recent].mean())
    mean_pd = float(pds.mean())
    se = math.sqrt(max(rate * (1 - rate), 1e-6) / len(recent))
    drift = abs(mean_pd - rate) > max(2 * se, 0.005)
    ys = y[recent]
    applied = bool(drift and ys.min() != ys.max())
    new = Calibrator(cfg.calibration).fit(oof[recent], ys) if applied else calibrator
    return {
        "rows": int(len(recent)),
        "mean_pd": mean_pd,
        "bad_rate": rate,
        "applied": applied,
        "calibrator": new,
    }


def _pd(fit: _Fit, x: FloatMatrix) -> Array:
    margin = np.asarray(fit.booster.inplace_predict(x, predict_type="margin"), dtype=float)
    return fit.calibrator.apply(margin)


def data_sha256(df: pd.DataFrame) -> str:
    """Return a SHA-256 of a DataFrame's columns and values (same data, same digest)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, df.columns)).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TrainedModel:
    """A freshly trained model: score with it, read its card, or save it."""

    def __init__(self, model: CreditModel, metrics_: dict[str, Any]) -> None:
        self.model = model
        self.metrics = metrics_

    @property
    def version(self) -> str:
        """Return the model version id (spec name and booster digest)."""
        return self.model.version

    @property
    def card(self) -> dict[str, Any]:
        """Return the model card as plain data."""
        return self.model.card

    @property
    def card_markdown(self) -> str:
        """Return the model card as Markdown."""
        return self.model.card_markdown

    def score_one(self, features: Mapping[str, Any], **kwargs: Any) -> ScoreResult:
        """Score one application (see :meth:`CreditModel.score_one`)."""
        return self.model.score_one(features, **kwargs)

    def score_many(self, df: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        """Score many applications (see :meth:`CreditModel.score_many`)."""
        return self.model.score_many(df, **kwargs)

    def save(self, out_dir: str | Path) -> Path:
        """Write ``model.json``, ``metadata.json``, ``model_card.json`` and ``model_card.md``."""
        return self.model.save(out_dir)


_LIMITATIONS = [
    "The PD is calibrated to the bad rate of the training data; a different population "
    "or bad definition needs recalibration.",
    "Reason codes come from XGBoost's SHAP contributions; they show what raised this "
    "application's risk in the model, not what caused a default.",
    "Only actionable, non-protected features are shown as reasons, and only where the "
    "applicant's value is on the risky side, so the text is true of it; protected "
    "characteristics are not model inputs.",
    "Watch drift (PSI) on the score and features; retrain when the population shifts.",
    "A score supports an advisor's and a bank's decision; it does not make it.",
]


def train(
    df: pd.DataFrame,
    spec: Spec,
    seed: int = 0,
    progress: Progress | None = None,
    *,
    source: str | None = None,
    period: str | None = None,
    synthetic: bool = False,
    by: str | None = None,
    data_file_sha256: str | None = None,
    **overrides: Any,
) -> TrainedModel:
    """Train a calibrated, monotone XGBoost credit model and compare it with the baselines.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per loan: the spec's feature columns and its target column.
    spec : Spec
        Feature spec (see :func:`scoring.load_spec`).
    seed : int
        Seed for the splits, the folds, the search and XGBoost's sampling; same
        seed, same model.
    progress : callable, optional
        Called with one line of text at each step.
    source, period : str, optional
        Data source and period for the model card (default: from the spec).
    synthetic : bool
        Mark the model card as trained on synthetic reference data.
    by : str, optional
        A date column: the hold-out is the latest ``holdout`` share of rows
        (out of time) and the calibration is refitted on the latest
        ``recent_share`` of the training rows when it drifts there.
    data_file_sha256 : str, optional
        SHA-256 of the file the rows came from, kept in the metadata.
    **overrides
        Any :class:`TrainConfig` field (e.g. ``holdout=0.25``, ``nthread=1``,
        ``search_trials=20``).

    Returns
    -------
    TrainedModel
        Its card holds the hold-out metrics of the pipeline and both baselines
        and ``baseline_check`` (``passed`` False when a baseline is better).

    Raises
    ------
    DataError
        Missing columns, too few rows, one class only, or (with
        ``monotone_check: refuse``) a contradicted monotone sign.
    """
    cfg = TrainConfig.from_spec(spec, **overrides)
    report = progress or (lambda _msg: None)
    y = labels(df, spec).astype(np.int64)
    cfg = _threads(cfg, len(y))
    n, bads = len(y), int(y.sum())
    if n < MIN_ROWS or min(bads, n - bads) < MIN_EACH_CLASS:
        raise DataError(
            f"too little data to train: {n} rows with {bads} bad "
            f"(need {MIN_ROWS} rows and {MIN_EACH_CLASS} of each class)"
        )
    report(f"{n:,} rows, {bads:,} bad ({bads / n:.1%}), {len(spec.model_features)} features")
    all_idx = np.arange(n)
    recent = None
    if by:
        order = time_order(df, by)
        cut = n - int(round(n * cfg.holdout))
        fit_idx, test_idx = np.sort(order[:cut]), np.sort(order[cut:])
        fit_order = order[:cut]
        k = max(1, int(round(len(fit_order) * cfg.recent_share)))
        latest = set(fit_order[-k:].tolist())
        recent = np.asarray([i for i, r in enumerate(fit_idx) if r in latest], dtype=np.int64)
        report(f"out of time by {by}: hold-out is the latest {len(test_idx):,} rows")
    else:
        fit_idx, test_idx = _split(all_idx, y, cfg.holdout, seed)
    enc_probe = Encoder(spec.model_features, decimal=spec.read.decimal).fit(df.iloc[fit_idx])
    for line in enc_probe.column_problems(df.iloc[fit_idx]):
        report(f"WARNING {line}")
    leaks = leakage_check(
        enc_probe.transform(df.iloc[fit_idx]), y[fit_idx], enc_probe.features, cfg.leakage_auc, seed
    )
    for leak in leaks:
        report(
            f"WARNING possible leakage: {leak['feature']} alone has AUC {leak['auc']:.3f} "
            f"(>= {cfg.leakage_auc}); is it known before the loan is granted?"
        )
    fit = _fit(df, y, spec, fit_idx, cfg, seed, progress, recent=recent)
    enc, x = fit.encoder, fit.x
    has_holdout = len(test_idx) > 0
    if has_holdout:
        eval_idx = test_idx
        eval_pds = _pd(fit, x[eval_idx])
        where = "hold-out"
    else:
        # No hold-out: the card reports the cross-fitted (out-of-fold) PDs.
        eval_idx = fit_idx
        eval_pds = fit.calibrator.apply(fit.oof_margin)
        where = "out-of-fold"
    scale, grades = cfg.scale, cfg.grades
    m = metrics.summary(y[eval_idx], eval_pds)
    report(
        f"{where} ({len(eval_idx):,} rows): AUC {m['auc']:.4f}, KS {m['ks']:.4f}, "
        f"Brier {m['brier']:.4f}, ECE {m['ece']:.4f}"
    )
    baselines: dict[str, Any] = {}
    check: dict[str, Any] = {"passed": True, "tolerance": AUC_TOLERANCE, "worse_than": []}
    if has_holdout:
        for name, pds in baseline_pds(x, y, fit_idx, test_idx, enc, seed, cfg.nthread).items():
            baselines[name] = metrics.summary(y[test_idx], pds)
            b = baselines[name]
            report(
                f"  baseline {name:<9} AUC {b['auc']:.4f}, KS {b['ks']:.4f}, "
                f"Brier {b['brier']:.4f}, ECE {b['ece']:.4f}"
            )
            if b["auc"] > m["auc"]:
                gap = b["auc"] - m["auc"]
                check["worse_than"].append({"baseline": name, "auc_gap": gap})
                if gap > AUC_TOLERANCE:
                    check["passed"] = False
        if check["worse_than"]:
            names = ", ".join(
                f"{w['baseline']} by {w['auc_gap']:.4f} AUC" for w in check["worse_than"]
            )
            report(
                "WARNING " + "!" * 60 + f"\nWARNING the pipeline is WORSE than a baseline on "
                f"the hold-out: {names}.\nWARNING "
                + (
                    "Do not promote this model."
                    if not check["passed"]
                    else f"(within the {AUC_TOLERANCE} tolerance)"
                )
                + "\nWARNING "
                + "!" * 60
            )
    raw = bytes(fit.booster.save_raw("ubj"))
    digest = booster_digest(raw)
    version = f"{spec.name}-{digest[:12]}"
    splits = {
        "fit": int(len(fit_idx)),
        "holdout": int(len(test_idx)),
        "folds": cfg.folds,
    }
    eval_scores = scale.scores(eval_pds).astype(float)
    importance = _importance(fit.booster, x[eval_idx[:2000]], enc)
    data_summary = {
        "rows": n,
        "features": {
            f.name: summarise(x[:, j], categories=enc.categories.get(f.name))
            for j, f in enumerate(enc.features)
        },
        "score": summarise(eval_scores, 10),
    }
    created = datetime.now(UTC).isoformat(timespec="seconds")
    src = source if source is not None else (spec.source or "not stated")
    per = period if period is not None else spec.period
    frame_digest = data_sha256(df)
    monotone_used = dict(zip(enc.names, fit.monotone, strict=True))
    training = {
        "seed": seed,
        "params": fit.params,
        "best_rounds": fit.best_rounds,
        "rounds": fit.rounds,
        "splits": splits,
        "refit": cfg.refit,
        "folds": cfg.folds,
        "monotone_used": monotone_used,
        "by": by,
        "data_sha256": frame_digest,
        "data_file_sha256": data_file_sha256,
    }
    metadata: dict[str, Any] = {
        "format": METADATA_FORMAT,
        "version": version,
        "name": spec.name,
        "created_at": created,
        "booster_file": BOOSTER_FILE,
        "booster_sha256": digest,
        "training_data_sha256": frame_digest,
        "training_file_sha256": data_file_sha256,
        "xgboost_version": xgb.__version__,
        "spec": spec.to_dict(),
        "feature_order": enc.names,
        "feature_types": enc.feature_types(),
        "categories": enc.categories,
        "calibration": fit.calibrator.to_dict(),
        "scale": scale.to_dict(),
        "grades": grades.to_list(),
        "data_summary": data_summary,
        "reason_thresholds": reason_thresholds(x[fit_idx], enc),
        "training": training,
    }
    card: dict[str, Any] = {
        "version": version,
        "name": spec.name,
        "created_at": created,
        "synthetic": synthetic,
        "data": {
            "source": src,
            "period": per,
            "rows": n,
            "bad_rate": bads / n,
            "splits": splits,
            "sha256": frame_digest,
            "file_sha256": data_file_sha256,
            "out_of_time_by": by,
        },
        "metrics": m,
        "metrics_on": where,
        "baselines": baselines,
        "baseline_check": check,
        "leakage": leaks,
        "monotone_check": fit.monotone_report,
        "search": fit.search,
        "recalibration": fit.recalibrated,
        **evaluation_tables(y[eval_idx], eval_pds, scale, grades),
        "features": [
            {
                "name": f.name,
                "kind": f.kind,
                "monotone": f.monotone,
                "monotone_used": monotone_used[f.name],
                "actionable": f.actionable,
                "required": f.required,
                "label_zh": f.label_zh,
                "importance": importance[f.name],
            }
            for f in enc.features
        ],
        "excluded_protected": [f.name for f in spec.features if f.protected],
        "model": {
            "xgboost_version": xgb.__version__,
            "params": {k: v for k, v in fit.params.items() if k != "nthread"},
            "best_rounds": fit.best_rounds,
            "rounds": fit.rounds,
            "seed": seed,
            "calibration": fit.calibrator.method_,
            "calibration_rows": fit.calibrator.rows_,
            "refit": cfg.refit,
            "folds": cfg.folds,
        },
        "scale": scale.to_dict(),
        "grades": grades.to_list(),
        "limitations": (
            [
                "Trained on synthetic reference data: replace it with the centre's own outcomes "
                "as soon as there are enough of them."
            ]
            if synthetic
            else []
        )
        + _LIMITATIONS,
    }
    card = json_safe(card)
    metadata = json_safe(metadata)
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    model = CreditModel(booster, metadata, card, render_markdown(card))
    report(f"model {version}")
    return TrainedModel(model, m)


def reason_thresholds(x: FloatMatrix, enc: Encoder) -> dict[str, float]:
    """Return the median of each monotone numeric feature on the rows the model fitted.

    A numeric feature without a ``reason_threshold`` in the spec is a reason
    only above (monotone +1) or below (monotone -1) this median, so "revenue is
    small" is only said of firms with below-median revenue.
    """
    out: dict[str, float] = {}
    for j, f in enumerate(enc.features):
        if f.kind != "numeric" or f.monotone == 0:
            continue
        v = x[:, j][~np.isnan(x[:, j])]
        if len(v):
            out[f.name] = float(np.median(v.astype(np.float64)))
    return out


def _importance(booster: xgb.Booster, x: FloatMatrix, enc: Encoder) -> dict[str, float]:
    """Return mean absolute SHAP contribution per feature on ``x``."""
    if len(x) == 0:
        return {n: 0.0 for n in enc.names}
    contribs = booster.predict(_dmatrix(x, None, enc, 1), pred_contribs=True)
    mean_abs = np.abs(np.asarray(contribs)[:, :-1]).mean(axis=0)
    return {n: round(float(v), 6) for n, v in zip(enc.names, mean_abs, strict=True)}


def _summaries(per_fold: list[dict[str, float | int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("auc", "ks", "brier", "ece"):
        vals = [float(f[key]) for f in per_fold]
        out[key] = float(np.mean(vals))
        out[f"{key}_std"] = float(np.std(vals))
    out["fold_auc"] = [float(f["auc"]) for f in per_fold]
    return out


def cross_validate(
    df: pd.DataFrame,
    spec: Spec,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
    *,
    baseline: bool = True,
    by: str | None = None,
    oof: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Cross-validate the whole pipeline beside both baselines, on the same folds.

    Each fold's test rows are scored by models that never saw them: the
    pipeline (cross-fitting, early stopping, calibration inside the fold's
    training rows), logistic regression and plain XGBoost (defaults, 300 trees).

    Parameters
    ----------
    df : pandas.DataFrame
    spec : Spec
    folds : int
    seed : int
    progress : callable, optional
    baseline : bool
        Also run both baselines (default).
    by : str, optional
        A date column: out-of-time validation. The rows are ordered by it and
        cut into ``folds + 1`` periods; fold k trains on periods 1..k and tests
        on period k+1. Adds ``pipeline_recent``: the pipeline recalibrated on
        the latest part of its training rows when calibration drifted there.
    oof : bool
        Return the out-of-fold PDs (``oof``: a DataFrame with ``row``,
        ``fold``, ``bad`` and one column per method).
    **overrides
        Any :class:`TrainConfig` field.

    Returns
    -------
    dict
        ``folds``, ``rows``, ``bad_rate``, ``methods`` (method -> ``auc``,
        ``ks``, ``brier``, ``ece`` means over folds, their ``_std`` and
        ``fold_auc``), ``auc_mean`` / ``auc_std`` (the pipeline's), ``leakage``
        (features alone at AUC >= 0.85) and ``verdict`` (is the pipeline at
        least as good as plain XGBoost in AUC and better in ECE).
    """
    cfg = TrainConfig.from_spec(spec, **overrides)
    y = labels(df, spec).astype(np.int64)
    cfg = _threads(cfg, len(y))
    n = len(y)
    report = progress or (lambda _msg: None)
    splits: list[tuple[Array, Array]] = []
    recents: list[Array | None] = []
    if by:
        order = time_order(df, by)
        blocks = np.array_split(order, folds + 1)
        for k in range(1, folds + 1):
            tr = np.sort(np.concatenate(blocks[:k]))
            train_order = np.concatenate(blocks[:k])
            keep = max(1, int(round(len(train_order) * cfg.recent_share)))
            latest = set(train_order[-keep:].tolist())
            recents.append(np.asarray([i for i, r in enumerate(tr) if r in latest]))
            splits.append((tr, np.sort(blocks[k])))
    else:
        kf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = list(kf.split(np.zeros(n), y))
        recents = [None] * folds
    probe = Encoder(spec.model_features, decimal=spec.read.decimal).fit(df)
    leaks = leakage_check(probe.transform(df), y, probe.features, cfg.leakage_auc, seed)
    for leak in leaks:
        report(
            f"WARNING possible leakage: {leak['feature']} alone has AUC {leak['auc']:.3f} "
            f"(>= {cfg.leakage_auc}); is it known before the loan is granted?"
        )
    methods = (
        ["pipeline"] + (["pipeline_recent"] if by else []) + (list(BASELINES) if baseline else [])
    )
    per: dict[str, list[dict[str, float | int]]] = {m: [] for m in methods}
    oof_pd = {m: np.full(n, np.nan) for m in methods}
    fold_of = np.zeros(n, dtype=np.int64)
    for k, ((tr, te), recent) in enumerate(zip(splits, recents, strict=True), start=1):
        if np.bincount(y[te], minlength=2).min() == 0:
            raise DataError(f"fold {k} has test rows of one class only; use fewer folds")
        fit = _fit(df, y, spec, tr, cfg, seed, None, recent=recent)
        fold_of[te] = k
        margin = np.asarray(fit.booster.inplace_predict(fit.x[te], predict_type="margin"))
        pds = {"pipeline": fit.calibrator.apply(margin)}
        if by:
            # "pipeline" keeps the calibration on all training rows; "pipeline_recent"
            # uses the latest-period recalibration when the drift rule applied it.
            global_cal = Calibrator(cfg.calibration).fit(fit.oof_margin, y[tr])
            pds["pipeline_recent"] = pds["pipeline"]
            pds["pipeline"] = global_cal.apply(margin)
        if baseline:
            pds.update(baseline_pds(fit.x, y, tr, te, fit.encoder, seed, cfg.nthread))
        line = [f"fold {k}/{folds} ({len(te):,} rows):"]
        for name, p in pds.items():
            per[name].append(metrics.summary(y[te], p))
            oof_pd[name][te] = p
            s = per[name][-1]
            line.append(f"{name} AUC {s['auc']:.4f} ECE {s['ece']:.4f}")
        report(" ".join(line[:1]) + " " + "; ".join(line[1:]))
    tested = fold_of > 0
    out: dict[str, Any] = {
        "folds": folds,
        "rows": n,
        "bad_rate": float(y.mean()),
        "by": by,
        "methods": {m: _summaries(per[m]) for m in methods},
        "leakage": leaks,
    }
    pipe = out["methods"]["pipeline"]
    out["auc_mean"], out["auc_std"] = pipe["auc"], pipe["auc_std"]
    out["fold_auc"] = pipe["fold_auc"]
    if baseline:
        plain = out["methods"]["xgboost"]
        out["verdict"] = {
            "auc_at_least_plain_xgboost": pipe["auc"] >= plain["auc"],
            "ece_better_than_plain_xgboost": pipe["ece"] < plain["ece"],
            "auc_at_least_logistic": pipe["auc"] >= out["methods"]["logistic"]["auc"],
        }
        out["baseline_auc_mean"], out["baseline_auc_std"] = plain["auc"], plain["auc_std"]
    if oof:
        frame = pd.DataFrame({"row": np.flatnonzero(tested), "fold": fold_of[tested]})
        frame["bad"] = y[tested]
        for m in methods:
            frame[m] = oof_pd[m][tested]
        out["oof"] = frame
    return out


def evaluate(model: CreditModel, df: pd.DataFrame) -> dict[str, Any]:
    """Return ``auc``, ``ks``, ``brier``, ``ece``, ``rows`` and ``bad_rate`` of ``model`` on ``df``.

    ``df`` must hold the model spec's target column.
    """
    y = labels(df, model.spec)
    return metrics.summary(y, model.predict_pd(df, batch_threads()))


def compare_on_holdout(
    champion: CreditModel,
    challenger: CreditModel,
    df: pd.DataFrame,
    label: str | Array | None = None,
    *,
    cutoff_pd: float | None = None,
) -> dict[str, Any]:
    """Score the same hold-out rows with two models and compare them.

    Parameters
    ----------
    champion, challenger : CreditModel
    df : pandas.DataFrame
        Hold-out rows neither model was trained on, with every feature both use.
    label : str or array, optional
        Column of ``df`` with 1 = bad (or the labels themselves); default: the
        champion spec's target column.
    cutoff_pd : float, optional
        The current cut-off: an application is approved below this PD. Default:
        the upper PD bound of the champion's third grade (C, 10%).

    Returns
    -------
    dict
        ``rows``, ``bad_rate``, ``cutoff_pd``, ``champion`` and ``challenger``
        (each with ``version``, ``auc``, ``ks``, ``brier``, ``ece``,
        ``approval_rate`` and ``bad_rate_approved`` at the cut-off),
        ``delta_auc`` (challenger minus champion), ``approval_rate_change``,
        ``score_psi`` (the challenger's scores against the champion's on the
        same rows) and ``better`` (``challenger`` when its AUC is higher and
        its ECE no worse than 0.01 above the champion's).
    """
    from .drift import psi

    if label is None:
        y = labels(df, champion.spec)
    elif isinstance(label, str):
        y = np.asarray(df[label], dtype=np.int8)
    else:
        y = np.asarray(label, dtype=np.int8)
    if cutoff_pd is None:
        bands = champion.grades.bands
        cutoff_pd = float(bands[min(2, len(bands) - 1)][1])
    out: dict[str, Any] = {
        "rows": int(len(y)),
        "bad_rate": float(np.mean(y)),
        "cutoff_pd": cutoff_pd,
    }
    scores: dict[str, Array] = {}
    for role, model in (("champion", champion), ("challenger", challenger)):
        pds = model.predict_pd(df, batch_threads())
        s = metrics.summary(y, pds)
        approved = pds < cutoff_pd
        out[role] = {
            "version": model.version,
            **{k: s[k] for k in ("auc", "ks", "brier", "ece")},
            "approval_rate": float(approved.mean()) if len(y) else math.nan,
            "bad_rate_approved": float(y[approved].mean()) if approved.any() else math.nan,
        }
        scores[role] = model.scale.scores(pds).astype(float)
    out["delta_auc"] = out["challenger"]["auc"] - out["champion"]["auc"]
    out["approval_rate_change"] = (
        out["challenger"]["approval_rate"] - out["champion"]["approval_rate"]
    )
    out["score_psi"] = psi(scores["champion"], scores["challenger"]) if len(y) else math.nan
    better = out["delta_auc"] > 0 and out["challenger"]["ece"] <= out["champion"]["ece"] + 0.01
    out["better"] = "challenger" if better else "champion"
    return out
