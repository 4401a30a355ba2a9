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

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Subquery, and_, case, distinct, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.functions import FunctionElement

from finportal import money
from finportal.domain.states import BATCH, FILING
from finportal.limits import in_user_language
from finportal.models import (
    Application,
    Bank,
    BankDecision,
    Batch,
    BatchMember,
    CreditScore,
    Enterprise,
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
#: Deadline breaches the page lists of each kind (advisor, bank), the earliest due first.
BREACH_ROWS = 100
#: Batches the page lists (the open and submitted ones first, then the newest closed ones).
BATCH_ROWS = 30
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
    #: Columns holding shares (0.25 = 25 %): the page and the Excel file show them as percent.
    percent_columns: tuple[int, ...] = ()


@dataclass
class Dashboard:
    """All dashboard tables plus the few figures the charts and headline need."""

    tables: dict[str, Table] = field(default_factory=dict)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    score_bins: list[tuple[str, int]] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600.0


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class hours_between(FunctionElement[float]):  # noqa: N801 - reads as SQL
    """SQL: the hours from one timestamp column to another (compiled per database)."""

    type = Float()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between)
def _hours_between_default(element: hours_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element: hours_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


def _sql_median(session: Session, values: Subquery) -> tuple[int, float | None]:
    """Return how many values a one-column subquery holds and their median, in the database."""
    column = values.c[0]
    count = session.scalar(select(func.count()).select_from(values)) or 0
    if not count:
        return 0, None
    middle = list(
        session.scalars(
            select(column).order_by(column).limit(2 - count % 2).offset((count - 1) // 2)
        )
    )
    # julianday() is a float of days: hours to the millisecond are exact enough.
    return int(count), round(float(statistics.mean(middle)), 4)


def _latest(group: Any, order: tuple[Any, ...], columns: tuple[Any, ...], name: str) -> Subquery:
    """SQL: the ``columns`` of the first row of each ``group`` by ``order`` (a row_number window)."""
    rank = func.row_number().over(partition_by=group, order_by=order).label("rank")
    ranked = select(*columns, rank).subquery()
    return (
        select(*(ranked.c[column.key] for column in columns))
        .where(ranked.c.rank == 1)
        .subquery(name)
    )


def _latest_decisions() -> Subquery:
    """SQL: each referral's latest decision (``referral_id``, ``decision``, ``approved_amount``)."""
    return _latest(
        BankDecision.referral_id,
        (BankDecision.decided_at.desc(), BankDecision.id.desc()),
        (BankDecision.referral_id, BankDecision.decision, BankDecision.approved_amount),
        "latest_decision",
    )


def _first_decisions() -> Subquery:
    """SQL: when each referral got its first decision (``referral_id``, ``at``)."""
    return (
        select(BankDecision.referral_id, func.min(BankDecision.decided_at).label("at"))
        .group_by(BankDecision.referral_id)
        .subquery("first_decision")
    )


def _latest_scores() -> Subquery:
    """SQL: each application's latest credit score (``score``, ``grade``, ``model_version_id``)."""
    return _latest(
        CreditScore.application_id,
        (CreditScore.scored_at.desc(), CreditScore.id.desc()),
        (CreditScore.score, CreditScore.grade, CreditScore.model_version_id),
        "latest_score",
    )


def _money(value: Any) -> Decimal:
    return Decimal(value or 0)


def _organiser_en(batch: Batch) -> str:
    org = batch.park or batch.chamber
    return (org.name_en or org.name_zh) if org is not None else "—"


def build_dashboard(
    session: Session, *, now: datetime | None = None, complete: bool = False
) -> Dashboard:
    """Compute every dashboard table with aggregates in the database.

    The number of statements is fixed, whatever the size of the tables. Two tables have a
    row per item, and list a bounded number of them unless ``complete`` (as the Excel export
    asks): the deadline breaches (the :data:`BREACH_ROWS` longest of each kind) and the
    batches (those not yet closed, then the newest: :data:`BATCH_ROWS` in all).
    """
    breach_rows = None if complete else BREACH_ROWS
    now = now or utcnow()
    board = Dashboard()
    latest = _latest_decisions()
    first_decision = _first_decisions()

    # Funnel ----------------------------------------------------------------------------
    apps = session.execute(
        select(
            func.count(Application.submitted_at).label("submitted"),
            func.sum(case((Application.submitted_at.is_not(None), Application.amount))).label(
                "asked"
            ),
            func.count(Application.screened_at).label("screened"),
        )
    ).one()
    referred_apps = session.scalar(select(func.count(distinct(Referral.application_id)))) or 0
    approved = session.execute(
        select(
            func.count(distinct(Referral.application_id)).label("apps"),
            func.count(Referral.id).label("referrals"),
            func.sum(latest.c.approved_amount).label("amount"),
        )
        .select_from(latest)
        .join(Referral, Referral.id == latest.c.referral_id)
        .where(latest.c.decision == "approved")
    ).one()
    disbursed = session.execute(
        select(
            func.count(distinct(Referral.application_id)).label("apps"),
            func.count(LoanOutcome.id).label("events"),
            func.sum(LoanOutcome.amount).label("amount"),
        )
        .select_from(LoanOutcome)
        .join(Referral, Referral.id == LoanOutcome.referral_id)
        .where(LoanOutcome.event == "disbursed")
    ).one()
    stages = [
        (t("已提交", "Submitted"), int(apps.submitted)),
        (t("已初筛", "Screened"), int(apps.screened)),
        (t("已推荐银行", "Referred to a bank"), int(referred_apps)),
        (t("银行同意", "Approved by a bank"), int(approved.apps)),
        (t("已放款", "Disbursed"), int(disbursed.apps)),
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
        percent_columns=(2,),
    )

    # Amounts ---------------------------------------------------------------------------
    batch_approved = session.execute(
        select(
            func.count(BatchMember.id).label("count"),
            func.sum(BatchMember.approved_amount).label("amount"),
        ).where(BatchMember.state == "approved")
    ).one()
    board.tables["amounts"] = Table(
        "amounts",
        t("融资金额", "Amounts"),
        [t("项目", "Item"), t("金额（万元）", "Amount (10k yuan)"), t("笔数", "Count")],
        [
            [
                t("申请金额", "Amount requested"),
                money.to_wan(apps.asked, None),
                int(apps.submitted),
            ],
            [
                t("银行批准金额", "Approved by banks"),
                money.to_wan(approved.amount, None),
                int(approved.referrals),
            ],
            [
                t("放款金额", "Disbursed"),
                money.to_wan(disbursed.amount, None),
                int(disbursed.events),
            ],
            [
                t("批次贷批准金额", "Approved in batch loans"),
                money.to_wan(batch_approved.amount, None),
                int(batch_approved.count),
            ],
        ],
    )

    # Approval rates by product and by bank ----------------------------------------------
    # Counted per (product version, bank) pair in the database: the referrals, then their
    # latest decisions (read from the decisions' side, joined to referrals by key); the two
    # tables add the few pairs up under the products' and banks' names.
    decided = latest.c.decision.in_(("approved", "declined"))
    pair_counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for version_id, bank_id, n in session.execute(
        select(Referral.product_version_id, Referral.bank_id, func.count()).group_by(
            Referral.product_version_id, Referral.bank_id
        )
    ):
        pair_counts[(version_id, bank_id)][0] = int(n)
    for version_id, bank_id, *counts in session.execute(
        select(
            Referral.product_version_id,
            Referral.bank_id,
            func.count(case((decided, 1))),
            func.count(case((latest.c.decision == "approved", 1))),
            func.count(case((latest.c.decision == "declined", 1))),
        )
        .select_from(latest)
        .join(Referral, Referral.id == latest.c.referral_id)
        .group_by(Referral.product_version_id, Referral.bank_id)
    ):
        pair_counts[(version_id, bank_id)][1:] = [int(c) for c in counts]
    version_product = {
        version_id: t(name_zh, name_en or name_zh)
        for version_id, name_zh, name_en in session.execute(
            select(ProductVersion.id, Product.name_zh, Product.name_en).join(
                Product, Product.id == ProductVersion.product_id
            )
        )
    }
    bank_names = {
        bank_id: t(name_zh, name_en or name_zh)
        for bank_id, name_zh, name_en in session.execute(
            select(Bank.id, Bank.name_zh, Bank.name_en)
        )
    }
    pairs = [
        (version_product.get(version_id, "—"), bank_names.get(bank_id, "—"), *counts)
        for (version_id, bank_id), counts in pair_counts.items()
    ]

    def rate_rows(key: int) -> list[list[Any]]:
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for row in pairs:
            totals = sums[row[key]]
            for i, value in enumerate(row[2:]):
                totals[i] += int(value)
        return [[name, n, d, a, x, _rate(a, d)] for name, (n, d, a, x) in sorted(sums.items())]

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
        rate_rows(0),
        note=rate_note,
        percent_columns=(5,),
    )
    board.tables["approval_by_bank"] = Table(
        "approval_by_bank",
        t("各银行同意率", "Approval rate by bank"),
        [t("银行", "Bank"), *rate_columns],
        rate_rows(1),
        note=rate_note,
        percent_columns=(5,),
    )

    # Response times --------------------------------------------------------------------
    advisor_count, median_advisor = _sql_median(
        session,
        select(hours_between(Application.screened_at, Application.first_response_at))
        .where(Application.screened_at.is_not(None), Application.first_response_at.is_not(None))
        .subquery(),
    )
    bank_count, median_bank = _sql_median(
        session,
        select(hours_between(Referral.sent_at, first_decision.c.at))
        .join(first_decision, first_decision.c.referral_id == Referral.id)
        .subquery(),
    )
    board.tables["response_times"] = Table(
        "response_times",
        t("办理时长", "Response times"),
        [t("指标", "Measure"), t("样本数", "Count"), t("中位数（小时）", "Median (hours)")],
        [
            [
                t("初筛至顾问首次响应", "Screening to the advisor's first response"),
                advisor_count,
                median_advisor,
            ],
            [
                t("推荐至银行首次决定", "Referral to the bank's first decision"),
                bank_count,
                median_bank,
            ],
        ],
    )

    # Deadline breaches -----------------------------------------------------------------
    due = Application.first_response_due_at
    answered = Application.first_response_at
    advisor_late = and_(
        due.is_not(None),
        or_(
            and_(answered.is_not(None), answered > due),
            and_(answered.is_(None), Application.state.in_(WAITING_FOR_ADVISOR), due < now),
        ),
    )
    decided_at = first_decision.c.at
    bank_late = and_(
        Referral.due_at.is_not(None),
        or_(
            and_(decided_at.is_not(None), decided_at > Referral.due_at),
            and_(
                decided_at.is_(None),
                Referral.state.in_(WAITING_FOR_BANK),
                Referral.due_at < now,
            ),
        ),
    )
    advisor_breaches = (
        session.scalar(select(func.count()).select_from(Application).where(advisor_late)) or 0
    )
    bank_breaches = (
        session.scalar(
            select(func.count())
            .select_from(Referral)
            .outerjoin(first_decision, first_decision.c.referral_id == Referral.id)
            .where(bank_late)
        )
        or 0
    )
    breach_list: list[list[Any]] = []
    advisor_rows = (
        select(Application.id, Enterprise.name, due, answered)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .where(advisor_late)
        .order_by(due, Application.id)
        .limit(breach_rows)
    )
    for app_id, name, due_at, answered_at in session.execute(advisor_rows):
        end = answered_at or now
        breach_list.append(
            [
                t("顾问首次响应", "Advisor's first response"),
                t(f"申请 #{app_id}", f"Application #{app_id}"),
                name,
                due_at,
                answered_at,
                round(_hours(due_at, end), 1),
            ]
        )
    bank_rows = (
        select(
            Referral.id, Bank.name_zh, Bank.name_en, Enterprise.name, Referral.due_at, decided_at
        )
        .join(Bank, Bank.id == Referral.bank_id)
        .join(Application, Application.id == Referral.application_id)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .outerjoin(first_decision, first_decision.c.referral_id == Referral.id)
        .where(bank_late)
        .order_by(Referral.due_at, Referral.id)
        .limit(breach_rows)
    )
    for ref_id, bank_name, bank_en, name, due_at, decided in session.execute(bank_rows):
        end = decided or now
        breach_list.append(
            [
                t("银行反馈", "Bank decision"),
                t(f"推荐 #{ref_id}（{bank_name}）", f"Referral #{ref_id} ({bank_en or bank_name})"),
                name,
                due_at,
                decided,
                round(_hours(due_at, end), 1),
            ]
        )
    shown = len(breach_list)
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
        breach_list,
        note=t(
            "顾问首次响应时限 1 个工作日，银行反馈时限 2 个工作日。",
            "Advisors respond within 1 working day, banks decide within 2 working days.",
        )
        + (
            t(
                f"共 {advisor_breaches + bank_breaches} 项，此处按应办结时间列出最早的 {shown} 项；"
                "完整清单请下载 Excel。",
                f" {advisor_breaches + bank_breaches} in all; the {shown} due earliest are listed"
                " here; download the Excel file for the whole list.",
            )
            if shown < advisor_breaches + bank_breaches
            else ""
        ),
    )

    # Satisfaction ----------------------------------------------------------------------
    star_counts = dict(
        session.execute(select(Rating.stars, func.count()).group_by(Rating.stars)).all()
    )
    rating_count = sum(star_counts.values())
    average = (
        sum(stars * n for stars, n in star_counts.items()) / rating_count if rating_count else None
    )
    board.tables["satisfaction"] = Table(
        "satisfaction",
        t("满意度评价", "Satisfaction ratings"),
        [t("评分", "Rating"), t("数量", "Count")],
        [[t(f"{s} 星", f"{s} stars"), star_counts.get(s, 0)] for s in range(5, 0, -1)]
        + [
            [t("平均分", "Average"), round(average, 2) if average is not None else None],
            [t("评价总数", "Ratings"), rating_count],
        ],
    )

    # Score distribution (each application's latest score) ------------------------------
    scores = _latest_scores()
    score_bin = (scores.c.score // SCORE_BIN).label("bin")
    groups = session.execute(
        select(
            score_bin,
            scores.c.grade,
            func.max(case((ModelVersion.synthetic.is_(True), 1), else_=0)),
            func.count(),
        )
        .select_from(scores)
        .outerjoin(ModelVersion, ModelVersion.id == scores.c.model_version_id)
        .group_by(score_bin, scores.c.grade)
    ).all()
    by_bin: Counter[int] = Counter()
    by_grade: Counter[str] = Counter()
    for index, grade, _synthetic, n in groups:
        by_bin[int(index)] += int(n)
        by_grade[grade] += int(n)
    bins: list[tuple[str, int]] = []
    if by_bin:
        for index in range(min(by_bin), max(by_bin) + 1):
            start = index * SCORE_BIN
            bins.append((f"{start}–{start + SCORE_BIN - 1}", by_bin[index]))
    board.score_bins = bins
    synthetic = any(row[2] for row in groups)
    synthetic_note = t(SYNTHETIC_NOTE, SYNTHETIC_NOTE_EN) if synthetic else ""
    board.tables["score_distribution"] = Table(
        "score_distribution",
        t("信用评分分布", "Credit scores"),
        [t("分数段", "Score band"), t("申请数", "Applications")],
        [[label, count] for label, count in bins],
        note=t("每笔申请取最新一次评分。", "Each application's latest score. ") + synthetic_note,
    )
    board.tables["grades"] = Table(
        "grades",
        t("信用等级分布", "Credit grades"),
        [t("等级", "Grade"), t("申请数", "Applications")],
        [[g, by_grade[g]] for g in sorted(by_grade)],
        note=synthetic_note,
    )

    # Batch quota use -------------------------------------------------------------------
    batch_count = session.scalar(select(func.count()).select_from(Batch)) or 0
    batches = list(
        session.scalars(
            select(Batch)
            .options(joinedload(Batch.bank), joinedload(Batch.park), joinedload(Batch.chamber))
            .order_by(Batch.state == BATCH.states.CLOSED, Batch.id.desc())
            .limit(None if complete else BATCH_ROWS)
        )
    )
    members: dict[int, dict[str, int]] = defaultdict(dict)
    for batch_id, state, n in session.execute(
        select(BatchMember.batch_id, BatchMember.state, func.count())
        .where(BatchMember.batch_id.in_([batch.id for batch in batches]))
        .group_by(BatchMember.batch_id, BatchMember.state)
    ):
        members[batch_id][state] = int(n)
    batch_rows = []
    for batch in batches:
        use = quota_use(batch, members.get(batch.id, {}))
        counts = use.members_by_state
        batch_rows.append(
            [
                batch.code,
                batch.name,
                t(organiser_name(batch), _organiser_en(batch)),
                t(batch.bank.name_zh, batch.bank.name_en or batch.bank.name_zh),
                BATCH.title(batch.state),
                money.to_wan(use.total, None),
                money.to_wan(use.used, None),
                money.to_wan(use.left, None),
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
        percent_columns=(8,),
        note=t(
            f"共 {batch_count} 个批次，此处列出未结束的和最新的 {len(batch_rows)} 个；"
            "完整清单请下载 Excel。",
            f"{batch_count} batches in all; the open and the newest {len(batch_rows)} are listed"
            " here; download the Excel file for the whole list.",
        )
        if len(batch_rows) < batch_count
        else "",
    )

    # Demand board (issue 15): pick-up per bank and time to the first claim.
    from finportal.services.need_stats import pickup

    board.tables["need_pickup"], need_figures = pickup(session)

    # issue 15: complaints and suggestions by subject, bank and product (分析).
    from finportal.services.complaint_analysis import complaint_tables

    board.tables.update(complaint_tables(session))
    # issue 13: subsidy outlay, budgets left and progress against the targets.
    from finportal.services import subsidy_figures

    subsidy_figures.add_tables(session, board)

    board.headline = {
        "submitted": int(apps.submitted),
        "approval_rate": _rate(
            sum(row[3] for row in board.tables["approval_by_bank"].rows),
            sum(row[2] for row in board.tables["approval_by_bank"].rows),
        ),
        "median_advisor_hours": median_advisor,
        "median_bank_hours": median_bank,
        "advisor_breaches": advisor_breaches,
        "bank_breaches": bank_breaches,
        "rating_average": average,
        "rating_count": rating_count,
        **need_figures,
    }
    return board
