"""A trained credit model: PD, score, grade and reason codes for applications."""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

from .calibration import Calibrator
from .frame import Encoder, FloatMatrix, value_key
from .scale import Grades, ScoreScale
from .spec import SPECS_DIR, Condition, Feature, Spec, SpecError, load_spec, spec_from_dict

BOOSTER_FILE = "model.json"
METADATA_FILE = "metadata.json"
CARD_FILE = "model_card.json"
CARD_MD_FILE = "model_card.md"
METADATA_FORMAT = 1
DEFAULT_MAX_REASONS = 4


class ModelError(RuntimeError):
    """A model directory that cannot be loaded."""


def booster_digest(raw: bytes) -> str:
    """Return the SHA-256 hex digest of the saved booster."""
    return hashlib.sha256(raw).hexdigest()


def batch_threads() -> int:
    """Return the thread count for batch work (the machine's cores, at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


@dataclass
class ScoreResult:
    """The outcome of scoring one application.

    Attributes
    ----------
    pd : float
        Calibrated probability of default.
    score : int
        Points on the model's points-to-double-odds scale (higher is safer).
    grade : str
        ``A`` (lowest risk) to ``E``.
    reasons : list of dict
        Features that raise this application's risk most, largest first; each
        with ``feature``, ``contribution`` (log-odds, from XGBoost's SHAP
        values), ``text_zh`` and ``text_en``. Only actionable, non-protected
        features whose value is on the risky side (so the text is true of this
        application) appear; see :meth:`CreditModel.reason_mask`.
    """

    pd: float
    score: int
    grade: str
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return ``pd``, ``score``, ``grade`` and ``reasons`` as plain data."""
        return {
            "pd": self.pd,
            "score": self.score,
            "grade": self.grade,
            "reasons": [dict(r) for r in self.reasons],
        }


class CreditModel:
    """A booster with its encoder, calibration, scale, grades and model card.

    Build one with :func:`load_model` or from :func:`scoring.train`. Scoring is
    safe from several threads at once (XGBoost prediction on tree models is
    thread safe); load a model once and share it.
    """

    def __init__(
        self,
        booster: xgb.Booster,
        metadata: dict[str, Any],
        card: dict[str, Any] | None = None,
        card_markdown: str = "",
    ) -> None:
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.card: dict[str, Any] = card or {}
        self.card_markdown = card_markdown
        self.spec: Spec = spec_from_dict(metadata["spec"], f"model {self.version}")
        by_name = {f.name: f for f in self.spec.features}
        self.feature_names: list[str] = list(metadata["feature_order"])
        self.features = [by_name[n] for n in self.feature_names]
        self.encoder = Encoder(self.features, metadata.get("categories", {}))
        self.feature_types = self.encoder.feature_types()
        self._has_categorical = "c" in self.feature_types
        self.calibrator = Calibrator.from_dict(metadata["calibration"])
        self.scale = ScoreScale.from_dict(metadata.get("scale"))
        self.grades = Grades.from_list(metadata.get("grades"))
        self._grade_floor = list(
            zip(self.grades.names, self.grades.min_scores(self.scale), strict=False)
        )
        self._last_grade = self.grades.names[-1]
        # One application runs on one thread: the portal serves many requests at
        # once, and thread start-up would cost more than the prediction itself.
        booster.set_param({"nthread": 1})
        self._booster = booster
        self._batch_booster: xgb.Booster | None = None
        self._batch_nthread = -1
        self._batch_lock = threading.Lock()
        self._texts = [(f.reason_zh, f.reason_en) for f in self.features]
        self._reason_rules(metadata.get("reason_thresholds"))

    def _reason_rules(self, medians: Mapping[str, float] | None) -> None:
        """Precompute when each feature's reason text is true of an applicant.

        ``medians`` are the training medians of numeric features (metadata
        ``reason_thresholds``). A model saved before they existed has none: its
        booleans and the numeric features with a ``reason_threshold`` in the
        packaged spec of the same name still give reasons, other numeric ones
        do not; ``reason_if`` conditions come from that packaged spec as well.
        """
        features = list(self.features)
        if medians is None:
            features = _with_packaged_rules(self.spec, features)
        medians = medians or {}
        k = len(features)
        # Risky side: value > above (monotone +1) or value < below (monotone -1).
        # +inf / -inf never hold; below = +inf holds for every value (monotone 0
        # with reason_if, where only the conditions decide).
        above = np.full(k, np.inf)
        below = np.full(k, -np.inf)
        ok = np.zeros(k, dtype=bool)
        for j, f in enumerate(features):
            ok[j] = f.actionable and not f.protected
            threshold: float | None = None
            if f.kind == "boolean":
                threshold = 0.0 if f.monotone > 0 else 1.0
            elif f.kind == "numeric":
                threshold = f.reason_threshold
                if threshold is None and medians.get(f.name) is not None:
                    threshold = float(medians[f.name])
            if f.monotone > 0 and threshold is not None:
                above[j] = threshold
            elif f.monotone < 0 and threshold is not None:
                below[j] = threshold
            elif f.monotone == 0 and f.reason_if:
                below[j] = np.inf
        self._reason_ok = ok
        self._above = above
        self._below = below
        self._missing_texts = [(f.reason_missing_zh, f.reason_missing_en) for f in features]
        self._has_missing_text = np.array([bool(f.reason_missing_zh) for f in features], dtype=bool)
        index = {n: j for j, n in enumerate(self.feature_names)}
        self._conditions: list[tuple[int, int, str, npt.NDArray[np.float64]]] = []
        for j, f in enumerate(features):
            for c in f.reason_if:
                kk = index.get(c.feature)
                if kk is None:  # not a model input: the condition can never be checked
                    self._reason_ok[j] = False
                    continue
                self._conditions.append((j, kk, c.op, self._condition_values(kk, c)))

    def _condition_values(self, k: int, c: Condition) -> npt.NDArray[np.float64]:
        """Return the condition's value(s) as encoded floats (category codes for categories)."""
        raw = c.value if isinstance(c.value, tuple) else (c.value,)
        f = self.features[k]
        if f.kind == "categorical":
            cats = self.encoder.categories.get(f.name, [])
            codes = [float(cats.index(key)) for key in map(value_key, raw) if key in cats]
            return np.asarray(codes, dtype=float)
        return np.asarray([float(v) for v in raw], dtype=float)

    def reason_mask(self, x: FloatMatrix) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Return (may be a reason, value is missing) per row and feature of an encoded matrix.

        A feature may be a reason for a row when it is actionable and not
        protected and its text is true of the row: the value is on the risky
        side of its threshold (monotone +1: above, -1: below; booleans 1 / 0,
        numeric features the spec's ``reason_threshold`` or the training
        median) and every ``reason_if`` condition holds. A feature with
        monotone 0 needs ``reason_if``. A missing value may be a reason only
        when the spec gives ``reason_missing_zh`` / ``reason_missing_en`` (and
        the conditions on other features hold).
        """
        v = np.asarray(x, dtype=np.float64)
        missing = np.isnan(v)
        with np.errstate(invalid="ignore"):
            present = (v > self._above) | (v < self._below)
        absent = missing & self._has_missing_text
        for j, k, op, values in self._conditions:
            held = _holds(v[:, k], op, values)
            present[:, j] &= held
            if k != j:
                absent[:, j] &= held
        return (present | absent) & self._reason_ok, missing

    @property
    def booster(self) -> xgb.Booster:
        """Return the single-thread booster."""
        return self._booster

    # -- one application -------------------------------------------------

    def score_one(
        self,
        features: Mapping[str, Any],
        *,
        explain: bool = True,
        max_reasons: int = DEFAULT_MAX_REASONS,
    ) -> ScoreResult:
        """Score one application.

        Parameters
        ----------
        features : mapping
            Feature values keyed by feature name (or source column). Missing
            keys and ``None`` are treated as missing values.
        explain : bool
            Compute reason codes (SHAP contributions).
        max_reasons : int
            At most this many reasons.

        Returns
        -------
        ScoreResult
        """
        x = self.encoder.encode_row(features)
        margin = float(self._booster.inplace_predict(x, predict_type="margin")[0])
        pd_ = self.calibrator.apply_one(margin)
        score = self.scale.score_one(pd_)
        reasons = self._reasons(x, max_reasons) if explain else []
        return ScoreResult(pd=pd_, score=score, grade=self.grade_of(score), reasons=reasons)

    def grade_of(self, score: int) -> str:
        """Return the grade of a score."""
        for name, lowest in self._grade_floor:
            if score >= lowest:
                return name
        return self._last_grade

    def _reasons(self, x: FloatMatrix, max_reasons: int) -> list[dict[str, Any]]:
        allowed, missing = self.reason_mask(x)
        return self._reasons_from(
            self.contributions(x)[0, :-1], max_reasons, allowed[0], missing[0]
        )

    def contributions(self, x: FloatMatrix, nthread: int | None = None) -> npt.NDArray[np.float32]:
        """Return XGBoost SHAP contributions (log-odds), one column per feature plus bias last."""
        booster = self._booster if nthread in (None, 1) else self._batch(nthread)
        dm = xgb.DMatrix(
            x,
            feature_types=self.feature_types if self._has_categorical else None,
            enable_categorical=self._has_categorical,
            nthread=nthread or 1,
        )
        out = booster.predict(dm, pred_contribs=True, validate_features=False)
        return np.asarray(out, dtype=np.float32)

    # -- many applications -----------------------------------------------

    def _batch(self, nthread: int | None = None) -> xgb.Booster:
        n = nthread or batch_threads()
        # A copy of the booster for batches, so setting its thread count never
        # races with single applications scored on other threads.
        with self._batch_lock:
            if self._batch_booster is None:
                self._batch_booster = self._booster.copy()
            if self._batch_nthread != n:
                self._batch_booster.set_param({"nthread": n})
                self._batch_nthread = n
            return self._batch_booster

    def margins(self, x: FloatMatrix, nthread: int | None = None) -> npt.NDArray[np.float64]:
        """Return raw booster margins (log-odds) for an encoded matrix."""
        booster = self._batch(nthread)
        return np.asarray(booster.inplace_predict(x, predict_type="margin"), dtype=float)

    def pds_from_matrix(self, x: FloatMatrix, nthread: int | None = None) -> npt.NDArray[Any]:
        """Return calibrated PDs for an encoded matrix."""
        return self.calibrator.apply(self.margins(x, nthread))

    def scores_from_matrix(self, x: FloatMatrix, nthread: int | None = None) -> npt.NDArray[Any]:
        """Return integer scores for an encoded matrix."""
        return self.scale.scores(self.pds_from_matrix(x, nthread))

    def predict_pd(self, df: pd.DataFrame, nthread: int | None = None) -> npt.NDArray[Any]:
        """Return calibrated PDs for a DataFrame."""
        return self.pds_from_matrix(self.encoder.transform(df), nthread)

    def score_many(
        self,
        df: pd.DataFrame,
        *,
        reasons: bool = False,
        max_reasons: int = DEFAULT_MAX_REASONS,
        missing_ok: bool = False,
        nthread: int | None = None,
    ) -> pd.DataFrame:
        """Score a batch of applications, vectorised.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per application, columns named by feature (or source column).
        reasons : bool
            Add a ``reasons`` column (lists of dicts as in :class:`ScoreResult`).
            Slower: SHAP contributions cost far more than the prediction.
        max_reasons : int
            At most this many reasons per row.
        missing_ok : bool
            Treat an absent feature column as missing instead of raising.
        nthread : int, optional
            Threads for XGBoost (default: the machine's cores, at most 8).

        Returns
        -------
        pandas.DataFrame
            ``pd`` (float), ``score`` (int), ``grade`` (categorical A-E) and
            optionally ``reasons``, on the index of ``df``.
        """
        x = self.encoder.transform(df, missing_ok=missing_ok)
        pds = self.pds_from_matrix(x, nthread)
        scores = self.scale.scores(pds)
        out = pd.DataFrame(
            {
                "pd": pds,
                "score": scores,
                "grade": pd.Categorical.from_codes(
                    self.grades.codes(scores, self.scale), categories=self.grades.names
                ),
            },
            index=df.index,
        )
        if reasons:
            contribs = self.contributions(x, nthread or batch_threads())
            allowed, missing = self.reason_mask(x)
            out["reasons"] = [
                self._reasons_from(c[:-1], max_reasons, a, m)
                for c, a, m in zip(contribs, allowed, missing, strict=True)
            ]
        return out

    def _reasons_from(
        self,
        contribs: npt.NDArray[Any],
        max_reasons: int,
        allowed: npt.NDArray[np.bool_],
        missing: npt.NDArray[np.bool_],
    ) -> list[dict[str, Any]]:
        # Only features that push risk up, that an applicant may be told about,
        # and whose text is true of this applicant (``allowed``, see reason_mask).
        out: list[dict[str, Any]] = []
        for j in np.argsort(-contribs, kind="stable"):
            c = round(float(contribs[j]), 4)
            if c <= 0 or len(out) >= max_reasons:  # below 0.00005 log-odds: nothing to say
                break
            if allowed[j]:
                zh, en = self._missing_texts[j] if missing[j] else self._texts[j]
                out.append(
                    {
                        "feature": self.feature_names[j],
                        "contribution": c,
                        "text_zh": zh,
                        "text_en": en,
                    }
                )
        return out

    def save(self, out_dir: str | Path) -> Path:
        """Write booster, metadata and model card to ``out_dir``; return the directory."""
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        # XGBoost's own JSON format (never pickle); the file must hash to the
        # digest the version id was made from.
        self._booster.save_model(str(d / BOOSTER_FILE))
        if booster_digest((d / BOOSTER_FILE).read_bytes()) != self.metadata["booster_sha256"]:
            raise ModelError("the saved booster does not match its metadata digest")
        _write_json(d / METADATA_FILE, self.metadata)
        _write_json(d / CARD_FILE, self.card)
        (d / CARD_MD_FILE).write_text(self.card_markdown, encoding="utf-8")
        return d


def _holds(values: npt.NDArray[np.float64], op: str, target: npt.NDArray[np.float64]) -> Any:
    """Evaluate ``values op target`` elementwise; a missing value never holds."""
    if op in ("eq", "in"):
        return np.isin(values, target)
    if op == "ne":
        return ~np.isnan(values) & ~np.isin(values, target)
    if len(target) == 0:
        return np.zeros(values.shape, dtype=bool)
    t = target[0]
    with np.errstate(invalid="ignore"):
        if op == "gt":
            return values > t
        if op == "ge":
            return values >= t
        if op == "lt":
            return values < t
        return values <= t


def _with_packaged_rules(spec: Spec, features: list[Feature]) -> list[Feature]:
    """Return ``features`` with the reason rules of the packaged spec of the same name.

    For models saved before reason rules existed: their own spec has none, and
    without ``reason_if`` a text such as "bad credit records not yet repaired"
    would be given to firms that never had any.
    """
    path = SPECS_DIR / f"{spec.name}.yaml"
    if not spec.name.isidentifier() or not path.is_file():
        return features
    try:
        packaged = {f.name: f for f in load_spec(path).features}
    except SpecError:
        return features
    out = []
    for f in features:
        p = packaged.get(f.name)
        own = f.reason_threshold is not None or f.reason_if or f.reason_missing_zh
        if p is not None and not own and p.kind == f.kind and p.monotone == f.monotone:
            f = replace(
                f,
                reason_threshold=p.reason_threshold,
                reason_if=p.reason_if,
                reason_missing_zh=p.reason_missing_zh,
                reason_missing_en=p.reason_missing_en,
            )
        out.append(f)
    return out


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False, default=_json_default)
    path.write_text(text + "\n", encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities by ``None`` so the value is strict JSON."""
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def load_model(model_dir: str | Path) -> CreditModel:
    """Load a model saved by :meth:`TrainedModel.save`.

    Parameters
    ----------
    model_dir : str or Path
        Directory holding ``model.json``, ``metadata.json`` and the model card.

    Returns
    -------
    CreditModel

    Raises
    ------
    ModelError
        When a file is missing or the booster does not match its metadata.
    """
    d = Path(model_dir)
    try:
        metadata = json.loads((d / METADATA_FILE).read_text(encoding="utf-8"))
        raw = (d / BOOSTER_FILE).read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(f"not a model directory ({exc.filename} is missing)") from None
    if metadata.get("format") != METADATA_FORMAT:
        raise ModelError(f"unknown metadata format {metadata.get('format')!r}")
    if booster_digest(raw) != metadata.get("booster_sha256"):
        raise ModelError(f"{d / BOOSTER_FILE} does not match the digest in its metadata")
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    card_path, md_path = d / CARD_FILE, d / CARD_MD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
    md = md_path.read_text(encoding="utf-8") if md_path.exists() else ""
    return CreditModel(booster, metadata, card, md)
