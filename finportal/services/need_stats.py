"""The demand board's figures for the centre's dashboard: pick-up rate and time to first claim.

Per bank: of the posted needs that fit one of its products, how many it claimed, and the
median hours from posting to its claim; for the whole board: the share of posted needs
claimed by at least one bank (Jiangsu's platform reports over 95 %,
``domain/clocks.PICKUP_BENCHMARK``) and the median hours to the first claim. Every figure is
an SQL aggregate: a fixed number of statements whatever the size of the tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from finportal.domain import clocks
from finportal.limits import in_user_language as t
from finportal.models import Bank, BankProduct, Need, NeedClaim, NeedProduct
from finportal.services.dashboard import Table, _rate, _sql_median, hours_between


def _bank_medians(session: Session) -> dict[int, float]:
    """Return each bank's median hours from a need's posting to its claim, in one statement."""
    hours = hours_between(Need.posted_at, NeedClaim.claimed_at).label("hours")
    ranked = (
        select(
            NeedClaim.bank_id.label("bank_id"),
            hours,
            func.row_number()
            .over(partition_by=NeedClaim.bank_id, order_by=(hours, NeedClaim.id))
            .label("rank"),
            func.count().over(partition_by=NeedClaim.bank_id).label("n"),
        )
        .join(Need, Need.id == NeedClaim.need_id)
        .subquery()
    )
    # The middle one (odd n) or the mean of the middle two (even n): integer division.
    middle = select(ranked.c.bank_id, func.avg(ranked.c.hours)).where(
        ranked.c.rank.in_([(ranked.c.n + 1) / 2, (ranked.c.n + 2) / 2])
    )
    return {
        int(bank_id): round(float(value), 4)
        for bank_id, value in session.execute(middle.group_by(ranked.c.bank_id))
        if value is not None
    }


def pickup(session: Session) -> tuple[Table, dict[str, Any]]:
    """Return the per-bank table of pick-up and the board's headline figures."""
    fits = (
        select(NeedProduct.need_id.label("need_id"), BankProduct.bank_id.label("bank_id"))
        .join(BankProduct, BankProduct.product_id == NeedProduct.product_id)
        .distinct()
        .subquery()
    )
    per_bank = session.execute(
        select(
            Bank.id,
            Bank.name_zh,
            Bank.name_en,
            func.count(distinct(fits.c.need_id)),
            func.count(distinct(NeedClaim.need_id)),
        )
        .join(fits, fits.c.bank_id == Bank.id)
        .outerjoin(
            NeedClaim,
            (NeedClaim.need_id == fits.c.need_id) & (NeedClaim.bank_id == Bank.id),
        )
        .group_by(Bank.id, Bank.name_zh, Bank.name_en)
        .order_by(Bank.code)
    ).all()
    medians = _bank_medians(session)
    rows = [
        [
            t(name_zh, name_en or name_zh),
            int(fitting),
            int(claimed),
            _rate(int(claimed), int(fitting)),
            medians.get(bank_id),
        ]
        for bank_id, name_zh, name_en, fitting, claimed in per_bank
    ]
    posted, picked = session.execute(
        select(func.count(Need.id), func.count(Need.first_claim_at))
    ).one()
    _n, median_first = _sql_median(
        session,
        select(hours_between(Need.posted_at, Need.first_claim_at))
        .where(Need.first_claim_at.is_not(None))
        .subquery(),
    )
    rate = _rate(int(picked), int(posted))
    benchmark = f"{clocks.PICKUP_BENCHMARK:.0%}"
    table = Table(
        "need_pickup",
        t("融资需求认领（需求发布）", "Needs picked up (demand board)"),
        [
            t("银行", "Bank"),
            t("适配需求数", "Needs that fit"),
            t("已认领", "Claimed"),
            t("认领率", "Pick-up rate"),
            t("发布至认领（小时，中位数）", "Posting to claim (hours, median)"),
        ],
        rows,
        note=t(
            f"全部需求：发布 {int(posted)} 条，至少一家银行认领 {int(picked)} 条；"
            f"参照：江苏综合金融服务平台需求认领率超过 {benchmark}。",
            f"All needs: {int(posted)} posted, {int(picked)} claimed by at least one bank;"
            f" for reference, Jiangsu's platform reports over {benchmark} picked up.",
        ),
    )
    return table, {
        "needs_posted": int(posted),
        "needs_picked_up": int(picked),
        "pickup_rate": rate,
        "pickup_benchmark": clocks.PICKUP_BENCHMARK,
        "median_first_claim_hours": median_first,
    }
