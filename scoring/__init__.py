"""Credit scoring for FinPortal: calibrated XGBoost PD, score, grade and reasons.

A pure package: it imports neither Flask, SQLAlchemy nor ``finportal``, and
takes and returns plain data (dicts, DataFrames, dataclasses).

Public API
----------
Scoring with a saved model::

    model = load_model(model_dir)            # -> CreditModel
    model.version                            # "platform-1a2b3c4d5e6f"
    model.card, model.card_markdown          # model card (dict / Markdown)
    result = model.score_one(features)       # -> ScoreResult
    result.pd, result.score, result.grade, result.reasons, result.to_dict()
    model.score_many(df)                     # -> DataFrame: pd, score, grade

Features of the platform model::

    features = platform_features(profile, request, today)   # -> dict[str, float]

Training::

    spec = load_spec(PLATFORM_SPEC_PATH)     # or any YAML spec -> Spec
    trained = train(df, spec, seed=0, progress=print)       # -> TrainedModel
    trained.save(model_dir)
    train_reference_model(model_dir, seed=0)                # cold-start model
    train_from_records(records, spec, seed=0)               # platform outcomes
    cross_validate(df, spec, folds=5, seed=0)               # -> dict

Monitoring and comparison::

    drift_report(model, df)                  # PSI of score and features
    psi(expected_values, actual_values)
    compare_on_holdout(champion, challenger, df)

Errors: :class:`SpecError` (bad spec), :class:`DataError` (data does not fit
the spec), :class:`InputError` (one application that cannot be scored as given), :class:`ModelError` (unloadable model directory),
:class:`InsufficientDataError` (too few outcomes; ``message_zh`` /
``message_en``).

The method (features, reference data, score scale, grades) is written down in
``docs/SCORING.md``; the command line is ``python -m scoring --help``.
"""

from .drift import drift_report, psi
from .enterprise import platform_features
from .frame import DataError, InputError, read_csv, read_data
from .model import CreditModel, ModelError, ScoreResult, load_model
from .records import InsufficientDataError, train_from_records
from .reference import generate_reference_data, train_reference_model
from .scale import Grades, ScoreScale
from .spec import (
    PLATFORM_SPEC_PATH,
    Feature,
    Spec,
    SpecError,
    feature_label,
    load_spec,
    reason_steps,
)
from .training import TrainedModel, compare_on_holdout, cross_validate, evaluate, train

__all__ = [
    "PLATFORM_SPEC_PATH",
    "CreditModel",
    "DataError",
    "Feature",
    "Grades",
    "InputError",
    "InsufficientDataError",
    "ModelError",
    "ScoreResult",
    "ScoreScale",
    "Spec",
    "SpecError",
    "TrainedModel",
    "compare_on_holdout",
    "cross_validate",
    "drift_report",
    "evaluate",
    "feature_label",
    "generate_reference_data",
    "load_model",
    "load_spec",
    "platform_features",
    "psi",
    "read_csv",
    "read_data",
    "reason_steps",
    "train",
    "train_from_records",
    "train_reference_model",
]
