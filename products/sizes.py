"""Size classes (企业规模) per 工信部联企业〔2011〕300号, from ``data/size_classes.yaml``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from products import yaml_text
from products.errors import ProfileError

SIZE_CLASSES = ("micro", "small", "medium", "large")
SIZE_ZH = {"micro": "微型企业", "small": "小型企业", "medium": "中型企业", "large": "大型企业"}
SIZE_EN = {
    "micro": "Micro enterprise",
    "small": "Small enterprise",
    "medium": "Medium enterprise",
    "large": "Large enterprise",
}
METRICS = ("employees", "revenue", "total_assets")
METRIC_ZH = {"employees": "从业人员", "revenue": "营业收入", "total_assets": "资产总额"}
METRIC_EN = {"employees": "employees", "revenue": "revenue", "total_assets": "total assets"}
# Thresholds of each level, lowest first: level = number of thresholds reached.
LEVEL_KEYS = ("small", "medium", "large")


@dataclass(frozen=True, slots=True)
class SizeRow:
    """One industry row of the notice with its thresholds (persons, yuan)."""

    key: str
    index: int
    clause: str
    name_zh: str
    name_en: str
    metrics: tuple[str, ...]
    # thresholds[metric] = (small, medium, large) lower bounds
    thresholds: dict[str, tuple[float, float, float]]


class SizeClassResult(NamedTuple):
    """A size class (or None when it cannot be told) with the rule that gave it."""

    size_class: str | None
    rule_zh: str
    rule_en: str


@dataclass(frozen=True, slots=True)
class SizeTable:
    """All rows and the prefix maps from GB/T 4754-2017 codes to rows."""

    source: str
    rows: tuple[SizeRow, ...]
    by_prefix: dict[str, int | None]


@cache
def size_table() -> SizeTable:
    """Load the 16 rows and the division/group mapping."""
    raw: dict[str, Any] = yaml_text.data_file("products", "data/size_classes.yaml")
    rows: list[SizeRow] = []
    by_prefix: dict[str, int | None] = {}
    for index, item in enumerate(raw["rows"]):
        metrics = tuple(m for m in METRICS if m in item["small"])
        thresholds = {
            m: (float(item["small"][m]), float(item["medium"][m]), float(item["large"][m]))
            for m in metrics
        }
        rows.append(
            SizeRow(
                key=item["key"],
                index=index,
                clause=item["clause"],
                name_zh=item["name_zh"],
                name_en=item["name_en"],
                metrics=metrics,
                thresholds=thresholds,
            )
        )
        for prefix in [*item.get("divisions", []), *item.get("groups", [])]:
            if prefix in by_prefix:
                raise ValueError(f"size_classes.yaml: {prefix} mapped twice")
            by_prefix[str(prefix)] = index
    for prefix in raw.get("uncovered_groups", []):
        by_prefix[str(prefix)] = None
    return SizeTable(source=raw["source"], rows=tuple(rows), by_prefix=by_prefix)


def industry_digits(code: object) -> str | None:
    """Return the digits of a GB/T 4754-2017 code ('C3911' -> '3911'), None when empty."""
    if code is None:
        return None
    if isinstance(code, float) and math.isnan(code):
        return None
    text = str(code).strip().upper()
    if not text:
        return None
    if text[0].isalpha():
        text = text[1:]
    if not (2 <= len(text) <= 4 and text.isdigit()):
        raise ProfileError(
            f"industry_code {code!r}: expected a GB/T 4754-2017 code of 2-4 digits"
            " (行业代码应为 2 至 4 位数字)"
        )
    return text


def row_for(industry_code: object) -> SizeRow | None:
    """Return the notice's row for an industry code (longest prefix), None if not covered."""
    digits = industry_digits(industry_code)
    if digits is None:
        return None
    table = size_table()
    for length in (3, 2):
        prefix = digits[:length]
        if len(prefix) == length and prefix in table.by_prefix:
            index = table.by_prefix[prefix]
            return None if index is None else table.rows[index]
    return None


def metric_level(row: SizeRow, metric: str, value: float) -> int:
    """Return how many of the row's thresholds (small, medium, large) a value reaches."""
    small, medium, large = row.thresholds[metric]
    return int(value >= small) + int(value >= medium) + int(value >= large)


def _fmt(metric: str, value: float, lang: str) -> str:
    if metric == "employees":
        return f"{value:g} 人" if lang == "zh" else f"{value:g} persons"
    if lang == "zh":
        return f"{value / 10000:g} 万元"
    return f"{value:,.0f} yuan"


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"expected a number, got {value!r}") from exc
    return None if math.isnan(number) else number


def classify(
    row: SizeRow | None, values: dict[str, float | None]
) -> tuple[int | None, list[str], list[str]]:
    """Return the level (0 micro .. 3 large, None unknown) and the rule text parts."""
    if row is None:
        return None, [], []
    known = {m: values[m] for m in row.metrics if values.get(m) is not None}
    missing = [m for m in row.metrics if m not in known]
    levels = {m: metric_level(row, m, v) for m, v in known.items() if v is not None}
    level = min(levels.values()) if levels else None
    if missing and level != 0:
        return None, [METRIC_ZH[m] for m in missing], [METRIC_EN[m] for m in missing]
    assert level is not None
    zh: list[str] = []
    en: list[str] = []
    for metric in row.metrics:
        value = known.get(metric)
        if value is None:
            continue
        if level > 0:
            low = row.thresholds[metric][level - 1]
            zh.append(
                f"{METRIC_ZH[metric]} {_fmt(metric, value, 'zh')} ≥ {_fmt(metric, low, 'zh')}"
            )
            en.append(
                f"{METRIC_EN[metric]} {_fmt(metric, value, 'en')} ≥ {_fmt(metric, low, 'en')}"
            )
        if levels[metric] == level and level < 3:
            high = row.thresholds[metric][level]
            zh.append(
                f"{METRIC_ZH[metric]} {_fmt(metric, value, 'zh')} < {_fmt(metric, high, 'zh')}"
            )
            en.append(
                f"{METRIC_EN[metric]} {_fmt(metric, value, 'en')} < {_fmt(metric, high, 'en')}"
            )
    return level, zh, en


def size_class(
    industry_code: object,
    employees: object,
    revenue_last_year: object,
    total_assets: object = None,
) -> SizeClassResult:
    """Classify a firm as micro/small/medium/large and say which rule decided it."""
    source = size_table().source
    row = row_for(industry_code)
    if row is None:
        if industry_digits(industry_code) is None:
            return SizeClassResult(
                None,
                "缺少国民经济行业代码，无法划型",
                "industry code missing: size class cannot be determined",
            )
        return SizeClassResult(
            None,
            f"行业 {industry_code} 不在{source}适用范围内，无法划型",
            f"industry {industry_code} is not covered by the size-class notice {source}",
        )
    values = {
        "employees": _num(employees),
        "revenue": _num(revenue_last_year),
        "total_assets": _num(total_assets),
    }
    level, zh, en = classify(row, values)
    head_zh = f"{row.name_zh}（{source}{row.clause}）"
    head_en = f"{row.name_en} ({source} {row.clause})"
    if level is None:
        return SizeClassResult(
            None,
            f"{head_zh}：请填写{'、'.join(zh)}后划型",
            f"{head_en}: fill in {', '.join(en)} to determine the size class",
        )
    name = SIZE_CLASSES[level]
    return SizeClassResult(
        name,
        f"{head_zh}：{'，'.join(zh)} → {SIZE_ZH[name]}",
        f"{head_en}: {'; '.join(en)} → {name}",
    )
