"""The district's targets (政策性融资担保 ≥ 百亿, 高质量发展贷款 500 亿, 首贷户) and progress.

The targets are defined once, here (:data:`TARGETS`); their numbers are the catalogue's own
facts (``products/catalog/<code>.yaml``, ``facts:``, each with its source), read from the
published product versions, never written in code. The seed (the 2025 action plan) asks for
小微企业首贷 but sets no number of first-loan firms: that target shows its source and no
number, and the dashboard counts the firms.

Progress is counted from the loan events banks report, per month and cumulative, with SQL
aggregates (a fixed number of statements, whatever the size of the tables):

- a volume: the disbursed amounts of the target's products;
- first-loan firms (首贷户): firms whose first disbursal on the platform is marked
  ``first_loan`` (services/bank_actions: the firm had never borrowed from a bank when it
  applied, or the loan is the 首贷 product), counted in the month of that disbursal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import String, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from finportal.models import Application, LoanOutcome, Product, ProductVersion, Referral
from finportal.services.catalog import current_catalog

PLAN = "闵行区聚焦提升企业满意度持续打造一流营商环境行动方案（2025年2月5日印发）"


@dataclass(frozen=True)
class Target:
    """One target: what is measured, and where its number (if any) lives in the catalogue."""

    key: str
    title_zh: str
    title_en: str
    #: "disbursed" (yuan of the products' disbursals) or "first_loan_firms" (a count).
    measure: str
    products: tuple[str, ...] = ()
    #: (product code, fact key) of the number in the catalogue; None when the plan sets none.
    fact: tuple[str, str] | None = None
    #: The source when the catalogue holds no number, and what it says of the number.
    source: str = ""
    note_zh: str = ""
    note_en: str = ""
    counts_zh: str = ""
    counts_en: str = ""


TARGETS: tuple[Target, ...] = (
    Target(
        "policy_guarantee_volume",
        "政策性融资担保贷款规模",
        "Policy guarantee loans",
        "disbursed",
        products=("policy_guarantee",),
        fact=("policy_guarantee", "district_volume_target"),
        counts_zh="计入：政策性融资担保贷款产品的放款金额",
        counts_en="Counts: amounts disbursed under the policy guarantee loan product",
    ),
    Target(
        "hq_development_quota",
        "高质量发展贷款额度使用",
        "High-quality development loan quota used",
        "disbursed",
        products=("hq_development",),
        fact=("hq_development", "district_quota"),
        counts_zh="计入：高质量发展贷款产品的放款金额",
        counts_en="Counts: amounts disbursed under the high-quality development loan product",
    ),
    Target(
        "first_loan_firms",
        "首贷户数",
        "First-loan firms",
        "first_loan_firms",
        source=f"{PLAN} 二（三）2「小微企业首贷续贷」",
        note_zh="行动方案未设户数目标",
        note_en="the plan sets no number of firms",
        counts_zh="计入：在平台首次获得放款、申请时无银行贷款记录（或获得首贷产品）的企业，按首次放款月份计",
        counts_en=(
            "Counts: firms whose first disbursal on the platform came when they had no bank"
            " loan before (or was the first-loan product), in the month of that disbursal"
        ),
    ),
)


class year_month(FunctionElement[str]):  # noqa: N801 - reads as SQL
    """SQL: the 'YYYY-MM' of a date column (compiled per database)."""

    type = String()
    inherit_cache = True
    name = "year_month"


@compiles(year_month)
def _year_month_default(element: year_month, compiler: Any, **kw: Any) -> str:
    (column,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"to_char({column}, 'YYYY-MM')"


@compiles(year_month, "sqlite")
def _year_month_sqlite(element: year_month, compiler: Any, **kw: Any) -> str:
    (column,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"strftime('%Y-%m', {column})"


@dataclass
class Progress:
    """One target's number (with its source) and what was reached, per month and in all."""

    target: Target
    value: Decimal | None
    unit: str
    source: str
    demo: bool
    months: dict[str, Decimal] = field(default_factory=dict)

    @property
    def reached(self) -> Decimal:
        """Return the total reached."""
        return sum(self.months.values(), Decimal(0))

    @property
    def share(self) -> float | None:
        """Return the share of the target reached (None without a number)."""
        return float(self.reached / self.value) if self.value else None

    def cumulative(self, months: list[str]) -> list[tuple[str, Decimal, Decimal]]:
        """Return (month, that month, cumulative) for the given months in order."""
        total = Decimal(0)
        out = []
        for month in months:
            value = self.months.get(month, Decimal(0))
            total += value
            out.append((month, value, total))
        return out


def progress(session: Session) -> list[Progress]:
    """Return every target's progress (three statements beside the catalogue's versions)."""
    catalog, _versions = current_catalog(session)
    codes = sorted({code for t in TARGETS for code in t.products})
    volume: dict[tuple[str, str], Decimal] = {}
    if codes:
        month = year_month(LoanOutcome.occurred_on)
        for code, ym, amount in session.execute(
            select(Product.code, month, func.sum(LoanOutcome.amount))
            .join(Referral, Referral.id == LoanOutcome.referral_id)
            .join(ProductVersion, ProductVersion.id == Referral.product_version_id)
            .join(Product, Product.id == ProductVersion.product_id)
            .where(LoanOutcome.event == "disbursed", Product.code.in_(codes))
            .group_by(Product.code, month)
        ):
            volume[(code, ym)] = Decimal(amount or 0)
    firsts = (
        select(
            Application.enterprise_id,
            func.min(LoanOutcome.occurred_on).label("first_on"),
        )
        .join(Referral, Referral.id == LoanOutcome.referral_id)
        .join(Application, Application.id == Referral.application_id)
        .where(LoanOutcome.event == "disbursed", LoanOutcome.first_loan.is_(True))
        .group_by(Application.enterprise_id)
        .subquery()
    )
    first_month = year_month(firsts.c.first_on)
    first_firms = {
        ym: Decimal(n)
        for ym, n in session.execute(
            select(first_month, func.count()).select_from(firsts).group_by(first_month)
        )
    }
    out = []
    for target in TARGETS:
        value = None
        unit = "yuan" if target.measure == "disbursed" else "firms"
        source, demo = target.source, False
        if target.fact is not None:
            code, key = target.fact
            if code in catalog:
                fact = next((f for f in catalog.get(code).facts if f.key == key), None)
                if fact is not None:
                    value, source, demo = fact.value.value, fact.value.source, fact.value.demo
        if target.measure == "disbursed":
            months: dict[str, Decimal] = {}
            for (code, ym), amount in volume.items():
                if code in target.products:
                    months[ym] = months.get(ym, Decimal(0)) + amount
        else:
            months = dict(first_firms)
        out.append(Progress(target, value, unit, source, demo, months))
    return out
