"""Size classes per 工信部联企业〔2011〕300号: all 16 rows, every boundary."""

from __future__ import annotations

from typing import Any

import pytest

from products import size_class
from products.sizes import row_for, size_table

WAN = 10_000  # the notice writes money in 万元
# Typed from the notice's 第四条 (not read from the data file), per row:
# (metrics, small, medium, large) with thresholds in persons / yuan.
NOTICE: dict[
    str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...]]
] = {
    "agriculture": (("revenue",), (50 * WAN,), (500 * WAN,), (20000 * WAN,)),
    "industry": (("employees", "revenue"), (20, 300 * WAN), (300, 2000 * WAN), (1000, 40000 * WAN)),
    "construction": (
        ("revenue", "total_assets"),
        (300 * WAN, 300 * WAN),
        (6000 * WAN, 5000 * WAN),
        (80000 * WAN, 80000 * WAN),
    ),
    "wholesale": (("employees", "revenue"), (5, 1000 * WAN), (20, 5000 * WAN), (200, 40000 * WAN)),
    "retail": (("employees", "revenue"), (10, 100 * WAN), (50, 500 * WAN), (300, 20000 * WAN)),
    "transport": (
        ("employees", "revenue"),
        (20, 200 * WAN),
        (300, 3000 * WAN),
        (1000, 30000 * WAN),
    ),
    "warehousing": (
        ("employees", "revenue"),
        (20, 100 * WAN),
        (100, 1000 * WAN),
        (200, 30000 * WAN),
    ),
    "postal": (("employees", "revenue"), (20, 100 * WAN), (300, 2000 * WAN), (1000, 30000 * WAN)),
    "accommodation": (
        ("employees", "revenue"),
        (10, 100 * WAN),
        (100, 2000 * WAN),
        (300, 10000 * WAN),
    ),
    "catering": (("employees", "revenue"), (10, 100 * WAN), (100, 2000 * WAN), (300, 10000 * WAN)),
    "information_transmission": (
        ("employees", "revenue"),
        (10, 100 * WAN),
        (100, 1000 * WAN),
        (2000, 100000 * WAN),
    ),
    "software_it": (
        ("employees", "revenue"),
        (10, 50 * WAN),
        (100, 1000 * WAN),
        (300, 10000 * WAN),
    ),
    "real_estate_development": (
        ("revenue", "total_assets"),
        (100 * WAN, 2000 * WAN),
        (1000 * WAN, 5000 * WAN),
        (200000 * WAN, 10000 * WAN),
    ),
    "property_management": (
        ("employees", "revenue"),
        (100, 500 * WAN),
        (300, 1000 * WAN),
        (1000, 5000 * WAN),
    ),
    "leasing_business_services": (
        ("employees", "total_assets"),
        (10, 100 * WAN),
        (100, 8000 * WAN),
        (300, 120000 * WAN),
    ),
    "other": (("employees",), (10,), (100,), (300,)),
}
# One GB/T 4754-2017 code per row.
CODES = {
    "agriculture": "0111",
    "industry": "C3911",
    "construction": "4710",
    "wholesale": "5111",
    "retail": "5211",
    "transport": "5411",
    "warehousing": "5920",
    "postal": "6010",
    "accommodation": "6110",
    "catering": "6210",
    "information_transmission": "6311",
    "software_it": "6510",
    "real_estate_development": "7010",
    "property_management": "7020",
    "leasing_business_services": "7211",
    "other": "7310",
}
CLASSES = ("micro", "small", "medium", "large")


def test_data_file_has_the_notice_rows() -> None:
    rows = {row.key: row for row in size_table().rows}
    assert set(rows) == set(NOTICE)
    assert len(rows) == 16
    for key, (metrics, small, medium, large) in NOTICE.items():
        row = rows[key]
        assert row.metrics == tuple(
            m for m in ("employees", "revenue", "total_assets") if m in metrics
        )
        for i, metric in enumerate(metrics):
            assert row.thresholds[metric] == (small[i], medium[i], large[i]), (key, metric)


def call(code: str, values: dict[str, float]) -> Any:
    return size_class(
        code, values.get("employees"), values.get("revenue"), values.get("total_assets")
    )


def boundary_cases() -> list[Any]:
    cases = []
    for key, (metrics, *levels) in NOTICE.items():
        for level, bounds in enumerate(levels, start=1):
            at = dict(zip(metrics, bounds, strict=True))
            # Exactly at every bound of a class: that class.
            cases.append(pytest.param(key, at, CLASSES[level], id=f"{key}-{CLASSES[level]}-at"))
            for metric in metrics:
                # One unit (person or yuan) below one bound: the class below.
                below = dict(at)
                below[metric] = at[metric] - 1
                cases.append(
                    pytest.param(
                        key, below, CLASSES[level - 1], id=f"{key}-{metric}-below-{CLASSES[level]}"
                    )
                )
    return cases


@pytest.mark.parametrize(("key", "values", "expected"), boundary_cases())
def test_every_boundary(key: str, values: dict[str, float], expected: str) -> None:
    result = call(CODES[key], values)
    assert result.size_class == expected, result.rule_en


def test_a_row_ignores_metrics_it_does_not_use() -> None:
    # Agriculture looks only at revenue; other industries ignore total assets.
    assert call("0111", {"revenue": 600 * WAN, "employees": 5000}).size_class == "medium"
    assert (
        call("6510", {"employees": 50, "revenue": 60 * WAN, "total_assets": 1}).size_class
        == "small"
    )


def test_rule_text_says_why() -> None:
    result = size_class("C3911", 350, 25_000_000)
    assert result.size_class == "medium"
    assert "工业" in result.rule_zh
    assert "从业人员 350 人 ≥ 300 人" in result.rule_zh
    assert "中型企业" in result.rule_zh
    assert "工信部联企业〔2011〕300号" in result.rule_zh
    assert "employees 350 persons ≥ 300 persons" in result.rule_en
    micro = size_class("6510", 5, 25_000_000)
    assert micro.size_class == "micro"
    assert "从业人员 5 人 < 10 人" in micro.rule_zh


def test_missing_values() -> None:
    # One known value below a small bound is enough for micro.
    assert size_class("C3911", 5, None).size_class == "micro"
    unknown = size_class("C3911", 500, None)
    assert unknown.size_class is None
    assert "营业收入" in unknown.rule_zh
    assert "revenue" in unknown.rule_en
    assert size_class(None, 5, 1).size_class is None


@pytest.mark.parametrize(
    ("code", "row"),
    [
        ("01", "agriculture"),
        ("05", "agriculture"),
        ("06", "industry"),
        ("C13", "industry"),
        ("4610", "industry"),
        ("47", "construction"),
        ("5111", "wholesale"),
        ("5211", "retail"),
        ("5410", "transport"),
        ("5910", "transport"),
        ("5920", "warehousing"),
        ("6010", "postal"),
        ("6110", "accommodation"),
        ("6210", "catering"),
        ("6311", "information_transmission"),
        ("6421", "information_transmission"),
        ("6510", "software_it"),
        ("70", "real_estate_development"),
        ("7010", "real_estate_development"),
        ("7020", "property_management"),
        ("7030", "other"),
        ("7111", "leasing_business_services"),
        ("7241", "leasing_business_services"),
        ("7310", "other"),
        ("8310", "other"),
        ("9011", "other"),
        ("53", None),
        ("6620", None),
        ("7040", None),
        ("9110", None),
    ],
)
def test_gbt_4754_mapping(code: str, row: str | None) -> None:
    found = row_for(code)
    assert (None if found is None else found.key) == row


def test_finance_is_not_classified() -> None:
    result = size_class("6620", 5, 1)
    assert result.size_class is None
    assert "不在" in result.rule_zh
