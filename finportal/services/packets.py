"""Referral packets from the database: build the context, render in a job, verify.

The PDF is rendered once, in the ``render_packet`` background job (never in a web
request), and stored on the referral with its SHA-256; each bank download stamps the
stored copy (:func:`finportal.services.referrals.download_packet`), whose SHA-256 the
download's audit event keeps. ``/verify/<code>`` shows the stored SHA-256 and a few facts
(:func:`verify_packet`) and tells whether a file is the original or a recorded download
(:func:`check_file`).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import products
from finportal import packets
from finportal.jobs import job
from finportal.models import (
    CreditScore,
    Job,
    Match,
    ModelVersion,
    Referral,
    User,
    utcnow,
)
from finportal.services import catalog as catalog_service
from finportal.services import consents
from finportal.services.audit import record_event
from finportal.services.errors import NotFound
from finportal.services.labels import purpose_label, scope_text
from finportal.services.workdays import SHANGHAI
from products.fields import field_specs
from products.sizes import SIZE_ZH

_CENT = Decimal("0.01")
_WAN = Decimal("10000")
# No 0/O, 1/I/L: a code is read aloud or typed from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

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


def default_base_url() -> str:
    """Return the portal's public address for packets rendered without a request.

    ``FINPORTAL_BASE_URL`` (default ``http://127.0.0.1:5000``): the demo and jobs queued
    outside a request print it before ``/verify/<code>``, so the address on paper is whole.
    """
    return os.environ.get("FINPORTAL_BASE_URL", "http://127.0.0.1:5000")


def new_verification_code() -> str:
    """Return a random public code like ``7KQ4-M2XD-9PHA`` (about 59 bits)."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def packet_number_for(referral: Referral) -> str:
    """Return the packet number of a referral: ``RP-<date>-<id>``."""
    day = (referral.sent_at or utcnow()).astimezone(SHANGHAI)
    return f"RP-{day:%Y%m%d}-{referral.id:06d}"


def _wan(value: Any) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(str(value)) / _WAN).quantize(_CENT, ROUND_HALF_UP):,.2f} 万元"


def _count(value: Any, unit: str) -> str:
    return "—" if value is None else f"{value} {unit}"


def _yes_no(value: Any, yes: str = "是", no: str = "否") -> str:
    return "—" if value is None else (yes if value else no)


def profile_rows(enterprise: Any, today: dt.date) -> dict[str, str]:
    """Return the enterprise profile as labelled rows, money in 万元 (for packets and pages)."""
    derived = products.derive_fields(
        {
            "registered_on": enterprise.registered_on,
            "industry_code": enterprise.industry_code,
            "employees": enterprise.employees,
            "revenue_last_year": enterprise.revenue_last_year,
            "revenue_prev_year": enterprise.revenue_prev_year,
            "total_assets": enterprise.total_assets,
            "total_liabilities": enterprise.total_liabilities,
            "district_code": enterprise.district_code,
            "uscc": enterprise.uscc,
        },
        today,
    )
    size = derived.get("size_class")
    age = derived.get("firm_age_years")
    debt = derived.get("debt_ratio")
    growth = derived.get("revenue_growth")
    parks = [m.park.name_zh for m in enterprise.memberships if m.park is not None]
    chambers = [m.chamber.name_zh for m in enterprise.memberships if m.chamber is not None]
    reg = enterprise.registered_on
    return {
        "成立日期": (
            f"{reg.year}年{reg.month}月{reg.day}日" + (f"（{age} 年）" if age is not None else "")
            if reg
            else "—"
        ),
        "注册地区划": enterprise.district_code or "—",
        "行业代码": enterprise.industry_code or "—",
        "企业规模": SIZE_ZH.get(size, "—") if size else "—",
        "所属园区": "、".join(parks) or "无",
        "所属商会": "、".join(chambers) or "无",
        "从业人数": (
            f"{enterprise.employees} 人（社保缴纳 {enterprise.social_insured_employees or 0} 人）"
            if enterprise.employees is not None
            else "—"
        ),
        "上年营业收入": _wan(enterprise.revenue_last_year),
        "营业收入增长率": f"{float(growth) * 100:.1f}%" if growth is not None else "—",
        "上年净利润": _wan(enterprise.net_profit_last_year),
        "资产负债率": f"{float(debt) * 100:.1f}%" if debt is not None else "—",
        "上年纳税总额": _wan(enterprise.tax_paid_last_year),
        "纳税信用等级": TAX_GRADE_LABELS.get(enterprise.tax_credit_grade or "", "—"),
        "知识产权": (
            f"发明专利 {enterprise.invention_patents or 0} 件，实用新型 "
            f"{enterprise.utility_patents or 0} 件，注册商标 {enterprise.trademarks or 0} 件"
        ),
        "资质认定": "、".join(CERT_LABELS.get(c, c) for c in enterprise.certifications or [])
        or "无",
        "现有银行贷款": _wan(enterprise.existing_loan_balance),
        "逾期记录": (
            "近 24 个月无逾期"
            if enterprise.overdue_count_24m == 0
            else _count(enterprise.overdue_count_24m, "次（近 24 个月）")
        ),
        "涉诉与行政处罚": (
            f"未结诉讼 {enterprise.pending_lawsuits or 0} 件；"
            f"行政处罚 {enterprise.admin_penalties_24m or 0} 次；"
            f"严重失信：{_yes_no(enterprise.serious_bad_credit_24m, '有', '无')}"
        ),
    }


def _field_label(name: str) -> str:
    """Return the Chinese label of a condition's field (``a|b`` names either of two)."""
    specs = field_specs()
    labels = [
        specs[part].label_zh if part in specs else part
        for part in (p.strip() for p in name.split("|"))
        if part
    ]
    return " / ".join(labels) or name


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    return dt.date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


DEMO_NOTE = "演示数据，以区里规定为准"


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


def quote_for(session: Session, referral: Referral, today: dt.date) -> packets.Quote:
    """Price the referral's product for the application's amount and term."""
    version = referral.product_version
    application = referral.application
    product = catalog_service.product_of(version)
    lpr = catalog_service.current_lpr(session, today)
    try:
        priced = products.quote(product, application.amount, application.term_months, lpr)
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

    subsidies = quote_subsidies(product, priced, annual)
    balance = priced.amount
    start = today
    schedule = []
    for row in priced.schedule:
        balance -= row.principal
        schedule.append(
            packets.ScheduleRow(
                period=row.period,
                due_date=_add_months(start, row.period),
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
        subsidies=subsidies,
        net_annual_cost_yuan=annual(priced.net_cost),
        net_annual_rate=float(priced.net_annual_cost_rate),
        rate_note_zh=f"1年期LPR {float(lpr) * 100:.2f}%（报价日 {today.isoformat()}）",
        repayment_method_zh=REPAYMENT_LABELS.get(priced.repayment, priced.repayment),
        schedule=schedule,
        interest_rate_demo=product.rate_demo,
        guarantee_fee_demo=product.guarantee_fee_demo,
    )


def build_context(
    session: Session, referral: Referral, *, base_url: str = ""
) -> packets.PacketContext:
    """Build the packet context of a referral from the database (plain data for the renderer)."""
    application = referral.application
    enterprise = application.enterprise
    version = referral.product_version
    today = (referral.sent_at or utcnow()).astimezone(SHANGHAI).date()
    match = session.scalar(
        select(Match).where(
            Match.application_id == application.id, Match.product_version_id == version.id
        )
    )
    conditions = [
        packets.EligibilityCondition(
            field=_field_label(str(c.get("field", ""))),
            result=c.get("result", "unknown"),
            message_zh=c.get("message_zh", ""),
            demo=bool(c.get("demo", False)),
        )
        for c in (match.conditions if match is not None else [])
    ]
    if match is not None and match.overridden:
        conditions.append(
            packets.EligibilityCondition(
                field="顾问调整",
                result="passed" if match.eligible else "failed",
                message_zh=f"顾问调整了匹配结果：{match.override_reason or ''}",
            )
        )
    score = session.scalar(
        select(CreditScore)
        .where(CreditScore.application_id == application.id)
        .order_by(CreditScore.id.desc())
        .limit(1)
    )
    model = session.get(ModelVersion, score.model_version_id) if score is not None else None
    consent = consents.require_packet_access(session, referral)
    advisor = session.get(User, referral.created_by_id) if referral.created_by_id else None
    code = referral.verification_code or ""
    return packets.PacketContext(
        packet_number=referral.packet_number or packet_number_for(referral),
        verification_code=code,
        bank_name=referral.bank.name_zh,
        product_name=version.product.name_zh,
        product_code=version.product.code,
        date=today,
        enterprise_name=enterprise.name,
        enterprise_uscc=enterprise.uscc,
        enterprise_profile=profile_rows(enterprise, today),
        request=packets.LoanRequest(
            amount_wan=(application.amount / _WAN).quantize(_CENT, ROUND_HALF_UP),
            term_months=application.term_months,
            purpose=purpose_label(application.purpose),
        ),
        conditions=conditions,
        score=score.score if score is not None else 0,
        grade=score.grade if score is not None else "—",
        pd=float(score.pd) if score is not None else 0.0,
        reasons=[
            packets.Reason(
                feature=str(r.get("feature", "")),
                contribution=float(r.get("contribution", 0.0)),
                text_zh=str(r.get("text_zh", "")),
            )
            for r in (score.reasons if score is not None else [])
        ],
        quote=quote_for(session, referral, today),
        advisor_opinion=referral.advisor_opinion or "—",
        advisor_name=(advisor.display_name or advisor.username) if advisor else "—",
        consent=packets.ConsentRecord(
            bank=referral.bank.name_zh,
            scope=scope_text(consent.scope),
            granted_at=consent.granted_at.astimezone(SHANGHAI).replace(tzinfo=None),
            valid_until=consent.valid_until,
        ),
        model_version=model.version if model is not None else "",
        model_trained_on_synthetic=bool(model.synthetic) if model is not None else False,
        verify_url=f"{(base_url or default_base_url()).rstrip('/')}/verify/{code}",
    )


@job("render_packet")
def render_referral_packet(
    session: Session, *, referral_id: int, base_url: str = "", force: bool = False
) -> dict[str, Any]:
    """Render a referral's packet and store it with its SHA-256 (the ``render_packet`` job).

    Refuses (and audits the refusal) when the enterprise's consent to the bank is no
    longer in force. A second run changes nothing unless ``force``.
    """
    from finportal.services.errors import Forbidden

    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("推荐记录不存在。", "No such referral.")
    if referral.packet_sha256 and not force:
        return {"skipped": "already rendered", "sha256": referral.packet_sha256}
    try:
        ctx = build_context(session, referral, base_url=base_url)
    except Forbidden:
        record_event(
            session,
            actor_id=None,
            action="referral.packet_refused",
            object_type="referral",
            object_id=referral.id,
            from_state=referral.state,
            to_state=referral.state,
            reason="企业已撤回授权，不生成推荐材料包",
        )
        # Keep the audit event: the job fails afterwards and rolls back what is pending.
        session.commit()
        raise
    job_id = session.scalar(
        select(Job.id)
        .where(
            Job.kind == "render_packet",
            Job.object_type == "referral",
            Job.object_id == referral.id,
        )
        .order_by(Job.created_at.desc())
        .limit(1)
    )
    # End the read before the slow render: on SQLite a read transaction that later writes
    # fails at once ("database is locked") if anyone else wrote meanwhile.
    session.commit()
    pdf = packets.render_packet(ctx)
    digest = packets.sha256_hex(pdf)
    # A plain UPDATE: storing the packet must not race the referral's workflow version
    # (a bank may open the referral while the packet renders). Guarded, so a packet
    # rendered twice at once (a retried job racing the first) is stored once.
    stored = session.execute(
        update(Referral)
        .where(Referral.id == referral.id, *([] if force else [Referral.packet_sha256.is_(None)]))
        .values(
            packet_pdf=pdf,
            packet_sha256=digest,
            packet_rendered_at=utcnow(),
            packet_number=ctx.packet_number,
            packet_job_id=job_id,
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(referral)
    if not stored.rowcount:
        return {"skipped": "already rendered", "sha256": referral.packet_sha256}
    record_event(
        session,
        actor_id=None,
        action="referral.packet_rendered",
        object_type="referral",
        object_id=referral_id,
        data={"sha256": digest, "bytes": len(pdf), "packet_number": ctx.packet_number},
    )
    return {"sha256": digest, "bytes": len(pdf)}


def request_render(
    session: Session, referral: Referral, *, actor_id: int | None, base_url: str = ""
) -> Job:
    """Queue the packet of a referral for rendering (commits; the job runs in the background)."""
    from finportal import jobs

    return jobs.enqueue(
        session,
        "render_packet",
        actor_id=actor_id,
        object_type="referral",
        object_id=referral.id,
        referral_id=referral.id,
        base_url=base_url,
    )


@dataclass(frozen=True)
class PacketStatus:
    """Whether a referral's packet is ready, being rendered or failed (with why)."""

    state: str  # ready | pending | failed
    message: str = ""


def packet_status(session: Session, referral: Referral) -> PacketStatus:
    """Tell whether the referral's packet is ready, still rendering, or failed."""
    if referral.packet_sha256:
        return PacketStatus("ready")
    last = session.scalar(
        select(Job)
        .where(
            Job.kind == "render_packet", Job.object_type == "referral", Job.object_id == referral.id
        )
        .order_by(Job.created_at.desc())
        .limit(1)
    )
    if last is not None and last.state == "failed":
        return PacketStatus("failed", last.message)
    return PacketStatus("pending")


@dataclass(frozen=True)
class VerifiedPacket:
    """What the public verification page shows of a packet."""

    packet_number: str
    sha256: str
    bank_name: str
    product_name: str
    enterprise_name: str
    rendered_at: dt.datetime | None
    sent_on: dt.date


def mask_name(name: str) -> str:
    """Hide the middle of an enterprise name on public pages (上海㐀明****有限公司)."""
    if len(name) <= 6:
        return name[:1] + "*" * (len(name) - 1)
    keep_head, keep_tail = 4, 4
    return name[:keep_head] + "*" * max(2, len(name) - keep_head - keep_tail) + name[-keep_tail:]


def _referral_by_code(session: Session, code: str) -> Referral:
    code = (code or "").strip().upper()
    referral = (
        session.scalar(select(Referral).where(Referral.verification_code == code)) if code else None
    )
    if referral is None or not referral.packet_sha256:
        raise NotFound(
            "未找到该验证码对应的推荐材料包。", "No referral packet has this verification code."
        )
    return referral


def verify_packet(session: Session, code: str) -> VerifiedPacket:
    """Return the public facts of the packet with this verification code."""
    referral = _referral_by_code(session, code)
    return VerifiedPacket(
        packet_number=referral.packet_number or "",
        sha256=referral.packet_sha256,
        bank_name=referral.bank.name_zh,
        product_name=referral.product_version.product.name_zh,
        enterprise_name=mask_name(referral.application.enterprise.name),
        rendered_at=referral.packet_rendered_at,
        sent_on=referral.sent_at.astimezone(SHANGHAI).date(),
    )


@dataclass(frozen=True)
class FileCheck:
    """Whether a file is the original packet, one recorded bank download of it, or neither."""

    sha256: str
    matches: str  # original | download | none
    bank_name: str = ""
    downloaded_at: dt.datetime | None = None
    serial: int | None = None


_HEX = set("0123456789abcdef")


def check_file(session: Session, code: str, sha256: str, *, original: str = "") -> FileCheck:
    """Tell whether ``sha256`` is the packet's original or a recorded (stamped) bank download.

    Every bank download is stamped, so its file differs from the original; its SHA-256 is
    kept in the ``referral.packet_downloaded`` audit event. The answer names the bank and
    the time of the download, never the user. ``original`` is the SHA-256 to compare when
    the code is not a referral's (a batch packet keeps only its original).
    """
    from finportal.models import AuditEvent, Bank
    from finportal.services.errors import ValidationFailed

    digest = (sha256 or "").strip().lower()
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise ValidationFailed(
            "SHA-256 应为 64 位十六进制字符。",
            "A SHA-256 is 64 hexadecimal characters.",
            fields={"sha256": "SHA-256 应为 64 位十六进制字符。"},
        )
    try:
        referral = _referral_by_code(session, code)
    except NotFound:
        if original and digest == original.lower():
            return FileCheck(digest, "original")
        return FileCheck(digest, "none")
    if digest == referral.packet_sha256:
        return FileCheck(digest, "original")
    downloads = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "referral.packet_downloaded",
            AuditEvent.object_type == "referral",
            AuditEvent.object_id == referral.id,
        )
        .order_by(AuditEvent.id)
    )
    for serial, event in enumerate(downloads, start=1):
        data = event.data or {}
        if data.get("stamped_sha256") == digest:
            bank = session.get(Bank, data.get("bank_id") or referral.bank_id)
            return FileCheck(
                digest,
                "download",
                bank_name=bank.name_zh if bank is not None else "",
                downloaded_at=event.at,
                serial=serial,
            )
    return FileCheck(digest, "none")
