"""Evaluate one enterprise against one product, condition by condition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from products.derive import collect_facts
from products.fields import NUMERIC_KINDS, field_specs
from products.model import Condition, Leaf, Product
from products.sizes import row_for

PASSED = "passed"
FAILED = "failed"
UNKNOWN = "unknown"
# Codes used by the vectorised matcher (int8 matrices).
RESULT_CODES = {FAILED: 0, PASSED: 1, UNKNOWN: 2}
RESULT_NAMES = {code: name for name, code in RESULT_CODES.items()}


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """The outcome of one condition, with the message to show and what to fill in."""

    id: str
    field: str
    result: str
    required: bool
    message_zh: str
    message_en: str
    missing_fields: tuple[str, ...]
    source: str
    demo: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the CLI/JSON shape: id, field, result, message_zh, message_en, demo."""
        return {
            "id": self.id,
            "field": self.field,
            "result": self.result,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "demo": self.demo,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The eligibility of one enterprise for one product."""

    product_code: str
    eligible: bool
    conditions: tuple[ConditionResult, ...]
    missing_fields: tuple[str, ...]
    size_class: str | None
    size_class_rule_zh: str
    size_class_rule_en: str

    @property
    def failed(self) -> list[ConditionResult]:
        """Return the conditions that failed (what the enterprise would have to change)."""
        return [c for c in self.conditions if c.result == FAILED]


def condition_ok(result: str, required: bool) -> bool:
    """Tell whether a condition result allows eligibility (optional ones may be unknown)."""
    return result == PASSED or (result == UNKNOWN and not required)


LeafTest = Callable[[Any], bool]
_compiled: dict[Leaf, LeafTest] = {}


def _compile(leaf: Leaf) -> LeafTest:
    """Turn a leaf into a test of a known (not None) value; numbers compare as floats."""
    kind = field_specs()[leaf.field].kind
    op, value = leaf.op, leaf.value
    if kind in NUMERIC_KINDS:
        if op == "between":
            low, high = float(value[0]), float(value[1])
            return lambda x: bool(low <= x <= high)
        t = float(value)
        tests: dict[str, LeafTest] = {
            "eq": lambda x: bool(x == t),
            "ne": lambda x: bool(x != t),
            "gte": lambda x: bool(x >= t),
            "gt": lambda x: bool(x > t),
            "lte": lambda x: bool(x <= t),
            "lt": lambda x: bool(x < t),
        }
        return tests[op]
    if op == "true":
        return lambda x: x is True
    if op == "false":
        return lambda x: x is False
    if kind == "tokens":
        wanted = frozenset(value)
        if op == "in":
            return lambda x: not wanted.isdisjoint(x)
        return lambda x: wanted.isdisjoint(x)
    if op in ("in", "not_in"):
        members = frozenset(value)
        if op == "in":
            return lambda x: x in members
        return lambda x: x not in members
    if op == "eq":
        return lambda x: bool(x == value)
    if op == "ne":
        return lambda x: bool(x != value)
    raise AssertionError(f"no test for {leaf}")


def leaf_result(leaf: Leaf, facts: Mapping[str, Any]) -> str:
    """Return passed/failed/unknown for one leaf against the read facts."""
    value = facts.get(leaf.field)
    if leaf.op == "present":
        if value is None or (isinstance(value, tuple) and not value):
            return FAILED
        return PASSED
    if value is None:
        return UNKNOWN
    test = _compiled.get(leaf)
    if test is None:
        test = _compiled[leaf] = _compile(leaf)
    return PASSED if test(value) else FAILED


def combine(results: list[str]) -> str:
    """Combine results of an any_of: passed if one passed, failed if all failed."""
    if PASSED in results:
        return PASSED
    if all(r == FAILED for r in results):
        return FAILED
    return UNKNOWN


def combine_all(results: list[str]) -> str:
    """Combine results of an all_of: failed if one failed, passed if all passed."""
    if FAILED in results:
        return FAILED
    if all(r == PASSED for r in results):
        return PASSED
    return UNKNOWN


SIZE_METRIC_FIELDS = {
    "employees": "employees",
    "revenue": "revenue_last_year",
    "total_assets": "total_assets",
}


def _missing_inputs(name: str, facts: Mapping[str, Any]) -> tuple[str, ...]:
    spec = field_specs()[name]
    if spec.origin != "derived":
        return (name,)
    inputs = spec.derived_from
    if name == "size_class" and facts.get("industry_code") is not None:
        # Only the measures the industry's row uses (e.g. not assets for industry).
        row = row_for(facts["industry_code"])
        if row is not None:
            inputs = tuple(SIZE_METRIC_FIELDS[m] for m in row.metrics)
    missing = tuple(f for f in inputs if facts.get(f) is None)
    return missing or (name,)


def _labels(names: tuple[str, ...], lang: str) -> str:
    specs = field_specs()
    if lang == "zh":
        return "、".join(f"「{specs[n].label_zh}」" for n in names)
    return ", ".join(specs[n].label_en for n in names)


def failed_wording(condition: Condition) -> tuple[str, str]:
    """Word what is wrong when a condition fails (Chinese, English).

    The one rule for every page and packet: the catalogue's ``failed_zh``/``failed_en``
    (e.g. 存在未结重大诉讼 for 无未结重大诉讼), else the requirement marked as not met.
    """
    if condition.failed_zh and condition.failed_en:
        return condition.failed_zh, condition.failed_en
    return f"未满足：{condition.message_zh}", f"Not met: {condition.message_en}"


def evaluate_condition(condition: Condition, facts: Mapping[str, Any]) -> ConditionResult:
    """Evaluate one condition and word its message for the result."""
    per_group = [[leaf_result(leaf, facts) for leaf in group] for group in condition.groups]
    # Most conditions are one test, or an any_of of single tests: no all_of to combine.
    group_results = [r[0] if len(r) == 1 else combine_all(r) for r in per_group]
    result = group_results[0] if len(group_results) == 1 else combine(group_results)
    missing: tuple[str, ...] = ()
    message_zh, message_en = condition.message_zh, condition.message_en
    if result == FAILED:
        message_zh, message_en = failed_wording(condition)
    if result == UNKNOWN:
        # Only what would settle an undecided group: a group that already failed
        # needs nothing more.
        names: list[str] = []
        for group, results, group_result in zip(
            condition.groups, per_group, group_results, strict=True
        ):
            if group_result != UNKNOWN:
                continue
            for leaf, leaf_res in zip(group, results, strict=True):
                if leaf_res == UNKNOWN:
                    names.extend(n for n in _missing_inputs(leaf.field, facts) if n not in names)
        missing = tuple(names)
        message_zh = f"请补充填写{_labels(missing, 'zh')}以判断：{condition.message_zh}"
        message_en = f"Fill in {_labels(missing, 'en')} to check: {condition.message_en}"
    return ConditionResult(
        id=condition.id,
        field=condition.field,
        result=result,
        required=condition.required,
        message_zh=message_zh,
        message_en=message_en,
        missing_fields=missing,
        source=condition.source,
        demo=condition.demo,
    )


def evaluate_facts(product: Product, facts: Mapping[str, Any]) -> Evaluation:
    """Evaluate a product against already-read facts (see ``derive.collect_facts``)."""
    results = tuple(evaluate_condition(c, facts) for c in product.conditions)
    missing: list[str] = []
    for item in results:
        missing.extend(n for n in item.missing_fields if n not in missing)
    return Evaluation(
        product_code=product.code,
        eligible=all(condition_ok(r.result, r.required) for r in results),
        conditions=results,
        missing_fields=tuple(missing),
        size_class=facts.get("size_class"),
        size_class_rule_zh=str(facts.get("size_class_rule_zh", "")),
        size_class_rule_en=str(facts.get("size_class_rule_en", "")),
    )


def evaluate(
    product: Product,
    profile: Mapping[str, Any],
    request: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> Evaluation:
    """Evaluate one enterprise profile (and optional request) against one product."""
    return evaluate_facts(product, collect_facts(profile, request, today))
