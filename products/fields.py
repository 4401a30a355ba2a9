"""Registry of the fields a condition may name (data in ``data/fields.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from products import yaml_text

KINDS = ("money", "count", "number", "bool", "category", "tokens", "date", "text")
NUMERIC_KINDS = frozenset({"money", "count", "number"})

# Which operators make sense for which kind of field.
OPERATORS: dict[str, frozenset[str]] = {
    "money": frozenset({"eq", "ne", "gte", "gt", "lte", "lt", "between", "present"}),
    "count": frozenset({"eq", "ne", "gte", "gt", "lte", "lt", "between", "present"}),
    "number": frozenset({"eq", "ne", "gte", "gt", "lte", "lt", "between", "present"}),
    "bool": frozenset({"true", "false", "present"}),
    "category": frozenset({"eq", "ne", "in", "not_in", "present"}),
    "tokens": frozenset({"in", "not_in", "present"}),
    "date": frozenset({"present"}),
    "text": frozenset({"present"}),
}
ALL_OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "gte",
    "gt",
    "lte",
    "lt",
    "between",
    "true",
    "false",
    "present",
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: where it comes from, its kind, labels and allowed values."""

    name: str
    origin: str  # profile | request | derived
    kind: str
    label_zh: str
    label_en: str
    unit: str | None
    values: tuple[str, ...] | None
    derived_from: tuple[str, ...]


@cache
def definition() -> dict[str, Any]:
    """Return ``data/fields.yaml`` as parsed, read once per process (do not change it).

    Every reader of the field definition takes it from here: the conditions' registry below,
    the coach's category words and the portal's profile fields (``finportal.domain.fields``).
    """
    loaded: dict[str, Any] = yaml_text.data_file("products", "data/fields.yaml")
    return loaded


def _load() -> dict[str, FieldSpec]:
    raw: dict[str, dict[str, dict[str, Any]]] = definition()
    specs: dict[str, FieldSpec] = {}
    for origin in ("profile", "request", "derived"):
        for name, item in raw[origin].items():
            values = item.get("values")
            specs[name] = FieldSpec(
                name=name,
                origin=origin,
                kind=str(item["kind"]),
                label_zh=str(item["zh"]),
                label_en=str(item["en"]),
                unit=item.get("unit"),
                values=tuple(str(v) for v in values) if values else None,
                derived_from=tuple(item.get("from", ())),
            )
    return specs


@cache
def field_specs() -> dict[str, FieldSpec]:
    """Return every known field by name."""
    return _load()


def profile_fields() -> list[str]:
    """Return the profile field names in their documented order."""
    return [n for n, s in field_specs().items() if s.origin == "profile"]


def request_fields() -> list[str]:
    """Return the request field names."""
    return [n for n, s in field_specs().items() if s.origin == "request"]
