"""The dashboard's money figures (issue 13): subsidy outlay, budgets left and the targets.

Tables added to :class:`finportal.services.dashboard.Dashboard` by :func:`add_tables`, each
from SQL aggregates (a fixed number of statements):

- outlay (已兑付): money paid in payout batches and not clawed back, by product, by month
  of the payout batch (Shanghai time) and by park (a firm in several parks counts in each;
  firms in none are one row);
- budgets: each product's subsidy budget per year (products/data/subsidy_rules.yaml) less
  what is owed or paid that year;
- targets: services/targets.py, per month and cumulative, with each target's source.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from finportal import money
from finportal.limits import in_user_language as t
from finportal.models import (
    Membership,
    Park,
    Product,
    ProductVersion,
    SubsidyEntitlement,
    SubsidyPayout,
    SubsidyPayoutLine,
)
from finportal.services import targets
from finportal.services.entitlements import COUNTED, PAID
from finportal.services.workdays import SHANGHAI
from products.sources import public_source
from products.subsidy_rules import load_rules


def _wan(value: Any) -> Decimal:
    return money.to_wan(value, None)


def add_tables(session: Session, board: Any) -> None:
    """Add the outlay, budget and target tables to the dashboard ``board``."""
    from finportal.services.dashboard import Table

    names = {
        code: t(zh, en or zh)
        for code, zh, en in session.execute(select(Product.code, Product.name_zh, Product.name_en))
    }
    product_of_line = (
        select(Product.code)
        .join(ProductVersion, ProductVersion.product_id == Product.id)
        .where(ProductVersion.id == SubsidyEntitlement.product_version_id)
        .scalar_subquery()
    )
    live = SubsidyPayoutLine.reversed_at.is_(None)
    paid_sum = func.sum(case((live, SubsidyPayoutLine.amount), else_=0))
    clawed_sum = func.sum(case((~live, SubsidyPayoutLine.amount), else_=0))

    # By product --------------------------------------------------------------------------
    rows = session.execute(
        select(product_of_line.label("code"), paid_sum, clawed_sum, func.count())
        .select_from(SubsidyPayoutLine)
        .join(SubsidyEntitlement, SubsidyEntitlement.id == SubsidyPayoutLine.entitlement_id)
        .group_by("code")
        .order_by("code")
    ).all()
    board.tables["outlay_by_product"] = Table(
        "outlay_by_product",
        t("补贴兑付：按产品", "Subsidies paid: by product"),
        [
            t("金融产品", "Product"),
            t("已兑付（万元）", "Paid (10k yuan)"),
            t("已追回（万元）", "Clawed back (10k yuan)"),
            t("笔数", "Payments"),
        ],
        [
            [names.get(code, code), _wan(paid), _wan(clawed), int(n)]
            for code, paid, clawed, n in rows
        ],
        note=t(
            "已兑付为兑付批次中未被追回的金额。", "Paid: amounts in payout batches not clawed back."
        ),
    )

    # By month of the payout batch ----------------------------------------------------------
    months: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for created_at, paid, clawed in session.execute(
        select(SubsidyPayout.created_at, paid_sum, clawed_sum)
        .select_from(SubsidyPayoutLine)
        .join(SubsidyPayout, SubsidyPayout.id == SubsidyPayoutLine.payout_id)
        .group_by(SubsidyPayout.id, SubsidyPayout.created_at)
    ):
        month = created_at.astimezone(SHANGHAI).strftime("%Y-%m")
        months[month][0] += Decimal(paid or 0)
        months[month][1] += Decimal(clawed or 0)
    board.tables["outlay_by_month"] = Table(
        "outlay_by_month",
        t("补贴兑付：按月份", "Subsidies paid: by month"),
        [
            t("月份", "Month"),
            t("已兑付（万元）", "Paid (10k yuan)"),
            t("已追回（万元）", "Clawed back (10k yuan)"),
        ],
        [[month, _wan(p), _wan(c)] for month, (p, c) in sorted(months.items())],
        note=t(
            "按兑付批次生成的月份（上海时间）计。",
            "By the month the payout batch was made (Shanghai time).",
        ),
    )

    # By park -----------------------------------------------------------------------------------
    park_rows = session.execute(
        select(Park.name_zh, Park.name_en, paid_sum)
        .select_from(SubsidyPayoutLine)
        .join(SubsidyEntitlement, SubsidyEntitlement.id == SubsidyPayoutLine.entitlement_id)
        .join(Membership, Membership.enterprise_id == SubsidyEntitlement.enterprise_id)
        .join(Park, Park.id == Membership.park_id)
        .group_by(Park.id, Park.name_zh, Park.name_en)
        .order_by(Park.name_zh)
    ).all()
    in_a_park = exists().where(
        Membership.enterprise_id == SubsidyEntitlement.enterprise_id,
        Membership.park_id.is_not(None),
    )
    no_park = session.scalar(
        select(paid_sum)
        .select_from(SubsidyPayoutLine)
        .join(SubsidyEntitlement, SubsidyEntitlement.id == SubsidyPayoutLine.entitlement_id)
        .where(~in_a_park)
    )
    park_table = [[t(zh, en or zh), _wan(paid)] for zh, en, paid in park_rows]
    if no_park:
        park_table.append([t("不属于任何园区", "In no park"), _wan(no_park)])
    board.tables["outlay_by_park"] = Table(
        "outlay_by_park",
        t("补贴兑付：按园区", "Subsidies paid: by park"),
        [t("园区", "Park"), t("已兑付（万元）", "Paid (10k yuan)")],
        park_table,
        note=t("属于多个园区的企业在每个园区各计一次。", "A firm in several parks counts in each."),
    )

    # Budgets per product and year ------------------------------------------------------------
    rules = load_rules()
    used: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
    for code, year, committed, paid in session.execute(
        select(
            product_of_line.label("code"),
            SubsidyEntitlement.year,
            func.sum(SubsidyEntitlement.amount),
            func.sum(
                case(
                    (SubsidyEntitlement.state.in_(sorted(PAID)), SubsidyEntitlement.amount), else_=0
                )
            ),
        )
        .where(SubsidyEntitlement.state.in_(sorted(COUNTED)))
        .group_by("code", SubsidyEntitlement.year)
    ):
        used[(code, int(year))] = (Decimal(committed or 0), Decimal(paid or 0))
    budget_rows = []
    for code in sorted(rules.budgets):
        for year, budget in sorted(rules.budgets[code].items()):
            committed, paid = used.get((code, year), (Decimal(0), Decimal(0)))
            budget_rows.append(
                [
                    names.get(code, code),
                    year,
                    _wan(budget),
                    _wan(paid),
                    _wan(committed - paid),
                    _wan(budget - committed),
                ]
            )
    demo_mark = (
        t("（演示值，待确认）", " (demo value, to be confirmed)") if rules.budget_demo else ""
    )
    board.tables["subsidy_budget"] = Table(
        "subsidy_budget",
        t("补贴预算：按产品和年度", "Subsidy budgets by product and year"),
        [
            t("金融产品", "Product"),
            t("年度", "Year"),
            t("预算（万元）", "Budget (10k yuan)"),
            t("已兑付（万元）", "Paid (10k yuan)"),
            t("待兑付（万元）", "Owed (10k yuan)"),
            t("剩余（万元）", "Left (10k yuan)"),
        ],
        budget_rows,
        note=t("预算来源：", "Budget source: ")
        + (public_source(rules.budget_source, t("；", "; ")) or t("平台", "FinPortal"))
        + demo_mark,
    )

    # Targets -------------------------------------------------------------------------------
    progress = targets.progress(session)
    target_rows = []
    for p in progress:
        amount = p.unit == "yuan"
        target_rows.append(
            [
                t(p.target.title_zh, p.target.title_en),
                (_wan(p.value) if amount else p.value) if p.value is not None else None,
                _wan(p.reached) if amount else int(p.reached),
                p.share,
                t("；", "; ").join(
                    x
                    for x in (
                        public_source(p.source, t("；", "; ")),
                        t(p.target.note_zh, p.target.note_en) if p.target.note_zh else "",
                        t("演示值", "demo value") if p.demo else "",
                    )
                    if x
                ),
                t(p.target.counts_zh, p.target.counts_en),
            ]
        )
    board.tables["targets"] = Table(
        "targets",
        t("目标完成情况", "Progress against the targets"),
        [
            t("目标", "Target"),
            t("目标值（万元或户）", "Target (10k yuan or firms)"),
            t("累计完成", "Reached"),
            t("完成比例", "Share reached"),
            t("来源", "Source"),
            t("口径", "What counts"),
        ],
        target_rows,
    )
    all_months = sorted({m for p in progress for m in p.months})
    monthly: list[list[Any]] = [[m] for m in all_months]
    columns = [t("月份", "Month")]
    for p in progress:
        title = t(p.target.title_zh, p.target.title_en)
        unit = t("（万元）", " (10k yuan)") if p.unit == "yuan" else t("（户）", " (firms)")
        columns += [
            title + t("：当月", ": month") + unit,
            title + t("：累计", ": cumulative") + unit,
        ]
        for row, (_month, value, total) in zip(monthly, p.cumulative(all_months), strict=True):
            if p.unit == "yuan":
                row += [_wan(value), _wan(total)]
            else:
                row += [int(value), int(total)]
    board.tables["targets_monthly"] = Table(
        "targets_monthly",
        t("目标完成情况：按月及累计", "Targets: per month and cumulative"),
        columns,
        monthly,
    )
