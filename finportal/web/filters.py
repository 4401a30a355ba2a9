"""Template filters shared by every blueprint: times in Shanghai, 万元 and percentages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from finportal import money
from finportal.services.workdays import SHANGHAI


def sh_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a UTC time in Shanghai time for pages."""
    if value is None:
        return "—"
    return str(value.astimezone(SHANGHAI).strftime(fmt))


def fp_time(value: datetime | None) -> str:
    """Format a timestamp in Shanghai time."""
    return sh_time(value)


def admin_time(value: Any) -> str:
    """Format a timestamp in Shanghai time to the minute."""
    # The admin pages show an en dash (not an em dash) for a missing time.
    return sh_time(value) if value else "–"


def fp_wan(value: Any, places: int = 2) -> str:
    """Format yuan as 万元 with two decimals (``finportal.money``: the one conversion)."""
    return money.wan(value, places)


def wan_unit(value: Any, places: int = 2) -> str:
    """Format yuan as 万元 with the unit, trailing zeros dropped: "120.5 万元"."""
    return money.wan(value, places, trim=True, with_unit=True)


def fp_yuan(value: Any) -> str:
    """Format a schedule line (repayment, interest, fee, subsidy) in 元 to the fen."""
    return money.yuan(value)


def fp_pct(value: Any, digits: int = 1) -> str:
    """Format a fraction as a percentage."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


FILTERS = {
    "sh_time": sh_time,
    "fp_time": fp_time,
    "admin_time": admin_time,
    "fp_wan": fp_wan,
    "wan_unit": wan_unit,
    "fp_yuan": fp_yuan,
    "fp_pct": fp_pct,
}


def init_app(app: Flask) -> None:
    """Register the shared template filters, and the state machines as ``states``.

    A template names a state by its machine: ``{{ states.referral.title(r.state) }}``
    shows the one title of ``domain/states.py`` in the reader's language; likewise
    ``scope_label(key)`` and ``purpose_label(purpose)`` word stored codes.
    """
    from finportal.domain.states import MACHINES
    from finportal.services import costs
    from finportal.services.labels import purpose_label, scope_label

    app.jinja_env.filters.update(FILTERS)
    # The unit beside amounts (万元 / 10k yuan) and schedule lines (元 / yuan).
    app.jinja_env.globals["money_unit"] = money.unit
    app.jinja_env.globals["states"] = MACHINES
    # issue 13: a loan event's name (放款, 还款, 结清...), repayments included.
    from finportal.services.referrals import event_title as loan_event_title

    app.jinja_env.globals["loan_event_title"] = loan_event_title
    # Labels of stored codes, in the reader's language (services/labels.py).
    app.jinja_env.globals["scope_label"] = scope_label
    app.jinja_env.globals["purpose_label"] = purpose_label
    # A quote's cost (live or stored) as every page shows it: templates/_cost.html.
    app.jinja_env.globals["cost_of"] = costs.summarise
    app.jinja_env.globals["effective_cost_note"] = costs.effective_cost_note
