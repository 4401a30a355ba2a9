"""Train, cross-validate and evaluate credit models from a DataFrame and a spec.

Rows are split (stratified, seeded) into

- a **hold-out** part, only for the model card's metrics (``holdout``);
- a **calibration** part, only for fitting the PD calibration;
- the rest, split again into **train** and **validation**: the trees are
  grown on *train* with early stopping on *validation*; then, by default, the
  trees are grown again on train + validation with the number of rounds scaled
  up to the larger data (``refit``).

So calibration and hold-out rows never reach the trees.
"""

from __future__ import annotations

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
from .calibration import METHODS, Calibrator
from .card import evaluation_tables, render_markdown
from .drift import summarise
from .frame import DataError, Encoder, FloatMatrix, labels
from .model import (
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

# Below this many rows a second training thread costs more in synchronisation
# than it saves (and on a busy machine far more); results are the same either way.
SMALL_DATA_ROWS = 20_000


def _threads(cfg: TrainConfig, rows: int) -> TrainConfig:
    """Resolve the automatic thread count: 1 for small data, else 2."""
    if cfg.nthread is not None:
        return cfg
    return replace(cfg, nthread=1 if rows < SMALL_DATA_ROWS else 2)


_CONFIG_KEYS = {
    "xgboost",
    "num_boost_round",
    "early_stopping_rounds",
    "holdout",
    "calibration_fraction",
    "validation_fraction",
    "calibration",
    "refit",
    "scale",
    "grades",
    "min_present",
}


@dataclass(frozen=True)
class TrainConfig:
    """Training settings: XGBoost parameters, splits, calibration, scale and grades."""

    xgb_params: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_XGB_PARAMS))
    num_boost_round: int = 1000
    early_stopping_rounds: int = 50
    holdout: float = 0.2
    calibration_fraction: float = 0.15
    validation_fraction: float = 0.2
    calibration: str = "platt"
    refit: bool = True
    scale: ScoreScale = field(default_factory=ScoreScale)
    grades: Grades = field(default_factory=Grades)
    nthread: int | None = None

    @classmethod
    def from_spec(cls, spec: Spec, **overrides: Any) -> TrainConfig:
        """Build the settings from the spec's ``params`` section, then ``overrides``."""
        raw = dict(spec.params)
        unknown = sorted(set(raw) - _CONFIG_KEYS)
        if unknown:
            raise SpecError(
                spec.name,
                [
                    f"params.{k}: unknown setting (known: {', '.join(sorted(_CONFIG_KEYS))})"
                    for k in unknown
                ],
            )
        xgb_params = dict(DEFAULT_XGB_PARAMS)
        for k, v in dict(raw.pop("xgboost", {}) or {}).items():
            if k in _FIXED_PARAMS:
                raise SpecError(
                    spec.name, [f"params.xgboost.{k}: set by the pipeline, not the spec"]
                )
            xgb_params[k] = v
        try:
            cfg = cls(
                xgb_params=xgb_params,
                num_boost_round=int(raw.get("num_boost_round", 1000)),
                early_stopping_rounds=int(raw.get("early_stopping_rounds", 50)),
                holdout=float(raw.get("holdout", 0.2)),
                calibration_fraction=float(raw.get("calibration_fraction", 0.15)),
                validation_fraction=float(raw.get("validation_fraction", 0.2)),
                calibration=str(raw.get("calibration", "platt")),
                refit=bool(raw.get("refit", True)),
                scale=ScoreScale.from_dict(raw.get("scale")),
                grades=Grades.from_list(raw.get("grades")),
            )
        except (TypeError, ValueError) as exc:
            raise SpecError(spec.name, [f"params: {exc}"]) from None
        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        for name in ("holdout", "calibration_fraction", "validation_fraction"):
            v = getattr(cfg, name)
            if not 0.0 <= v < 0.9:
                raise SpecError(spec.name, [f"params.{name}: must be in [0, 0.9), got {v}"])
        if cfg.calibration not in METHODS:
            raise SpecError(
                spec.name,
                [f"params.calibration: {cfg.calibration!r} is not one of {', '.join(METHODS)}"],
            )
        if cfg.calibration_fraction <= 0 or cfg.validation_fraction <= 0:
            raise SpecError(spec.name, ["params: calibration and validation fractions must be > 0"])
        return cfg


class _ProgressCallback(xgb.callback.TrainingCallback):
    """Report the validation loss every ``every`` rounds."""

    def __init__(self, report: Progress, every: int = 50) -> None:
        super().__init__()
        self.report = report
        self.every = every

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        if epoch % self.every == 0:
            loss = evals_log.get("valid", {}).get("logloss", [math.nan])[-1]
            self.report(f"  round {epoch}: validation logloss {loss:.4f}")
        return False


def _split(idx: Array, y: Array, frac: float, seed: int) -> tuple[Array, Array]:
    """Split indices into (rest, part) with ``part`` holding ``frac`` of them, stratified."""
    if frac <= 0:
        return idx, idx[:0]
    strat = y[idx] if min(np.bincount(y[idx], minlength=2)) >= 2 else None
    rest, part = train_test_split(idx, test_size=frac, random_state=seed, stratify=strat)
    return np.sort(rest), np.sort(part)


@dataclass
class _Fit:
    booster: xgb.Booster
    calibrator: Calibrator
    encoder: Encoder
    x: FloatMatrix
    cal_idx: Array
    best_rounds: int
    rounds: int
    params: dict[str, Any]
    splits: dict[str, int]


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


def _fit(
    df: pd.DataFrame,
    y: Array,
    spec: Spec,
    idx: Array,
    cfg: TrainConfig,
    seed: int,
    progress: Progress | None,
) -> _Fit:
    """Grow the trees on part of the rows ``idx`` and calibrate on another part."""
    rest, cal = _split(idx, y, cfg.calibration_fraction, seed + 1)
    tr, va = _split(rest, y, cfg.validation_fraction, seed + 2)
    # Category lists come from the rows the trees see; others count as unknown.
    enc = Encoder(spec.model_features).fit(df.iloc[rest])
    x = enc.transform(df)
    for name, part in (("training", tr), ("validation", va), ("calibration", cal)):
        counts = np.bincount(y[part], minlength=2)
        if counts.min() == 0:
            raise DataError(f"the {name} split has no {'bad' if counts[1] == 0 else 'good'} rows")
    params = dict(cfg.xgb_params)
    params.update(
        seed=seed,
        nthread=cfg.nthread,
        monotone_constraints="(" + ",".join(str(f.monotone) for f in enc.features) + ")",
    )
    callbacks: list[xgb.callback.TrainingCallback] = []
    if progress is not None:
        callbacks.append(_ProgressCallback(progress))
        progress(f"growing trees on {len(tr):,} rows, early stopping on {len(va):,}")
    d_tr = _dmatrix(x[tr], y[tr], enc, cfg.nthread)
    d_va = _dmatrix(x[va], y[va], enc, cfg.nthread)
    booster = xgb.train(
        params,
        d_tr,
        num_boost_round=cfg.num_boost_round,
        evals=[(d_va, "valid")],
        early_stopping_rounds=cfg.early_stopping_rounds,
        verbose_eval=False,
        callbacks=callbacks,
    )
    best = int(booster.best_iteration) + 1
    rounds = best
    if cfg.refit:
        # More rows support more rounds at the same learning rate; scale by the size ratio.
        rounds = max(1, round(best * len(rest) / max(1, len(tr))))
        if progress is not None:
            progress(
                f"best round {best}; growing {rounds} trees on train + validation ({len(rest):,} rows)"
            )
        booster = xgb.train(
            params, _dmatrix(x[rest], y[rest], enc, cfg.nthread), num_boost_round=rounds
        )
    else:
        booster = booster[:best]
    booster.set_param({"nthread": cfg.nthread})
    margin = np.asarray(booster.inplace_predict(x[cal], predict_type="margin"), dtype=float)
    calibrator = Calibrator(cfg.calibration).fit(margin, y[cal])
    if progress is not None:
        progress(f"calibrated ({calibrator.method_}) on {len(cal):,} held-out rows")
    # Disjoint parts (they add up to the rows); with refit the final trees grew
    # on train + validation.
    splits = {"train": int(len(tr)), "validation": int(len(va)), "calibration": int(len(cal))}
    return _Fit(booster, calibrator, enc, x, cal, best, rounds, params, splits)


def _pd(fit: _Fit, x: FloatMatrix) -> Array:
    margin = np.asarray(fit.booster.inplace_predict(x, predict_type="margin"), dtype=float)
    return fit.calibrator.apply(margin)


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
    **overrides: Any,
) -> TrainedModel:
    """Train a calibrated, monotone XGBoost credit model.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per loan: the spec's feature columns and its target column.
    spec : Spec
        Feature spec (see :func:`scoring.load_spec`).
    seed : int
        Seed for the splits and XGBoost's sampling; same seed, same model.
    progress : callable, optional
        Called with one line of text at each step and every 50 rounds.
    source, period : str, optional
        Data source and period for the model card (default: from the spec).
    synthetic : bool
        Mark the model card as trained on synthetic reference data.
    **overrides
        Any :class:`TrainConfig` field (e.g. ``holdout=0.25``, ``nthread=1``).

    Returns
    -------
    TrainedModel

    Raises
    ------
    DataError
        Missing columns, too few rows, or a split without bad (or good) rows.
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
    fit_idx, test_idx = _split(all_idx, y, cfg.holdout, seed)
    fit = _fit(df, y, spec, fit_idx, cfg, seed, progress)
    enc, x = fit.encoder, fit.x
    eval_idx = test_idx if len(test_idx) else fit.cal_idx
    eval_pds = _pd(fit, x[eval_idx])
    scale, grades = cfg.scale, cfg.grades
    m = metrics.summary(y[eval_idx], eval_pds)
    report(
        f"hold-out ({len(eval_idx):,} rows): AUC {m['auc']:.4f}, KS {m['ks']:.4f}, "
        f"Brier {m['brier']:.4f}, ECE {m['ece']:.4f}"
    )
    raw = bytes(fit.booster.save_raw("json"))
    digest = booster_digest(raw)
    version = f"{spec.name}-{digest[:12]}"
    splits = dict(fit.splits)
    splits["holdout"] = int(len(test_idx))
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
    metadata: dict[str, Any] = {
        "format": METADATA_FORMAT,
        "version": version,
        "name": spec.name,
        "created_at": created,
        "booster_file": "model.json",
        "booster_sha256": digest,
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
        "training": {
            "seed": seed,
            "params": fit.params,
            "best_rounds": fit.best_rounds,
            "rounds": fit.rounds,
            "splits": splits,
            "refit": cfg.refit,
        },
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
        },
        "metrics": m,
        **evaluation_tables(y[eval_idx], eval_pds, scale, grades),
        "features": [
            {
                "name": f.name,
                "kind": f.kind,
                "monotone": f.monotone,
                "actionable": f.actionable,
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
            "refit": cfg.refit,
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


def cross_validate(
    df: pd.DataFrame,
    spec: Spec,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
    *,
    baseline: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Cross-validate the whole pipeline (trees, early stopping, calibration).

    Each fold's test rows are scored by a model that never saw them; inside a
    fold the training rows are split as in :func:`train` (without a hold-out).

    Parameters
    ----------
    df : pandas.DataFrame
    spec : Spec
    folds : int
    seed : int
    progress : callable, optional
    baseline : bool
        Also train plain XGBoost (its default parameters, 100 rounds, no
        monotone constraints, no early stopping, no calibration) on each fold's
        whole training part, with the same features, and score the same test rows.
    **overrides
        Any :class:`TrainConfig` field.

    Returns
    -------
    dict
        ``auc_mean``, ``auc_std``, ``folds``, ``rows``, ``bad_rate`` and
        ``fold_auc`` (the AUC of each fold); with ``baseline`` also
        ``baseline_auc_mean``, ``baseline_auc_std`` and ``baseline_fold_auc``.
    """
    cfg = TrainConfig.from_spec(spec, **overrides)
    y = labels(df, spec).astype(np.int64)
    cfg = _threads(cfg, len(y))
    aucs: list[float] = []
    plain: list[float] = []
    kf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(kf.split(np.zeros(len(y)), y), start=1):
        fit = _fit(df, y, spec, tr, cfg, seed, None)
        aucs.append(metrics.auc(y[te], _pd(fit, fit.x[te])))
        line = f"fold {k}/{folds}: AUC {aucs[-1]:.4f}"
        if baseline:
            plain.append(_plain_xgboost_auc(df, y, spec, tr, te, seed, cfg.nthread))
            line += f" (plain XGBoost {plain[-1]:.4f})"
        if progress is not None:
            progress(line)
    out: dict[str, Any] = {
        "auc_mean": float(np.mean(aucs)),
        "auc_std": float(np.std(aucs)),
        "folds": folds,
        "rows": len(y),
        "bad_rate": float(y.mean()),
        "fold_auc": [float(a) for a in aucs],
    }
    if baseline:
        out["baseline_auc_mean"] = float(np.mean(plain))
        out["baseline_auc_std"] = float(np.std(plain))
        out["baseline_fold_auc"] = [float(a) for a in plain]
    return out


def _plain_xgboost_auc(
    df: pd.DataFrame, y: Array, spec: Spec, tr: Array, te: Array, seed: int, nthread: int | None
) -> float:
    """Return the test AUC of XGBoost with its default parameters, for comparison."""
    enc = Encoder(spec.model_features).fit(df.iloc[tr])
    x = enc.transform(df)
    params = {"objective": "binary:logistic", "tree_method": "hist", "seed": seed}
    params["nthread"] = nthread
    booster = xgb.train(params, _dmatrix(x[tr], y[tr], enc, nthread), num_boost_round=100)
    return metrics.auc(y[te], booster.inplace_predict(x[te]))


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

    Returns
    -------
    dict
        ``rows``, ``bad_rate``, ``champion`` and ``challenger`` (each with
        ``version``, ``auc``, ``ks``, ``brier``, ``ece``), ``delta_auc``
        (challenger minus champion), ``better`` (``challenger`` when its AUC
        is higher and its ECE no worse than 0.01 above the champion's).
    """
    if label is None:
        y = labels(df, champion.spec)
    elif isinstance(label, str):
        y = np.asarray(df[label], dtype=np.int8)
    else:
        y = np.asarray(label, dtype=np.int8)
    out: dict[str, Any] = {"rows": int(len(y)), "bad_rate": float(np.mean(y))}
    for role, model in (("champion", champion), ("challenger", challenger)):
        s = metrics.summary(y, model.predict_pd(df, batch_threads()))
        out[role] = {"version": model.version, **{k: s[k] for k in ("auc", "ks", "brier", "ece")}}
    out["delta_auc"] = out["challenger"]["auc"] - out["champion"]["auc"]
    better = out["delta_auc"] > 0 and out["challenger"]["ece"] <= out["champion"]["ece"] + 0.01
    out["better"] = "challenger" if better else "champion"
    return out
