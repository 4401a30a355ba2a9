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

import base64
import datetime as dt
import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

import products
from finportal import money, packets
from finportal.domain import fields as profile_fields
from finportal.models import (
    Application,
    Batch,
    BatchMember,
    Chamber,
    Consent,
    CreditScore,
    Enterprise,
    Match,
    ModelVersion,
    Park,
    Referral,
    User,
    utcnow,
)
from finportal.services import batches, consents, consistency, documents
from finportal.services import catalog as catalog_service
from finportal.services.errors import Forbidden
from finportal.services.labels import purpose_label, scope_text
from finportal.services.profiles import (
    enterprise_profiles,
    submitted_memberships,
    submitted_profile,
    submitted_verified,
)
from finportal.services.public_data import facts as verified_facts
from finportal.services.screening import latest_score
from finportal.services.workdays import SHANGHAI
from products.fields import field_specs
from products.pricing import REPAYMENT_LABELS
from products.sizes import SIZE_EN, SIZE_ZH

_CENT = Decimal("0.01")

DEMO_NOTE = "演示数据，以区里规定为准"
BATCH_OPINION = "经园区/商会推荐，已核验批次贷准入条件及企业授权。"


def default_base_url() -> str:
    """Return the portal's public address, printed before ``/verify/<code>`` on packets.

    The app's ``BASE_URL`` (``FINPORTAL_BASE_URL``: required in production;
    ``http://127.0.0.1:5000`` otherwise); outside an app, the environment's. Never a
    request's ``Host`` header: whoever sends the request must not choose the address a
    bank reads on paper.
    """
    if has_app_context() and current_app.config.get("BASE_URL"):
        return str(current_app.config["BASE_URL"])
    return os.environ.get("FINPORTAL_BASE_URL", "http://127.0.0.1:5000")


#: The seal printed when none is configured: a grey placeholder that says it is one.
SEAL_PLACEHOLDER = Path(packets.__file__).parent / "assets" / "seal-placeholder.svg"
_SEAL_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


@functools.cache
def _seal_uri(path: str, mtime: float) -> str:
    data = Path(path).read_bytes()
    media = _SEAL_TYPES[Path(path).suffix.lower()]
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"


def seal_image() -> str:
    """Return the centre's seal as a ``data:`` URI: the app's ``PACKET_SEAL``, else the placeholder."""
    configured = current_app.config.get("PACKET_SEAL") if has_app_context() else ""
    path = Path(configured or SEAL_PLACEHOLDER)
    return _seal_uri(str(path), path.stat().st_mtime)


def verify_url(code: str, base_url: str = "") -> str:
    """Return the public address that checks a packet's verification code."""
    return f"{(base_url or default_base_url()).rstrip('/')}/verify/{code}"


def to_wan(value: Any) -> Decimal:
    """Return a yuan amount in 万元, rounded to two decimals (``finportal.money``)."""
    return money.to_wan(value)


# --- the sections ---------------------------------------------------------------------------


def _wan(value: Any, locale: str = "zh_CN") -> str:
    return money.wan(value, with_unit=True, locale=locale)


def _count(value: Any, unit: str) -> str:
    return "—" if value is None else f"{value} {unit}".strip()


def _yes_no(value: Any, yes: str = "是", no: str = "否") -> str:
    return "—" if value is None else (yes if value else no)


def membership_names(enterprise: Enterprise) -> tuple[list[str], list[str]]:
    """Return the Chinese names of the enterprise's parks and chambers of commerce."""
    parks = [m.park.name_zh for m in enterprise.memberships if m.park is not None]
    chambers = [m.chamber.name_zh for m in enterprise.memberships if m.chamber is not None]
    return parks, chambers


def field_text(spec: profile_fields.ProfileField, value: Any, locale: str = "zh_CN") -> str:
    """Write one profile value as a packet prints it (Chinese, money in 万元), or in English."""
    english = locale.startswith("en")
    if value is None or value == "":
        return "—"
    if spec.kind == "money":
        return _wan(value, locale)
    if spec.kind == "bool":
        return _yes_no(value, "Yes", "No") if english else _yes_no(value)
    if spec.kind == "date":
        return value.isoformat() if english else f"{value.year}年{value.month}月{value.day}日"
    if spec.kind == "count":
        return _count(value, spec.unit_label(locale) or "")
    if spec.kind == "tokens":
        words = [spec.choice_label(v, locale) for v in value]
        return (", ".join(words) or "None") if english else ("、".join(words) or "无")
    if spec.values:
        return spec.choice_label(str(value), locale)
    return str(value)


def profile_rows(
    profile: Mapping[str, Any],
    today: dt.date,
    *,
    parks: Sequence[str] = (),
    chambers: Sequence[str] = (),
    locale: str = "zh_CN",
) -> dict[str, str]:
    """Return the packet's profile rows: 中文 label -> formatted value, money in 万元.

    One row per field the definition shows in packets (``packet`` in fields.yaml), in its
    order, then the figures derived from them (size class, age, growth, debt ratio).
    ``profile`` is a profile dict with the field names of ``products``/``scoring`` (the
    frozen submission, :func:`finportal.services.profiles.submitted_profile`); ``parks``
    and ``chambers`` are the names of the firm's memberships. The one function for every
    packet (referral and batch member) and the advisor's page; packets are Chinese, the
    advisor's page passes the reader's ``locale`` (labels and words in English).
    """
    english = locale.startswith("en")
    rows: dict[str, str] = {}
    names = {"park_codes": parks, "chamber_codes": chambers}
    for spec in profile_fields.fields().values():
        if not spec.packet:
            continue
        label = spec.label(locale)
        if spec.name in names:
            listed = names[spec.name]
            rows[label] = (", ".join(listed) or "None") if english else ("、".join(listed) or "无")
        else:
            rows[label] = field_text(spec, profile.get(spec.name), locale)
    derived = products.derive_fields(
        {name: profile.get(name) for name in profile_fields.fields() if name in profile},
        today,
    )
    sizes = SIZE_EN if english else SIZE_ZH
    for name, text in (
        ("size_class", sizes.get(derived.get("size_class") or "", "—")),
        ("firm_age_years", _count(derived.get("firm_age_years"), "years" if english else "年")),
        ("revenue_growth", _percent(derived.get("revenue_growth"))),
        ("debt_ratio", _percent(derived.get("debt_ratio"))),
    ):
        spec = field_specs()[name]
        label = spec.label_en[:1].upper() + spec.label_en[1:] if english else spec.label_zh
        rows[label] = text
    return rows


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def application_profile_rows(
    application: Application, today: dt.date, locale: str = "zh_CN"
) -> dict[str, str]:
    """Return :func:`profile_rows` of the profile an application was submitted with."""
    names = submitted_memberships(application)
    if locale.startswith("en"):
        # The snapshot keeps the Chinese names; show an organisation's English name if it has one.
        session = object_session(application)
        english = (
            {
                zh: en
                for model in (Park, Chamber)
                for zh, en in session.execute(select(model.name_zh, model.name_en))
                if en
            }
            if session is not None
            else {}
        )
        names = {key: [english.get(n, n) for n in listed] for key, listed in names.items()}
    return profile_rows(
        submitted_profile(application),
        today,
        parks=names["parks"],
        chambers=names["chambers"],
        locale=locale,
    )


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
    product: products.Product,
    amount: Decimal,
    term_months: int,
    lpr: Decimal,
    day: dt.date,
    cost_rank: tuple[int, int] | None = None,
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
        net_annual_rate=float(priced.effective_annual_cost_rate),
        net_cost_total_yuan=priced.net_cost,
        cost_rank_zh=(
            f"在本申请符合条件的 {cost_rank[1]} 个产品中，按年化综合成本排第 {cost_rank[0]} 位"
            if cost_rank is not None
            else ""
        ),
        rate_note_zh=(
            f"1年期LPR {float(lpr) * 100:.2f}%（报价日 {day.isoformat()}），以银行审批为准"
        ),
        repayment_method_zh=REPAYMENT_LABELS.get(priced.repayment, (priced.repayment,))[0],
        schedule=schedule,
        interest_rate_demo=product.rate_demo,
        guarantee_fee_demo=product.guarantee_fee_demo,
    )


def consent_record(bank_name: str, consent: Consent) -> packets.ConsentRecord:
    """Return the packet's consent section: the consent the packet is rendered under."""
    return packets.ConsentRecord(
        bank=bank_name,
        scope=scope_text(consent.scope, "zh_CN"),
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
    return latest_enterprise_scores(session, [enterprise_id]).get(enterprise_id)


def latest_enterprise_scores(
    session: Session, enterprise_ids: Sequence[int]
) -> dict[int, CreditScore]:
    """Return {enterprise id: newest credit score of its applications} in one statement."""
    if not enterprise_ids:
        return {}
    latest: dict[int, CreditScore] = {}
    for enterprise_id, score in session.execute(
        select(Application.enterprise_id, CreditScore)
        .join(Application, Application.id == CreditScore.application_id)
        .where(Application.enterprise_id.in_(sorted(set(enterprise_ids))))
        .order_by(Application.enterprise_id, CreditScore.scored_at, CreditScore.id)
    ):
        latest[enterprise_id] = score  # the newest wins
    return latest


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
    #: (rank, of how many eligible products) in the application's one cost ranking.
    cost_rank: tuple[int, int] | None = None
    #: Consistency flags for the bank (services/consistency.py).
    flags: Sequence[Any] = ()
    #: The documents that go to the bank with the packet (services/documents.for_referral).
    documents: Sequence[packets.AttachedDocument] = ()
    #: Verified facts behind the profile, as kept with the submission (issue 14).
    verified: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Declared values the firm's profile documents back, where none is verified (issue 14).
    backed: Sequence[verified_facts.Backing] = ()


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
    score = latest_score(session, application.id)
    # The profile as submitted: what the advisor reviewed is what the bank receives.
    names = submitted_memberships(application)
    profile = submitted_profile(application)
    verified = submitted_verified(application)
    return PacketFacts(
        packet_number=referral.packet_number or packet_number_for(referral),
        date=today,
        bank_name=referral.bank.name_zh,
        product=catalog_service.product_of(version),
        product_version_id=version.id,
        enterprise_name=enterprise.name,
        enterprise_uscc=enterprise.uscc,
        profile=profile,
        parks=names["parks"],
        chambers=names["chambers"],
        amount=Decimal(application.amount),
        term_months=application.term_months,
        purpose=purpose_label(application.purpose, "zh_CN"),
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
        cost_rank=_cost_rank(session, application.id, match),
        flags=consistency.application_flags(session, application),
        documents=documents.packet_list(session, referral),
        verified=verified,
        backed=_backed(session, enterprise.id, profile, verified),
    )


def _backed(
    session: Session,
    enterprise_id: int,
    profile: Mapping[str, Any],
    verified: Mapping[str, Mapping[str, Any]],
) -> list[verified_facts.Backing]:
    """Return the profile's values that documents back and no verified fact covers."""
    covered = verified_facts.by_field(verified_facts.rows(verified))
    return list(verified_facts.backed(session, enterprise_id, profile, covered).values())


def _cost_rank(
    session: Session, application_id: int, match: Match | None
) -> tuple[int, int] | None:
    """Return the product's place in the application's stored cost ranking, and of how many."""
    if match is None or match.rank is None:
        return None
    ranked = session.scalar(
        select(func.count())
        .select_from(Match)
        .where(Match.application_id == application_id, Match.rank.is_not(None))
    )
    return (match.rank, int(ranked or 0))


def member_facts(session: Session, member: BatchMember, index: int, today: dt.date) -> PacketFacts:
    """Look up what a batch member's packet says (refused without consent to the bank)."""
    return batch_member_facts(session, member.batch, [member], today, first_index=index)[0]


def batch_member_facts(
    session: Session,
    batch: Batch,
    members: Sequence[BatchMember],
    today: dt.date,
    *,
    first_index: int = 1,
) -> list[PacketFacts]:
    """Look up what the packets of a batch's members say, numbered from ``first_index``.

    The members' firms, profiles, verified facts, documents, scores and consents are read
    together: a fixed number of statements, however many members. Refused when a member
    has no consent in force to the batch's bank.
    """
    members = list(members)
    standing = consents.batch_consents(session, batch, today)
    for member in members:
        if member.enterprise_id not in standing:
            raise Forbidden(
                f"{member.enterprise.name}已撤回或未授权向该银行提供信息，材料包不予提供。",
                "A member has no standing consent to this bank; the packet is refused.",
                code="consent_withdrawn",
            )
    version = batch.product_version or batches.batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    firms = {
        e.id: e
        for e in session.scalars(
            select(Enterprise).where(Enterprise.id.in_(sorted({m.enterprise_id for m in members})))
        )
    }
    live = enterprise_profiles(session, firms.values())
    snapshots = verified_facts.snapshots(session, firms.values())
    unscored = [m.enterprise_id for m in members if not (m.check_result or {}).get("score")]
    stored = latest_enterprise_scores(session, unscored)
    models = {s.model_version_id for s in stored.values()}
    if models:  # the scores' model versions, read together (score_facts finds them loaded)
        session.scalars(select(ModelVersion).where(ModelVersion.id.in_(sorted(models)))).all()
    backings = verified_facts.backed_of_many(
        session,
        {
            firm_id: (
                live[firm_id],
                verified_facts.by_field(verified_facts.rows(snapshots[firm_id])),
            )
            for firm_id in firms
        },
    )
    common = {
        "date": today,
        "bank_name": batch.bank.name_zh,
        "product": catalog_service.product_of(version),
        "product_version_id": version.id,
        "term_months": batches.DEFAULT_TERM_MONTHS,
        "override": None,
        "lpr": catalog_service.current_lpr(session, today),
        "advisor_name": _user_name(session, batch.created_by_id),
    }
    organiser = batches.organiser_name(batch)
    out = []
    for index, member in enumerate(members, first_index):
        check = member.check_result or {}
        enterprise = firms[member.enterprise_id]
        parks, chambers = membership_names(enterprise)
        profile = live[enterprise.id]
        out.append(
            PacketFacts(
                packet_number=member_packet_number(batch.code, index),
                enterprise_name=enterprise.name,
                enterprise_uscc=enterprise.uscc,
                profile=profile,
                parks=parks,
                chambers=chambers,
                amount=Decimal(
                    member.approved_amount or member.requested_amount or batch.per_firm_cap
                ),
                purpose=f"{organiser}批次推荐" + (f"：{member.note}" if member.note else ""),
                conditions=list(check.get("conditions") or []),
                score=check.get("score") or score_facts(session, stored.get(enterprise.id)),
                advisor_opinion=member.note or BATCH_OPINION,
                consent=standing[enterprise.id],
                # A member has no application: only its own figures are checked (no statement).
                flags=consistency.figure_flags(profile),
                verified=snapshots[enterprise.id],
                backed=list(backings[enterprise.id].values()),
                **common,
            )
        )
    return out


# --- the context -------------------------------------------------------------------------


def assemble(
    facts: PacketFacts, *, verification_code: str = "", base_url: str = ""
) -> packets.PacketContext:
    """Return the renderer's ``PacketContext`` for the facts, with a verification code."""
    score = facts.score
    verified = verified_facts.rows(facts.verified)
    return packets.PacketContext(
        packet_number=facts.packet_number,
        verification_code=verification_code,
        bank_name=facts.bank_name,
        product_name=facts.product.name_zh,
        product_code=facts.product.code,
        date=facts.date,
        enterprise_name=facts.enterprise_name,
        enterprise_uscc=facts.enterprise_uscc,
        enterprise_profile=verified_facts.mark_rows(
            profile_rows(facts.profile, facts.date, parks=facts.parks, chambers=facts.chambers),
            verified,
            backed=facts.backed,
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
        quote=quote_section(
            facts.product, facts.amount, facts.term_months, facts.lpr, facts.date, facts.cost_rank
        ),
        advisor_opinion=facts.advisor_opinion,
        advisor_name=facts.advisor_name,
        consent=consent_record(facts.bank_name, facts.consent),
        model_version=str(score.get("model_version", "")) if score else "",
        model_trained_on_synthetic=bool(score.get("synthetic")) if score else False,
        verify_url=verify_url(verification_code, base_url) if verification_code else "",
        consistency_flags=[
            packets.ConsistencyFlag(
                rule=f.rule,
                title_zh=f.title_zh,
                why_zh=f.why_zh,
                rows=[(r.label_zh, r.before_zh, r.after_zh) for r in f.rows],
            )
            for f in facts.flags
        ],
        documents=facts.documents,
        verified_facts=[
            packets.VerifiedFactRow(
                label=r.label_zh,
                value=r.value_zh,
                source=r.provider_zh,
                as_of=r.as_of,
                declared=r.declared_zh,
            )
            for r in verified
        ]
        + [
            packets.VerifiedFactRow(
                label=profile_fields.field(b.field).label("zh_CN"),
                value=b.value_zh,
                source=b.provenance_zh,
                as_of=b.uploaded_on,
                mark="",
            )
            for b in facts.backed
        ],
        seal_image=seal_image(),
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
