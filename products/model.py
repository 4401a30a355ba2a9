"""Products as frozen dataclasses, built from a validated catalogue dict."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError

from products.errors import CatalogError
from products.schema import ProductSchema

#: One schema for every load (building it and its nested schemas cost a fifth of a load).
_SCHEMA = ProductSchema()


@dataclass(frozen=True, slots=True)
class Sourced:
    """A policy number: value, unit, where it comes from, and whether it is a demo value."""

    value: Decimal
    unit: str
    source: str
    demo: bool = False
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Leaf:
    """One test of a field: ``field op value``."""

    field: str
    op: str
    value: Any  # Decimal | str | tuple[str, ...] | tuple[Decimal, Decimal] | None


@dataclass(frozen=True, slots=True)
class Condition:
    """An eligibility condition: passes when any of its groups passes.

    A group passes when every leaf in it passes. A plain condition is one group of
    one leaf; an ``any_of`` of leaves is one group per leaf; an ``any_of`` entry
    written ``all_of`` is a group of several leaves.
    """

    id: str
    groups: tuple[tuple[Leaf, ...], ...]
    required: bool
    message_zh: str
    message_en: str
    source: str
    demo: bool
    # The field name, or the distinct names joined by '|' for an any_of condition.
    field: str = ""
    # What is wrong when the condition fails (empty: eligibility.failed_wording words it).
    failed_zh: str = ""
    failed_en: str = ""

    def __post_init__(self) -> None:
        if not self.field:
            names = dict.fromkeys(leaf.field for leaf in self.leaves)
            object.__setattr__(self, "field", "|".join(names))

    @property
    def leaves(self) -> tuple[Leaf, ...]:
        """Return every leaf of every group, in order."""
        return tuple(leaf for group in self.groups for leaf in group)


@dataclass(frozen=True, slots=True)
class SubsidyPayment:
    """When a subsidy reaches the enterprise, with the words the terms and quote show."""

    paid: str  # with_payments | after_repayment
    note_zh: str
    note_en: str
    source: str
    demo: bool


@dataclass(frozen=True, slots=True)
class InterestSubsidy:
    """Interest subsidy: a share of interest, rate points, or interest above LPR + floor."""

    kind: str
    share: Sourced | None
    points: Sourced | None
    floor_spread_bp: Sourced | None
    cap_total: Sourced | None
    cap_per_year: Sourced | None
    payment: SubsidyPayment | None = None

    @property
    def paid_after_repayment(self) -> bool:
        """Tell whether the subsidy is paid afterwards, not deducted from each payment."""
        return self.payment is not None and self.payment.paid == "after_repayment"

    @property
    def demo(self) -> bool:
        """Tell whether any number of the subsidy (rate, floor, caps) is a demo value."""
        numbers = (self.share, self.points, self.floor_spread_bp, self.cap_total, self.cap_per_year)
        return any(n is not None and n.demo for n in numbers) or bool(
            self.payment is not None and self.payment.demo
        )


@dataclass(frozen=True, slots=True)
class FeeSubsidy:
    """Guarantee-fee subsidy: a share of the fee with optional caps."""

    share: Sourced
    cap_total: Sourced | None
    cap_per_year: Sourced | None
    payment: SubsidyPayment | None = None

    @property
    def paid_after_repayment(self) -> bool:
        """Tell whether the subsidy is paid afterwards, not deducted from each payment."""
        return self.payment is not None and self.payment.paid == "after_repayment"

    @property
    def demo(self) -> bool:
        """Tell whether any number of the subsidy (share, caps) is a demo value."""
        numbers = (self.share, self.cap_total, self.cap_per_year)
        return any(n is not None and n.demo for n in numbers) or bool(
            self.payment is not None and self.payment.demo
        )


@dataclass(frozen=True, slots=True)
class Fact:
    """Another policy number shown with the product (a quota, a coverage)."""

    key: str
    label_zh: str
    label_en: str
    value: Sourced


@dataclass(frozen=True, slots=True)
class Variant:
    """Another form of the policy for another borrower, shown as information only."""

    key: str
    borrower: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    source: str
    demo: bool
    facts: tuple[Fact, ...]


@dataclass(frozen=True, slots=True)
class ApplicationWindow:
    """When firms may apply for a product (申报期) and the reminder days before it closes."""

    opens_on: date
    closes_on: date
    remind_days: tuple[int, ...]
    source: str
    demo: bool

    def is_open(self, day: date) -> bool:
        """Tell whether firms may apply on ``day``."""
        return self.opens_on <= day <= self.closes_on

    def reminder_due(self, day: date) -> int | None:
        """Return the reminder (days before the close) due on ``day``, or None.

        The nearest reminder day not yet passed: 5 days before the close with reminders at
        30 and 7 days gives 7 (a missed 30-day reminder is not sent late).
        """
        if not self.is_open(day):
            return None
        left = (self.closes_on - day).days
        due = [d for d in self.remind_days if d >= left]
        return min(due) if due else None


@dataclass(frozen=True)
class Product:
    """One catalogue product; build with ``Product.from_dict``."""

    code: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str
    source: str | None
    batch: bool
    batch_organiser: str | None
    per_firm_cap: Sourced | None
    amount_min: Sourced
    amount_max: Sourced
    term_min: Sourced
    term_max: Sourced
    repayment: str
    repayment_source: str
    repayment_demo: bool
    example_amount: Sourced
    example_term: Sourced
    rate_base: str
    spread_bp: Sourced | None
    fixed_rate: Sourced | None
    guarantee_fee_rate: Sourced | None
    fee_basis: str
    guarantee_coverage: Sourced | None
    interest_subsidy: InterestSubsidy | None
    fee_subsidy: FeeSubsidy | None
    facts: tuple[Fact, ...]
    conditions: tuple[Condition, ...]
    variants: tuple[Variant, ...]
    application_window: ApplicationWindow | None
    source_name: str = field(compare=False)
    version_hash: str = field(compare=False)
    demo: bool = field(compare=False)  # any number or condition is a demo value
    _data: dict[str, Any] = field(compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source_name: str = "<dict>") -> Product:
        """Validate a product dict (a parsed YAML file) and build the product."""
        code = data.get("code", "?") if isinstance(data, Mapping) else "?"
        try:
            loaded: dict[str, Any] = _SCHEMA.load(dict(data))
        except ValidationError as exc:
            raise CatalogError(
                _describe(source_name, str(code), exc.messages),
                list(_flatten(exc.messages, "")),
            ) from exc
        canonical = _canonical(loaded)
        return _build(loaded, canonical, source_name)

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical dict (numbers as decimal strings); from_dict reads it back."""
        return copy.deepcopy(self._data)

    @property
    def rate_demo(self) -> bool:
        """Tell whether the nominal rate (spread over LPR, or fixed rate) is a demo value."""
        rate = self.spread_bp if self.rate_base == "lpr_1y" else self.fixed_rate
        return rate is not None and rate.demo

    @property
    def guarantee_fee_demo(self) -> bool:
        """Tell whether the guarantee fee rate is a demo value (False without a fee)."""
        return self.guarantee_fee_rate is not None and self.guarantee_fee_rate.demo


def _walk_demo(node: Any) -> Iterator[bool]:
    if isinstance(node, dict):
        if node.get("demo") is True:
            yield True
        for value in node.values():
            yield from _walk_demo(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_demo(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def _wan(yuan: Decimal) -> str:
    return _decimal_text(yuan / Decimal(10000))


def _canonical(node: Any) -> Any:
    if isinstance(node, Decimal):
        return _decimal_text(node)
    if isinstance(node, date):
        return node.isoformat()
    if isinstance(node, dict):
        return {k: _canonical(v) for k, v in node.items() if v is not None}
    if isinstance(node, (list, tuple)):
        return [_canonical(v) for v in node]
    return node


def content_hash(canonical: Mapping[str, Any]) -> str:
    """Return the sha256 of a product's canonical content (stable across key order)."""
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _describe(source_name: str, code: str, messages: Any) -> str:
    parts = [f"field {path}: {message}" for path, message in _flatten(messages, "")]
    return f"{source_name}: product {code}: " + "; ".join(parts)


def _flatten(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_schema":
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            yield from _flatten(value, path)
    elif isinstance(node, list):
        if all(isinstance(item, str) for item in node):
            yield prefix or "(product)", "; ".join(node)
        else:
            for item in node:
                yield from _flatten(item, prefix)
    else:
        yield prefix or "(product)", str(node)


def _sourced(item: Mapping[str, Any] | None) -> Sourced | None:
    if item is None:
        return None
    return Sourced(item["value"], item["unit"], item["source"], item["demo"], item.get("note"))


def _must(item: Mapping[str, Any]) -> Sourced:
    result = _sourced(item)
    assert result is not None
    return result


def _leaf(item: Mapping[str, Any]) -> Leaf:
    value = item.get("value")
    if isinstance(value, list):
        value = tuple(value)
    return Leaf(item["field"], item["op"], value)


def _groups(item: Mapping[str, Any]) -> tuple[tuple[Leaf, ...], ...]:
    if item.get("any_of") is None:
        return ((_leaf(item),),)
    return tuple(
        tuple(_leaf(x) for x in entry["all_of"])
        if entry.get("all_of") is not None
        else (_leaf(entry),)
        for entry in item["any_of"]
    )


def _payment(item: Mapping[str, Any] | None) -> SubsidyPayment | None:
    if item is None:
        return None
    return SubsidyPayment(
        item["paid"], item["note_zh"], item["note_en"], item["source"], item["demo"]
    )


def _fact(f: Mapping[str, Any]) -> Fact:
    return Fact(
        f["key"],
        f["label_zh"],
        f["label_en"],
        Sourced(f["value"], f["unit"], f["source"], f["demo"]),
    )


def _window(item: Mapping[str, Any] | None) -> ApplicationWindow | None:
    if item is None:
        return None
    return ApplicationWindow(
        item["opens_on"],
        item["closes_on"],
        tuple(sorted(item["remind_days"], reverse=True)),
        item["source"],
        item["demo"],
    )


def _build(data: dict[str, Any], canonical: dict[str, Any], source_name: str) -> Product:
    terms = data["terms"]
    conditions: list[Condition] = []
    for item in data["conditions"]:
        conditions.append(
            Condition(
                id=item["id"],
                groups=_groups(item),
                required=item["required"],
                message_zh=item["message_zh"],
                message_en=item["message_en"],
                source=item["source"],
                demo=item["demo"],
                failed_zh=item.get("failed_zh") or "",
                failed_en=item.get("failed_en") or "",
            )
        )
    amount_min, amount_max = terms["amount_min"]["value"], terms["amount_max"]["value"]
    term_min, term_max = terms["term_min"]["value"], terms["term_max"]["value"]
    # The product's own range, checked only once the enterprise has asked for an
    # amount and term (optional: an empty request does not block eligibility).
    conditions.append(
        Condition(
            id="amount_in_range",
            groups=((Leaf("amount", "between", (amount_min, amount_max)),),),
            required=False,
            message_zh=f"申请金额须在 {_wan(amount_min)} 至 {_wan(amount_max)} 万元之间",
            message_en=f"amount must be between {_wan(amount_min)} and {_wan(amount_max)} (10k yuan)",
            failed_zh=f"申请金额不在 {_wan(amount_min)} 至 {_wan(amount_max)} 万元之间",
            failed_en=f"The amount is not between {_wan(amount_min)} and {_wan(amount_max)} (10k yuan)",
            source=terms["amount_max"]["source"],
            demo=terms["amount_min"]["demo"] or terms["amount_max"]["demo"],
        )
    )
    conditions.append(
        Condition(
            id="term_in_range",
            groups=((Leaf("term_months", "between", (term_min, term_max)),),),
            required=False,
            message_zh=f"申请期限须在 {_decimal_text(term_min)} 至 {_decimal_text(term_max)} 个月之间",
            message_en=f"term must be between {_decimal_text(term_min)} and {_decimal_text(term_max)} months",
            failed_zh=f"申请期限不在 {_decimal_text(term_min)} 至 {_decimal_text(term_max)} 个月之间",
            failed_en=(
                f"The term is not between {_decimal_text(term_min)} and"
                f" {_decimal_text(term_max)} months"
            ),
            source=terms["term_max"]["source"],
            demo=terms["term_min"]["demo"] or terms["term_max"]["demo"],
        )
    )
    guarantee = data["guarantee"]
    interest = data["interest_subsidy"]
    fee = data["fee_subsidy"]
    batch_terms = data["batch_terms"]
    return Product(
        code=data["code"],
        name_zh=data["name_zh"],
        name_en=data["name_en"],
        description_zh=data["description_zh"],
        description_en=data["description_en"],
        source=data["source"],
        batch=data["batch"],
        batch_organiser=None if batch_terms is None else batch_terms["organiser"],
        per_firm_cap=None if batch_terms is None else _sourced(batch_terms["per_firm_cap"]),
        amount_min=_must(terms["amount_min"]),
        amount_max=_must(terms["amount_max"]),
        term_min=_must(terms["term_min"]),
        term_max=_must(terms["term_max"]),
        repayment=terms["repayment"]["method"],
        repayment_source=terms["repayment"]["source"],
        repayment_demo=terms["repayment"]["demo"],
        example_amount=_must(terms["example_amount"]),
        example_term=_must(terms["example_term"]),
        rate_base=data["rate"]["base"],
        spread_bp=_sourced(data["rate"]["spread_bp"]),
        fixed_rate=_sourced(data["rate"]["fixed_rate"]),
        guarantee_fee_rate=None if guarantee is None else _sourced(guarantee["fee_rate"]),
        fee_basis="amount" if guarantee is None else guarantee["fee_basis"],
        guarantee_coverage=None if guarantee is None else _sourced(guarantee["coverage"]),
        interest_subsidy=None
        if interest is None
        else InterestSubsidy(
            kind=interest["kind"],
            share=_sourced(interest["share"]),
            points=_sourced(interest["points"]),
            floor_spread_bp=_sourced(interest["floor_spread_bp"]),
            cap_total=_sourced(interest["cap_total"]),
            cap_per_year=_sourced(interest["cap_per_year"]),
            payment=_payment(interest["payment"]),
        ),
        fee_subsidy=None
        if fee is None
        else FeeSubsidy(
            share=_must(fee["share"]),
            cap_total=_sourced(fee["cap_total"]),
            cap_per_year=_sourced(fee["cap_per_year"]),
            payment=_payment(fee["payment"]),
        ),
        facts=tuple(_fact(f) for f in data["facts"]),
        conditions=tuple(conditions),
        variants=tuple(
            Variant(
                key=v["key"],
                borrower=v["borrower"],
                name_zh=v["name_zh"],
                name_en=v["name_en"],
                description_zh=v["description_zh"],
                description_en=v["description_en"],
                source=v["source"],
                demo=v["demo"],
                facts=tuple(_fact(f) for f in v["facts"]),
            )
            for v in data["variants"]
        ),
        application_window=_window(data["application_window"]),
        source_name=source_name,
        version_hash=content_hash(canonical),
        demo=any(_walk_demo(canonical)),
        _data=canonical,
    )
