"""Money in 万元 where users type and read it, 元 in schedules, converted in one place."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from finportal import limits, money
from finportal.domain.states import language

ROOT = Path(__file__).resolve().parents[2] / "finportal"

#: Ways code turns yuan into 万元 by itself instead of asking finportal.money.
_CONVERSIONS = re.compile(
    r"/\s*10000\b|/\s*10_000\b|Decimal\(\s*[\"']?10000[\"']?\s*\)|'\{:,\.2f\}'\.format"
)


def test_only_the_money_module_converts_yuan_to_wan() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*")):
        if path.suffix not in (".py", ".html") or path == ROOT / "money.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if _CONVERSIONS.search(line):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{number}: {line.strip()}")
    assert offenders == []


def test_amounts_read_in_wan_with_the_unit() -> None:
    assert money.wan(Decimal("1234567.89")) == "123.46"
    assert money.wan(Decimal("1500000"), trim=True, with_unit=True) == "150 万元"
    with language("en"):
        assert money.wan(Decimal("1500000"), trim=True, with_unit=True) == "150 10k yuan"
    assert money.wan(None) == "—"
    # A form gets back what the user would type: no separators, no trailing zeros.
    assert money.wan_input(Decimal("1234500.00")) == "123.45"
    assert money.wan_input(Decimal("0")) == "0"
    assert money.wan_input(None) == ""


def test_schedule_lines_stay_in_yuan_to_the_fen() -> None:
    assert money.yuan(Decimal("3456.785")) == "3,456.79"
    assert money.yuan(Decimal("12"), with_unit=True) == "12.00 元"


def test_typed_wan_and_shown_wan_round_trip() -> None:
    typed = "123.456789"
    stored = limits.check_amount(typed, "loan", unit="wan")
    assert stored == Decimal("1234567.89")
    assert money.wan_input(stored) == typed


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalogue_amounts_are_in_wan(locale: str) -> None:
    from finportal.web.catalogue import yuan

    with language(locale):
        # A total below 10,000 yuan was once shown in 元 on the catalogue page.
        assert yuan(Decimal("3456.78")) == f"0.3457 {money.unit()}"
        assert yuan(Decimal("3000000")) == f"300 {money.unit()}"
