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
from .frame import Encoder, FloatMatrix, InputError, value_key
from .scale import Grades, ScoreScale
from .spec import (
    SPECS_DIR,
    Condition,
    Feature,
    Spec,
    SpecError,
    feature_label,
    load_spec,
    spec_from_dict,
)

BOOSTER_FILE = "model.ubj"  # XGBoost's own binary JSON (UBJSON): loads several times faster
LEGACY_BOOSTER_FILE = "model.json"
METADATA_FILE = "metadata.json"
CARD_FILE = "model_card.json"
CARD_MD_FILE = "model_card.md"
METADATA_FORMAT = 1
DEFAULT_MAX_REASONS = 4
# Without a spec setting, a row needs at least half of the model's inputs to be scored.
DEFAULT_MIN_PRESENT = 0.5
SCORED = "scored"
INSUFFICIENT = "insufficient_data"


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
    pd : float or None
        Calibrated probability of default; None when ``status`` is
        ``insufficient_data``.
    score : int or None
        Points on the model's points-to-double-odds scale (higher is safer).
    grade : str or None
        ``A`` (lowest risk) to ``E``.
    reasons : list of dict
        Features that raise this application's risk most, largest first; each
        with ``feature``, ``code``, ``contribution`` (log-odds, from XGBoost's
        SHAP values), ``text_zh``, ``text_en``, ``action_zh`` and ``action_en``.
        Only actionable, non-protected features whose value is on the risky
        side (so the text is true of this application) appear; see
        :meth:`CreditModel.reason_mask`.
    context : list of dict
        Drivers an advisor should know but a firm cannot act on (firm age,
        size, unordered features), same keys as ``reasons``.
    status : str
        ``scored`` or ``insufficient_data`` (required inputs missing, or fewer
        present than the model's ``min_present`` share).
    missing : list of str
        Inputs without a value (they were treated as missing by the model).
    missing_required : list of str
        Required inputs without a value.
    coerced : list of dict
        Values that were read in a way worth saying (``feature``, ``given``,
        ``used``, ``note``), e.g. a decimal comma.
    problems : list of str
        Inputs left out because they could not be used (only when scoring with
        ``strict=False``; otherwise they raise :class:`scoring.InputError`).
    """

    pd: float | None
    score: int | None
    grade: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    context: list[dict[str, Any]] = field(default_factory=list)
    status: str = SCORED
    missing: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    coerced: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain data (the keys of ``python -m scoring score``)."""
        return {
            "status": self.status,
            "pd": self.pd,
            "score": self.score,
            "grade": self.grade,
            "reasons": [dict(r) for r in self.reasons],
            "context": [dict(r) for r in self.context],
            "missing_inputs": list(self.missing),
            "missing_required": list(self.missing_required),
            "coerced": [dict(c) for c in self.coerced],
            "problems": list(self.problems),
        }

    def inputs_report(self) -> dict[str, Any]:
        """Return what was missing, coerced or left out when this score was made."""
        return {
            "status": self.status,
            "missing_inputs": list(self.missing),
            "missing_required": list(self.missing_required),
            "coerced": [dict(c) for c in self.coerced],
            "problems": list(self.problems),
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
        known = {self.spec.target.column}
        for f in self.spec.features:  # protected inputs may be passed; they are ignored
            known.update((f.name, f.column))
        self.encoder = Encoder(
            self.features,
            metadata.get("categories", {}),
            decimal=self.spec.read.decimal,
            known_keys=known,
        )
        self.required = [f.name for f in self.features if f.required]
        share = float(self.spec.params.get("min_present", DEFAULT_MIN_PRESENT))
        self.min_present = max(1, math.ceil(share * len(self.features)))
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
        self._actions = [
            (f.action_zh or _DEFAULT_ACTION_ZH, f.action_en or _DEFAULT_ACTION_EN)
            for f in self.features
        ]
        self._labels = [(feature_label(f, "zh"), feature_label(f, "en")) for f in self.features]
        self._codes_of = [f.reason_code for f in self.features]
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
            elif f.monotone == 0 and (f.reason_if or _names_value(f)):
                # Only the conditions decide, or the text names the value (always true).
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

        See :meth:`text_masks` for the rule.
        """
        allowed, missing, _ = self.text_masks(x)
        return allowed, missing

    def text_masks(
        self, x: FloatMatrix
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
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
        true_text = present | absent
        return true_text & self._reason_ok, missing, true_text

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
        strict: bool = True,
    ) -> ScoreResult:
        """Score one application, or say why it cannot be scored.

        Parameters
        ----------
        features : mapping
            Feature values keyed by feature name (or source column). Missing
            keys and ``None`` are missing values; protected inputs and the
            target may be present and are ignored.
        explain : bool
            Compute reason codes (SHAP contributions).
        max_reasons : int
            At most this many reasons (and as many context items).
        strict : bool
            Raise :class:`scoring.InputError` for unknown keys, unreadable
            values and values outside a feature's plausible range. With
            ``False`` such values count as missing and are listed in
            ``problems``.

        Returns
        -------
        ScoreResult
            ``status`` ``insufficient_data`` (no PD, score or grade) when a
            required input is missing or fewer than ``min_present`` inputs have
            a value: an empty or misspelt row is never scored as safe.

        Raises
        ------
        InputError
            With ``strict`` (the default), listing every problem.
        """
        check = self.encoder.check_row(features)
        if check.problems and strict:
            raise InputError(check.problems)
        missing_required = [n for n in self.required if n in check.missing]
        common: dict[str, Any] = {
            "missing": check.missing,
            "missing_required": missing_required,
            "coerced": check.coerced,
            "problems": check.problems,
        }
        if missing_required or len(self.features) - len(check.missing) < self.min_present:
            return ScoreResult(pd=None, score=None, grade=None, status=INSUFFICIENT, **common)
        x = check.x
        margin = float(self._booster.inplace_predict(x, predict_type="margin")[0])
        pd_ = self.calibrator.apply_one(margin)
        score = self.scale.score_one(pd_)
        grade = self.grade_of(score)
        reasons: list[dict[str, Any]] = []
        context: list[dict[str, Any]] = []
        if explain:
            reasons, context = self._explain(x, features, max_reasons, grade)
        return ScoreResult(
            pd=pd_, score=score, grade=grade, reasons=reasons, context=context, **common
        )

    def grade_of(self, score: int) -> str:
        """Return the grade of a score."""
        for name, lowest in self._grade_floor:
            if score >= lowest:
                return name
        return self._last_grade

    def _explain(
        self, x: FloatMatrix, row: Mapping[str, Any], max_reasons: int, grade: str
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        allowed, missing, true_text = self.text_masks(x)
        contribs = self.contributions(x)[0]
        return self._explain_from(
            contribs, x[0], max_reasons, allowed[0], missing[0], true_text[0], grade
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

    def insufficient_rows(self, x: FloatMatrix) -> npt.NDArray[np.bool_]:
        """Return True for rows missing a required input or with too few inputs to score."""
        missing = np.isnan(x)
        short: npt.NDArray[np.bool_] = (len(self.features) - missing.sum(axis=1)) < self.min_present
        if self.required:
            idx = [self.feature_names.index(n) for n in self.required]
            short |= missing[:, idx].any(axis=1)
        return short

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
        codes = self.grades.codes(scores, self.scale)
        short = self.insufficient_rows(x)
        score_col: Any = scores
        if short.any():
            # Rows that cannot be scored get no PD, score or grade (never a default grade).
            pds[short] = np.nan
            score_col = pd.array(scores, dtype="Int32")
            score_col[short] = pd.NA
            codes = np.where(short, -1, codes)
        out = pd.DataFrame(
            {
                "pd": pds,
                "score": score_col,
                "grade": pd.Categorical.from_codes(codes, categories=self.grades.names),
            },
            index=df.index,
        )
        if reasons:
            contribs = self.contributions(x, nthread or batch_threads())
            allowed, missing, true_text = self.text_masks(x)
            explained = [
                self._explain_from(c, xi, max_reasons, a, m, t, str(g))
                for c, xi, a, m, t, g in zip(
                    contribs, x, allowed, missing, true_text, out["grade"], strict=True
                )
            ]
            out["reasons"] = [r for r, _ in explained]
            out["context"] = [c for _, c in explained]
        return out

    def _explain_from(
        self,
        contribs: npt.NDArray[Any],
        x: npt.NDArray[Any],
        max_reasons: int,
        allowed: npt.NDArray[np.bool_],
        missing: npt.NDArray[np.bool_],
        true_text: npt.NDArray[np.bool_],
        grade: str,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Split the risk-raising features of one row into reasons and advisor context.

        Reasons: features that push risk up, that an applicant may be told about,
        and whose text is true of this applicant (``allowed``, see
        :meth:`reason_mask`). Context: other features that push risk up where a
        true sentence exists (a non-actionable feature on its risky side, an
        unordered feature named with its value, a value not provided). When
        nothing pushes risk up but the grade is below the top, the model's base
        risk is the context.
        """
        reasons: list[dict[str, Any]] = []
        context: list[dict[str, Any]] = []
        if grade not in self.grades.names:  # not scored (insufficient data)
            return reasons, context
        for j in np.argsort(-contribs[:-1], kind="stable"):
            c = round(float(contribs[j]), 4)
            if c <= 0 or (len(reasons) >= max_reasons and len(context) >= max_reasons):
                break  # below 0.00005 log-odds: nothing to say
            if self.features[j].protected:
                continue
            if allowed[j]:
                if len(reasons) < max_reasons:
                    zh, en = self._missing_texts[j] if missing[j] else self._texts[j]
                    reasons.append(self._item(j, c, zh, en, x[j]))
                continue
            if len(context) >= max_reasons:
                continue
            if missing[j]:
                label_zh, label_en = self._labels[j]
                zh, en = f"{label_zh}：未提供", f"{label_en}: not provided"
                if self._has_missing_text[j]:
                    zh, en = self._missing_texts[j]
                context.append(self._item(j, c, zh, en, x[j], actionable=False))
            elif true_text[j]:
                zh, en = self._texts[j]
                context.append(self._item(j, c, zh, en, x[j], actionable=False))
            elif self.features[j].monotone == 0 and not self.features[j].reason_if:
                zh, en = _with_value(self._texts[j], self._labels[j])
                context.append(self._item(j, c, zh, en, x[j], actionable=False))
        if not reasons and not context and grade != self.grades.names[0]:
            base = round(float(contribs[-1]), 4)
            context.append(
                {
                    "feature": "",
                    "code": "BASE_RISK",
                    "contribution": base,
                    "text_zh": "同类申请的平均违约风险较高（模型基准），没有单项因素明显推高本申请的风险",
                    "text_en": "Applications like this carry a high average risk (the model's "
                    "baseline); no single input raises this one's risk",
                    "action_zh": "可补充担保、抵押或其他增信措施",
                    "action_en": "Consider a guarantee, collateral or other credit enhancement",
                }
            )
        return reasons, context

    def _item(
        self, j: int, c: float, zh: str, en: str, value: Any, *, actionable: bool = True
    ) -> dict[str, Any]:
        shown_zh, shown_en = self._shown_value(j, value)
        item = {
            "feature": self.feature_names[j],
            "code": self._codes_of[j],
            "contribution": c,
            "text_zh": zh.replace("{value}", shown_zh),
            "text_en": en.replace("{value}", shown_en),
        }
        if actionable:
            item["action_zh"], item["action_en"] = self._actions[j]
        return item

    def _shown_value(self, j: int, value: Any) -> tuple[str, str]:
        """Return the applicant's value of feature ``j`` as text (for ``{value}`` in texts)."""
        v = float(value)
        if math.isnan(v):
            return "未提供", "not provided"
        f = self.features[j]
        if f.kind == "categorical":
            cats = self.encoder.categories.get(f.name, [])
            text = cats[int(v)] if 0 <= int(v) < len(cats) else "?"
            return text, text
        if f.kind == "boolean":
            return ("是", "yes") if v == 1.0 else ("否", "no")
        if f.kind == "date":
            day = (np.datetime64("1970-01-01") + np.timedelta64(int(v), "D")).astype(str)
            return str(day), str(day)
        text = f"{v:,.0f}" if v.is_integer() or abs(v) >= 1000 else f"{v:.4g}"
        return text, text

    def save(self, out_dir: str | Path) -> Path:
        """Write booster, metadata and model card to ``out_dir``; return the directory."""
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        # XGBoost's own format (never pickle); the file must hash to the digest the
        # version id was made from.
        name = self.metadata.get("booster_file", LEGACY_BOOSTER_FILE)
        raw = bytes(self._booster.save_raw("ubj" if name.endswith(".ubj") else "json"))
        if booster_digest(raw) != self.metadata["booster_sha256"]:
            raise ModelError("the saved booster does not match its metadata digest")
        (d / name).write_bytes(raw)
        _write_json(d / METADATA_FILE, self.metadata)
        _write_json(d / CARD_FILE, self.card)
        (d / CARD_MD_FILE).write_text(self.card_markdown, encoding="utf-8")
        return d


_DEFAULT_ACTION_ZH = "与顾问沟通，核实并改善这一项"
_DEFAULT_ACTION_EN = "Check this item with an advisor and improve it where possible"


def _names_value(f: Feature) -> bool:
    """Return True when the feature's reason text names the applicant's value."""
    return "{value}" in f.reason_zh and "{value}" in f.reason_en


def _with_value(texts: tuple[str, str], labels: tuple[str, str]) -> tuple[str, str]:
    """Return texts that name the value (for unordered features in the advisor context)."""
    zh, en = texts
    if "{value}" not in zh:
        zh = f"{zh or labels[0]}：{{value}}"
    if "{value}" not in en:
        en = f"{en or labels[1]}: {{value}}"
    return zh, en


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
        name = str(metadata.get("booster_file", LEGACY_BOOSTER_FILE))
        if "/" in name or "\\" in name or name.startswith("."):
            raise ModelError(f"unsafe booster file name {name!r} in the metadata")
        raw = (d / name).read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(f"not a model directory ({exc.filename} is missing)") from None
    if metadata.get("format") != METADATA_FORMAT:
        raise ModelError(f"unknown metadata format {metadata.get('format')!r}")
    if booster_digest(raw) != metadata.get("booster_sha256"):
        raise ModelError(f"{d / name} does not match the digest in its metadata")
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    card_path, md_path = d / CARD_FILE, d / CARD_MD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
    md = md_path.read_text(encoding="utf-8") if md_path.exists() else ""
    return CreditModel(booster, metadata, card, md)
