"""Money as users type and read it: amounts in 万元, schedules in 元 — the one place.

The database holds ``Decimal`` yuan (``Numeric(18, 2)``). People think of loans, quotas,
revenue and limits in 万元, so every amount a page, a form, a packet or a workbook shows
is in 万元 with its unit, and every amount typed is read as 万元
(:func:`finportal.limits.check_amount` with ``unit="wan"``). Only schedules — a repayment
plan's periods, the repayments a bank records, interest and fees paid, subsidy lines — are
in 元 to the fen, because they are bookkeeping lines that must add up to the fen.

The conversion happens here and nowhere else: templates use the filters registered in
``web/filters.py`` (``fp_wan``, ``wan_unit``, ``fp_yuan``), services and exports call
:func:`to_wan` / :func:`wan`; a test (``tests/finportal/test_money.py``) fails on any other
module dividing by 10000.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from finportal.domain.states import current_locale

#: Yuan in one 万元.
WAN = Decimal(10000)
#: The fen: stored amounts and schedule lines are rounded to it.
CENT = Decimal("0.01")
#: The unit of amounts users type and read (loans, quotas, profile figures), zh and en.
AMOUNT_UNIT = ("万元", "10k yuan")
#: The unit of schedule lines (repayment plans, repayments, interest, fees, subsidies).
SCHEDULE_UNIT = ("元", "yuan")
#: What a page shows for a missing amount.
MISSING = "—"


def _english(locale: str | None = None) -> bool:
    return (locale or current_locale()).startswith("en")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def unit(*, schedule: bool = False, locale: str | None = None) -> str:
    """Return the unit users read beside an amount (万元) or a schedule line (元)."""
    zh, en = SCHEDULE_UNIT if schedule else AMOUNT_UNIT
    return en if _english(locale) else zh


def to_wan(yuan: Any, places: int | None = 2) -> Decimal:
    """Return yuan in 万元, rounded half up to ``places`` decimals (None: exact); None is 0."""
    value = (_decimal(yuan) or Decimal(0)) / WAN
    if places is None:
        return value
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _trimmed(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def wan(
    yuan: Any,
    places: int = 2,
    *,
    trim: bool = False,
    with_unit: bool = False,
    locale: str | None = None,
) -> str:
    """Write yuan as 万元 with thousands separators ('—' for None).

    ``places`` decimals (6 keeps the fen of a 万元 figure), ``trim`` drops trailing zeros,
    ``with_unit`` adds "万元" (or "10k yuan").
    """
    value = _decimal(yuan)
    if value is None:
        return MISSING
    text = f"{to_wan(value, places):,.{places}f}"
    if trim:
        text = _trimmed(text)
    return f"{text} {unit(locale=locale)}" if with_unit else text


def wan_input(yuan: Any) -> str:
    """Write yuan as the 万元 a form field holds: plain digits, no trailing zeros ('' for None)."""
    value = _decimal(yuan)
    if value is None:
        return ""
    text = format((value / WAN).normalize(), "f")
    return _trimmed(text)


def yuan(value: Any, *, with_unit: bool = False, locale: str | None = None) -> str:
    """Write a schedule line in 元 to the fen with thousands separators ('—' for None)."""
    amount = _decimal(value)
    if amount is None:
        return MISSING
    text = f"{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"
    return f"{text} {unit(schedule=True, locale=locale)}" if with_unit else text
