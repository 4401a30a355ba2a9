"""The public-data sources an enterprise may authorise, and the items each one reports.

One definition read by the authorisation form, the file and HTTP connectors (their columns
and JSON keys), the verified facts and the pages and packets that show them
(docs/PUBLIC_DATA.md documents the same columns). An item that stands for a profile field
(``field``) has that field's kind: its verified value wins over the declared one for
matching and scoring; an item without a field is shown as a verified fact only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from finportal import limits
from finportal.domain import fields as profile_fields


@dataclass(frozen=True)
class Item:
    """One figure a source reports about an enterprise."""

    code: str
    source: str
    zh: str
    en: str
    #: money (yuan) | count | bool | category
    kind: str
    #: The profile field it verifies (None: shown as a fact, not on the profile).
    field: str | None = None
    #: The column heading of the exchange file (``code`` is accepted as well).
    column_zh: str = ""
    unit_zh: str = ""
    unit_en: str = ""

    def label(self) -> str:
        """Return the item's name in the user's language."""
        return limits.in_user_language(self.zh, self.en)

    @property
    def columns(self) -> tuple[str, str]:
        """Return the headings that name it in a file: Chinese, then the code."""
        return (self.column_zh or self.zh, self.code)

    @property
    def values(self) -> tuple[str, ...] | None:
        """Return the values a category item may take (its field's), else None."""
        if self.kind != "category" or self.field is None:
            return None
        return profile_fields.field(self.field).values


@dataclass(frozen=True)
class Source:
    """A department's data, authorised and fetched as one (纳税, 社保, 公积金 ...)."""

    code: str
    zh: str
    en: str
    #: Who the data comes from, as the 来源 of a verified value says.
    provider_zh: str
    provider_en: str
    items: tuple[Item, ...]

    def label(self) -> str:
        """Return the source's name in the user's language."""
        return limits.in_user_language(self.zh, self.en)

    def provider(self) -> str:
        """Return who provides the data, in the user's language."""
        return limits.in_user_language(self.provider_zh, self.provider_en)


def _items(source: str, *rows: tuple[str, str, str, str, str | None, str]) -> tuple[Item, ...]:
    units = {"money": ("元", "yuan"), "count": ("人/次", "")}
    out = []
    for code, zh, en, kind, field, column in rows:
        unit_zh, unit_en = units.get(kind, ("", ""))
        out.append(Item(code, source, zh, en, kind, field, column, unit_zh, unit_en))
    return tuple(out)


#: The sources, in the order the pages show them. The providers are the departments whose
#: data the district's big-data centre (大数据中心) exchanges; the centre sees it only with
#: the enterprise's authorisation.
SOURCES: tuple[Source, ...] = (
    Source(
        "tax",
        "纳税信息",
        "tax",
        "税务部门（经区大数据中心）",
        "the tax authority (via the district big-data centre)",
        _items(
            "tax",
            (
                "tax_credit_grade",
                "纳税信用等级",
                "tax credit grade",
                "category",
                "tax_credit_grade",
                "",
            ),
            (
                "tax_paid_yuan",
                "上年纳税总额",
                "tax paid last year",
                "money",
                "tax_paid_last_year",
                "上年纳税总额（元）",
            ),
            (
                "invoiced_revenue_yuan",
                "上年开票收入",
                "invoiced revenue last year",
                "money",
                "revenue_last_year",
                "上年开票收入（元）",
            ),
        ),
    ),
    Source(
        "social_insurance",
        "社会保险",
        "social insurance",
        "社会保险经办机构（经区大数据中心）",
        "the social insurance agency (via the district big-data centre)",
        _items(
            "social_insurance",
            (
                "insured_headcount",
                "参保职工人数",
                "employees with social insurance",
                "count",
                "social_insured_employees",
                "",
            ),
        ),
    ),
    Source(
        "housing_fund",
        "住房公积金",
        "housing provident fund",
        "住房公积金管理中心（经区大数据中心）",
        "the housing provident fund centre (via the district big-data centre)",
        _items(
            "housing_fund",
            (
                "housing_fund_headcount",
                "公积金缴存职工人数",
                "employees paying into the housing fund",
                "count",
                None,
                "",
            ),
        ),
    ),
    Source(
        "utilities",
        "水电气缴费",
        "utilities",
        "水务、电力、燃气企业（经区大数据中心）",
        "the water, power and gas utilities (via the district big-data centre)",
        _items(
            "utilities",
            (
                "utility_arrears_months_12m",
                "近12个月水电气欠费月数",
                "months with unpaid utility bills in the last 12",
                "count",
                None,
                "",
            ),
        ),
    ),
    Source(
        "court",
        "法院执行信息",
        "court enforcement",
        "人民法院执行信息（经区大数据中心）",
        "the courts' enforcement records (via the district big-data centre)",
        _items(
            "court",
            (
                "enforcement_records",
                "被执行记录数",
                "enforcement records",
                "count",
                "enforcement_records",
                "",
            ),
        ),
    ),
    Source(
        "penalties",
        "行政处罚",
        "administrative penalties",
        "行政执法部门的处罚公示（经区大数据中心）",
        "the published penalties of the enforcement agencies (via the district big-data centre)",
        _items(
            "penalties",
            (
                "admin_penalties_24m",
                "近24个月行政处罚次数",
                "administrative penalties in the last 24 months",
                "count",
                "admin_penalties_24m",
                "",
            ),
        ),
    ),
    Source(
        "credit_repair",
        "信用修复",
        "credit repair",
        "公共信用信息平台的信用修复记录（经区大数据中心）",
        "the public credit platform's credit-repair records (via the district big-data centre)",
        _items(
            "credit_repair",
            (
                "credit_repair_completed",
                "是否已完成信用修复",
                "credit repair completed",
                "bool",
                "credit_repair_completed",
                "",
            ),
        ),
    ),
)

#: The columns every exchange file has: the enterprise, and the date its data stands at.
USCC_COLUMNS = ("统一社会信用代码", "uscc")
AS_OF_COLUMNS = ("数据截至日期", "as_of")


@cache
def by_code() -> dict[str, Source]:
    """Return the sources by code."""
    return {s.code: s for s in SOURCES}


@cache
def items() -> dict[str, Item]:
    """Return every item of every source by code."""
    return {i.code: i for s in SOURCES for i in s.items}


def source(code: str) -> Source:
    """Return one source (KeyError when unknown)."""
    return by_code()[code]


@cache
def item_for_field() -> dict[str, Item]:
    """Return the item that verifies each profile field."""
    return {i.field: i for i in items().values() if i.field is not None}
