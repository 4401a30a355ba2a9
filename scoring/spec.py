"""Feature specs: which columns a model reads, how, and what it may say about them.

A spec is data (YAML), checked by a marshmallow schema. It names the target
column and the values that mean *bad*, and for each feature its source column,
kind, monotone direction, whether it may be shown to an applicant as a reason
(``actionable``), whether it is a protected characteristic (``protected``: left
out of the model altogether), the reason texts in Chinese and English, and when
those texts are true of an applicant (``reason_threshold``, ``reason_if``,
``reason_missing_zh`` / ``reason_missing_en``; see docs/SCORING.md, "Reason
codes").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

Kind = Literal["numeric", "categorical", "boolean", "date"]
KINDS: tuple[str, ...] = ("numeric", "categorical", "boolean", "date")
# Operators of a reason_if condition; categorical features take only the first three.
OPS: tuple[str, ...] = ("eq", "ne", "in", "gt", "ge", "lt", "le")
CATEGORICAL_OPS: tuple[str, ...] = ("eq", "ne", "in")

SPECS_DIR = Path(__file__).resolve().parent / "specs"
PLATFORM_SPEC_PATH = SPECS_DIR / "platform.yaml"
GERMAN_CREDIT_SPEC_PATH = SPECS_DIR / "german_credit.yaml"
SBA_CASE_SPEC_PATH = SPECS_DIR / "sba_case.yaml"


class SpecError(ValueError):
    """A feature spec that cannot be used, with every problem listed."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid feature spec {source}:\n{lines}")


@dataclass(frozen=True)
class Condition:
    """``feature op value``: a condition on an applicant's (raw) value of a feature.

    ``value`` is a number for numeric and boolean features (booleans as 1/0) and
    the category text for categorical ones; a tuple of them for ``in``.
    """

    feature: str
    op: str
    value: Any

    def to_dict(self) -> dict[str, Any]:
        """Return the condition in the YAML layout."""
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"feature": self.feature, "op": self.op, "value": value}


@dataclass(frozen=True)
class Feature:
    """One model input: where it comes from and what may be said about it.

    A feature is a reason only where its text is true of the applicant: on the
    risky side of ``reason_threshold`` (or of the training median, or for a
    boolean of 0/1) along its ``monotone`` direction, with every ``reason_if``
    condition met; a missing value only with ``reason_missing_zh``/``_en``.
    """

    name: str
    column: str
    kind: Kind
    monotone: int = 0
    actionable: bool = False
    protected: bool = False
    reason_zh: str = ""
    reason_en: str = ""
    description: str = ""
    reason_threshold: float | None = None
    reason_if: tuple[Condition, ...] = ()
    reason_missing_zh: str = ""
    reason_missing_en: str = ""
    required: bool = False
    valid_min: float | None = None
    valid_max: float | None = None
    true_values: tuple[Any, ...] = ()
    false_values: tuple[Any, ...] = ()
    date_format: str = ""
    label_zh: str = ""
    label_en: str = ""
    action_zh: str = ""
    action_en: str = ""
    code: str = ""

    @property
    def reason_code(self) -> str:
        """Return the reason code (the spec's ``code``, else the feature name in capitals)."""
        return self.code or self.name.upper()

    def to_dict(self) -> dict[str, Any]:
        """Return the feature in the YAML layout (reason rules only when set)."""
        out: dict[str, Any] = {
            "name": self.name,
            "column": self.column,
            "kind": self.kind,
            "monotone": self.monotone,
            "actionable": self.actionable,
            "protected": self.protected,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
            "description": self.description,
        }
        if self.reason_threshold is not None:
            out["reason_threshold"] = self.reason_threshold
        if self.reason_if:
            out["reason_if"] = [c.to_dict() for c in self.reason_if]
        if self.reason_missing_zh:
            out["reason_missing_zh"] = self.reason_missing_zh
            out["reason_missing_en"] = self.reason_missing_en
        if self.required:
            out["required"] = True
        if self.valid_min is not None or self.valid_max is not None:
            out["range"] = [self.valid_min, self.valid_max]
        if self.true_values or self.false_values:
            out["true_values"] = list(self.true_values)
            out["false_values"] = list(self.false_values)
        for key in ("date_format", "label_zh", "label_en", "action_zh", "action_en", "code"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class ReadOptions:
    """How to read the CSV the spec describes."""

    sep: str = ","
    header: bool = True
    columns: tuple[str, ...] | None = None
    encoding: str = "utf-8-sig"
    missing: tuple[str, ...] = ()
    decimal: str = "."
    format: str = ""
    sheet: str | int | None = None


@dataclass(frozen=True)
class Target:
    """The label column and the raw values that mean the loan went bad."""

    column: str
    bad_values: tuple[Any, ...]


@dataclass(frozen=True)
class Spec:
    """A validated feature spec."""

    name: str
    target: Target
    features: tuple[Feature, ...]
    read: ReadOptions = field(default_factory=ReadOptions)
    description: str = ""
    source: str = ""
    period: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model_features(self) -> tuple[Feature, ...]:
        """Return the features the model uses (protected ones are left out)."""
        return tuple(f for f in self.features if not f.protected)

    def feature(self, name: str) -> Feature:
        """Return the feature called ``name``."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain data, in the YAML layout."""
        read = asdict(self.read)
        read["columns"] = list(self.read.columns) if self.read.columns else None
        read["missing"] = list(self.read.missing)
        for key in ("format", "sheet"):
            if not read[key] and read[key] != 0:
                read.pop(key)
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "period": self.period,
            "read": read,
            "target": {"column": self.target.column, "bad_values": list(self.target.bad_values)},
            "features": [f.to_dict() for f in self.features],
            "params": dict(self.params),
        }


class _ConditionSchema(Schema):
    class Meta:
        unknown = RAISE

    feature = fields.String(required=True)
    op = fields.String(required=True, validate=validate.OneOf(OPS))
    value = fields.Raw(required=True, allow_none=False)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        value, op = data.get("value"), data.get("op")
        if op == "in":
            if not isinstance(value, list) or not value:
                raise ValidationError("op in needs a non-empty list of values", "value")
            items = value
        elif isinstance(value, list | dict):
            raise ValidationError(f"op {op} needs a single value", "value")
        else:
            items = [value]
        for v in items:
            if v is None or isinstance(v, list | dict):
                raise ValidationError("values must be numbers, booleans or text", "value")


class _Conditions(fields.Field[list[dict[str, Any]]]):
    """One condition (a mapping) or a list of them, all of which must hold."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is None:
            return []
        items = [value] if isinstance(value, Mapping) else value
        if not isinstance(items, list) or not items:
            raise ValidationError("must be a condition {feature, op, value} or a list of them")
        out, errors = [], {}
        for i, item in enumerate(items):
            try:
                out.append(_ConditionSchema().load(item if isinstance(item, Mapping) else {}))
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


class _FeatureSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z_][A-Za-z0-9_]*$", error="must be an identifier (letters, digits, _)"
        ),
    )
    column = fields.String(load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    monotone = fields.Integer(load_default=0, strict=True, validate=validate.OneOf((-1, 0, 1)))
    actionable = fields.Boolean(load_default=False)
    protected = fields.Boolean(load_default=False)
    reason_zh = fields.String(load_default="")
    reason_en = fields.String(load_default="")
    description = fields.String(load_default="")
    required = fields.Boolean(load_default=False)
    range = fields.List(fields.Float(allow_none=True, allow_nan=False), load_default=None)
    true_values = fields.List(fields.Raw(), load_default=list)
    false_values = fields.List(fields.Raw(), load_default=list)
    date_format = fields.String(load_default="")
    label_zh = fields.String(load_default="")
    label_en = fields.String(load_default="")
    action_zh = fields.String(load_default="")
    action_en = fields.String(load_default="")
    code = fields.String(
        load_default="",
        validate=validate.Regexp(r"^$|^[A-Z][A-Z0-9_]*$", error="must be A-Z, 0-9 and _"),
    )
    reason_threshold = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    reason_if = _Conditions(load_default=list, allow_none=True)
    reason_missing_zh = fields.String(load_default="")
    reason_missing_en = fields.String(load_default="")

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("reason_threshold") is not None and (
            data.get("kind") != "numeric" or data.get("monotone", 0) == 0
        ):
            raise ValidationError(
                "a reason threshold needs a numeric feature with monotone +1 or -1",
                "reason_threshold",
            )
        if bool(data.get("reason_missing_zh")) != bool(data.get("reason_missing_en")):
            raise ValidationError(
                "give both reason_missing_zh and reason_missing_en, or neither",
                "reason_missing_zh",
            )
        if data.get("kind") == "categorical" and data.get("monotone", 0) != 0:
            raise ValidationError(
                "a categorical feature has no order, so monotone must be 0", "monotone"
            )
        if data.get("protected") and data.get("actionable"):
            raise ValidationError(
                "a protected feature is never a reason, so it cannot be actionable", "actionable"
            )
        rng = data.get("range")
        if rng is not None:
            if data.get("kind") not in ("numeric", "date") or len(rng) != 2:
                raise ValidationError(
                    "range is [lowest, highest] of a numeric feature (null for open)", "range"
                )
            lo, hi = rng
            if lo is not None and hi is not None and lo > hi:
                raise ValidationError("range: the lowest value is above the highest", "range")
        if (data.get("true_values") or data.get("false_values")) and data.get("kind") != "boolean":
            raise ValidationError("true_values / false_values are for boolean features", "kind")
        if bool(data.get("true_values")) != bool(data.get("false_values")):
            raise ValidationError(
                "give both true_values and false_values, or neither", "true_values"
            )
        if data.get("date_format") and data.get("kind") != "date":
            raise ValidationError("date_format is for date features", "date_format")


class _ReadSchema(Schema):
    class Meta:
        unknown = RAISE

    sep = fields.String(load_default=",", validate=validate.Length(min=1))
    header = fields.Boolean(load_default=True)
    columns = fields.List(fields.String(), load_default=None)
    encoding = fields.String(load_default="utf-8-sig")
    missing = fields.List(fields.String(), load_default=list)
    decimal = fields.String(load_default=".", validate=validate.OneOf((".", ",")))
    format = fields.String(
        load_default="",
        validate=validate.OneOf(("", "csv", "excel", "arff", "parquet", "json", "jsonl")),
    )
    sheet = fields.Raw(load_default=None, allow_none=True)


class _TargetSchema(Schema):
    class Meta:
        unknown = RAISE

    column = fields.String(required=True)
    bad_values = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


class _SpecSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1))
    description = fields.String(load_default="")
    source = fields.String(load_default="")
    period = fields.String(load_default="")
    read = fields.Nested(_ReadSchema, load_default=None)
    target = fields.Nested(_TargetSchema, required=True)
    features = fields.List(
        fields.Nested(_FeatureSchema), required=True, validate=validate.Length(min=1)
    )
    params = fields.Dict(keys=fields.String(), load_default=dict)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        feats = data.get("features") or []
        names = [f["name"] for f in feats]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValidationError(f"feature names repeat: {', '.join(dupes)}", "features")
        if not any(not f.get("protected") for f in feats):
            raise ValidationError("every feature is protected; the model has no input", "features")
        problems = _condition_problems(feats)
        if problems:
            raise ValidationError(problems, "features")
        target = data.get("target") or {}
        cols = [f.get("column") or f["name"] for f in feats]
        if target.get("column") in cols:
            raise ValidationError(
                f"the target column {target['column']!r} is also a feature (leakage)", "target"
            )
        read = data.get("read") or {}
        if read.get("header") is False and not read.get("columns"):
            raise ValidationError("a file without a header row needs read.columns", "read")
        if read.get("columns"):
            known = set(read["columns"])
            missing = [c for c in cols + [target.get("column")] if c not in known]
            if missing:
                raise ValidationError(
                    f"columns not in read.columns: {', '.join(map(str, missing))}", "read"
                )


def _condition_problems(feats: list[dict[str, Any]]) -> list[str]:
    """Check that reason_if conditions name model features and suit their kinds."""
    by_name = {f["name"]: f for f in feats}
    problems: list[str] = []
    for i, f in enumerate(feats):
        for k, c in enumerate(f.get("reason_if") or []):
            where = f"{i}.reason_if.{k}"
            other = by_name.get(c["feature"])
            if other is None:
                problems.append(f"{where}.feature: {c['feature']!r} is not a feature of the spec")
                continue
            if other.get("protected"):
                problems.append(
                    f"{where}.feature: {c['feature']!r} is protected, not a model input"
                )
                continue
            values = c["value"] if c["op"] == "in" else [c["value"]]
            if other["kind"] == "categorical":
                if c["op"] not in CATEGORICAL_OPS:
                    problems.append(
                        f"{where}.op: {c['feature']!r} is categorical: use eq, ne or in"
                    )
            elif not all(isinstance(v, int | float) for v in values):
                problems.append(f"{where}.value: {c['feature']!r} needs numbers (booleans 1/0)")
    return problems


def feature_label(f: Mapping[str, Any] | Feature, lang: str) -> str:
    """Return a feature's label: ``label_zh`` / ``label_en``, else its description or name."""

    def get(key: str) -> Any:
        return f.get(key, "") if isinstance(f, Mapping) else getattr(f, key)

    own = get(f"label_{lang}") or get("label_en") or get("label_zh")
    if own:
        return str(own)
    desc = str(get("description") or "")
    if desc and len(desc) <= 60:
        return desc
    return str(get("name")).replace("_", " ")


def reason_steps(spec: Spec) -> dict[str, dict[str, str]]:
    """Return, per reason code, the feature and the step a firm can take (zh / en).

    The coach that helps a firm improve its data reads this table: every
    actionable feature's code maps to its ``action_zh`` / ``action_en``.
    """
    return {
        f.reason_code: {
            "feature": f.name,
            "text_zh": f.reason_zh,
            "text_en": f.reason_en,
            "action_zh": f.action_zh,
            "action_en": f.action_en,
        }
        for f in spec.model_features
        if f.actionable
    }


def _reason_text(f: Mapping[str, Any], lang: str) -> str:
    """Generate a reason text from the feature's label and direction (no text in the spec).

    Monotone +1 describes the high side, -1 the low side, unordered features name
    the feature and the value (filled in when the reason is given), so the text
    is true of every applicant it is shown to.
    """
    label = feature_label(f, lang)
    mono = int(f.get("monotone") or 0)
    kind = f.get("kind")
    if kind == "boolean":
        if lang == "zh":
            return f"{label}：是" if mono >= 0 else f"{label}：否"
        return f"{label}: yes" if mono >= 0 else f"{label}: no"
    if mono > 0:
        return f"{label}偏高" if lang == "zh" else f"High {label}"
    if mono < 0:
        return f"{label}偏低" if lang == "zh" else f"Low {label}"
    return f"{label}：{{value}}" if lang == "zh" else f"{label}: {{value}}"


def _conditions(raw: list[dict[str, Any]]) -> tuple[Condition, ...]:
    out = []
    for c in raw:
        value = tuple(c["value"]) if c["op"] == "in" else c["value"]
        out.append(Condition(feature=c["feature"], op=c["op"], value=value))
    return tuple(out)


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    """Turn marshmallow's nested error dict into ``path: message`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "spec"
            out.extend(_flatten(value, path))
        return out
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [f"{prefix}: {m}" for m in messages]
        out = []
        for m in messages:
            out.extend(_flatten(m, prefix))
        return out
    return [f"{prefix}: {messages}"]


def spec_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Spec:
    """Validate plain data (the YAML layout) and return a :class:`Spec`.

    Parameters
    ----------
    data : mapping
        The spec as loaded from YAML or JSON.
    source : str
        Where the data came from, named in error messages.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        Listing every problem as ``path: message``.
    """
    if not isinstance(data, Mapping):
        raise SpecError(source, ["spec: must be a mapping with name, target and features"])
    try:
        loaded: dict[str, Any] = _SpecSchema().load(dict(data))
    except ValidationError as exc:
        raise SpecError(source, _flatten(exc.messages)) from None
    read = loaded.get("read") or {}
    features = tuple(
        Feature(
            name=f["name"],
            column=f.get("column") or f["name"],
            kind=f["kind"],
            monotone=int(f["monotone"]),
            actionable=bool(f["actionable"]),
            protected=bool(f["protected"]),
            reason_zh=f["reason_zh"] or _reason_text(f, "zh"),
            reason_en=f["reason_en"] or _reason_text(f, "en"),
            description=f.get("description", ""),
            reason_threshold=(
                None if f.get("reason_threshold") is None else float(f["reason_threshold"])
            ),
            reason_if=_conditions(f.get("reason_if") or []),
            reason_missing_zh=f.get("reason_missing_zh", ""),
            reason_missing_en=f.get("reason_missing_en", ""),
            required=bool(f["required"]),
            valid_min=(f.get("range") or [None, None])[0],
            valid_max=(f.get("range") or [None, None])[1],
            true_values=tuple(f.get("true_values") or ()),
            false_values=tuple(f.get("false_values") or ()),
            date_format=f.get("date_format", ""),
            label_zh=f.get("label_zh", ""),
            label_en=f.get("label_en", ""),
            action_zh=f.get("action_zh", ""),
            action_en=f.get("action_en", ""),
            code=f.get("code", ""),
        )
        for f in loaded["features"]
    )
    return Spec(
        name=loaded["name"],
        description=loaded["description"],
        source=loaded["source"],
        period=loaded["period"],
        read=ReadOptions(
            sep=read.get("sep", ","),
            header=read.get("header", True),
            columns=tuple(read["columns"]) if read.get("columns") else None,
            encoding=read.get("encoding", "utf-8-sig"),
            missing=tuple(read.get("missing") or ()),
            decimal=read.get("decimal", "."),
            format=read.get("format", ""),
            sheet=read.get("sheet"),
        ),
        target=Target(
            column=loaded["target"]["column"],
            bad_values=tuple(loaded["target"]["bad_values"]),
        ),
        features=features,
        params=dict(loaded["params"]),
    )


def load_spec(path: str | Path) -> Spec:
    """Read and validate a feature spec YAML file.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    Spec

    Raises
    ------
    SpecError
        When the file cannot be parsed or does not follow the schema.
    """
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(str(p), [f"cannot read: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError(str(p), [f"not valid YAML: {exc}"]) from None
    return spec_from_dict(data, str(p))
