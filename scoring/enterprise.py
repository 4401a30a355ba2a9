"""Build the platform model's feature row from an enterprise profile and a request."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from .frame import to_bool, to_float

# 纳税信用等级 as a risk rank: A (>= 90 points), B (70-89), M (new firm, not yet
# rated), C (40-69), D (< 40). M sits between B and C: a new firm is neither
# proven good nor known bad.
TAX_CREDIT_RANK: dict[str, float] = {"A": 0.0, "B": 1.0, "M": 2.0, "C": 3.0, "D": 4.0}

TECH_CERTIFICATIONS = ("tech_sme", "high_tech", "specialized", "little_giant")

_MEMBERSHIP_KEYS = (
    "park_memberships",
    "chamber_memberships",
    "parks",
    "chambers",
    "memberships",
    "park_ids",
    "chamber_ids",
)
_MEMBER_FLAGS = ("park_member", "chamber_member", "is_park_member", "is_chamber_member")
_AMOUNT_KEYS = ("amount", "amount_yuan", "requested_amount", "loan_amount")
_TERM_KEYS = ("term_months", "term")


def _get(m: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in m and m[k] is not None:
            return m[k]
    return None


def _num(m: Mapping[str, Any], *keys: str) -> float:
    return to_float(_get(m, *keys))


def _ratio(a: float, b: float, cap: float | None = None) -> float:
    if math.isnan(a) or math.isnan(b) or b <= 0:
        return math.nan
    r = a / b
    return min(r, cap) if cap is not None else r


def _as_date(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _count(m: Mapping[str, Any], key: str) -> float:
    v = to_float(m.get(key))
    return v if math.isnan(v) else max(v, 0.0)


def platform_features(
    profile: Mapping[str, Any], request: Mapping[str, Any], today: date
) -> dict[str, float]:
    """Turn an enterprise profile and a loan request into the platform feature row.

    Parameters
    ----------
    profile : mapping
        Enterprise profile with the field names of the data model: money in
        yuan (``Decimal``, ``int``, ``float`` or numeric text), counts as
        integers, ``registered_on`` a date (or ISO text), ``tax_credit_grade``
        one of A/B/M/C/D, ``certifications`` a list (or comma-separated text)
        of ``tech_sme``, ``high_tech``, ``specialized``, ``little_giant``, and
        memberships as ``park_memberships`` / ``chamber_memberships`` (lists)
        or ``park_member`` / ``chamber_member`` (booleans).
    request : mapping
        The loan request: ``amount`` (yuan) and ``term_months``.
    today : date
        The scoring date (firm age is counted up to it).

    Returns
    -------
    dict
        Feature name -> float; ``NaN`` where the profile does not say.
    """
    revenue = _num(profile, "revenue_last_year")
    prev = _num(profile, "revenue_prev_year")
    employees = _num(profile, "employees")
    registered = _as_date(profile.get("registered_on"))
    on = _as_date(today) or today
    age = math.nan
    if registered is not None:
        age = max((on - registered).days, 0) / 365.25

    grade = profile.get("tax_credit_grade")
    tax_rank = TAX_CREDIT_RANK.get(str(grade).strip().upper(), math.nan) if grade else math.nan

    certs = {c.strip().lower() for c in _as_list(profile.get("certifications"))}
    tech = float(sum(1 for c in TECH_CERTIFICATIONS if c in certs))

    member: float = math.nan
    if any(k in profile for k in _MEMBERSHIP_KEYS + _MEMBER_FLAGS):
        lists = any(_as_list(profile.get(k)) for k in _MEMBERSHIP_KEYS)
        flags = any(to_bool(profile.get(k)) == 1.0 for k in _MEMBER_FLAGS)
        member = 1.0 if lists or flags else 0.0

    utility, trademarks = _count(profile, "utility_patents"), _count(profile, "trademarks")
    other_ip = (
        math.nan
        if math.isnan(utility) and math.isnan(trademarks)
        else (
            (0.0 if math.isnan(utility) else utility)
            + (0.0 if math.isnan(trademarks) else trademarks)
        )
    )
    loan_balance = _num(profile, "existing_loan_balance")
    amount = _num(request, *_AMOUNT_KEYS)

    return {
        "firm_age_years": age,
        "employees": employees,
        "revenue_10k": revenue / 1e4,
        "revenue_growth": _ratio(revenue, prev) - 1.0,
        "net_margin": _ratio(_num(profile, "net_profit_last_year"), revenue),
        "debt_ratio": _ratio(_num(profile, "total_liabilities"), _num(profile, "total_assets")),
        "tax_paid_10k": _num(profile, "tax_paid_last_year") / 1e4,
        "tax_credit_rank": tax_rank,
        "social_insured_ratio": _ratio(
            _num(profile, "social_insured_employees"), employees, cap=1.0
        ),
        "invention_patents": _count(profile, "invention_patents"),
        "other_ip": other_ip,
        "tech_certifications": tech,
        "park_or_chamber_member": member,
        "has_bank_loan_history": to_bool(profile.get("has_bank_loan_history")),
        "existing_loan_to_revenue": (
            0.0
            if loan_balance == 0 and not math.isnan(loan_balance)
            else _ratio(loan_balance, revenue)
        ),
        "overdue_count_24m": _count(profile, "overdue_count_24m"),
        "max_overdue_days_24m": _count(profile, "max_overdue_days_24m"),
        "pending_lawsuits": _count(profile, "pending_lawsuits"),
        "enforcement_records": _count(profile, "enforcement_records"),
        "admin_penalties_24m": _count(profile, "admin_penalties_24m"),
        "serious_bad_credit_24m": to_bool(profile.get("serious_bad_credit_24m")),
        "credit_repair_completed": to_bool(profile.get("credit_repair_completed")),
        "amount_to_revenue": _ratio(amount, revenue),
        "term_months": _num(request, *_TERM_KEYS),
    }
