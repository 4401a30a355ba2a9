"""A small, seeded, time-budgeted hyper-parameter search (Optuna TPE) on the training folds.

Each trial cross-fits the trees on the same folds the pipeline uses (early
stopping in each) and is scored by the out-of-fold log-loss. The spec's own
parameters are always the first trial, so the search can only keep them or
find better ones on those folds. The sampler is seeded: the same data, seed and
number of completed trials give the same result; a time budget may stop a slow
machine earlier, and the model card records how many trials ran.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .frame import Encoder

Array = npt.NDArray[Any]

# The space: shallow to medium trees, learning rates that need 50-2000 rounds.
SPACE = {
    "max_depth": (2, 6),
    "eta": (0.02, 0.3),
    "min_child_weight": (1.0, 50.0),
    "subsample": (0.6, 1.0),
    "colsample_bytree": (0.4, 1.0),
    "reg_lambda": (0.1, 20.0),
}


def _logloss(y: Array, margin: Array) -> float:
    p = 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def search_params(
    x: Array,
    y: Array,
    idx: Array,
    enc: Encoder,
    cfg: Any,
    seed: int,
    monotone: list[int],
    cross_fit: Callable[..., tuple[Array, list[int]]],
    make_params: Callable[..., dict[str, Any]],
    progress: Callable[[str], None] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Search XGBoost parameters; return the best ones and a record for the model card."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    base = {k: cfg.xgb_params[k] for k in SPACE if k in cfg.xgb_params}
    study.enqueue_trial(base)
    trials = cfg.search_trials if cfg.search_trials > 0 else 1000
    budget = cfg.search_seconds if cfg.search_seconds > 0 else None
    start = time.perf_counter()

    def objective(trial: Any) -> float:
        lo, hi = SPACE["max_depth"]
        params = dict(cfg.xgb_params)
        params["max_depth"] = trial.suggest_int("max_depth", lo, hi)
        for name in ("eta", "min_child_weight", "reg_lambda"):
            lo_f, hi_f = SPACE[name]
            params[name] = trial.suggest_float(name, lo_f, hi_f, log=True)
        for name in ("subsample", "colsample_bytree"):
            lo_f, hi_f = SPACE[name]
            params[name] = trial.suggest_float(name, lo_f, hi_f)
        trial_cfg = type(cfg)(**{**cfg.__dict__, "xgb_params": params})
        oof, bests = cross_fit(
            x, y, idx, enc, make_params(trial_cfg, seed, monotone), trial_cfg, seed
        )
        loss = _logloss(y[idx], oof)
        trial.set_user_attr("rounds", int(np.mean(bests)))
        return loss

    def report(study_: Any, trial: Any) -> None:
        if progress is None:
            return
        done = len(study_.trials)
        elapsed = time.perf_counter() - start
        bar = "#" * min(20, done * 20 // trials) if budget is None else ""
        progress(
            f"  search trial {done}/{trials if budget is None else '?'} {bar} "
            f"log-loss {trial.value:.5f} (best {study_.best_value:.5f}), {elapsed:.0f} s"
        )

    study.optimize(
        objective,
        n_trials=trials,
        timeout=budget,
        callbacks=[report],
        show_progress_bar=progress is None and sys.stderr.isatty(),
    )
    best = dict(cfg.xgb_params)
    best.update(study.best_params)
    first = study.trials[0].value
    record = {
        "method": "optuna TPE (seeded), out-of-fold log-loss on the training folds",
        "optuna_version": optuna.__version__,
        "seed": seed,
        "trials": len(study.trials),
        "trials_asked": cfg.search_trials,
        "seconds_budget": cfg.search_seconds,
        "seconds": round(time.perf_counter() - start, 1),
        "spec_params_logloss": None if first is None or math.isnan(first) else round(first, 6),
        "best_logloss": round(float(study.best_value), 6),
        "best_params": {
            k: (round(v, 6) if isinstance(v, float) else v) for k, v in study.best_params.items()
        },
        "best_is_spec_params": study.best_trial.number == 0,
    }
    if progress is not None:
        progress(
            f"search: {record['trials']} trials in {record['seconds']} s; best log-loss "
            f"{record['best_logloss']} (spec parameters {record['spec_params_logloss']})"
        )
    return best, record
