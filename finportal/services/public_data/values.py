"""Read a source's value from a file cell or a JSON field, and turn it into the profile's type.

A verified fact keeps its value as plain text (money in yuan to the fen, counts as digits,
``true``/``false``, a grade letter); :func:`typed` gives the profile's Python value.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.services.public_data.sources import Item

_TRUE = {"true", "1", "是", "y", "yes", "已完成", "t"}
_FALSE = {"false", "0", "否", "n", "no", "未完成", "f"}


def parse(item: Item, raw: Any) -> str | None:
    """Return the plain text of a raw value (None for an empty cell); raise ``LimitError``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if item.kind == "money":
        return str(limits.check_amount(raw, "profile", unit="yuan"))
    if item.kind == "count":
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        text = str(raw).strip()
        if isinstance(raw, bool) or not text.isascii() or not text.isdigit():
            raise limits.LimitError(
                "应为非负整数。", "A whole number of 0 or more is expected.", "invalid"
            )
        number = int(text)
        spec = profile_fields.fields().get(item.field) if item.field else None
        largest = spec.largest if spec is not None else limits.MAX_COUNT
        if number > largest:
            raise limits.LimitError(
                f"数值过大（超过 {largest}）。",
                f"Too large (above {largest}).",
                "large",
            )
        return str(number)
    if item.kind == "bool":
        text = str(raw).strip().lower()
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if text in _TRUE:
            return "true"
        if text in _FALSE:
            return "false"
        raise limits.LimitError("应为“是”或“否”。", "Yes or no is expected.", "invalid")
    text = str(raw).strip().upper()
    allowed = item.values or ()
    if text not in allowed:
        raise limits.LimitError(
            f"应为 {'/'.join(allowed)} 之一。",
            f"One of {'/'.join(allowed)} is expected.",
            "invalid",
        )
    return text


def typed(item: Item, text: str) -> Any:
    """Return a fact's plain text as the profile's value (Decimal yuan, int, bool, str)."""
    if item.kind == "money":
        return Decimal(text)
    if item.kind == "count":
        return int(text)
    if item.kind == "bool":
        return text == "true"
    return text


def parse_as_of(raw: Any, today: date) -> date:
    """Return the date a row's data stands at; raise ``LimitError`` (empty, bad, future)."""
    day = limits.parse_day(raw) if raw not in (None, "") else None
    if day is None:
        raise limits.LimitError(
            "数据截至日期缺失或格式不对（应如 2026-10-31）。",
            "The as-of date is missing or malformed (e.g. 2026-10-31).",
            "date",
        )
    limits.check_date(day)
    if day > today:
        raise limits.LimitError(
            "数据截至日期晚于今天。", "The as-of date lies in the future.", "date"
        )
    return day
