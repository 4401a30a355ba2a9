"""The enterprise profile's fields, from their one definition (``products/data/fields.yaml``).

Each field's kind, unit and labels are the catalogue's (conditions name the same fields);
the portal's keys in the same entry say where it is shown and who changes it. The profile
form's schema, its values, the Excel template and import, packet rows, the advisor's
return list and the completeness meter are all made from :data:`FIELDS`. Adding a field is
its entry in the YAML, the model column and a migration (docs/DEVELOPING.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from finportal import limits
from finportal.domain.states import current_locale
from products import industries
from products.fields import definition

#: How each unit of the definition reads beside an input or a value (money is typed in 万元).
UNITS = {
    "yuan": ("万元", "10k yuan"),
    "persons": ("人", "persons"),
    "days": ("天", "days"),
    "months": ("个月", "months"),
    "years": ("年", "years"),
}
#: A list of choices up to this long is spelled out in errors and in the Excel template's note.
SHORT_LIST = 12
#: How a count without a unit reads.
COUNT_UNIT = ("个/次", "")


@dataclass(frozen=True)
class ProfileField:
    """One field of the enterprise profile and everything the portal needs to show it."""

    name: str
    #: money (yuan) | count | number | bool | category | tokens | date | text
    kind: str
    label_zh: str
    label_en: str
    group: str
    unit: str | None = None
    values: tuple[str, ...] | None = None
    #: "sme" (the firm edits it) or "centre" (a park, a chamber or the centre does)
    edit: str = "sme"
    required: bool = False
    optional: bool = False
    packet: bool = True
    ask: bool = False
    signed: bool = False
    pattern: str | None = None
    pattern_zh: str = ""
    pattern_en: str = ""
    hint_zh: str = ""
    hint_en: str = ""
    choices: tuple[tuple[str, str, str], ...] = ()
    #: The largest whole number a count may hold (``max`` in fields.yaml), else
    #: ``limits.MAX_COUNT``.
    maximum: int | None = None

    @property
    def largest(self) -> int:
        """Return the largest value a count field accepts."""
        return self.maximum if self.maximum is not None else limits.MAX_COUNT

    @property
    def editable(self) -> bool:
        """Tell whether the SME edits it (on the profile form and in the Excel import)."""
        return self.edit == "sme"

    @property
    def input(self) -> str:
        """Return how it is typed: money, count, bool, date, choice, list or text."""
        if self.kind in ("money", "count", "bool", "date"):
            return self.kind
        if self.kind == "tokens":
            return "list"
        if self.kind in ("category", "text") and self.values:
            return "choice"
        return "text"

    def label(self, locale: str | None = None) -> str:
        """Return the label in the locale (the request's by default; English capitalised)."""
        if (locale or current_locale()).startswith("en"):
            return self.label_en[:1].upper() + self.label_en[1:]
        return self.label_zh

    def label_with_unit(self, locale: str | None = None) -> str:
        """Return the label with its unit, as a form or a table heading shows it."""
        unit = self.unit_label(locale)
        if not unit:
            return self.label(locale)
        if (locale or current_locale()).startswith("en"):
            return f"{self.label(locale)} ({unit})"
        return f"{self.label(locale)}（{unit}）"

    def hint(self, locale: str | None = None) -> str:
        """Return the help text in the locale (English capitalised)."""
        if (locale or current_locale()).startswith("en"):
            return self.hint_en[:1].upper() + self.hint_en[1:]
        return self.hint_zh

    def unit_label(self, locale: str | None = None) -> str:
        """Return the unit shown beside the field ('' for none)."""
        english = (locale or current_locale()).startswith("en")
        if self.unit in UNITS:
            zh, en = UNITS[self.unit]
        elif self.kind == "count":
            zh, en = COUNT_UNIT
        else:
            return ""
        return en if english else zh

    def choice_label(self, value: str, locale: str | None = None) -> str:
        """Return the words for one of the field's values (the value itself if unknown)."""
        english = (locale or current_locale()).startswith("en")
        for code, zh, en in self.choices:
            if code == value:
                return en if english else zh
        return value


@dataclass(frozen=True)
class Group:
    """A group of the profile page."""

    code: str
    label_zh: str
    label_en: str
    fields: tuple[ProfileField, ...]

    def label(self, locale: str | None = None) -> str:
        """Return the group's title in the locale."""
        return self.label_en if (locale or current_locale()).startswith("en") else self.label_zh


@cache
def fields() -> dict[str, ProfileField]:
    """Return the profile fields by name, in the order the profile page shows them."""
    out: dict[str, ProfileField] = {}
    for name, item in definition()["profile"].items():
        choices = item.get("choices") or {}
        values = item.get("values")
        if item.get("choices_from") == "industries":
            # GB/T 4754-2017 divisions: offered as "39 计算机、通信和其他电子设备制造业".
            table = industries.divisions()
            values = list(table)
            choices = {code: (d.name(), d.name(english=True)) for code, d in table.items()}
        out[name] = ProfileField(
            name=name,
            kind=str(item["kind"]),
            label_zh=str(item["zh"]),
            label_en=str(item["en"]),
            group=str(item["group"]),
            unit=item.get("unit"),
            values=tuple(str(v) for v in values) if values else None,
            edit=str(item.get("edit", "sme")),
            required=bool(item.get("required", False)),
            optional=bool(item.get("optional", False)),
            packet=bool(item.get("packet", True)),
            ask=bool(item.get("ask", False)),
            signed=bool(item.get("signed", False)),
            pattern=item.get("pattern"),
            pattern_zh=str(item.get("pattern_zh", "")),
            pattern_en=str(item.get("pattern_en", "")),
            hint_zh=str(item.get("hint", "")),
            hint_en=str(item.get("hint_en", "")),
            choices=tuple((str(k), str(v[0]), str(v[1])) for k, v in choices.items()),
            maximum=int(item["max"]) if "max" in item else None,
        )
    return out


@cache
def groups() -> tuple[Group, ...]:
    """Return the profile page's groups with their fields, in order."""
    by_group: dict[str, list[ProfileField]] = {}
    for f in fields().values():
        by_group.setdefault(f.group, []).append(f)
    return tuple(
        Group(code, str(zh), str(en), tuple(by_group.get(code, ())))
        for code, (zh, en) in definition()["groups"].items()
    )


def field(name: str) -> ProfileField:
    """Return one field (KeyError when unknown)."""
    return fields()[name]


def names(**where: Any) -> tuple[str, ...]:
    """Return the names of the fields whose attributes equal ``where`` (all fields without)."""
    return tuple(
        f.name for f in fields().values() if all(getattr(f, k) == v for k, v in where.items())
    )


def label(name: str, locale: str | None = None) -> str:
    """Return a field's label (the name itself when unknown)."""
    f = fields().get(name)
    return f.label(locale) if f else name


# --- plain data for snapshots -------------------------------------------------------------


def to_plain(name: str, value: Any) -> Any:
    """Return a field's value as JSON can hold it (money as a decimal string, dates ISO)."""
    if value is None:
        return None
    kind = fields()[name].kind if name in fields() else ""
    if kind == "money" or isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def from_plain(name: str, value: Any) -> Any:
    """Return a field's value from its plain form (inverse of :func:`to_plain`)."""
    if value is None:
        return None
    kind = fields()[name].kind if name in fields() else ""
    if kind == "money":
        return Decimal(str(value))
    if kind == "date":
        return date.fromisoformat(str(value))
    if kind == "tokens":
        return list(value)
    return value
