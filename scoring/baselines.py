"""The two baselines every pipeline run is measured against, on the same rows.

- **Logistic regression**: numeric inputs with missing values filled by the
  training median (plus a missing-value indicator), clipped to the training 1st
  and 99th percentiles (ratios have heavy tails) and standardised; categories
  one-hot encoded (categories rarer than 10 rows pooled). L2, C = 1.
- **Plain XGBoost**: XGBoost's default parameters (depth 6, learning rate 0.3),
  300 trees, no monotone constraints, no early stopping, no calibration, the
  same features (categories native).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from .frame import Encoder

Array = npt.NDArray[Any]

PLAIN_XGBOOST_ROUNDS = 300
BASELINES = ("logistic", "xgboost")


class _Clip:
    """Clip each column to its training 1st-99th percentiles (picklable, fitted in place)."""

    def __init__(self) -> None:
        self.lo_: Array = np.empty(0)
        self.hi_: Array = np.empty(0)

    def fit(self, x: Array) -> _Clip:
        self.lo_ = np.nanpercentile(x, 1, axis=0)
        self.hi_ = np.nanpercentile(x, 99, axis=0)
        return self

    def __call__(self, x: Array) -> Array:
        return np.clip(x, self.lo_, self.hi_)


def logistic_pd(x: Array, y: Array, train: Array, test: Array, enc: Encoder, seed: int) -> Array:
    """Fit the logistic-regression baseline on ``train`` rows; return PDs of ``test`` rows."""
    types = enc.feature_types()
    num = [j for j, t in enumerate(types) if t == "q"]
    cat = [j for j, t in enumerate(types) if t == "c"]
    xt = np.asarray(x[train], dtype=float)
    parts: list[tuple[str, Any, list[int]]] = []
    if num:
        sub = xt[:, num]
        usable = [num[i] for i in range(len(num)) if not np.isnan(sub[:, i]).all()]
        if usable:
            clip = _Clip().fit(np.where(np.isnan(xt[:, usable]), np.nan, xt[:, usable]))
            parts.append(
                (
                    "num",
                    Pipeline(
                        [
                            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                            ("scale", StandardScaler()),
                        ]
                    ),
                    usable,
                )
            )
            xt = xt.copy()
            xt[:, usable] = clip(xt[:, usable])
            xs = np.asarray(x[test], dtype=float).copy()
            xs[:, usable] = clip(xs[:, usable])
        else:
            xs = np.asarray(x[test], dtype=float)
    else:
        xs = np.asarray(x[test], dtype=float)
    if cat:
        parts.append(
            (
                "cat",
                Pipeline(
                    [
                        ("fill", FunctionTransformer(lambda a: np.where(np.isnan(a), -1, a))),
                        (
                            "onehot",
                            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10),
                        ),
                    ]
                ),
                cat,
            )
        )
    model = Pipeline(
        [
            ("columns", ColumnTransformer(parts)),
            ("lr", LogisticRegression(C=1.0, max_iter=2000, random_state=seed)),
        ]
    )
    model.fit(xt, y[train])
    return np.asarray(model.predict_proba(xs)[:, 1], dtype=float)


def xgboost_pd(
    x: Array, y: Array, train: Array, test: Array, enc: Encoder, seed: int, nthread: int | None
) -> Array:
    """Fit plain XGBoost (defaults, 300 trees) on ``train`` rows; return PDs of ``test`` rows."""
    types = enc.feature_types()
    cat = "c" in types
    params = {"objective": "binary:logistic", "tree_method": "hist", "seed": seed}
    params["nthread"] = nthread or 1
    dtrain = xgb.DMatrix(
        x[train], label=y[train], feature_types=types, enable_categorical=cat, nthread=nthread
    )
    booster = xgb.train(params, dtrain, num_boost_round=PLAIN_XGBOOST_ROUNDS)
    dtest = xgb.DMatrix(x[test], feature_types=types, enable_categorical=cat, nthread=nthread)
    return np.asarray(booster.predict(dtest), dtype=float)


def baseline_pds(
    x: Array,
    y: Array,
    train: Array,
    test: Array,
    enc: Encoder,
    seed: int,
    nthread: int | None,
) -> dict[str, Array]:
    """Return the PDs of both baselines for the ``test`` rows, trained on ``train`` rows."""
    return {
        "logistic": logistic_pd(x, y, train, test, enc, seed),
        "xgboost": xgboost_pd(x, y, train, test, enc, seed, nthread),
    }
