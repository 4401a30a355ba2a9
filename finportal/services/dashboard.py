"""The centre's dashboard (数据看板): the numbers the centre is judged by, as tables.

Every figure is a :class:`Table` so the page, the Excel export and the tests read the
same rows. Definitions (also shown on the page):

- funnel: applications ever submitted, ever screened, referred to at least one bank,
  with at least one referral whose latest decision is an approval, with a disbursal;
- amounts: asked (submitted applications), approved (each referral's latest decision
  when it is an approval), disbursed (disbursal events), approved in batches;
- approval rate: referrals whose latest decision is approved, over those whose latest
  decision is approved or declined (info requests are not decisions);
- times: hours from screening to the advisor's first response, and from sending a
  referral to the bank's first decision; the median of each;
- deadline breaches: a first response or bank decision after its due time, or none yet
  while the due time has passed and the item still waits.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.domain.states import BATCH, FILING
from finportal.limits import in_user_language
from finportal.models import (
    Application,
    Bank,
    BankDecision,
    Batch,
    BatchMember,
    CreditScore,
    LoanOutcome,
    ModelVersion,
    Product,
    ProductVersion,
    Rating,
    Referral,
    utcnow,
)
from finportal.services.batches import organiser_name, quota_use

#: Applications in these states still wait for the advisor's first response.
WAITING_FOR_ADVISOR = ("screened", "in_review")
#: Referrals in these states still wait for the bank's decision.
WAITING_FOR_BANK = ("sent", "viewed")
SCORE_BIN = 50
#: Shown with scores from a model trained on synthetic reference data (as on the review page).
SYNTHETIC_NOTE = (
    "注意：当前评分模型由合成的参考数据训练（冷启动），仅供参考；积累本中心的放款结果后将重新训练。"
)
SYNTHETIC_NOTE_EN = (
    "Note: the scoring model was trained on synthetic reference data (cold start) and is for"
    " reference only; it will be retrained once the centre has its own loan outcomes."
)
#: Tables are worded in the reader's language (Chinese outside a request, e.g. in jobs).
t = in_user_language


@dataclass(frozen=True)
class Table:
    """One table of the dashboard: its key (for the export URL), title, columns and rows."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass
class Dashboard:
    """All dashboard tables plus the few figures the charts and headline need."""

    tables: dict[str, Table] = field(default_factory=dict)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    score_bins: list[tuple[str, int]] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600.0


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _latest_decisions(session: Session) -> dict[int, BankDecision]:
    """Return each referral's latest decision."""
    latest: dict[int, BankDecision] = {}
    for decision in session.scalars(
        select(BankDecision).order_by(BankDecision.decided_at, BankDecision.id)
    ):
        latest[decision.referral_id] = decision
    return latest


def _first_decision_at(session: Session) -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    for referral_id, at in session.execute(
        select(BankDecision.referral_id, BankDecision.decided_at).order_by(BankDecision.decided_at)
    ):
        first.setdefault(referral_id, at)
    return first


def _organiser_en(batch: Batch) -> str:
    org = batch.park or batch.chamber
    return (org.name_en or org.name_zh) if org is not None else "—"


def build_dashboard(session: Session, *, now: datetime | None = None) -> Dashboard:
    """Compute every dashboard table from the database."""
    now = now or utcnow()
    board = Dashboard()
    applications = list(session.scalars(select(Application)))
    referrals = list(session.scalars(select(Referral)))
    latest = _latest_decisions(session)
    first_decision = _first_decision_at(session)
    disbursals = list(session.scalars(select(LoanOutcome).where(LoanOutcome.event == "disbursed")))
    referral_app = {r.id: r.application_id for r in referrals}

    # Funnel ----------------------------------------------------------------------------
    submitted = [a for a in applications if a.submitted_at is not None]
    screened = [a for a in applications if a.screened_at is not None]
    referred_apps = {r.application_id for r in referrals}
    approved_refs = {rid for rid, d in latest.items() if d.decision == "approved"}
    approved_apps = {referral_app[rid] for rid in approved_refs if rid in referral_app}
    disbursed_apps = {
        referral_app[o.referral_id] for o in disbursals if o.referral_id in referral_app
    }
    stages = [
        (t("已提交", "Submitted"), len(submitted)),
        (t("已初筛", "Screened"), len(screened)),
        (t("已推荐银行", "Referred to a bank"), len(referred_apps)),
        (t("银行同意", "Approved by a bank"), len(approved_apps)),
        (t("已放款", "Disbursed"), len(disbursed_apps)),
    ]
    board.funnel = stages
    first = stages[0][1]
    board.tables["funnel"] = Table(
        "funnel",
        t("办理漏斗", "Funnel"),
        [t("环节", "Stage"), t("申请数", "Applications"), t("占已提交比例", "Share of submitted")],
        [[label, count, _rate(count, first)] for label, count in stages],
        note=t(
            "按申请计数：一笔申请推荐给多家银行只计一次。",
            "Counted by application: one referred to several banks counts once.",
        ),
    )

    # Amounts ---------------------------------------------------------------------------
    asked = sum((Decimal(a.amount) for a in submitted), Decimal(0))
    approved_amount = sum(
        (Decimal(d.approved_amount or 0) for rid, d in latest.items() if rid in approved_refs),
        Decimal(0),
    )
    disbursed_amount = sum((Decimal(o.amount or 0) for o in disbursals), Decimal(0))
    batch_approved_amounts = [
        Decimal(a or 0)
        for a in session.scalars(
            select(BatchMember.approved_amount).where(BatchMember.state == "approved")
        )
    ]
    batch_approved = sum(batch_approved_amounts, Decimal(0))
    board.tables["amounts"] = Table(
        "amounts",
        t("融资金额", "Amounts"),
        [t("项目", "Item"), t("金额（万元）", "Amount (10k yuan)"), t("笔数", "Count")],
        [
            [t("申请金额", "Amount requested"), asked / 10000, len(submitted)],
            [t("银行批准金额", "Approved by banks"), approved_amount / 10000, len(approved_refs)],
            [t("放款金额", "Disbursed"), disbursed_amount / 10000, len(disbursals)],
            [
                t("批次贷批准金额", "Approved in batch loans"),
                batch_approved / 10000,
                len(batch_approved_amounts),
            ],
        ],
    )

    # Approval rates by product and by bank ----------------------------------------------
    version_product = dict(
        session.execute(
            select(ProductVersion.id, Product).join(
                Product, Product.id == ProductVersion.product_id
            )
        ).all()
    )
    version_product = {k: t(p.name_zh, p.name_en or p.name_zh) for k, p in version_product.items()}
    bank_names = {
        bank.id: t(bank.name_zh, bank.name_en or bank.name_zh)
        for bank in session.scalars(select(Bank))
    }

    def rate_rows(key_of: Any) -> list[list[Any]]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for r in referrals:
            name = key_of(r)
            counts[name]["referred"] += 1
            decision = latest.get(r.id)
            if decision is not None and decision.decision in ("approved", "declined"):
                counts[name]["decided"] += 1
                counts[name][decision.decision] += 1
        return [
            [
                name,
                c["referred"],
                c["decided"],
                c["approved"],
                c["declined"],
                _rate(c["approved"], c["decided"]),
            ]
            for name, c in sorted(counts.items())
        ]

    rate_columns = [
        t("推荐数", "Referrals"),
        t("已决定", "Decided"),
        t("同意", "Approved"),
        t("拒绝", "Declined"),
        t("同意率", "Approval rate"),
    ]
    rate_note = t(
        "同意率 = 最新决定为同意的推荐数 ÷ 最新决定为同意或拒绝的推荐数。",
        "Approval rate = referrals whose latest decision is approved ÷ those whose latest"
        " decision is approved or declined.",
    )
    board.tables["approval_by_product"] = Table(
        "approval_by_product",
        t("各产品银行同意率", "Approval rate by product"),
        [t("产品", "Product"), *rate_columns],
        rate_rows(lambda r: version_product.get(r.product_version_id, "—")),
        note=rate_note,
    )
    board.tables["approval_by_bank"] = Table(
        "approval_by_bank",
        t("各银行同意率", "Approval rate by bank"),
        [t("银行", "Bank"), *rate_columns],
        rate_rows(lambda r: bank_names.get(r.bank_id, "—")),
        note=rate_note,
    )

    # Response times --------------------------------------------------------------------
    advisor_hours = [
        _hours(a.screened_at, a.first_response_at)
        for a in applications
        if a.screened_at is not None and a.first_response_at is not None
    ]
    bank_hours = [
        _hours(r.sent_at, first_decision[r.id]) for r in referrals if r.id in first_decision
    ]
    median_advisor = _median(advisor_hours)
    median_bank = _median(bank_hours)
    board.tables["response_times"] = Table(
        "response_times",
        t("办理时长", "Response times"),
        [t("指标", "Measure"), t("样本数", "Count"), t("中位数（小时）", "Median (hours)")],
        [
            [
                t("初筛至顾问首次响应", "Screening to the advisor's first response"),
                len(advisor_hours),
                median_advisor,
            ],
            [
                t("推荐至银行首次决定", "Referral to the bank's first decision"),
                len(bank_hours),
                median_bank,
            ],
        ],
    )

    # Deadline breaches -----------------------------------------------------------------
    breach_rows: list[list[Any]] = []
    advisor_breaches = 0
    for a in applications:
        due = a.first_response_due_at
        if due is None:
            continue
        late = (a.first_response_at is not None and a.first_response_at > due) or (
            a.first_response_at is None and a.state in WAITING_FOR_ADVISOR and now > due
        )
        if late:
            advisor_breaches += 1
            end = a.first_response_at or now
            breach_rows.append(
                [
                    t("顾问首次响应", "Advisor's first response"),
                    t(f"申请 #{a.id}", f"Application #{a.id}"),
                    a.enterprise.name,
                    due,
                    a.first_response_at,
                    round(_hours(due, end), 1),
                ]
            )
    bank_breaches = 0
    for r in referrals:
        due = r.due_at
        if due is None:
            continue
        decided = first_decision.get(r.id)
        late = (decided is not None and decided > due) or (
            decided is None and r.state in WAITING_FOR_BANK and now > due
        )
        if late:
            bank_breaches += 1
            end = decided or now
            breach_rows.append(
                [
                    t("银行反馈", "Bank decision"),
                    t(
                        f"推荐 #{r.id}（{bank_names.get(r.bank_id, '—')}）",
                        f"Referral #{r.id} ({bank_names.get(r.bank_id, '—')})",
                    ),
                    r.application.enterprise.name,
                    due,
                    decided,
                    round(_hours(due, end), 1),
                ]
            )
    board.tables["breaches"] = Table(
        "breaches",
        t("超时预警", "Deadline warnings"),
        [
            t("类型", "Kind"),
            t("事项", "Item"),
            t("企业", "Enterprise"),
            t("应办结时间", "Due"),
            t("实际办结时间", "Done"),
            t("超时（小时）", "Late (hours)"),
        ],
        breach_rows,
        note=t(
            "顾问首次响应时限 1 个工作日，银行反馈时限 2 个工作日。",
            "Advisors respond within 1 working day, banks decide within 2 working days.",
        ),
    )

    # Satisfaction ----------------------------------------------------------------------
    stars = list(session.scalars(select(Rating.stars)))
    average = sum(stars) / len(stars) if stars else None
    star_counts = Counter(stars)
    board.tables["satisfaction"] = Table(
        "satisfaction",
        t("满意度评价", "Satisfaction ratings"),
        [t("评分", "Rating"), t("数量", "Count")],
        [[t(f"{s} 星", f"{s} stars"), star_counts.get(s, 0)] for s in range(5, 0, -1)]
        + [
            [t("平均分", "Average"), round(average, 2) if average is not None else None],
            [t("评价总数", "Ratings"), len(stars)],
        ],
    )

    # Score distribution (each application's latest score) ------------------------------
    latest_scores: dict[int, CreditScore] = {}
    for score in session.scalars(
        select(CreditScore).order_by(CreditScore.scored_at, CreditScore.id)
    ):
        latest_scores[score.application_id] = score
    values = [s.score for s in latest_scores.values()]
    bins: list[tuple[str, int]] = []
    if values:
        low = math.floor(min(values) / SCORE_BIN) * SCORE_BIN
        high = math.floor(max(values) / SCORE_BIN) * SCORE_BIN + SCORE_BIN
        for start in range(low, high, SCORE_BIN):
            count = sum(1 for v in values if start <= v < start + SCORE_BIN)
            bins.append((f"{start}–{start + SCORE_BIN - 1}", count))
    board.score_bins = bins
    model_ids = {s.model_version_id for s in latest_scores.values()}
    synthetic = bool(model_ids) and (
        session.scalar(
            select(ModelVersion.id)
            .where(ModelVersion.id.in_(model_ids), ModelVersion.synthetic.is_(True))
            .limit(1)
        )
        is not None
    )
    synthetic_note = t(SYNTHETIC_NOTE, SYNTHETIC_NOTE_EN) if synthetic else ""
    board.tables["score_distribution"] = Table(
        "score_distribution",
        t("信用评分分布", "Credit scores"),
        [t("分数段", "Score band"), t("申请数", "Applications")],
        [[label, count] for label, count in bins],
        note=t("每笔申请取最新一次评分。", "Each application's latest score. ") + synthetic_note,
    )
    grades = Counter(s.grade for s in latest_scores.values())
    board.tables["grades"] = Table(
        "grades",
        t("信用等级分布", "Credit grades"),
        [t("等级", "Grade"), t("申请数", "Applications")],
        [[g, grades[g]] for g in sorted(grades)],
        note=synthetic_note,
    )

    # Batch quota use -------------------------------------------------------------------
    batch_rows = []
    for batch in session.scalars(select(Batch).order_by(Batch.id)):
        use = quota_use(batch)
        counts = use.members_by_state
        batch_rows.append(
            [
                batch.code,
                batch.name,
                t(organiser_name(batch), _organiser_en(batch)),
                t(batch.bank.name_zh, batch.bank.name_en or batch.bank.name_zh),
                BATCH.title(batch.state),
                use.total / 10000,
                use.used / 10000,
                use.left / 10000,
                use.share_used,
                counts.get("approved", 0),
                counts.get("declined", 0),
                counts.get("submitted", 0),
                FILING.title(batch.filing_status),
            ]
        )
    board.tables["batch_quota"] = Table(
        "batch_quota",
        t("批次额度使用", "Batch quotas"),
        [
            t("批次编号", "Batch"),
            t("批次名称", "Name"),
            t("园区/商会", "Park / chamber"),
            t("银行", "Bank"),
            t("状态", "State"),
            t("总额度（万元）", "Quota (10k yuan)"),
            t("已用（万元）", "Used (10k yuan)"),
            t("剩余（万元）", "Left (10k yuan)"),
            t("使用率", "Share used"),
            t("同意户数", "Approved firms"),
            t("拒绝户数", "Declined firms"),
            t("待审批户数", "Firms awaiting a decision"),
            t("备案", "Filing"),
        ],
        batch_rows,
    )

    board.headline = {
        "submitted": len(submitted),
        "approval_rate": _rate(
            len(approved_refs),
            sum(1 for d in latest.values() if d.decision in ("approved", "declined")),
        ),
        "median_advisor_hours": median_advisor,
        "median_bank_hours": median_bank,
        "advisor_breaches": advisor_breaches,
        "bank_breaches": bank_breaches,
        "rating_average": average,
        "rating_count": len(stars),
    }
    return board
