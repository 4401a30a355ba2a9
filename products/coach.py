"""Coach a firm that nearly qualifies: the fewest changes that make a product eligible.

Works from the vectorised matcher: one :func:`~products.matching.match_many` call gives
every product's condition results at once (shared conditions evaluated once); the
products the firm nearly qualifies for are found with array operations over the
(product, condition) entries; each blocking condition is turned into a change once,
however many products share it; and every suggestion is checked by one more
``match_many`` call over the changed profiles (one row per suggestion), so a suggestion
that would not make the product eligible (a change that breaks another condition) is
never shown. Only the near misses are quoted, for what they would cost.

What can be changed, the words and the repair paths are data (``data/coach.yaml``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np

from products import yaml_text
from products.catalog import Catalog
from products.derive import collect_facts
from products.eligibility import FAILED, PASSED, RESULT_CODES, UNKNOWN, failed_wording, leaf_result
from products.errors import QuoteError
from products.fields import NUMERIC_KINDS, definition, field_specs
from products.matching import DEFAULT_LPR, match_many
from products.model import Condition, Leaf, Product
from products.pricing import Quote, cost_rank, quote
from products.table import profiles_to_table

#: Candidate organisations to join, per membership field: (code, name) pairs.
Organisations = Mapping[str, Sequence[tuple[str, str]]]

_UNITS = {
    "yuan": ("元", "yuan"),
    "persons": ("人", "people"),
    "days": ("天", "days"),
    "months": ("个月", "months"),
    "years": ("年", "years"),
}


@dataclass(frozen=True, slots=True)
class RepairPath:
    """How to repair bad credit at its source, and where to start."""

    key: str
    title_zh: str
    title_en: str
    steps_zh: tuple[str, ...]
    steps_en: tuple[str, ...]
    where_zh: str
    where_en: str
    url: str
    #: The citations (data/sources.yaml) that state the path.
    source: str


@dataclass(frozen=True, slots=True)
class Step:
    """One condition that stands in the way, and the change that meets it."""

    condition_id: str
    #: What is wrong now (the catalogue's wording), or what is missing.
    problem_zh: str
    problem_en: str
    action_zh: str
    action_en: str
    #: The profile or request fields the change sets, with their new values.
    changes: tuple[tuple[str, Any], ...]
    repair: RepairPath | None = None


@dataclass(frozen=True)
class Suggestion:
    """A product the firm nearly qualifies for: the steps, and what it would cost then."""

    product: Product
    steps: tuple[Step, ...]
    quote: Quote | None
    quote_error: str | None = None
    #: The cheapest product the firm qualifies for now, at the same amount and term.
    baseline: Quote | None = None
    _order: int = field(default=0, repr=False, compare=False)

    @property
    def changes(self) -> dict[str, Any]:
        """Return every field the steps set, with its new value."""
        out: dict[str, Any] = {}
        for step in self.steps:
            out.update(step.changes)
        return out

    def apply(
        self, profile: Mapping[str, Any], request: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return the profile and request with the steps' changes made."""
        return _apply(self.changes, profile, request)

    def to_dict(self) -> dict[str, Any]:
        """Return the CLI JSON shape: code, steps (with changes and repair), net cost, saving."""
        return {
            "code": self.product.code,
            "steps": [
                {
                    "condition": step.condition_id,
                    "problem_zh": step.problem_zh,
                    "action_zh": step.action_zh,
                    "action_en": step.action_en,
                    "changes": {k: _plain(v) for k, v in step.changes},
                    "repair": step.repair.key if step.repair else None,
                }
                for step in self.steps
            ],
            "net_cost": None if self.quote is None else str(self.quote.net_cost),
            "total_subsidy": None if self.quote is None else str(self.quote.total_subsidy),
            "saving": None if self.saving is None else str(self.saving),
        }

    @property
    def saving(self) -> Decimal | None:
        """Return how much less the loan would cost than the cheapest one open now."""
        if self.quote is None or self.baseline is None:
            return None
        return self.baseline.net_cost - self.quote.net_cost


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _apply(
    changes: Mapping[str, Any], profile: Mapping[str, Any], request: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    new_profile = dict(profile)
    new_request = dict(request or {})
    specs = field_specs()
    for name, value in changes.items():
        if specs[name].origin == "request":
            new_request[name] = value
        else:
            new_profile[name] = value
    return new_profile, new_request


# --- the data --------------------------------------------------------------------


@cache
def _data() -> dict[str, Any]:
    raw: dict[str, Any] = yaml_text.data_file("products", "data/coach.yaml")
    for name in raw["fields"]:
        if name not in field_specs():
            raise ValueError(f"coach.yaml: unknown field {name}")
    return raw


@cache
def _choices() -> dict[str, dict[str, tuple[str, str]]]:
    """Return the words of each category value (fields.yaml ``choices``)."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for name, spec in definition()["profile"].items():
        if isinstance(spec, dict) and "choices" in spec:
            out[name] = {str(k): (str(v[0]), str(v[1])) for k, v in spec["choices"].items()}
    return out


def max_changes() -> int:
    """Return how many conditions may stand in the way of a near miss (coach.yaml)."""
    return int(_data()["near_miss"]["max_changes"])


def repair_path(key: str) -> RepairPath:
    """Return a repair path of coach.yaml."""
    raw = _data()["repair_paths"][key]
    return RepairPath(
        key=key,
        title_zh=raw["title_zh"],
        title_en=raw["title_en"],
        steps_zh=tuple(raw["steps_zh"]),
        steps_en=tuple(raw["steps_en"]),
        where_zh=raw["where_zh"],
        where_en=raw["where_en"],
        url=raw["url"],
        source=raw["source"],
    )


def repair_paths() -> list[RepairPath]:
    """Return every repair path of coach.yaml."""
    return [repair_path(k) for k in _data()["repair_paths"]]


def _entry(name: str) -> dict[str, Any]:
    entry: dict[str, Any] = _data()["fields"].get(name) or {}
    return entry


# --- words -------------------------------------------------------------------------


def _number(name: str, value: Decimal | int) -> tuple[str, str]:
    spec = field_specs()[name]
    zh_unit, en_unit = _UNITS.get(spec.unit or "", ("", ""))
    if spec.kind == "number":
        text = f"{Decimal(value):.0%}" if abs(Decimal(value)) <= 1 else f"{value}"
        return text, text
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    text = f"{value:,}"
    return (
        f"{text}{(' ' + zh_unit) if zh_unit else ''}",
        f"{text}{(' ' + en_unit) if en_unit else ''}",
    )


def _label(name: str) -> tuple[str, str]:
    spec = field_specs()[name]
    return spec.label_zh, spec.label_en


def _choice(name: str, value: str) -> tuple[str, str]:
    return _choices().get(name, {}).get(value, (value, value))


# --- one change --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fix:
    action_zh: str
    action_en: str
    changes: tuple[tuple[str, Any], ...]
    repair: RepairPath | None


def _as_number(name: str, value: Decimal) -> Decimal | int:
    if field_specs()[name].kind == "count":
        return math.ceil(value)
    return value


def _step_size(name: str) -> Decimal:
    return Decimal(1) if field_specs()[name].kind == "count" else Decimal("0.01")


def _numeric_fix(leaf: Leaf, current: Any) -> _Fix | None:
    name, op, value = leaf.field, leaf.op, leaf.value
    label_zh, label_en = _label(name)
    if op == "between":
        low, high = Decimal(value[0]), Decimal(value[1])
        if current is None:
            lo_zh, lo_en = _number(name, _as_number(name, low))
            hi_zh, hi_en = _number(name, _as_number(name, high))
            return _Fix(
                f"补充填写「{label_zh}」（{lo_zh} 至 {hi_zh} 之间）",
                f"Fill in '{label_en}' ({lo_en} to {hi_en})",
                ((name, _as_number(name, low)),),
                None,
            )
        raise_it = Decimal(current) < low
        target = _as_number(name, low if raise_it else high)
        shown_zh, shown_en = _number(name, target)
        if raise_it:
            return _Fix(
                f"将「{label_zh}」提高到 {shown_zh}",
                f"Raise '{label_en}' to {shown_en}",
                ((name, target),),
                None,
            )
        return _Fix(
            f"将「{label_zh}」降到 {shown_zh}",
            f"Bring '{label_en}' down to {shown_en}",
            ((name, target),),
            None,
        )
    if op in ("ne", "present"):
        return None
    t = Decimal(value)
    target = {"gte": t, "gt": t + _step_size(name), "lte": t, "lt": t - _step_size(name)}.get(op, t)
    if op == "lte" and field_specs()[name].kind == "count":
        target = Decimal(math.floor(t))
    number = _as_number(name, target)
    if field_specs()[name].kind == "count" and op in ("lte", "lt"):
        number = math.floor(target)
    if isinstance(number, int) and number < 0:
        return None
    shown_zh, shown_en = _number(name, number)
    if current is None:
        zh, en = f"补充填写「{label_zh}」", f"Fill in '{label_en}'"
    elif op in ("gte", "gt"):
        zh, en = f"将「{label_zh}」提高到 {shown_zh}", f"Raise '{label_en}' to {shown_en}"
    elif op in ("lte", "lt"):
        zh, en = f"将「{label_zh}」降到 {shown_zh}", f"Bring '{label_en}' down to {shown_en}"
    else:
        zh, en = f"将「{label_zh}」调整为 {shown_zh}", f"Make '{label_en}' {shown_en}"
    return _Fix(zh, en, ((name, number),), None)


def _category_target(name: str, allowed: Sequence[str], current: Any) -> str | None:
    order = [str(v) for v in (_entry(name).get("order") or field_specs()[name].values or allowed)]
    candidates = [v for v in order if v in allowed] or [str(v) for v in allowed]
    if not candidates:
        return None
    if current is None or current not in order:
        return candidates[-1]  # the least demanding value that passes
    here = order.index(current)
    return min(candidates, key=lambda v: abs(order.index(v) - here) if v in order else 99)


def _leaf_fix(leaf: Leaf, facts: Mapping[str, Any], organisations: Organisations) -> _Fix | None:
    """Return the change that makes one leaf pass, or None when the firm cannot make it."""
    name, op = leaf.field, leaf.op
    entry = _entry(name)
    if entry.get("fixed"):
        return None
    spec = field_specs()[name]
    current = facts.get(name)
    repair = repair_path(entry["repair"]) if entry.get("repair") else None
    words = (entry.get("zh"), entry.get("en"))
    if current is None and entry.get("unknown_zh"):
        unknown_words = (entry["unknown_zh"], entry["unknown_en"])
    else:
        unknown_words = None
    if name == "new_hire_share":
        return _hire_fix(leaf, facts, entry)
    if spec.origin == "derived":
        return None
    if spec.kind in NUMERIC_KINDS:
        fix = _numeric_fix(leaf, current)
        if fix is None:
            return None
        number = fix.changes[0][1]
        if words[0]:
            zh = str(words[0]).format(value=number)
            en = str(words[1]).format(value=number)
            return _Fix(zh, en, fix.changes, repair)
        return _Fix(fix.action_zh, fix.action_en, fix.changes, repair)
    if spec.kind == "bool":
        if op not in ("true", "false"):
            return None
        value = op == "true"
        label_zh, label_en = _label(name)
        zh = words[0] or f"「{label_zh}」须为“{'是' if value else '否'}”"
        en = words[1] or f"'{label_en}' must be {'yes' if value else 'no'}"
        return _Fix(str(zh), str(en), ((name, value),), repair)
    if spec.kind == "category":
        if op not in ("eq", "in"):
            return None
        allowed = [leaf.value] if op == "eq" else list(leaf.value)
        target = _category_target(name, allowed, current)
        if target is None:
            return None
        label_zh, label_en = _label(name)
        choice_zh, choice_en = _choice(name, target)
        if unknown_words is not None:
            zh = f"{unknown_words[0]}（{choice_zh}及以上才符合）"
            en = f"{unknown_words[1]} ({choice_en} or better qualifies)"
            return _Fix(zh, en, ((name, target),), None)
        return _Fix(
            f"将「{label_zh}」提升到 {choice_zh}",
            f"Bring '{label_en}' to {choice_en}",
            ((name, target),),
            repair,
        )
    if spec.kind == "tokens":
        held = list(current or ())
        if op == "in":
            wanted = [v for v in leaf.value if v not in held]
            if not wanted:
                return None
            pick = wanted[0]
            choice_zh, choice_en = _choice(name, pick)
            return _Fix(
                f"取得「{choice_zh}」认定",
                f"Obtain the '{choice_en}' certification",
                ((name, [*held, pick]),),
                repair,
            )
        if op == "present":
            options = list(organisations.get(name, ()))
            if not options or not words[0]:
                return None
            code, org_name = options[0]
            return _Fix(
                str(words[0]).format(name=org_name),
                str(words[1]).format(name=org_name),
                ((name, [*held, code]),),
                repair,
            )
    return None


def _hire_fix(leaf: Leaf, facts: Mapping[str, Any], entry: Mapping[str, Any]) -> _Fix | None:
    """Hire enough qualifying people: each hire raises both the hires and the staff."""
    if leaf.op not in ("gte", "gt"):
        return None
    staff, hires = facts.get("employees"), facts.get("qualifying_new_hires") or 0
    if staff is None:
        return None
    share = Decimal(leaf.value)
    if share >= 1:
        return None
    # (hires + k) / (staff + k) >= share  <=>  k >= (share * staff - hires) / (1 - share)
    needed = (share * Decimal(staff) - Decimal(hires)) / (1 - share)
    count = max(1, math.ceil(needed))
    if leaf.op == "gt" and (Decimal(hires) + count) / (Decimal(staff) + count) <= share:
        count += 1
    return _Fix(
        str(entry["zh"]).format(count=count),
        str(entry["en"]).format(count=count),
        (("qualifying_new_hires", int(hires) + count), ("employees", int(staff) + count)),
        None,
    )


def condition_fix(
    condition: Condition, facts: Mapping[str, Any], organisations: Organisations | None = None
) -> Step | None:
    """Return the fewest changes that make one condition pass, or None when none can."""
    orgs = organisations or {}
    best: tuple[int, list[_Fix]] | None = None
    for group in condition.groups:
        fixes: list[_Fix] = []
        for leaf in group:
            if leaf_result(leaf, facts) == PASSED:
                continue
            fix = _leaf_fix(leaf, facts, orgs)
            if fix is None:
                break
            fixes.append(fix)
        else:
            if fixes and (best is None or len(fixes) < best[0]):
                best = (len(fixes), fixes)
    if best is None:
        return None
    fixes = best[1]
    problem_zh, problem_en = _problem(condition, facts)
    changes: list[tuple[str, Any]] = []
    for fix in fixes:
        changes.extend(fix.changes)
    return Step(
        condition_id=condition.id,
        problem_zh=problem_zh,
        problem_en=problem_en,
        action_zh="；".join(f.action_zh for f in fixes),
        action_en="; ".join(f.action_en for f in fixes),
        changes=tuple(changes),
        repair=next((f.repair for f in fixes if f.repair is not None), None),
    )


def _worded(step: Step, condition: Condition, facts: Mapping[str, Any]) -> Step:
    """Return the step with the product's own condition id and words (shared tests differ)."""
    problem_zh, problem_en = _problem(condition, facts)
    return replace(step, condition_id=condition.id, problem_zh=problem_zh, problem_en=problem_en)


def _problem(condition: Condition, facts: Mapping[str, Any]) -> tuple[str, str]:
    if _condition_result(condition, facts) == FAILED:
        return failed_wording(condition)
    return f"尚缺信息：{condition.message_zh}", f"Not known yet: {condition.message_en}"


def _condition_result(condition: Condition, facts: Mapping[str, Any]) -> str:
    results = []
    for group in condition.groups:
        leaves = [leaf_result(leaf, facts) for leaf in group]
        if FAILED in leaves:
            results.append(FAILED)
        elif all(r == PASSED for r in leaves):
            results.append(PASSED)
        else:
            results.append(UNKNOWN)
    if PASSED in results:
        return PASSED
    return FAILED if all(r == FAILED for r in results) else UNKNOWN


# --- the coach ---------------------------------------------------------------------

_FAILED = RESULT_CODES[FAILED]
_UNKNOWN = RESULT_CODES[UNKNOWN]


def _request_terms(product: Product, request: Mapping[str, Any]) -> tuple[Any, Any]:
    amount, term = request.get("amount"), request.get("term_months")
    return (
        product.example_amount.value if amount in (None, "") else amount,
        product.example_term.value if term in (None, "") else term,
    )


def coach(
    catalog: Catalog | Sequence[Product],
    profile: Mapping[str, Any],
    request: Mapping[str, Any] | None = None,
    *,
    lpr: Decimal | str | float = DEFAULT_LPR,
    today: dt.date | None = None,
    organisations: Organisations | None = None,
    baseline: Quote | None = None,
    limit: int | None = None,
) -> list[Suggestion]:
    """Return the products the firm nearly qualifies for, fewest steps first, then cheapest.

    A near miss is a product the firm does not qualify for, where at most
    :func:`max_changes` conditions stand in the way (failed, or required and unknown)
    and each can be met by a change the firm can make. Every suggestion was checked:
    its changes, applied to the profile and request, make the product eligible.
    ``organisations`` names the parks and chambers a firm could join
    (``{"park_codes": [(code, name)], ...}``); ``baseline`` is the cheapest quote open now,
    for the saving.
    """
    day = today or dt.date.today()
    products = list(catalog)
    most = max_changes() if limit is None else limit
    base_request = dict(request or {})
    result = match_many(products, profiles_to_table([profile], [base_request]), today=day)
    entries = result.entries()
    codes = entries.codes[0]
    entry_codes = codes[entries.condition]
    blocks = (entry_codes == _FAILED) | ((entry_codes == _UNKNOWN) & entries.required)
    # One change per distinct blocking condition, however many products share it.
    facts = collect_facts(profile, base_request, day)
    conditions = {(p.code, c.id): c for p in products for c in p.conditions}
    steps: dict[int, Step | None] = {}
    for e in np.flatnonzero(blocks):
        u = int(entries.condition[e])
        if u not in steps:
            steps[u] = condition_fix(conditions[entries.ids[e]], facts, organisations)
    fixable = np.zeros(len(codes), dtype=np.bool_)
    for u, step in steps.items():
        fixable[u] = step is not None
    count = np.bincount(entries.product, weights=blocks, minlength=len(products))
    stuck = np.bincount(
        entries.product, weights=blocks & ~fixable[entries.condition], minlength=len(products)
    )
    near = ~result.eligible[0] & (count > 0) & (count <= most) & (stuck == 0)

    candidates: list[tuple[int, tuple[Step, ...]]] = []
    for p in (int(i) for i in np.flatnonzero(near)):
        mine = np.flatnonzero(blocks & (entries.product == p))
        chosen = tuple(
            _worded(step, conditions[entries.ids[e]], facts)
            for e in mine
            if (step := steps[int(entries.condition[e])]) is not None
        )
        candidates.append((p, chosen))
    if not candidates:
        return []
    # Check every suggestion at once: one changed row per candidate.
    changed = [
        _apply({k: v for s in chosen for k, v in s.changes}, profile, base_request)
        for _, chosen in candidates
    ]
    check = match_many(
        products,
        profiles_to_table([c[0] for c in changed], [c[1] for c in changed]),
        today=day,
    )
    out: list[Suggestion] = []
    for row, ((p, chosen), (_new_profile, new_request)) in enumerate(
        zip(candidates, changed, strict=True)
    ):
        if not check.eligible[row, p]:
            continue
        product = products[p]
        amount, term = _request_terms(product, new_request)
        priced: Quote | None = None
        problem: str | None = None
        try:
            priced = quote(product, amount, term, lpr)
        except QuoteError as exc:
            problem = str(exc)
        out.append(Suggestion(product, chosen, priced, problem, baseline, _order=p))

    def rank(s: Suggestion) -> tuple[int, int, tuple[Decimal, Decimal], int]:
        if s.quote is None:
            return (len(s.steps), 1, (Decimal(0), Decimal(0)), s._order)
        return (len(s.steps), 0, cost_rank(s.quote), s._order)

    return sorted(out, key=rank)


__all__ = [
    "RepairPath",
    "Step",
    "Suggestion",
    "coach",
    "condition_fix",
    "max_changes",
    "repair_path",
    "repair_paths",
]
