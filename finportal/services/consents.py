"""Consents (授权): the one rule for when an enterprise's data may reach a bank.

Every page, packet, job and API that asks "may this bank have this firm's data?" asks here.

- A consent names one enterprise, one bank, a scope of data categories and a last day
  (``valid_until``, inclusive, in Shanghai time).
- It has one subject: the **application** it was given in, the **batch** that asked for
  it, or the demand-board **need** whose claim by that bank it answers. It counts for that
  subject only: a consent given while applying never lets a batch reach the bank, nor the
  other way round. A need's consent lets the claiming bank see the firm behind the need;
  once the firm chooses that bank's claim, it also counts for the application made from
  the need (the one place that says so: :func:`_subject_is_application`).
- It is in force on day D when it is not withdrawn and D is on or before its last day.
- A referral's packet goes to its bank only while the consent recorded on the referral is
  in force and the application was not withdrawn.
- Only a verified enterprise can give a consent (``services/verification.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.domain.states import MEMBER
from finportal.models import (
    Application,
    Bank,
    Batch,
    BatchMember,
    Consent,
    Need,
    Referral,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services.audit import record_event
from finportal.services.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from finportal.services.labels import DEFAULT_SCOPE, scope_text
from finportal.services.workdays import today_local

#: A consent lasts a year unless the enterprise chooses otherwise, and three years at most.
DEFAULT_DAYS = 365
MAX_DAYS = 3 * 365


# --- the rule ------------------------------------------------------------------------------


def standing(record: Any, day: date | None = None) -> bool:
    """Tell whether a grant with ``withdrawn_at`` and an inclusive last day holds on ``day``.

    The one rule for every permission an enterprise gives and may take back: consents to
    banks here, and its authorisations to fetch public data (``services/public_data``).
    """
    if record is None:
        return False
    day = day or today_local()
    return record.withdrawn_at is None and day <= record.valid_until


def standing_clause(model: Any, day: date | None = None) -> ColumnElement[bool]:
    """Return the SQL twin of :func:`standing` for a model with the same two columns."""
    return and_(model.withdrawn_at.is_(None), model.valid_until >= (day or today_local()))


def in_force(consent: Consent | None, day: date | None = None) -> bool:
    """Tell whether the consent lets data reach its bank on ``day`` (today in Shanghai)."""
    return standing(consent, day)


def in_force_clause(day: date | None = None) -> ColumnElement[bool]:
    """Return the SQL twin of :func:`in_force`, for queries over many consents."""
    return standing_clause(Consent, day)


def _subject_is_application(application_id: int) -> ColumnElement[bool]:
    """SQL: the consent's subject is the application, or the need the application was made from.

    (Issue 15, demand board: the firm chose the claim of a bank it had consented to on the
    need; that consent carries over to the application and its referral.)
    """
    # At most one need per application (needs.application_id is unique): a scalar subquery,
    # so that both sides use their index. ``IN (subquery)`` made PostgreSQL scan every
    # consent of the district (30 ms on the application page at scale).
    need = select(Need.id).where(Need.application_id == application_id).scalar_subquery()
    return or_(Consent.application_id == application_id, Consent.need_id == need)


def for_application(
    session: Session, application_id: int, bank_id: int, day: date | None = None
) -> Consent | None:
    """Return the newest consent in force given in the application to the bank, if any."""
    return session.scalar(
        select(Consent)
        .where(
            _subject_is_application(application_id),
            Consent.bank_id == bank_id,
            in_force_clause(day),
        )
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
        .limit(1)
    )


def given_for_application(session: Session, application_id: int) -> list[Consent]:
    """Return every consent that counts for the application (in force or not), oldest first.

    Each with its bank (the application page names it).
    """
    return list(
        session.scalars(
            select(Consent)
            .where(_subject_is_application(application_id))
            .options(joinedload(Consent.bank))
            .order_by(Consent.id)
        )
    )


def banks_for_application(
    session: Session, application_id: int, day: date | None = None
) -> set[int]:
    """Return the ids of the banks the application's consents let data reach on ``day``."""
    return set(
        session.scalars(
            select(Consent.bank_id).where(
                _subject_is_application(application_id), in_force_clause(day)
            )
        )
    )


def banks_in_force(counted: Iterable[Consent], day: date | None = None) -> set[int]:
    """Return :func:`banks_for_application` from the application's consents already read.

    ``counted`` is :func:`given_for_application`'s list (a page that lists them too).
    """
    return {c.bank_id for c in counted if in_force(c, day)}


def for_batch_member(
    session: Session, batch: Batch, enterprise_id: int, day: date | None = None
) -> Consent | None:
    """Return the member's consent in force given for the batch (to the batch's bank), if any."""
    return session.scalar(
        select(Consent)
        .where(
            Consent.batch_id == batch.id,
            Consent.enterprise_id == enterprise_id,
            Consent.bank_id == batch.bank_id,
            in_force_clause(day),
        )
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
        .limit(1)
    )


def batch_consents(session: Session, batch: Batch, day: date | None = None) -> dict[int, Consent]:
    """Return {enterprise id: consent in force} for the batch's members, in one query."""
    found: dict[int, Consent] = {}
    for consent in session.scalars(
        select(Consent)
        .where(
            Consent.batch_id == batch.id,
            Consent.bank_id == batch.bank_id,
            in_force_clause(day),
        )
        .order_by(Consent.granted_at, Consent.id)
    ):
        found[consent.enterprise_id] = consent  # the newest wins
    return found


def members_without_consent(
    session: Session, batch: Batch, members: list[BatchMember], day: date | None = None
) -> list[BatchMember]:
    """Return the members whose data may not reach the batch's bank (no consent in force)."""
    consented = batch_consents(session, batch, day)
    return [m for m in members if m.enterprise_id not in consented]


def for_referral(session: Session, referral: Referral, day: date | None = None) -> Consent | None:
    """Return the consent recorded on the referral when it is still in force.

    The referral was made under one consent; once the enterprise withdraws that consent,
    no packet goes to the bank, even if another consent to it exists.
    """
    if referral.consent_id is None:
        return None
    consent = session.get(Consent, referral.consent_id)
    if consent is None:
        return None
    if consent.application_id != referral.application_id and not (
        consent.need_id is not None
        and session.scalar(select(Need.application_id).where(Need.id == consent.need_id))
        == referral.application_id
    ):
        return None
    return consent if in_force(consent, day) else None


def packet_refusal(session: Session, referral: Referral) -> Forbidden | None:
    """Return why the referral's bank may not have its packet now, or None when it may."""
    if referral.state == "withdrawn" or referral.application.state == "withdrawn":
        return Forbidden(
            "企业已撤回该申请，推荐材料包不再提供。",
            "The enterprise withdrew the application; the packet is no longer available.",
            code="application_withdrawn",
        )
    if for_referral(session, referral) is None:
        return Forbidden(
            "企业已撤回或未授权向该银行提供信息，推荐材料包不予提供。",
            "The enterprise withdrew (or never gave) its consent to share data with this bank; "
            "the packet is refused.",
            code="consent_withdrawn",
        )
    return None


def require_packet_access(session: Session, referral: Referral) -> Consent:
    """Return the referral's consent in force, or raise :class:`Forbidden` saying why not."""
    refusal = packet_refusal(session, referral)
    if refusal is not None:
        raise refusal
    consent = for_referral(session, referral)
    assert consent is not None
    return consent


# --- giving and withdrawing ----------------------------------------------------------------


def partner_banks(session: Session) -> list[Bank]:
    """Return the active partner banks an enterprise can consent to."""
    return list(session.scalars(select(Bank).where(Bank.active.is_(True)).order_by(Bank.id)))


def last_day(valid_until: date | None, today: date, field: str = "consent_valid_until") -> date:
    """Return a grant's last day: a year from today unless chosen, after today, within 3 years."""
    until = valid_until or today + timedelta(days=DEFAULT_DAYS)
    if until <= today or until > today + timedelta(days=MAX_DAYS):
        raise ValidationFailed(
            "授权有效期须晚于今天且不超过3年。",
            "Consent must end after today and within 3 years.",
            fields={
                field: limits.in_user_language(
                    "须晚于今天且不超过3年。", "After today and within 3 years."
                )
            },
        )
    return until


_valid_until = last_day


def _add(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int,
    bank: Bank,
    until: date,
    application_id: int | None = None,
    batch: Batch | None = None,
    need: Need | None = None,
) -> Consent:
    from finportal.services.verification import require_verified

    require_verified(session, enterprise_id)
    consent = Consent(
        enterprise_id=enterprise_id,
        application_id=application_id,
        batch_id=batch.id if batch is not None else None,
        need_id=need.id if need is not None else None,
        bank_id=bank.id,
        scope=list(DEFAULT_SCOPE),
        valid_until=until,
        granted_by_id=actor_id,
    )
    session.add(consent)
    session.flush()
    subject = f"（批次 {batch.code}）" if batch is not None else ""
    if need is not None:
        subject = f"（融资需求 {need.number}）"
    record_event(
        session,
        actor_id=actor_id,
        action="consent.granted",
        object_type="consent",
        object_id=consent.id,
        to_state="granted",
        reason=f"授权{bank.name_zh}查看企业信息{subject}，有效期至 {until.isoformat()}",
        data={
            "application_id": application_id,
            "batch_id": consent.batch_id,
            "need_id": consent.need_id,
            "bank_id": bank.id,
            "scope": list(DEFAULT_SCOPE),
            "valid_until": until.isoformat(),
        },
    )
    return consent


def grant_for_application(
    session: Session,
    *,
    actor_id: int | None,
    application: Application,
    bank_ids: list[int],
    valid_until: date | None,
) -> list[Consent]:
    """Add a consent in the application per chosen active bank (validated); the caller commits."""
    banks = {b.id: b for b in partner_banks(session)}
    if any(i not in banks for i in bank_ids):
        raise ValidationFailed(
            "所选银行不存在。", "Unknown bank.", fields={"consent_bank_ids": "所选银行不存在。"}
        )
    if not bank_ids:
        return []
    until = _valid_until(valid_until, today_local())
    already = banks_for_application(session, application.id)
    return [
        _add(
            session,
            actor_id=actor_id,
            enterprise_id=application.enterprise_id,
            bank=banks[bank_id],
            until=until,
            application_id=application.id,
        )
        for bank_id in dict.fromkeys(bank_ids)
        if bank_id not in already
    ]


def grant_for_batch(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    batch_id: int,
    valid_until: date | None = None,
) -> Consent:
    """Consent to the batch's bank receiving the member's data for that batch (commits)."""
    request = _batch_request(session, enterprise_id, batch_id)
    if request.consent is not None:
        raise InvalidTransition("已授权该批次。", "Consent for this batch is already given.")
    consent = _add(
        session,
        actor_id=actor_id,
        enterprise_id=request.member.enterprise_id,
        bank=request.batch.bank,
        until=_valid_until(valid_until, today_local()),
        batch=request.batch,
    )
    session.commit()
    return consent


# --- demand-board needs (issue 15) ---------------------------------------------------------


def for_need(
    session: Session, need_id: int, bank_id: int, day: date | None = None
) -> Consent | None:
    """Return the newest consent in force given on the need to the bank, if any."""
    return session.scalar(
        select(Consent)
        .where(Consent.need_id == need_id, Consent.bank_id == bank_id, in_force_clause(day))
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
        .limit(1)
    )


def needs_revealed_to(
    session: Session, need_ids: list[int], bank_id: int, day: date | None = None
) -> set[int]:
    """Return which of the needs the bank may see the firm of (a consent in force), in one query."""
    if not need_ids:
        return set()
    return set(
        session.scalars(
            select(Consent.need_id).where(
                Consent.need_id.in_(need_ids), Consent.bank_id == bank_id, in_force_clause(day)
            )
        )
    )


def grant_for_need(
    session: Session, *, actor_id: int | None, need: Need, bank: Bank, valid_until: date | None
) -> Consent:
    """Consent to the bank that claimed the need seeing the firm (validated; the caller commits)."""
    if for_need(session, need.id, bank.id) is not None:
        raise InvalidTransition("已授权该银行。", "Consent to this bank is already given.")
    return _add(
        session,
        actor_id=actor_id,
        enterprise_id=need.enterprise_id,
        bank=bank,
        until=_valid_until(valid_until, today_local()),
        need=need,
    )


def withdraw(
    session: Session, *, actor_id: int | None, enterprise_id: int | None, consent_id: int
) -> Consent:
    """Withdraw a consent: from now on no packet under it goes to the bank (commits)."""
    consent = session.get(Consent, consent_id)
    if consent is None or enterprise_id is None or consent.enterprise_id != enterprise_id:
        raise NotFound.of("consent")
    if consent.withdrawn_at is not None:
        raise InvalidTransition("该授权已撤回。", "This consent is already withdrawn.")
    consent.withdrawn_at = utcnow()
    record_event(
        session,
        actor_id=actor_id,
        action="consent.withdrawn",
        object_type="consent",
        object_id=consent.id,
        from_state="granted",
        to_state="withdrawn",
        reason=f"撤回对{consent.bank.name_zh}的授权",
        data={
            "application_id": consent.application_id,
            "batch_id": consent.batch_id,
            "need_id": consent.need_id,
            "bank_id": consent.bank_id,
        },
    )
    session.commit()
    return consent


# --- what the enterprise sees --------------------------------------------------------------


@dataclass(frozen=True)
class BatchRequest:
    """A batch that asks the enterprise for consent to its bank, and the answer so far."""

    batch: Batch
    member: BatchMember
    consent: Consent | None


#: Member states in which the batch still needs (or uses) the member's consent.
_ASKING_STATES = MEMBER.tagged("needs_consent")


def batch_requests(session: Session, enterprise_id: int | None) -> list[BatchRequest]:
    """Return the batches the enterprise was recommended into, with its consent to each."""
    if enterprise_id is None:
        return []
    members = list(
        session.scalars(
            select(BatchMember)
            .where(
                BatchMember.enterprise_id == enterprise_id,
                BatchMember.state.in_(_ASKING_STATES),
            )
            .order_by(BatchMember.id)
        )
    )
    return [
        BatchRequest(m.batch, m, for_batch_member(session, m.batch, enterprise_id)) for m in members
    ]


def _batch_request(session: Session, enterprise_id: int | None, batch_id: int) -> BatchRequest:
    for request in batch_requests(session, enterprise_id):
        if request.batch.id == batch_id:
            return request
    raise NotFound("没有该批次的授权请求。", "No consent request from this batch.")


def consents_page(session: Session, enterprise_id: int | None, page: int) -> Page:
    """Return one page of the enterprise's consents, newest first, with what
    :func:`describe` reads of each (bank, batch, need), and their count."""
    firm = Consent.enterprise_id == enterprise_id if enterprise_id is not None else false()
    return paginate(
        session,
        select(Consent).where(firm).order_by(Consent.granted_at.desc(), Consent.id.desc()),
        page=page,
        per_page=limits.PAGE_SIZE,
        options=(joinedload(Consent.bank), joinedload(Consent.batch), joinedload(Consent.need)),
    )


def describe(consent: Consent, day: date | None = None) -> dict[str, Any]:
    """Describe a consent for pages and packets: bank, subject, scope, dates, in force."""
    if consent.batch_id is not None:
        code = consent.batch.code if consent.batch else ""
        subject = limits.in_user_language(f"批次 {code}".strip(), f"Batch {code}".strip())
    elif consent.need_id is not None:
        number = consent.need.number if consent.need is not None else ""
        subject = limits.in_user_language(f"融资需求 {number}", f"Need {number}")
    elif consent.application_id is not None:
        subject = limits.in_user_language(
            f"申请 #{consent.application_id}", f"Application #{consent.application_id}"
        )
    else:
        subject = limits.in_user_language("全企业（已停用）", "Whole enterprise (no longer used)")
    return {
        "id": consent.id,
        "bank": consent.bank.name_zh,
        "bank_en": consent.bank.name_en,
        "subject": subject,
        "scope": scope_text(consent.scope),
        "granted_at": consent.granted_at,
        "valid_until": consent.valid_until,
        "withdrawn_at": consent.withdrawn_at,
        "in_force": in_force(consent, day),
    }
