"""What an advisor does with an application: claim, return, reject, override a match, note, refer, re-match.

Every action takes the version the advisor saw (optimistic locking), commits, and is audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import limits
from finportal.domain import fields as profile_fields
from finportal.domain.states import APPLICATION, current_locale
from finportal.domain.states import ApplicationState as A
from finportal.models import (
    Application,
    ApplicationNote,
    Bank,
    Match,
    Referral,
    User,
    utcnow,
)
from finportal.services import consents as consent_service
from finportal.services import documents, renewals, workflow
from finportal.services import packets as packet_service
from finportal.services.audit import record_event
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.lifecycle import transition
from finportal.services.queue import application_overdue
from finportal.services.referrals import (
    BANK_RESPONSE_WORKING_DAYS,
    CLOSED,
)
from finportal.services.review import get_application
from finportal.services.verification import is_verified
from finportal.services.workdays import deadline
from products.fields import field_specs

#: Why the centre rejects an application.
REJECT_REASONS = {
    "not_eligible": ("不符合任何产品的准入条件", "Not eligible for any product"),
    "serious_bad_credit": ("存在严重失信记录", "Serious bad credit on record"),
    "high_risk": ("信用风险过高", "Credit risk too high"),
    "incomplete": ("资料不全且无法补充", "Information incomplete and cannot be completed"),
    "outside_district": ("不在本区服务范围", "Outside the district's service area"),
    "duplicate": ("重复申请", "Duplicate application"),
    "other": ("其他原因", "Other reason"),
}

#: Fields the advisor can ask the SME to fix when returning an application: the request's,
#: and the profile fields the definition lets an advisor ask about (``ask`` in fields.yaml).
RETURN_FIELDS = (
    "amount",
    "term_months",
    "purpose",
    *profile_fields.names(ask=True),
    "consent",
)
CONSENT_LABEL = ("银行授权", "Consent to banks")


def return_fields() -> dict[str, str]:
    """Return the fields an advisor may ask about, labelled in the user's language."""
    english = current_locale().startswith("en")
    out = {}
    for name in RETURN_FIELDS:
        if name == "consent":
            out[name] = CONSENT_LABEL[1] if english else CONSENT_LABEL[0]
        elif name in profile_fields.fields():
            out[name] = profile_fields.label(name)
        else:
            spec = field_specs()[name]
            out[name] = spec.label_en[:1].upper() + spec.label_en[1:] if english else spec.label_zh
    return out


def _load_for_action(
    session: Session, application_id: int, lock_version: int | None
) -> Application:
    application = get_application(session, application_id)
    if lock_version is not None and application.lock_version != lock_version:
        raise Conflict(
            "该申请已被其他顾问处理，您看到的不是最新状态；请刷新页面查看后再操作。",
            "Another advisor acted on this application first; reload the page and try again.",
        )
    return application


def _commit(session: Session) -> None:
    """Commit; a concurrent change of the same application becomes a clear Conflict."""
    workflow.commit_or_conflict(
        session,
        "另一位顾问刚刚处理了该申请，您的操作未保存；请刷新页面查看最新状态。",
        "Another advisor changed this application at the same moment; nothing was saved.",
    )


def _touch(application: Application) -> None:
    # Any change below the application (a match, a note) bumps its version too, so two
    # advisors acting at once always collide on the application row.
    application.updated_at = utcnow()


def claim(
    session: Session, application_id: int, *, actor_id: int, lock_version: int | None = None
) -> Application:
    """Take a screened application into review (the advisor's first response); commits."""
    application = _load_for_action(session, application_id, lock_version)
    if application.state == "in_review":
        if application.assigned_advisor_id == actor_id:
            return application
        holder = session.get(User, application.assigned_advisor_id or -1)
        raise Conflict(
            f"该申请已由{(holder.display_name or holder.username) if holder else '其他顾问'}认领。",
            "Another advisor has already claimed this application.",
        )
    now = utcnow()
    transition(
        session,
        application,
        "in_review",
        by="advisor",
        actor_id=actor_id,
        reason="顾问已受理",
        data={"overdue": application_overdue(application, now)},
    )
    application.assigned_advisor_id = actor_id
    if application.first_response_at is None:
        application.first_response_at = now
    _commit(session)
    return application


def _require_in_review(application: Application, what_zh: str) -> None:
    if application.state != "in_review":
        raise InvalidTransition(
            f"申请当前状态为“{APPLICATION.title(application.state, 'zh_CN')}”，"
            f"请先认领后再{what_zh}。",
            f"An application that is {APPLICATION.title(application.state, 'en').lower()} "
            "cannot be acted on; claim it first.",
        )


def return_for_information(
    session: Session,
    application_id: int,
    *,
    actor_id: int,
    message: str,
    fields: Iterable[str] = (),
    lock_version: int | None = None,
    document_kinds: Iterable[str] = (),
) -> Application:
    """Send the application back to the SME for information (in words, fields and documents).

    ``document_kinds`` names the documents the firm must upload (services/documents.KINDS);
    the advisor's clock stands still until the firm resubmits (services/deadlines.py).
    """
    application = _load_for_action(session, application_id, lock_version)
    errors: dict[str, str] = {}
    try:
        message = limits.check_text(message, "reason")
    except limits.LimitError as exc:
        errors["message"] = exc.message()
    else:
        if not message:
            errors["message"] = limits.in_user_language(
                "请写明需要企业补充的内容。", "Write what the enterprise needs to add."
            )
    wanted = [f for f in dict.fromkeys(fields) if f]
    unknown = [f for f in wanted if f not in RETURN_FIELDS]
    if unknown:
        listed = [f[:40] for f in unknown[:10]]
        errors["fields"] = limits.in_user_language(
            "未知的字段：" + "、".join(listed), "Unknown fields: " + ", ".join(listed)
        )
    try:
        kinds = documents.valid_kinds(list(document_kinds))
    except ValidationFailed as exc:
        errors.update(exc.fields)
        kinds = []
    if errors:
        raise ValidationFailed("退回内容有误。", "The return request is not valid.", fields=errors)
    _require_in_review(application, "退回")
    application.return_request = {"message": message, "fields": wanted, "documents": kinds}
    transition(
        session,
        application,
        "returned",
        by="advisor",
        actor_id=actor_id,
        reason=message,
        data={"fields": wanted, "documents": kinds},
    )
    _commit(session)
    return application


def check_rejection(
    session: Session,
    application_id: int,
    *,
    reason_code: str,
    reason_text: str = "",
    lock_version: int | None = None,
) -> tuple[Application, str]:
    """Refuse a rejection that :func:`reject` would refuse; return the application and text.

    The confirmation step (不予推荐 asks "are you sure?") runs it before asking, so the
    advisor confirms only what would go through.
    """
    application = _load_for_action(session, application_id, lock_version)
    errors: dict[str, str] = {}
    if reason_code not in REJECT_REASONS:
        errors["reason_code"] = limits.in_user_language(
            "请选择不予推荐的原因。", "Choose why the application is rejected."
        )
    try:
        reason_text = limits.check_text(reason_text, "reason")
    except limits.LimitError as exc:
        errors["reason_text"] = exc.message()
    else:
        if not reason_text:
            errors["reason_text"] = limits.in_user_language(
                "请写明原因，企业会看到这段说明。", "Write the reason; the enterprise will read it."
            )
    if errors:
        raise ValidationFailed("不予推荐的原因有误。", "The rejection is not valid.", fields=errors)
    _require_in_review(application, "作出决定")
    return application, reason_text


def reject(
    session: Session,
    application_id: int,
    *,
    actor_id: int,
    reason_code: str,
    reason_text: str = "",
    lock_version: int | None = None,
) -> Application:
    """Reject the application with a reason code and text; commits."""
    application, reason_text = check_rejection(
        session,
        application_id,
        reason_code=reason_code,
        reason_text=reason_text,
        lock_version=lock_version,
    )
    application.reject_reason_code = reason_code
    application.reject_reason_text = reason_text
    transition(
        session,
        application,
        "rejected",
        by="advisor",
        actor_id=actor_id,
        reason=f"{REJECT_REASONS[reason_code][0]}：{reason_text}",
        data={"reason_code": reason_code},
    )
    _commit(session)
    return application


def override_match(
    session: Session,
    application_id: int,
    match_id: int,
    *,
    actor_id: int,
    eligible: bool,
    reason: str,
    lock_version: int | None = None,
) -> Match:
    """Override a computed match (eligible or not) with a written reason, audited; commits."""
    application = _load_for_action(session, application_id, lock_version)
    match = session.get(Match, match_id) if limits.check_id(match_id) else None
    if match is None or match.application_id != application.id:
        raise NotFound.of("match")
    reason = limits.valid_text(reason, "reason", "reason")
    if len(reason) < 4:
        raise ValidationFailed(
            "调整匹配结果须写明理由（至少 4 个字）。",
            "An override needs a written reason.",
            fields={
                "reason": limits.in_user_language(
                    "请写明调整理由（至少 4 个字）。", "Write the reason (at least 4 characters)."
                )
            },
        )
    _require_in_review(application, "调整匹配结果")
    before = match.eligible
    match.eligible = bool(eligible)
    match.overridden = True
    match.override_reason = reason
    match.override_by_id = actor_id
    _touch(application)
    record_event(
        session,
        actor_id=actor_id,
        action="match.overridden",
        object_type="match",
        object_id=match.id,
        from_state="eligible" if before else "not_eligible",
        to_state="eligible" if eligible else "not_eligible",
        reason=reason,
        data={"application_id": application.id, "product_version_id": match.product_version_id},
    )
    _commit(session)
    return match


def add_note(session: Session, application_id: int, *, actor_id: int, body: str) -> ApplicationNote:
    """Add an advisor's note to an application; commits."""
    application = get_application(session, application_id)
    body = limits.valid_text(body, "note", "body")
    if not body:
        raise ValidationFailed(
            "备注不能为空。",
            "A note cannot be empty.",
            fields={"body": limits.in_user_language("请填写备注。", "Write the note.")},
        )
    note = ApplicationNote(application_id=application.id, author_id=actor_id, body=body)
    session.add(note)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="application.note_added",
        object_type="application",
        object_id=application.id,
        data={"note_id": note.id},
    )
    session.commit()
    return note


@dataclass(frozen=True)
class ReferralRequest:
    """One referral the advisor asks for: a bank and the product version for it."""

    bank_id: int
    product_version_id: int


def refer_to_banks(
    session: Session,
    application_id: int,
    *,
    actor_id: int,
    referrals: Sequence[ReferralRequest | tuple[int, int]],
    opinion: str,
    lock_version: int | None = None,
    base_url: str = "",
    render: bool = True,
    by: str = "advisor",
) -> list[Referral]:
    """Refer the application to one or more banks, each for a chosen product; commits.

    Only banks the enterprise consented to (consent in force) and products it matched
    (eligible, or overridden to eligible) are accepted; one open referral per bank.
    Each referral's packet is rendered afterwards by the ``render_packet`` job. ``by`` is
    the role taking the step (``sme`` when the firm chose a bank's claim of its need).
    """
    application = _load_for_action(session, application_id, lock_version)
    wanted = [r if isinstance(r, ReferralRequest) else ReferralRequest(*r) for r in referrals]
    errors: dict[str, str] = {}
    try:
        opinion = limits.check_text(opinion, "reason")
    except limits.LimitError as exc:
        errors["opinion"] = exc.message()
    if not wanted:
        errors["banks"] = limits.in_user_language(
            "请至少选择一家银行。", "Choose at least one bank."
        )
    if not opinion and "opinion" not in errors:
        errors["opinion"] = limits.in_user_language(
            "请填写顾问意见，银行会在推荐材料包中看到。",
            "Write the advisor's opinion; the bank reads it in the referral packet.",
        )
    bank_ids = [r.bank_id for r in wanted]
    if len(set(bank_ids)) != len(bank_ids):
        errors["banks"] = limits.in_user_language(
            "每家银行只能推荐一个产品。", "Refer one product to each bank."
        )
    if errors:
        raise ValidationFailed("推荐信息有误。", "The referral is not valid.", fields=errors)
    if not is_verified(application.enterprise):
        raise Forbidden(
            "该企业账户尚未通过认证，不能推荐给银行：请先在“企业认证”中核验其营业执照或授权委托书。",
            "The enterprise account is not verified yet; verify it before referring.",
            code="enterprise_unverified",
        )
    if A.REFERRED not in APPLICATION.targets(application.state, by):
        raise InvalidTransition(
            f"申请当前状态为“{APPLICATION.title(application.state, 'zh_CN')}”，不能推荐给银行。",
            f"An application that is {APPLICATION.title(application.state, 'en').lower()} "
            "cannot be referred.",
        )
    eligible = {
        m.product_version_id
        for m in session.scalars(
            select(Match).where(Match.application_id == application.id, Match.eligible.is_(True))
        )
    }
    existing = list(
        session.scalars(select(Referral).where(Referral.application_id == application.id))
    )
    # 续贷 (issue 13): a renewal goes to the bank that lent first, when a renewal product fits.
    renewals.require_same_bank_first(session, application, bank_ids, existing)
    now = utcnow()
    due = deadline(session, now, BANK_RESPONSE_WORKING_DAYS)
    created = []
    for request in wanted:
        bank = session.get(Bank, request.bank_id) if limits.check_id(request.bank_id) else None
        if bank is None or not bank.active:
            raise ValidationFailed(
                "所选银行不存在或已停用。",
                "No such bank.",
                fields={
                    "banks": limits.in_user_language(
                        "所选银行不存在或已停用。", "No such bank, or it is inactive."
                    )
                },
            )
        consent = consent_service.for_application(session, application.id, bank.id)
        if consent is None:
            raise ValidationFailed(
                f"企业未授权（或已撤回授权）向{bank.name_zh}提供信息，不能推荐给该银行。",
                f"The enterprise has not consented to sharing its data with {bank.name_en or bank.code}.",
                fields={
                    "banks": limits.in_user_language(
                        f"企业未授权{bank.name_zh}。",
                        f"The enterprise gave no consent to {bank.name_en or bank.name_zh}.",
                    )
                },
            )
        if request.product_version_id not in eligible:
            raise ValidationFailed(
                "所选产品不在该申请的匹配结果中（可先调整匹配结果并写明理由）。",
                "The product is not an eligible match of this application.",
                fields={
                    "products": limits.in_user_language(
                        "所选产品不符合条件。", "The chosen product is not eligible."
                    )
                },
            )
        for old in existing:
            if old.bank_id == bank.id and old.state not in CLOSED:
                raise Conflict(
                    f"该申请已推荐给{bank.name_zh}（推荐 #{old.id}），银行反馈前不能重复推荐。",
                    "This application already has an open referral to that bank.",
                )
            if old.bank_id == bank.id and old.product_version_id == request.product_version_id:
                raise Conflict(
                    f"{bank.name_zh}已就同一产品作出反馈，请选择其他产品或银行。",
                    "That bank already answered a referral for this product.",
                )
        referral = Referral(
            application_id=application.id,
            bank_id=bank.id,
            product_version_id=request.product_version_id,
            consent_id=consent.id,
            state="sent",
            advisor_opinion=opinion,
            created_by_id=actor_id,
            sent_at=now,
            due_at=due,
        )
        session.add(referral)
        session.flush()
        referral.packet_number = packet_service.packet_number_for(referral)
        record_event(
            session,
            actor_id=actor_id,
            action="referral.sent",
            object_type="referral",
            object_id=referral.id,
            to_state="sent",
            reason=opinion,
            data={
                "application_id": application.id,
                "bank_id": bank.id,
                "product_version_id": request.product_version_id,
                "consent_id": consent.id,
                "due_at": due.isoformat(),
            },
        )
        created.append(referral)
    names = "、".join(r.bank.name_zh for r in created)
    transition(
        session,
        application,
        "referred",
        by=by,
        actor_id=actor_id,
        reason=f"已推荐给{names}",
        data={"referral_ids": [r.id for r in created]},
    )
    _commit(session)
    if render:  # the demo loader renders synchronously instead (``render=False``)
        for referral in created:
            packet_service.request_render(session, referral, actor_id=actor_id, base_url=base_url)
    return created


def rematch(
    session: Session, application_id: int, *, actor_id: int, lock_version: int | None = None
) -> Application:
    """After a bank declined, match the application afresh and take it back into review."""
    from finportal.services.screening import match_application

    application = _load_for_action(session, application_id, lock_version)
    referrals = list(
        session.scalars(select(Referral).where(Referral.application_id == application.id))
    )
    if application.state != "referred" or not any(r.state == "declined" for r in referrals):
        raise InvalidTransition(
            "只有银行拒绝后才能重新匹配。", "Re-matching is offered after a bank declines."
        )
    # Overrides written by advisors survive the re-match: they carry a reason.
    kept = {
        m.product_version_id: (m.eligible, m.override_reason, m.override_by_id)
        for m in session.scalars(
            select(Match).where(Match.application_id == application.id, Match.overridden.is_(True))
        )
    }
    rows = match_application(session, application, utcnow())
    session.flush()
    for row in rows:
        if row.product_version_id in kept:
            row.eligible, row.override_reason, row.override_by_id = kept[row.product_version_id]
            row.overridden = True
    declined = [r.bank.name_zh for r in referrals if r.state == "declined"]
    transition(
        session,
        application,
        "in_review",
        by="advisor",
        actor_id=actor_id,
        reason=f"{'、'.join(declined)}拒绝后重新匹配",
        data={"eligible": sum(1 for r in rows if r.eligible)},
    )
    application.assigned_advisor_id = actor_id
    _commit(session)
    return application
