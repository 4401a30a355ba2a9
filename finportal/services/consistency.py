"""Consistency flags: implausible or risky combinations the advisor checks and the bank is told.

A flag never rejects an application: it says why it was raised, in plain Chinese (English
second), and the advisor decides. The rules:

- ``tax_vs_revenue``, ``insured_vs_staff``, ``loans_vs_liabilities``: figures of the profile
  as submitted that cannot all be true, or are far from what such a firm pays or employs;
- ``recent_edits``: profile edits in the days before the submission, with the values
  before and after (from the edits' audit events);
- ``parallel_requests``: the same firm asking at once through another application, a park's
  or chamber's batch, or the demand board;
- ``shared_contacts``: the same legal representative or mobile number on other firms.

Every threshold is in ``finportal/data/consistency.yaml`` with its reasoning. The flags of
any number of applications take three statements (:func:`flags_of`): the edits, the
parallel requests and the shared contacts are each one set-based query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from finportal import limits, money
from finportal.domain import fields as profile_fields
from finportal.domain.states import APPLICATION, MEMBER, NEED
from finportal.models import (
    Application,
    AuditEvent,
    Batch,
    BatchMember,
    Enterprise,
    Need,
    User,
)
from finportal.services import audit
from finportal.services.profiles import submitted_profiles
from products import yaml_text

#: The audit actions of a profile edit (the form, and the Excel import).
EDIT_ACTIONS = ("enterprise.profile_updated", "enterprise.profile_imported")
#: Fields whose edits say nothing about the figures a bank decides on.
_QUIET_FIELDS = frozenset({"name", "street", "legal_representative"})

#: Requests still running: open applications (not drafts, not ended), batch members not
#: decided, needs on the board.
OPEN_APPLICATIONS = tuple(
    sorted(
        str(s)
        for s in APPLICATION.states
        if s not in APPLICATION.final and s not in APPLICATION.tagged("ended") and s != "draft"
    )
)
OPEN_MEMBERS = tuple(sorted(str(s) for s in MEMBER.states if s not in MEMBER.final))
OPEN_NEEDS = tuple(sorted(str(s) for s in NEED.states if s not in NEED.tagged("ended")))


@cache
def thresholds() -> dict[str, Any]:
    """Return the rules' thresholds (``finportal/data/consistency.yaml``)."""
    loaded: dict[str, Any] = yaml_text.data_file("finportal", "data/consistency.yaml")
    return loaded


@dataclass(frozen=True)
class FlagRow:
    """One line under a flag: a field edited (before, after), or another firm named."""

    label_zh: str
    label_en: str
    before_zh: str = ""
    before_en: str = ""
    after_zh: str = ""
    after_en: str = ""

    @property
    def label(self) -> str:
        """Return the label in the user's language."""
        return limits.in_user_language(self.label_zh, self.label_en)

    @property
    def before(self) -> str:
        """Return the value before (or the state) in the user's language."""
        return limits.in_user_language(self.before_zh, self.before_en)

    @property
    def after(self) -> str:
        """Return the value after in the user's language."""
        return limits.in_user_language(self.after_zh, self.after_en)


@dataclass(frozen=True)
class Flag:
    """One consistency flag: which rule, and why it was raised."""

    rule: str
    title_zh: str
    title_en: str
    why_zh: str
    why_en: str
    rows: tuple[FlagRow, ...] = ()

    @property
    def title(self) -> str:
        """Return the title in the user's language."""
        return limits.in_user_language(self.title_zh, self.title_en)

    @property
    def why(self) -> str:
        """Return the reason in the user's language."""
        return limits.in_user_language(self.why_zh, self.why_en)


# --- words ---------------------------------------------------------------------------------


def _wan(value: Decimal) -> tuple[str, str]:
    return (
        money.wan(value, with_unit=True, locale="zh_CN"),
        money.wan(value, with_unit=True, locale="en"),
    )


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.01'))}%"


def _shown(name: str, value: Any, locale: str) -> str:
    """Write a plain (snapshot) value as the packet writes the profile."""
    from finportal.services.packet_context import field_text

    if name not in profile_fields.fields():
        return "—" if value is None else str(value)
    return field_text(profile_fields.field(name), profile_fields.from_plain(name, value), locale)


def _number(profile: Mapping[str, Any], name: str) -> Decimal | None:
    value = profile.get(name)
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


# --- rules on the figures --------------------------------------------------------------------


def figure_flags(profile: Mapping[str, Any]) -> list[Flag]:
    """Return the flags of a profile's own figures (tax, staff, loans)."""
    out: list[Flag] = []
    limits_ = thresholds()
    revenue = _number(profile, "revenue_last_year")
    tax = _number(profile, "tax_paid_last_year")
    rule = limits_["tax_vs_revenue"]
    if revenue is not None and tax is not None:
        low, high = Decimal(str(rule["min_ratio"])), Decimal(str(rule["max_ratio"]))
        rev_zh, rev_en = _wan(revenue)
        tax_zh, tax_en = _wan(tax)
        if revenue >= Decimal(str(rule["min_revenue"])) and tax < revenue * low:
            ratio = tax / revenue
            out.append(
                Flag(
                    "tax_vs_revenue",
                    "纳税额与营业收入不相称",
                    "Tax paid does not fit the revenue",
                    f"上年营业收入 {rev_zh}，纳税仅 {tax_zh}（占 {_pct(ratio)}）。年收入超过"
                    f"{_wan(Decimal(str(rule['min_revenue'])))[0]}的企业一般至少按 1% 缴纳增值税，"
                    f"低于 {_pct(low)} 可能是营业收入填高了或纳税额漏填了增值税；出口退税或亏损"
                    "年度也可能如此。请核对纳税证明和财务报表。",
                    f"Revenue last year {rev_en}, tax paid only {tax_en} ({_pct(ratio)}). A firm "
                    "with this revenue normally pays at least 1% of sales as VAT; below "
                    f"{_pct(low)} the revenue may be overstated or the tax figure leaves out VAT "
                    "(exports with refunds or a loss year can explain it). Check the tax "
                    "certificates and the accounts.",
                )
            )
        elif tax > 0 and (revenue == 0 or tax > revenue * high):
            out.append(
                Flag(
                    "tax_vs_revenue",
                    "纳税额高于营业收入的常见水平",
                    "Tax paid is above what the revenue allows",
                    f"上年纳税 {tax_zh}，营业收入 {rev_zh}：纳税超过营业收入的 {_pct(high)}，"
                    "可能把“元”和“万元”填混了。请核对。",
                    f"Tax paid {tax_en} against revenue {rev_en}: more than {_pct(high)} of "
                    "revenue, often yuan and 10k yuan mixed up. Check the figures.",
                )
            )
    staff = _number(profile, "employees")
    insured = _number(profile, "social_insured_employees")
    rule = limits_["insured_vs_staff"]
    if staff is not None and insured is not None:
        share = Decimal(str(rule["min_share"]))
        if insured > staff:
            out.append(
                Flag(
                    "insured_vs_staff",
                    "参保人数多于从业人员数",
                    "More insured staff than employees",
                    f"参保职工 {insured} 人，从业人员只有 {staff} 人，两者不可能同时成立。"
                    "请核对社保缴纳记录。",
                    f"{insured} insured employees but only {staff} employees: both cannot be "
                    "true. Check the social-insurance records.",
                )
            )
        elif staff >= Decimal(str(rule["min_staff"])) and insured < staff * share:
            out.append(
                Flag(
                    "insured_vs_staff",
                    "参保人数明显少于从业人员数",
                    "Far fewer insured staff than employees",
                    f"从业人员 {staff} 人，参保只有 {insured} 人（不到 {_pct(share)}）。"
                    "人数可能填多了（会影响企业规模的判断），或有较多员工未参保。"
                    "请核对社保缴纳记录。",
                    f"{staff} employees but only {insured} insured (under {_pct(share)}). "
                    "The headcount may be inflated (it decides the size class), or many staff "
                    "go uninsured. Check the social-insurance records.",
                )
            )
    loans = _number(profile, "existing_loan_balance")
    liabilities = _number(profile, "total_liabilities")
    rule = limits_["loans_vs_liabilities"]
    if loans is not None and loans > 0:
        loans_zh, loans_en = _wan(loans)
        tolerance = Decimal(str(rule["tolerance"]))
        if liabilities is not None and loans > liabilities * (1 + tolerance):
            debt_zh, debt_en = _wan(liabilities)
            out.append(
                Flag(
                    "loans_vs_liabilities",
                    "贷款余额高于负债总额",
                    "Loans above total liabilities",
                    f"现有贷款余额 {loans_zh}，负债总额只有 {debt_zh}。贷款是负债的一部分，"
                    "两者不可能同时成立。请核对资产负债表和征信报告。",
                    f"Existing loans {loans_en} but total liabilities only {debt_en}. A loan is "
                    "a liability: both cannot be true. Check the balance sheet and the credit "
                    "report.",
                )
            )
        if profile.get("has_bank_loan_history") is False:
            out.append(
                Flag(
                    "loans_vs_liabilities",
                    "填写无贷款记录，却有贷款余额",
                    "No borrowing history, yet a loan balance",
                    f"企业填写“无银行贷款记录”，但现有贷款余额为 {loans_zh}（这会影响首贷产品的"
                    "判断）。请核对征信报告。",
                    f"The firm says it never borrowed from a bank, yet has {loans_en} of loans "
                    "(this decides first-loan products). Check the credit report.",
                )
            )
    return out


# --- set-based rules ------------------------------------------------------------------------


def _submitted_at(application: Application) -> datetime | None:
    """Return when the profile was frozen (the latest submission), else the submission time."""
    taken = (application.profile_snapshot or {}).get("taken_at")
    if taken:
        try:
            return datetime.fromisoformat(str(taken))
        except ValueError:
            pass
    return application.submitted_at


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive UTC times; PostgreSQL aware ones.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _edit_flags(session: Session, applications: Sequence[Application]) -> dict[int, list[Flag]]:
    days = int(thresholds()["recent_edits"]["days_before_submission"])
    window = timedelta(days=days)
    times = {a.id: _submitted_at(a) for a in applications}
    known = [t for t in times.values() if t is not None]
    if not known:
        return {}
    earliest = min(_aware(t) for t in known) - window
    firms, told = audit.events_of({"enterprise": {a.enterprise_id for a in applications}})
    events = session.scalars(
        select(AuditEvent)
        .where(firms, AuditEvent.action.in_(EDIT_ACTIONS), AuditEvent.at >= earliest)
        .order_by(AuditEvent.at, AuditEvent.id)
        .execution_options(**told)
    ).all()
    by_firm: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in events:
        by_firm[event.object_id or 0].append(event)
    out: dict[int, list[Flag]] = {}
    for application in applications:
        at = times[application.id]
        if at is None:
            continue
        end = _aware(at)
        recent = [
            e for e in by_firm[application.enterprise_id] if end - window <= _aware(e.at) <= end
        ]
        first: dict[str, Any] = {}
        last: dict[str, Any] = {}
        unknown: list[str] = []
        for event in recent:
            data = event.data or {}
            before, after = data.get("before") or {}, data.get("after") or {}
            for name in data.get("fields") or []:
                if name in _QUIET_FIELDS:
                    continue
                if name in before or name in after:
                    first.setdefault(name, before.get(name))
                    last[name] = after.get(name)
                elif name not in unknown:
                    unknown.append(name)
        names = [n for n in first if first[n] != last[n]] + [n for n in unknown if n not in first]
        if not names:
            continue
        rows = tuple(
            FlagRow(
                profile_fields.label(n, "zh_CN"),
                profile_fields.label(n, "en"),
                _shown(n, first[n], "zh_CN") if n in first else "（未记录）",
                _shown(n, first[n], "en") if n in first else "(not recorded)",
                _shown(n, last[n], "zh_CN") if n in first else "（未记录）",
                _shown(n, last[n], "en") if n in first else "(not recorded)",
            )
            for n in names
        )
        labels_zh = "、".join(profile_fields.label(n, "zh_CN") for n in names)
        labels_en = ", ".join(profile_fields.label(n, "en") for n in names)
        out[application.id] = [
            Flag(
                "recent_edits",
                "提交前几天修改过关键资料",
                "Key figures edited just before applying",
                f"企业在提交申请前 {days} 天内修改了：{labels_zh}。临近申请时修改数据，"
                "可能是为了达到产品条件，请对照证明材料核实修改后的数值。",
                f"In the {days} days before submitting, the firm changed: {labels_en}. Figures "
                "changed just before applying may have been moved to meet a product's "
                "condition; check the new values against documents.",
                rows,
            )
        ]
    return out


@cache
def _parallel_statement() -> Any:
    """The parallel-requests query, built once; the applications' ids are bound per call.

    (Building a union of three joins anew cost more CPU than running it.) The first
    ``listed`` requests of each application and how many there are, in SQL.
    """
    ids = bindparam("ids", expanding=True)
    mine = aliased(Application)
    other = aliased(Application)
    others = (
        select(
            mine.id.label("application_id"),
            literal("application").label("kind"),
            other.id.label("other_id"),
            other.state.label("state"),
            null().label("label"),
        )
        .join(other, and_(other.enterprise_id == mine.enterprise_id, other.id != mine.id))
        .where(mine.id.in_(ids), other.state.in_(OPEN_APPLICATIONS))
    )
    batches = (
        select(
            mine.id,
            literal("batch"),
            BatchMember.id,
            BatchMember.state,
            Batch.code,
        )
        .join(BatchMember, BatchMember.enterprise_id == mine.enterprise_id)
        .join(Batch, Batch.id == BatchMember.batch_id)
        .where(mine.id.in_(ids), BatchMember.state.in_(OPEN_MEMBERS))
    )
    needs = (
        select(mine.id, literal("need"), Need.id, Need.state, Need.number)
        .join(Need, Need.enterprise_id == mine.enterprise_id)
        .where(
            mine.id.in_(ids),
            Need.state.in_(OPEN_NEEDS),
            or_(Need.application_id.is_(None), Need.application_id != mine.id),
        )
    )
    query = union_all(others, batches, needs).subquery()
    ranked = select(
        query,
        func.row_number()
        .over(partition_by=query.c.application_id, order_by=(query.c.kind, query.c.other_id))
        .label("n"),
        func.count().over(partition_by=query.c.application_id).label("total"),
    ).subquery()
    return (
        select(*(ranked.c[name] for name in ("application_id", "kind", "other_id", "state")))
        .add_columns(ranked.c.label, ranked.c.total)
        .where(ranked.c.n <= bindparam("listed"))
        .order_by(ranked.c.application_id, ranked.c.n)
    )


def _parallel_flags(session: Session, applications: Sequence[Application]) -> dict[int, list[Flag]]:
    listed = int(thresholds()["parallel_requests"]["max_listed"])
    rows = session.execute(
        _parallel_statement(), {"ids": [a.id for a in applications], "listed": listed}
    ).all()
    found: dict[int, list[FlagRow]] = defaultdict(list)
    totals: dict[int, int] = {}
    for application_id, kind, other_id, state, label, total in rows:
        totals[application_id] = int(total)
        if kind == "application":
            row = FlagRow(
                f"另一份融资申请 #{other_id}",
                f"Another application #{other_id}",
                APPLICATION.title(state, "zh_CN"),
                APPLICATION.title(state, "en"),
            )
        elif kind == "batch":
            row = FlagRow(
                f"批次贷 {label}（园区/商会推荐）",
                f"Batch loan {label} (recommended by a park or chamber)",
                MEMBER.title(state, "zh_CN"),
                MEMBER.title(state, "en"),
            )
        else:
            row = FlagRow(
                f"需求发布 {label or other_id}（银行直接认领）",
                f"Need {label or other_id} on the demand board (claimed by banks directly)",
                NEED.title(state, "zh_CN"),
                NEED.title(state, "en"),
            )
        found[application_id].append(row)
    out: dict[int, list[Flag]] = {}
    for application_id, rows_ in found.items():
        total = totals[application_id]
        more_zh = f"下表列出前 {len(rows_)} 项" if total > len(rows_) else "见下表"
        more_en = f"the first {len(rows_)} below" if total > len(rows_) else "below"
        out[application_id] = [
            Flag(
                "parallel_requests",
                "同时通过其他渠道融资",
                "Asking through other channels at the same time",
                f"该企业同时还有 {total} 项在办的融资请求（{more_zh}）。同一笔资金可能重复"
                "借入，各家银行应知情；请与企业确认用途和总额。",
                f"The firm has {total} other requests running ({more_en}). The same money may "
                "be borrowed twice and each bank should know; confirm the purpose and the total "
                "with the firm.",
                tuple(rows_),
            )
        ]
    return out


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


@cache
def _contact_statement() -> Any:
    """The shared-contacts query, built once; the firms and the number named are bound per call.

    The first ``named`` other firms of each (firm, kind, value) and how many there are, in
    SQL: a common name can be shared by dozens of firms, and only a few are named.
    """
    firm_ids = bindparam("firm_ids", expanding=True)
    firm = aliased(Enterprise)
    other = aliased(Enterprise)
    directors = (
        select(
            firm.id.label("enterprise_id"),
            literal("director").label("kind"),
            other.id.label("other_id"),
            other.name.label("other_name"),
            firm.legal_representative.label("value"),
        )
        .join(
            other,
            and_(other.legal_representative == firm.legal_representative, other.id != firm.id),
        )
        .where(firm.id.in_(firm_ids), firm.legal_representative.is_not(None))
    )
    user = aliased(User)
    other_user = aliased(User)
    phones = (
        select(
            user.enterprise_id,
            literal("phone"),
            other_user.enterprise_id,
            other.name,
            user.phone,
        )
        .join(
            other_user,
            and_(
                other_user.phone == user.phone,
                other_user.enterprise_id != user.enterprise_id,
                other_user.role == "sme",
            ),
        )
        .join(other, other.id == other_user.enterprise_id)
        .where(
            user.enterprise_id.in_(firm_ids),
            user.role == "sme",
            user.phone.is_not(None),
            user.phone != "",
        )
    )
    both = union_all(directors, phones).subquery()
    names = (
        select(both.c.enterprise_id, both.c.kind, both.c.value, both.c.other_name)
        .distinct()
        .subquery()
    )
    group = (names.c.enterprise_id, names.c.kind, names.c.value)
    ranked = select(
        *group,
        names.c.other_name,
        func.row_number().over(partition_by=group, order_by=names.c.other_name).label("n"),
        func.count().over(partition_by=group).label("total"),
    ).subquery()
    return (
        select(ranked.c.enterprise_id, ranked.c.kind, ranked.c.value, ranked.c.other_name)
        .add_columns(ranked.c.total)
        .where(ranked.c.n <= bindparam("named"))
        .order_by(ranked.c.enterprise_id, ranked.c.kind, ranked.c.value, ranked.c.n)
    )


def _contact_flags(session: Session, applications: Sequence[Application]) -> dict[int, list[Flag]]:
    named = int(thresholds()["shared_contacts"]["max_named"])
    rows = session.execute(
        _contact_statement(),
        {"firm_ids": sorted({a.enterprise_id for a in applications}), "named": named},
    ).all()
    grouped: dict[tuple[int, str, str], list[str]] = defaultdict(list)
    totals: dict[tuple[int, str, str], int] = {}
    for enterprise_id, kind, value, other_name, total in rows:
        grouped[(enterprise_id, kind, value)].append(other_name)
        totals[(enterprise_id, kind, value)] = int(total)
    per_firm: dict[int, list[Flag]] = defaultdict(list)
    for key, shown in grouped.items():
        enterprise_id, kind, value = key
        count = totals[key]
        list_zh = "、".join(shown) + (f" 等 {count} 家" if count > len(shown) else "")
        # English words name no Chinese firm: the rows below name them.
        list_en = f"{count} other firm(s) (below)"
        rows_ = tuple(FlagRow(n, n) for n in shown)
        if kind == "director":
            per_firm[enterprise_id].append(
                Flag(
                    "shared_contacts",
                    "法定代表人同时是其他企业的法定代表人",
                    "The legal representative also represents other firms",
                    f"法定代表人“{value}”也登记为{list_zh}的法定代表人。若为同一人，这些企业属于关联"
                    "企业，贷款应合并看待；同名不同人时可忽略。",
                    f"The legal representative is also named by {list_en}. If it is "
                    "the same person the firms are related and their loans add up; a namesake "
                    "can be ignored.",
                    rows_,
                )
            )
        else:
            masked = _masked(str(value))
            per_firm[enterprise_id].append(
                Flag(
                    "shared_contacts",
                    "联系手机号也用于其他企业",
                    "The contact mobile number is used by other firms",
                    f"企业账户的手机号 {masked} 也是{list_zh}账户的手机号。可能是关联企业，"
                    "也可能是代办中介同时替多家企业申请；请向企业核实。",
                    f"The account's mobile number {masked} is also on the accounts of {list_en}: "
                    "related firms, or an intermediary filing for several clients. Check with "
                    "the firm.",
                    rows_,
                )
            )
    return {a.id: list(per_firm.get(a.enterprise_id, [])) for a in applications}


def flags_of(session: Session, applications: Sequence[Application]) -> dict[int, list[Flag]]:
    """Return each application's flags, in three statements whatever the number of them."""
    apps = [a for a in applications if a.state != "draft"]
    out: dict[int, list[Flag]] = {a.id: [] for a in applications}
    if not apps:
        return out
    for application_id, profile in submitted_profiles(session, apps).items():
        out[application_id].extend(figure_flags(profile))
    for found in (
        _edit_flags(session, apps),
        _parallel_flags(session, apps),
        _contact_flags(session, apps),
    ):
        for application_id, flags in found.items():
            out[application_id].extend(flags)
    return out


def application_flags(session: Session, application: Application) -> list[Flag]:
    """Return one application's flags (the review page and its packets)."""
    return flags_of(session, [application])[application.id]
