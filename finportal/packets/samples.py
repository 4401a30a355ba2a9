"""Build realistic sample packet contexts, for tests, previews and the benchmark.

All data here is invented (the enterprise, its numbers and the USCC are fictitious);
the quote follows the catalogue's shape, not its current numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from finportal.packets.context import (
    BatchCoverContext,
    BatchMember,
    ConsentRecord,
    EligibilityCondition,
    LoanRequest,
    PacketContext,
    Quote,
    Reason,
    ScheduleRow,
    Subsidy,
)

__all__ = ["sample_batch_cover", "sample_context", "sample_schedule"]

_CENT = Decimal("0.01")


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    # Day 28 exists in every month; the sample schedule always pays on day 20.
    return dt.date(year, month, min(day.day, 28))


def sample_schedule(
    amount_yuan: Decimal,
    months: int,
    annual_rate: Decimal,
    annual_fee_rate: Decimal,
    start: dt.date,
) -> list[ScheduleRow]:
    """Return an equal-principal (等额本金) schedule with a monthly guarantee fee."""
    principal = (amount_yuan / months).quantize(_CENT, ROUND_HALF_UP)
    balance = amount_yuan
    rows = []
    for period in range(1, months + 1):
        pay = balance if period == months else principal
        interest = (balance * annual_rate / 12).quantize(_CENT, ROUND_HALF_UP)
        fee = (balance * annual_fee_rate / 12).quantize(_CENT, ROUND_HALF_UP)
        balance -= pay
        rows.append(
            ScheduleRow(
                period=period,
                due_date=_add_months(start, period),
                principal_yuan=pay,
                interest_yuan=interest,
                fee_yuan=fee,
                balance_yuan=balance,
            )
        )
    return rows


def sample_context(**overrides: Any) -> PacketContext:
    """Return a typical packet context (12-month schedule, about 3 pages); override any field."""
    today = dt.date(2026, 11, 27)
    amount = Decimal("3000000")
    rate = Decimal("0.0345")
    fee_rate = Decimal("0.01")
    schedule = sample_schedule(amount, 12, rate, fee_rate, dt.date(2026, 12, 20))
    interest = sum((r.interest_yuan for r in schedule), Decimal(0))
    fee = sum((r.fee_yuan for r in schedule), Decimal(0))
    subsidies = [
        Subsidy(
            "贴息（区级）", (interest * Decimal("0.3")).quantize(_CENT), "区专精特新贴息，演示数据"
        ),
        Subsidy("担保费补贴", (fee * Decimal("0.5")).quantize(_CENT), "政策性担保费补贴，演示数据"),
    ]
    net = interest + fee - sum((s.amount_yuan for s in subsidies), Decimal(0))
    values: dict[str, Any] = {
        "packet_number": "RP-20261127-000123",
        "verification_code": "7KQ4-M2XD-9PHA",
        "bank_name": "上海农商银行闵行支行",
        "product_name": "园区批次贷",
        "product_code": "park_batch",
        "date": today,
        "enterprise_name": "上海闵联智能装备科技有限公司",
        "enterprise_uscc": "91310112MA1GB3XK29",
        "enterprise_profile": {
            "成立日期": "2018年6月12日（8.5年）",
            "注册地址": "上海市闵行区莘庄工业区春东路 508 号",
            "所属行业": "工业 · 专用设备制造业（C35）",
            "企业规模": "小型企业",
            "所属园区": "莘庄工业区",
            "所属商会": "闵行区工商联智能制造商会",
            "从业人数": "86 人（社保缴纳 82 人）",
            "上年营业收入": "4,860.00 万元",
            "营业收入增长率": "18.4%",
            "净利润率": "7.9%",
            "资产负债率": "46.2%",
            "上年纳税总额": "212.35 万元",
            "纳税信用等级": "A 级",
            "知识产权": "发明专利 6 件，实用新型 21 件，注册商标 3 件",
            "资质认定": "高新技术企业、专精特新中小企业",
            "现有银行贷款": "1 笔，余额 500.00 万元，按期还款",
            "逾期记录": "近 24 个月无逾期",
            "涉诉与行政处罚": "无未结重大诉讼；无行政处罚",
        },
        "request": LoanRequest(
            amount_wan=Decimal("300"),
            term_months=12,
            purpose="采购数控加工中心等生产设备及原材料，满足新增订单交付需要",
        ),
        "conditions": [
            EligibilityCondition("园区推荐", "passed", "已列入莘庄工业区 2026 年第四批白名单"),
            EligibilityCondition("企业规模", "passed", "小型企业，符合中小微企业要求"),
            EligibilityCondition("注册地", "passed", "注册地在闵行区"),
            EligibilityCondition("行业限制", "passed", "不属于房地产、娱乐业或金融业"),
            EligibilityCondition("信用记录", "passed", "近 2 年无严重失信记录"),
            EligibilityCondition("重大诉讼", "passed", "无未结重大诉讼"),
            EligibilityCondition("单户额度", "passed", "申请 300 万元，不超过单户上限 1,000 万元"),
            EligibilityCondition("批次额度", "unknown", "批次剩余额度以银行审批时为准"),
        ],
        "score": 712,
        "grade": "A",
        "pd": 0.0182,
        "reasons": [
            Reason("tax_credit_grade", -0.412, "纳税信用等级为 A 级"),
            Reason("overdue_24m", -0.305, "近 24 个月无逾期记录"),
            Reason("revenue_growth", -0.198, "营业收入增长较快（18.4%）"),
            Reason("debt_ratio", 0.163, "资产负债率偏高（46.2%）"),
            Reason("amount_to_revenue", 0.087, "申请金额占营业收入比例（6.2%）"),
            Reason("firm_age", -0.071, "成立时间较长（8.5 年）"),
        ],
        "model_version": "credit-2026.11-ref",
        "model_trained_on_synthetic": True,
        "quote": Quote(
            interest_rate=float(rate),
            guarantee_fee_rate=float(fee_rate),
            annual_interest_yuan=interest,
            annual_guarantee_fee_yuan=fee,
            subsidies=subsidies,
            net_annual_cost_yuan=net,
            net_annual_rate=float(net / amount),
            rate_note_zh="1年期LPR 3.00% + 45bp（2026年11月20日报价）",
            repayment_method_zh="等额本金，按月还本付息，担保费按月随息收取",
            schedule=schedule,
        ),
        "advisor_opinion": (
            "企业经营稳定，订单充足，纳税信用良好，近两年营业收入保持增长；"
            "资产负债率略高但在行业合理区间。已核实园区推荐及企业授权，"
            "建议贵行按园区批次贷流程予以支持，额度 300 万元，期限 12 个月。"
        ),
        "advisor_name": "王晓敏",
        "consent": ConsentRecord(
            bank="上海农商银行闵行支行",
            scope="企业基本信息、财务与纳税信息、信用评分及本次融资申请信息",
            granted_at=dt.datetime(2026, 11, 25, 10, 32),
            valid_until=dt.date(2027, 11, 24),
        ),
        "verify_url": "https://finportal.example/verify/7KQ4-M2XD-9PHA",
    }
    unknown = set(overrides) - {f.name for f in dataclasses.fields(PacketContext)}
    if unknown:
        raise TypeError(f"unknown PacketContext fields: {sorted(unknown)}")
    values.update(overrides)
    return PacketContext(**values)


def sample_batch_cover(n_members: int = 3, **overrides: Any) -> BatchCoverContext:
    """Return a batch cover context with ``n_members`` sample members."""
    names = ["上海闵联智能装备科技有限公司", "上海㐀源生物医药有限公司", "上海莘庄精密模具有限公司"]
    members = [
        BatchMember(
            enterprise_name=names[i % len(names)] if i < len(names) else f"示例企业{i + 1}有限公司",
            enterprise_uscc="91310112MA1GB3XK29",
            amount_wan=Decimal(300 + 100 * i),
            grade="AB"[i % 2],
            packet_number=f"RP-20261127-{i + 1:06d}",
            status_zh="待审批",
        )
        for i in range(n_members)
    ]
    values: dict[str, Any] = {
        "batch_number": "BT-2026-Q4-007",
        "batch_name": "莘庄工业区 2026 年第四批园区批次贷",
        "bank_name": "上海农商银行闵行支行",
        "product_name": "园区批次贷",
        "product_code": "park_batch",
        "organiser_name": "莘庄工业区",
        "date": dt.date(2026, 11, 27),
        "quota_wan": Decimal("5000"),
        "per_firm_cap_wan": Decimal("1000"),
        "members": members,
        "verification_code": "B7Q2-KD4M-XP9A",
    }
    values.update(overrides)
    return BatchCoverContext(**values)
