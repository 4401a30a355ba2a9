"""The admin's product form, made from the catalogue's schema (``products.schema``).

One definition: the form's fields, their nesting, which are required, their choices and
their labels (each schema field's ``metadata``) come from ``ProductSchema``; the content a
form posts is checked by the same validator as YAML and the catalogue files
(``services/catalog.validate_content``), whose findings come back by field path and are
shown beside the field. The YAML editor stays as the expert view.

Names in the form are dotted paths of the content: ``terms.amount_min.value``,
``conditions.2.any_of.0.op``. A list of rows carries its row count in ``<path>.__n``; an
optional group (a guarantee, a subsidy) is switched on by ``<path>.__on``. Amounts in yuan
are typed and read in 万元.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, missing, validate

from finportal import money
from finportal.domain.states import current_locale
from products.fields import field_specs
from products.pricing import REPAYMENT_LABELS
from products.schema import LIST_OPS, ProductSchema

#: Words of the schema's choices (value -> (zh, en)); a value not listed shows as itself.
CHOICE_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "op": {
        "eq": ("等于", "equals"),
        "ne": ("不等于", "is not"),
        "in": ("属于", "is one of"),
        "not_in": ("不属于", "is none of"),
        "gte": ("不少于（≥）", "at least (≥)"),
        "gt": ("多于（>）", "more than (>)"),
        "lte": ("不超过（≤）", "at most (≤)"),
        "lt": ("少于（<）", "less than (<)"),
        "between": ("介于（含两端）", "between (inclusive)"),
        "true": ("是", "is true"),
        "false": ("否", "is false"),
        "present": ("已填写", "is filled in"),
    },
    "method": REPAYMENT_LABELS,
    "base": {
        "lpr_1y": ("1 年期 LPR 加点", "1-year LPR plus a spread"),
        "fixed": ("固定利率", "fixed"),
    },
    "kind": {
        "share": ("按利息比例", "a share of the interest"),
        "points": ("按年化点数", "points per year"),
        "above_floor": ("超过 LPR 加点的部分", "above a floor over LPR"),
    },
    "fee_basis": {
        "amount": ("按贷款金额", "on the amount"),
        "outstanding": ("按剩余本金", "on the balance"),
    },
    "paid": {
        "with_payments": ("随每期还款抵扣", "with each payment"),
        "after_repayment": ("还清后拨付", "after repayment"),
    },
    "organiser": {"park": ("园区", "park"), "chamber": ("商会", "chamber")},
    "borrower": {"individual": ("个人", "individual")},
    "unit": {
        "yuan": ("元", "yuan"),
        "months": ("月", "months"),
        "bp": ("基点（0.01%）", "basis points"),
        "per_year": ("年化比率", "per year"),
        "share": ("比例（0–1）", "share (0–1)"),
        "persons": ("人", "persons"),
        "days": ("天", "days"),
        "count": ("个", "count"),
    },
}
#: Text fields written as paragraphs.
_LONG = re.compile(r"^(description_|message_|failed_|note)|^source$")


@dataclass(frozen=True)
class Node:
    """One field of the schema as the form shows it."""

    name: str
    kind: str  # text | textarea | number | integer | check | select | date | ints | value | group | rows
    label_zh: str
    label_en: str
    required: bool = False
    choices: tuple[str, ...] = ()
    children: tuple[Node, ...] = ()
    unit: str | None = None  # a sourced number's unit, fixed by its place
    default: Any = None

    def label(self) -> str:
        """Return the label in the reader's language."""
        return self.label_en if current_locale().startswith("en") else self.label_zh


def _words(declared: fields.Field, name: str) -> tuple[str, str]:
    meta = declared.metadata
    return str(meta.get("zh", name)), str(meta.get("en", name))


def _node(name: str, declared: fields.Field) -> Node:
    zh, en = _words(declared, name)
    required = bool(declared.required)
    default = declared.load_default if declared.load_default is not missing else None
    if isinstance(declared, fields.Nested):
        nested = declared.nested
        schema = nested() if isinstance(nested, type) else nested
        assert isinstance(schema, Schema)
        return Node(
            name,
            "group",
            zh,
            en,
            required,
            children=_children(schema),
            unit=declared.metadata.get("unit"),
        )
    if isinstance(declared, fields.List):
        inner = declared.inner
        if isinstance(inner, fields.Nested):
            return Node(name, "rows", zh, en, required, children=_node(name, inner).children)
        return Node(name, "ints", zh, en, required)
    if isinstance(declared, fields.Boolean):
        return Node(name, "check", zh, en, required, default=default)
    if isinstance(declared, fields.Date):
        return Node(name, "date", zh, en, required)
    if isinstance(declared, fields.Integer):
        return Node(name, "integer", zh, en, required)
    if isinstance(declared, (fields.Decimal, fields.Float)):
        return Node(name, "number", zh, en, required)
    if isinstance(declared, fields.Raw) and not isinstance(declared, fields.String):
        return Node(name, "value", zh, en, required)
    choices: tuple[str, ...] = ()
    for rule in declared.validators:
        if isinstance(rule, validate.OneOf):
            choices = tuple(str(c) for c in rule.choices)
    if name == "field":
        choices = tuple(field_specs())
    if choices:
        return Node(name, "select", zh, en, required, choices=choices)
    return Node(name, "textarea" if _LONG.match(name) else "text", zh, en, required)


def _children(schema: Schema) -> tuple[Node, ...]:
    return tuple(_node(name, declared) for name, declared in schema.fields.items())


@functools.cache
def form_nodes() -> tuple[Node, ...]:
    """Return the product form's fields, from ``ProductSchema`` (read once)."""
    return _children(ProductSchema())


def choice_label(node: Node, value: str) -> str:
    """Word one choice of a select (field names by the field registry's labels)."""
    english = current_locale().startswith("en")
    if node.name == "field":
        spec = field_specs().get(value)
        if spec is not None:
            return f"{spec.label_en} ({value})" if english else f"{spec.label_zh}（{value}）"
        return value
    words = CHOICE_WORDS.get(node.name, {}).get(value)
    if words is None:
        return value
    return words[1] if english else words[0]


# --- content -> the form's values -------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _wan_text(value: Any) -> str:
    try:
        number = money.to_wan(value, None)
    except (ArithmeticError, ValueError):
        return str(value)
    text = format(number.normalize(), "f")
    return text


def _flatten(
    nodes: tuple[Node, ...],
    data: Mapping[str, Any],
    prefix: str,
    out: dict[str, str],
    unit: str | None = None,
) -> None:
    for node in nodes:
        path = f"{prefix}{node.name}"
        value = data.get(node.name)
        if node.kind == "group":
            if isinstance(value, Mapping):
                out[f"{path}.__on"] = "1"
                _flatten(node.children, value, f"{path}.", out, node.unit)
        elif node.kind == "rows":
            rows = value if isinstance(value, list) else []
            out[f"{path}.__n"] = str(len(rows))
            for index, row in enumerate(rows):
                if isinstance(row, Mapping):
                    _flatten(node.children, row, f"{path}.{index}.", out)
        elif node.name == "value" and unit == "yuan" and value is not None:
            out[path] = _wan_text(value)
        else:
            out[path] = _text(value)


def form_values(content: Mapping[str, Any] | None) -> dict[str, str]:
    """Return the form's values of a product's content (amounts in yuan shown in 万元)."""
    out: dict[str, str] = {}
    _flatten(form_nodes(), content or {}, "", out)
    if content is None:
        out["conditions.__n"] = "0"
    return out


def blank_row(node: Node, prefix: str, values: dict[str, str]) -> None:
    """Fill the defaults of a new row (a condition is required unless unticked)."""
    for child in node.children:
        if child.kind == "check" and child.default:
            values[f"{prefix}{child.name}"] = "1"
        if child.kind == "rows":
            values[f"{prefix}{child.name}.__n"] = "0"


def _find(path: str) -> Node | None:
    """Return the node of a rows path such as ``conditions`` or ``conditions.2.any_of``."""
    nodes = form_nodes()
    node = None
    for part in path.split("."):
        if part.isdigit():
            continue
        node = next((n for n in nodes if n.name == part), None)
        if node is None:
            return None
        nodes = node.children
    return node


def add_row(values: dict[str, str], path: str) -> dict[str, str]:
    """Return the values with one more (blank) row in the list at ``path``."""
    node = _find(path)
    if node is None or node.kind != "rows":
        return values
    out = dict(values)
    count = _count(out, path)
    out[f"{path}.__n"] = str(count + 1)
    blank_row(node, f"{path}.{count}.", out)
    return out


def remove_row(values: dict[str, str], path: str, index: int) -> dict[str, str]:
    """Return the values without row ``index`` of the list at ``path`` (later rows move up)."""
    count = _count(values, path)
    if not 0 <= index < count:
        return values
    head = f"{path}."
    out: dict[str, str] = {}
    for key, value in values.items():
        if key.startswith(head) and key[len(head) :].split(".", 1)[0].isdigit():
            i, _, rest = key[len(head) :].partition(".")
            row = int(i)
            if row == index:
                continue
            out[f"{head}{row - 1 if row > index else row}.{rest}"] = value
        else:
            out[key] = value
    out[f"{path}.__n"] = str(count - 1)
    return out


def _count(values: Mapping[str, str], path: str) -> int:
    try:
        return max(0, min(200, int(values.get(f"{path}.__n", "0") or 0)))
    except ValueError:
        return 0


# --- the form's values -> content -------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,，、;；\s]+", text) if part.strip()]


def _parse(
    nodes: tuple[Node, ...], values: Mapping[str, str], prefix: str, unit: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in nodes:
        path = f"{prefix}{node.name}"
        raw = (values.get(path) or "").strip()
        if node.kind == "group":
            if node.required or values.get(f"{path}.__on"):
                out[node.name] = _parse(node.children, values, f"{path}.", node.unit)
        elif node.kind == "rows":
            rows = [
                _parse(node.children, values, f"{path}.{i}.") for i in range(_count(values, path))
            ]
            if rows or node.required:  # no rows of an optional list: the list is left out
                out[node.name] = rows
        elif node.kind == "check":
            out[node.name] = bool(raw)
        elif node.name == "unit" and unit is not None:
            out[node.name] = unit  # fixed by the place (metadata["unit"])
        elif not raw:
            continue
        elif node.kind == "ints":
            out[node.name] = [int(p) if p.lstrip("-").isdigit() else p for p in _split(raw)]
        elif node.kind == "integer":
            out[node.name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif node.kind == "number" and node.name == "value" and unit == "yuan":
            try:
                out[node.name] = str(Decimal(raw.replace(",", "")) * money.WAN)
            except ArithmeticError:  # not a number, or beyond the decimal context
                out[node.name] = raw
        elif node.kind == "value":
            op = (values.get(f"{prefix}op") or "").strip()
            out[node.name] = _split(raw) if op in LIST_OPS or op == "between" else raw
        else:
            out[node.name] = raw.replace(",", "") if node.kind == "number" else raw
    return out


def parse_form(values: Mapping[str, str]) -> dict[str, Any]:
    """Return the product content the form's values describe (for the catalogue's validator)."""
    return _parse(form_nodes(), values, "")


# --- what the template walks ------------------------------------------------------------


@dataclass
class Widget:
    """One place of the rendered form: an input, a group or a list of rows, with its error."""

    node: Node
    path: str
    value: str = ""
    error: str = ""
    on: bool = True
    children: list[Widget] = field(default_factory=list)
    rows: list[list[Widget]] = field(default_factory=list)
    unit: str | None = None

    @property
    def id(self) -> str:
        """Return the HTML id of the input."""
        return "f-" + self.path.replace(".", "-")


def error_path(path: str) -> str:
    """Return a validator's path (``conditions[2].op``) as a form path (``conditions.2.op``)."""
    return re.sub(r"\[(\d+)\]", r".\1", path).strip(".")


def _widgets(
    nodes: tuple[Node, ...],
    values: Mapping[str, str],
    errors: dict[str, str],
    prefix: str,
    unit: str | None,
) -> list[Widget]:
    out = []
    for node in nodes:
        path = f"{prefix}{node.name}"
        if node.name == "unit" and unit is not None:
            continue  # fixed by the place
        widget = Widget(node, path, values.get(path, ""), errors.pop(path, ""), unit=unit)
        if node.kind == "group":
            widget.on = node.required or bool(values.get(f"{path}.__on"))
            widget.children = _widgets(node.children, values, errors, f"{path}.", node.unit)
            widget.unit = node.unit
        elif node.kind == "rows":
            widget.rows = [
                _widgets(node.children, values, errors, f"{path}.{i}.", None)
                for i in range(_count(values, path))
            ]
        out.append(widget)
    return out


def build_form(
    values: Mapping[str, str], errors: Mapping[str, str]
) -> tuple[list[Widget], list[tuple[str, str]]]:
    """Return the widgets to render, and the errors no widget shows (path, message)."""
    pending = {error_path(k): v for k, v in errors.items() if k not in ("_form", "note")}
    widgets = _widgets(form_nodes(), values, pending, "", None)
    # An error of a place the form does not show (a fixed unit, a group as a whole) goes to
    # the nearest place it does show.
    leftovers: list[tuple[str, str]] = []
    shown = {w.path: w for w in _walk(widgets)}
    for path, message in pending.items():
        parts = path.split(".")
        while parts and ".".join(parts) not in shown:
            parts.pop()
        if parts:
            target = shown[".".join(parts)]
            target.error = f"{target.error}；{message}" if target.error else message
        else:
            leftovers.append((path, message))
    return widgets, leftovers


def _walk(widgets: list[Widget]) -> list[Widget]:
    out = []
    for w in widgets:
        out.append(w)
        out.extend(_walk(w.children))
        for row in w.rows:
            out.extend(_walk(row))
    return out
