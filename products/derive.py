"""Read profile and request values and derive the computed fields (scalar path)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from products.errors import ProfileError
from products.fields import NUMERIC_KINDS, field_specs
from products.sizes import industry_digits, size_class

# Minhang District's administrative division code (GB/T 2260); the 3rd-8th
# characters of a USCC are the registering authority's area code (GB 32100-2015).
DISTRICT_CODE = "310112"
_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})


def is_missing(value: object) -> bool:
    """Tell whether a value counts as not filled in (None, NaN, NaT, empty string)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Decimal):
        return value.is_nan()
    # pandas.NA / NaT without importing pandas
    return type(value).__name__ in {"NAType", "NaTType"}


def read_number(name: str, value: object) -> float | None:
    """Read a money/count/number value (Decimal, str, int or float) as a float."""
    if is_missing(value):
        return None
    if isinstance(value, bool):
        raise ProfileError(f"{name}: expected a number, got {value!r}（应为数字）")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{name}: expected a number, got {value!r}（应为数字）") from exc
    return None if math.isnan(number) else number


def read_bool(name: str, value: object) -> bool | None:
    """Read a yes/no value (bool, 0/1 or 'true'/'false')."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif value in (True, False, 0, 1):  # also numpy bools and ints
        return bool(value)
    raise ProfileError(f"{name}: expected true or false, got {value!r}（应为是/否）")


def read_category(name: str, value: object) -> str | None:
    """Read a category value as a stripped string."""
    if is_missing(value):
        return None
    return str(value).strip()


def read_tokens(name: str, value: object) -> tuple[str, ...] | None:
    """Read a list value (list, tuple, set or array of strings) as a sorted tuple."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ == "NAType":
        return None
    if isinstance(value, (str, bytes, Mapping)):
        raise ProfileError(f"{name}: expected a list, got {value!r}（应为列表）")
    try:
        items = list(value)  # type: ignore[call-overload]
    except TypeError as exc:
        raise ProfileError(f"{name}: expected a list, got {value!r}（应为列表）") from exc
    return tuple(sorted({str(item).strip() for item in items if not is_missing(item)}))


def read_date(name: str, value: object) -> dt.date | None:
    """Read a date (date, datetime, pandas Timestamp or ISO 'YYYY-MM-DD')."""
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError as exc:
            raise ProfileError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from exc
    to_date = getattr(value, "date", None)
    if callable(to_date):
        result = to_date()
        if isinstance(result, dt.date):
            return result
    raise ProfileError(f"{name}: expected a date, got {value!r}（应为日期）")


def read_value(name: str, value: object) -> Any:
    """Read one profile or request value by its field kind."""
    spec = field_specs()[name]
    if spec.kind in NUMERIC_KINDS:
        return read_number(name, value)
    if spec.kind == "bool":
        return read_bool(name, value)
    if spec.kind == "category":
        return read_category(name, value)
    if spec.kind == "tokens":
        return read_tokens(name, value)
    if spec.kind == "date":
        return read_date(name, value)
    return None if is_missing(value) else str(value).strip()


def uscc_area(uscc: object) -> str | None:
    """Return characters 3-8 of an 18-character USCC (the area code), else None."""
    if is_missing(uscc):
        return None
    text = str(uscc).strip().upper()
    return text[2:8] if len(text) == 18 else None


def completed_years(start: dt.date, today: dt.date) -> int:
    """Return whole years from start to today (an anniversary completes a year)."""
    return today.year - start.year - int((today.month, today.day) < (start.month, start.day))


def in_district(uscc: object, district_code: object) -> bool | None:
    """Tell whether a firm is registered in Minhang (None when neither field is known)."""
    area = uscc_area(uscc)
    district = read_category("district_code", district_code)
    answers = [code == DISTRICT_CODE for code in (area, district) if code is not None]
    if any(answers):
        return True
    return False if answers else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Divide when both are known and the denominator is positive."""
    if numerator is None or denominator is None or not denominator > 0:
        return None
    return numerator / denominator


def derive_fields(profile: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """Compute size_class, firm_age_years, debt_ratio, revenue_growth, in_district, industry_division, new_hire_share."""
    today = today or dt.date.today()
    get = profile.get
    digits = industry_digits(get("industry_code"))
    sized = size_class(
        get("industry_code"),
        read_number("employees", get("employees")),
        read_number("revenue_last_year", get("revenue_last_year")),
        read_number("total_assets", get("total_assets")),
    )
    registered = read_date("registered_on", get("registered_on"))
    last = read_number("revenue_last_year", get("revenue_last_year"))
    prev = read_number("revenue_prev_year", get("revenue_prev_year"))
    growth = ratio(last, prev)
    return {
        "size_class": sized.size_class,
        "size_class_rule_zh": sized.rule_zh,
        "size_class_rule_en": sized.rule_en,
        "firm_age_years": None if registered is None else completed_years(registered, today),
        "debt_ratio": ratio(
            read_number("total_liabilities", get("total_liabilities")),
            read_number("total_assets", get("total_assets")),
        ),
        "revenue_growth": None if growth is None else growth - 1.0,
        "in_district": in_district(get("uscc"), get("district_code")),
        "industry_division": None if digits is None else digits[:2],
        "new_hire_share": ratio(
            read_number("qualifying_new_hires", get("qualifying_new_hires")),
            read_number("employees", get("employees")),
        ),
    }


def collect_facts(
    profile: Mapping[str, Any],
    request: Mapping[str, Any] | None,
    today: dt.date | None,
) -> dict[str, Any]:
    """Return every field's read value: profile, request and derived, keyed by name."""
    facts: dict[str, Any] = {}
    specs = field_specs()
    for name, spec in specs.items():
        if spec.origin == "profile":
            facts[name] = read_value(name, profile.get(name))
        elif spec.origin == "request":
            facts[name] = None if request is None else read_value(name, request.get(name))
    facts.update(derive_fields(profile, today))
    return facts
