"""The one packet context builder: a referral or a batch member in, a ``PacketContext`` out.

Every packet, whatever it is for, shows the same sections made by the same functions:
:func:`profile_rows` (the enterprise profile), :func:`quote_section` (rate, fee,
subsidies, net cost, the repayment schedule and the demo marks), :func:`condition_rows`,
the score and reasons, the advisor's opinion and :func:`consent_record`. What differs
between a referral and a batch member is only where the facts come from, which
:func:`facts_for` looks up (:func:`referral_facts`, :func:`member_facts`) into one
:class:`PacketFacts`; :func:`assemble` turns those into the renderer's plain data.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import products
from finportal import packets
from finportal.models import (
    Application,
    BatchMember,
    Consent,
    CreditScore,
    Enterprise,
    Match,
    ModelVersion,
    Referral,
    User,
    utcnow,
)
from finportal.services import batches, consents
from finportal.services import catalog as catalog_service
from finportal.services.errors import Forbidden
from finportal.services.labels import purpose_label, scope_text
from finportal.services.profiles import enterprise_profile
from finportal.services.workdays import SHANGHAI
from products.fields import field_specs
from products.sizes import SIZE_ZH

_CENT = Decimal("0.01")
_WAN = Decimal("10000")

REPAYMENT_LABELS = {
    "interest_only_bullet": "按月付息、到期还本",
    "equal_principal": "等额本金，按月还本付息",
    "equal_instalment": "等额本息，按月还款",
}
TAX_GRADE_LABELS = {"A": "A 级", "B": "B 级", "M": "M 级", "C": "C 级", "D": "D 级"}
CERT_LABELS = {
    "tech_sme": "科技型中小企业",
    "high_tech": "高新技术企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”企业",
}
DEMO_NOTE = "演示数据，以区里规定为准"
BATCH_OPINION = "经园区/商会推荐，已核验批次贷准入条件及企业授权。"


def default_base_url() -> str:
    """Return the portal's public address for packets rendered without a request.

    ``FINPORTAL_BASE_URL`` (default ``http://127.0.0.1:5000``): the demo and jobs queued
    outside a request print it before ``/verify/<code>``, so the address on paper is whole.
    """
    return os.environ.get("FINPORTAL_BASE_URL", "http://127.0.0.1:5000")


def verify_url(code: str, base_url: str = "") -> str:
    """Return the public address that checks a packet's verification code."""
    return f"{(base_url or default_base_url()).rstrip('/')}/verify/{code}"


def to_wan(value: Any) -> Decimal:
    """Return a yuan amount in 万元, rounded to the fen of a 万元 (two decimals)."""
    return (Decimal(str(value or 0)) / _WAN).quantize(_CENT, ROUND_HALF_UP)


# --- the sections ---------------------------------------------------------------------------


def _wan(value: Any) -> str:
    return "—" if value is None else f"{to_wan(value):,.2f} 万元"


def _count(value: Any, unit: str) -> str:
    return "—" if value is None else f"{value} {unit}"


def _yes_no(value: Any, yes: str = "是", no: str = "否") -> str:
    return "—" if value is None else (yes if value else no)


def membership_names(enterprise: Enterprise) -> tuple[list[str], list[str]]:
    """Return the Chinese names of the enterprise's parks and chambers of commerce."""
    parks = [m.park.name_zh for m in enterprise.memberships if m.park is not None]
    chambers = [m.chamber.name_zh for m in enterprise.memberships if m.chamber is not None]
    return parks, chambers


def profile_rows(
    profile: Mapping[str, Any],
    today: dt.date,
    *,
    parks: Sequence[str] = (),
    chambers: Sequence[str] = (),
) -> dict[str, str]:
    """Return the packet's profile rows: 中文 label -> formatted value, money in 万元.

    ``profile`` is a profile dict with the field names of ``products``/``scoring`` (as
    :func:`finportal.services.profiles.enterprise_profile` returns it, or a snapshot of
    it); ``parks`` and ``chambers`` are the names of the firm's memberships. The one
    function for every packet (referral and batch member) and the advisor's page.
    """
    derived = products.derive_fields(
        {
            name: profile.get(name)
            for name in (
                "registered_on",
                "industry_code",
                "employees",
                "revenue_last_year",
                "revenue_prev_year",
                "total_assets",
                "total_liabilities",
                "district_code",
                "uscc",
            )
        },
        today,
    )
    size = derived.get("size_class")
    age = derived.get("firm_age_years")
    debt = derived.get("debt_ratio")
    growth = derived.get("revenue_growth")
    reg = profile.get("registered_on")
    employees = profile.get("employees")
    overdue = profile.get("overdue_count_24m")
    return {
        "成立日期": (
            f"{reg.year}年{reg.month}月{reg.day}日" + (f"（{age} 年）" if age is not None else "")
            if reg
            else "—"
        ),
        "注册地区划": profile.get("district_code") or "—",
        "行业代码": profile.get("industry_code") or "—",
        "企业规模": SIZE_ZH.get(size, "—") if size else "—",
        "所属园区": "、".join(parks) or "无",
        "所属商会": "、".join(chambers) or "无",
        "从业人数": (
            f"{employees} 人（社保缴纳 {profile.get('social_insured_employees') or 0} 人）"
            if employees is not None
            else "—"
        ),
        "上年营业收入": _wan(profile.get("revenue_last_year")),
        "营业收入增长率": f"{float(growth) * 100:.1f}%" if growth is not None else "—",
        "上年净利润": _wan(profile.get("net_profit_last_year")),
        "资产负债率": f"{float(debt) * 100:.1f}%" if debt is not None else "—",
        "上年纳税总额": _wan(profile.get("tax_paid_last_year")),
        "纳税信用等级": TAX_GRADE_LABELS.get(profile.get("tax_credit_grade") or "", "—"),
        "知识产权": (
            f"发明专利 {profile.get('invention_patents') or 0} 件，实用新型 "
            f"{profile.get('utility_patents') or 0} 件，注册商标 {profile.get('trademarks') or 0} 件"
        ),
        "资质认定": "、".join(CERT_LABELS.get(c, c) for c in profile.get("certifications") or [])
        or "无",
        "现有银行贷款": _wan(profile.get("existing_loan_balance")),
        "逾期记录": ("近 24 个月无逾期" if overdue == 0 else _count(overdue, "次（近 24 个月）")),
        "涉诉与行政处罚": (
            f"未结诉讼 {profile.get('pending_lawsuits') or 0} 件；"
            f"行政处罚 {profile.get('admin_penalties_24m') or 0} 次；"
            f"严重失信：{_yes_no(profile.get('serious_bad_credit_24m'), '有', '无')}"
        ),
    }


def enterprise_profile_rows(enterprise: Enterprise, today: dt.date) -> dict[str, str]:
    """Return :func:`profile_rows` of an enterprise's live profile (the advisor's page)."""
    parks, chambers = membership_names(enterprise)
    return profile_rows(enterprise_profile(enterprise), today, parks=parks, chambers=chambers)


def field_label(name: str) -> str:
    """Return the Chinese label of a condition's field (``a|b`` names either of two)."""
    specs = field_specs()
    labels = [
        specs[part].label_zh if part in specs else part
        for part in (p.strip() for p in name.split("|"))
        if part
    ]
    return " / ".join(labels) or name


def condition_rows(
    conditions: Sequence[Mapping[str, Any]], override: tuple[bool, str] | None = None
) -> list[packets.EligibilityCondition]:
    """Return the eligibility section: each condition's result, and an advisor's override."""
    rows = [
        packets.EligibilityCondition(
            field=field_label(str(c.get("field", ""))),
            result=c.get("result", "unknown"),
            message_zh=str(c.get("message_zh", "")),
            demo=bool(c.get("demo", False)),
        )
        for c in conditions
    ]
    if override is not None:
        eligible, reason = override
        rows.append(
            packets.EligibilityCondition(
                field="顾问调整",
                result="passed" if eligible else "failed",
                message_zh=f"顾问调整了匹配结果：{reason}",
            )
        )
    return rows


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


def quote_subsidies(
    product: products.Product, priced: products.Quote, annual: Any
) -> list[packets.Subsidy]:
    """Return the quote's subsidies per year, each with what the catalogue says of it.

    A subsidy whose numbers are demo values says so; one paid after repayment (e.g. 科技履约贷's
    premium subsidy) carries the product's own words on when and how it is paid.
    """
    rows = []
    for name, total, rule in (
        ("贴息", priced.total_interest_subsidy, product.interest_subsidy),
        ("担保费补贴", priced.total_fee_subsidy, product.fee_subsidy),
    ):
        if not total or rule is None:
            continue
        notes = []
        if rule.paid_after_repayment and rule.payment is not None:
            notes.append(rule.payment.note_zh)
        if rule.demo:
            notes.append(DEMO_NOTE)
        rows.append(packets.Subsidy(name, annual(total), "；".join(notes)))
    return rows


def quote_section(
    product: products.Product, amount: Decimal, term_months: int, lpr: Decimal, day: dt.date
) -> packets.Quote:
    """Price the product for the amount and term on ``day``: the packet's quote section.

    Annual amounts are the totals over the term per year, rounded to the fen; the
    schedule's dates count whole months from ``day``; the demo marks come from the
    catalogue. A product that cannot be quoted says why instead of printing zeros.
    """
    try:
        priced = products.quote(product, amount, term_months, lpr)
    except products.QuoteError as exc:
        return packets.Quote(
            interest_rate=0.0,
            guarantee_fee_rate=0.0,
            annual_interest_yuan=0,
            annual_guarantee_fee_yuan=0,
            subsidies=(),
            net_annual_cost_yuan=0,
            rate_note_zh=f"无法报价：{exc.args[0] if exc.args else exc}",
        )
    years = Decimal(priced.term_months) / Decimal(12)

    def annual(total: Decimal) -> Decimal:
        return (total / years).quantize(_CENT, ROUND_HALF_UP)

    balance = priced.amount
    schedule = []
    for row in priced.schedule:
        balance -= row.principal
        schedule.append(
            packets.ScheduleRow(
                period=row.period,
                due_date=_add_months(day, row.period),
                principal_yuan=row.principal,
                interest_yuan=row.interest,
                fee_yuan=row.fee,
                balance_yuan=balance,
            )
        )
    return packets.Quote(
        interest_rate=float(priced.nominal_rate),
        guarantee_fee_rate=float(priced.guarantee_fee_rate),
        annual_interest_yuan=annual(priced.total_interest),
        annual_guarantee_fee_yuan=annual(priced.total_fee),
        subsidies=quote_subsidies(product, priced, annual),
        net_annual_cost_yuan=annual(priced.net_cost),
        net_annual_rate=float(priced.net_annual_cost_rate),
        rate_note_zh=(
            f"1年期LPR {float(lpr) * 100:.2f}%（报价日 {day.isoformat()}），以银行审批为准"
        ),
        repayment_method_zh=REPAYMENT_LABELS.get(priced.repayment, priced.repayment),
        schedule=schedule,
        interest_rate_demo=product.rate_demo,
        guarantee_fee_demo=product.guarantee_fee_demo,
    )


def consent_record(bank_name: str, consent: Consent) -> packets.ConsentRecord:
    """Return the packet's consent section: the consent the packet is rendered under."""
    return packets.ConsentRecord(
        bank=bank_name,
        scope=scope_text(consent.scope),
        granted_at=consent.granted_at.astimezone(SHANGHAI).replace(tzinfo=None),
        valid_until=consent.valid_until,
    )


def score_facts(session: Session, score: CreditScore | None) -> dict[str, Any] | None:
    """Return a stored credit score as the plain dict the score section reads."""
    if score is None:
        return None
    model = session.get(ModelVersion, score.model_version_id)
    return {
        "score": score.score,
        "grade": score.grade,
        "pd": float(score.pd),
        "reasons": list(score.reasons or []),
        "model_version": model.version if model is not None else "",
        "synthetic": bool(model is not None and model.synthetic),
    }


def latest_enterprise_score(session: Session, enterprise_id: int) -> CreditScore | None:
    """Return the newest credit score of any of the enterprise's applications."""
    return session.scalar(
        select(CreditScore)
        .join(Application, Application.id == CreditScore.application_id)
        .where(Application.enterprise_id == enterprise_id)
        .order_by(CreditScore.scored_at.desc(), CreditScore.id.desc())
        .limit(1)
    )


# --- the facts of a subject ------------------------------------------------------------------


@dataclass(frozen=True)
class PacketFacts:
    """What a packet says about its subject, looked up from the database as plain data."""

    packet_number: str
    date: dt.date
    bank_name: str
    product: products.Product
    product_version_id: int
    enterprise_name: str
    enterprise_uscc: str
    profile: Mapping[str, Any]
    parks: Sequence[str]
    chambers: Sequence[str]
    amount: Decimal
    term_months: int
    purpose: str
    conditions: Sequence[Mapping[str, Any]]
    override: tuple[bool, str] | None
    score: Mapping[str, Any] | None
    lpr: Decimal
    advisor_opinion: str
    advisor_name: str
    consent: Consent


def packet_number_for(referral: Referral) -> str:
    """Return the packet number of a referral: ``RP-<date>-<id>``."""
    day = (referral.sent_at or utcnow()).astimezone(SHANGHAI)
    return f"RP-{day:%Y%m%d}-{referral.id:06d}"


def member_packet_number(batch_code: str, index: int) -> str:
    """Return the number of the ``index``-th member packet (from 1) in a batch packet."""
    return f"{batch_code}-{index:03d}"


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return (user.display_name or user.username) if user is not None else "—"


def referral_facts(session: Session, referral: Referral) -> PacketFacts:
    """Look up what a referral's packet says (refused unless the consent is in force)."""
    consent = consents.require_packet_access(session, referral)
    application: Application = referral.application
    enterprise = application.enterprise
    version = referral.product_version
    today = (referral.sent_at or utcnow()).astimezone(SHANGHAI).date()
    match = session.scalar(
        select(Match).where(
            Match.application_id == application.id, Match.product_version_id == version.id
        )
    )
    score = session.scalar(
        select(CreditScore)
        .where(CreditScore.application_id == application.id)
        .order_by(CreditScore.id.desc())
        .limit(1)
    )
    parks, chambers = membership_names(enterprise)
    return PacketFacts(
        packet_number=referral.packet_number or packet_number_for(referral),
        date=today,
        bank_name=referral.bank.name_zh,
        product=catalog_service.product_of(version),
        product_version_id=version.id,
        enterprise_name=enterprise.name,
        enterprise_uscc=enterprise.uscc,
        profile=enterprise_profile(enterprise),
        parks=parks,
        chambers=chambers,
        amount=Decimal(application.amount),
        term_months=application.term_months,
        purpose=purpose_label(application.purpose),
        conditions=list(match.conditions or []) if match is not None else [],
        override=(
            (bool(match.eligible), match.override_reason or "")
            if match is not None and match.overridden
            else None
        ),
        score=score_facts(session, score),
        lpr=catalog_service.current_lpr(session, today),
        advisor_opinion=referral.advisor_opinion or "—",
        advisor_name=_user_name(session, referral.created_by_id),
        consent=consent,
    )


def member_facts(session: Session, member: BatchMember, index: int, today: dt.date) -> PacketFacts:
    """Look up what a batch member's packet says (refused without consent to the bank)."""
    batch = member.batch
    consent = consents.for_batch_member(session, batch, member.enterprise_id, today)
    if consent is None:
        raise Forbidden(
            f"{member.enterprise.name}已撤回或未授权向该银行提供信息，材料包不予提供。",
            "A member has no standing consent to this bank; the packet is refused.",
            code="consent_withdrawn",
        )
    version = batch.product_version or batches.batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    check = member.check_result or {}
    score = check.get("score") or score_facts(
        session, latest_enterprise_score(session, member.enterprise_id)
    )
    organiser = batches.organiser_name(batch)
    enterprise = member.enterprise
    parks, chambers = membership_names(enterprise)
    return PacketFacts(
        packet_number=member_packet_number(batch.code, index),
        date=today,
        bank_name=batch.bank.name_zh,
        product=catalog_service.product_of(version),
        product_version_id=version.id,
        enterprise_name=enterprise.name,
        enterprise_uscc=enterprise.uscc,
        profile=enterprise_profile(enterprise),
        parks=parks,
        chambers=chambers,
        amount=Decimal(member.approved_amount or member.requested_amount or batch.per_firm_cap),
        term_months=batches.DEFAULT_TERM_MONTHS,
        purpose=f"{organiser}批次推荐" + (f"：{member.note}" if member.note else ""),
        conditions=list(check.get("conditions") or []),
        override=None,
        score=score,
        lpr=catalog_service.current_lpr(session, today),
        advisor_opinion=member.note or BATCH_OPINION,
        advisor_name=_user_name(session, batch.created_by_id),
        consent=consent,
    )


# --- the context -------------------------------------------------------------------------


def assemble(
    facts: PacketFacts, *, verification_code: str = "", base_url: str = ""
) -> packets.PacketContext:
    """Return the renderer's ``PacketContext`` for the facts, with a verification code."""
    score = facts.score
    return packets.PacketContext(
        packet_number=facts.packet_number,
        verification_code=verification_code,
        bank_name=facts.bank_name,
        product_name=facts.product.name_zh,
        product_code=facts.product.code,
        date=facts.date,
        enterprise_name=facts.enterprise_name,
        enterprise_uscc=facts.enterprise_uscc,
        enterprise_profile=profile_rows(
            facts.profile, facts.date, parks=facts.parks, chambers=facts.chambers
        ),
        request=packets.LoanRequest(
            amount_wan=to_wan(facts.amount),
            term_months=facts.term_months,
            purpose=facts.purpose,
        ),
        conditions=condition_rows(facts.conditions, facts.override),
        score=score["score"] if score else 0,
        grade=score["grade"] if score else "—",
        pd=float(score["pd"]) if score else 0.0,
        reasons=[
            packets.Reason(
                feature=str(r.get("feature", "")),
                contribution=float(r.get("contribution", 0.0)),
                text_zh=str(r.get("text_zh", "")),
            )
            for r in (score.get("reasons") or [] if score else [])
        ],
        quote=quote_section(facts.product, facts.amount, facts.term_months, facts.lpr, facts.date),
        advisor_opinion=facts.advisor_opinion,
        advisor_name=facts.advisor_name,
        consent=consent_record(facts.bank_name, facts.consent),
        model_version=str(score.get("model_version", "")) if score else "",
        model_trained_on_synthetic=bool(score.get("synthetic")) if score else False,
        verify_url=verify_url(verification_code, base_url) if verification_code else "",
    )


def facts_for(
    session: Session,
    subject: Referral | BatchMember,
    *,
    index: int = 1,
    today: dt.date | None = None,
) -> PacketFacts:
    """Look up a subject's packet facts: a referral, or a batch member (``index`` in its batch)."""
    if isinstance(subject, Referral):
        return referral_facts(session, subject)
    return member_facts(session, subject, index, today or utcnow().astimezone(SHANGHAI).date())


def build_context(
    session: Session,
    subject: Referral | BatchMember,
    *,
    verification_code: str = "",
    base_url: str = "",
    index: int = 1,
    today: dt.date | None = None,
) -> packets.PacketContext:
    """Build the ``PacketContext`` of a referral or a batch member (plain data for the renderer)."""
    facts = facts_for(session, subject, index=index, today=today)
    return assemble(facts, verification_code=verification_code, base_url=base_url)
