"""Applications from the SME's side: create and submit (idempotent), consents, answer a return,
withdraw, rate; plus the close helper other roles use.

Every function that takes an ``enterprise_id`` only ever finds that enterprise's records:
anything else is ``NotFound``, so the ids of other enterprises are not even confirmed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import products
from finportal import jobs, limits
from finportal.domain.states import APPLICATION, REFERRAL
from finportal.domain.states import ReferralState as R
from finportal.models import (
    Application,
    Consent,
    Job,
    Product,
    Rating,
    Referral,
    utcnow,
)
from finportal.services import catalog as catalog_service
from finportal.services import consents, documents, profile_form, renewals, workflow
from finportal.services import enterprises as enterprise_service
from finportal.services.application_details import (
    REQUEST_FIELDS,
    WITHDRAWABLE,
    can_withdraw,
    get_application,
    return_fields,
)
from finportal.services.application_forms import CHOOSE_BANKS, CHOOSE_STARS, ApplicationSchema
from finportal.services.audit import record_event
from finportal.services.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.labels import (  # noqa: F401 - PURPOSES and SCOPE_LABELS for views
    DEFAULT_SCOPE,
    PURPOSES,
    SCOPE_LABELS,
    action_label,
)
from finportal.services.lifecycle import transition
from finportal.services.referrals import withdraw_for_application
from finportal.services.verification import require_verified
from finportal.services.workdays import today_local

# --- reading ----------------------------------------------------------------------------------


# --- create and submit ------------------------------------------------------------------------


def _check_product(session: Session, code: str, amount: Decimal, term: int) -> Product | None:
    if not code:
        return None
    row = session.scalar(select(Product).where(Product.code == code, Product.active.is_(True)))
    catalog, versions = catalog_service.current_catalog(session)
    if row is None or code not in versions:
        raise ValidationFailed(
            "所选产品不存在或已下架。",
            "The chosen product does not exist.",
            fields={
                "product_code": limits.in_user_language(
                    "所选产品不存在或已下架。", "The chosen product does not exist."
                )
            },
        )
    product = catalog.get(code)
    errors = {}
    low, high = product.amount_min.value, product.amount_max.value
    if not low <= amount <= high:
        errors["amount"] = limits.in_user_language(
            f"{product.name_zh}的金额须在 {profile_form.yuan_to_wan(low)} 至 "
            f"{profile_form.yuan_to_wan(high)} 万元之间。",
            f"For {product.name_en or product.name_zh} the amount must be "
            f"{profile_form.yuan_to_wan(low)} to {profile_form.yuan_to_wan(high)} (10k yuan).",
        )
    tlow, thigh = int(product.term_min.value), int(product.term_max.value)
    if not tlow <= term <= thigh:
        errors["term_months"] = limits.in_user_language(
            f"{product.name_zh}的期限须在 {tlow} 至 {thigh} 个月之间。",
            f"For {product.name_en or product.name_zh} the term must be {tlow} to {thigh} months.",
        )
    if errors:
        raise ValidationFailed.marked(errors)
    try:
        products.quote(product, amount, term, catalog_service.current_lpr(session, today_local()))
    except products.QuoteError as exc:
        raise ValidationFailed(
            exc.message_zh, exc.message_en, fields={"amount": exc.message()}
        ) from exc
    return row


def grant_consents(
    session: Session,
    *,
    actor_id: int | None,
    application: Application,
    bank_ids: list[int],
    valid_until: date | None,
) -> list[Consent]:
    """Add a consent in the application per chosen bank (``services/consents.py``)."""
    return consents.grant_for_application(
        session,
        actor_id=actor_id,
        application=application,
        bank_ids=bank_ids,
        valid_until=valid_until,
    )


def _submit(
    session: Session,
    application: Application,
    *,
    actor_id: int | None,
    reason: str,
    data: dict[str, Any] | None = None,
) -> Job:
    """Move to submitted, commit, and enqueue screening."""
    require_verified(session, application.enterprise_id)
    if not consents.banks_for_application(session, application.id):
        raise ValidationFailed(
            "提交前请至少授权一家合作银行查看贵企业信息（银行只有在授权后才能收到推荐材料）。",
            "Consent to at least one partner bank before submitting.",
            fields={"consent_bank_ids": str(CHOOSE_BANKS)},
        )
    transition(
        session, application, "submitted", by="sme", actor_id=actor_id, reason=reason, data=data
    )
    application.submitted_at = utcnow()
    session.flush()
    return jobs.enqueue(
        session,
        "screen_application",
        actor_id=actor_id,
        object_type="application",
        object_id=application.id,
        application_id=application.id,
    )


def create_application(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    data: dict[str, Any],
) -> tuple[Application, Job | None]:
    """Create an application from loaded form data, grant its consents and submit it (commits).

    A second call with the same idempotency key returns the first application unchanged:
    a double click, the back button or a retry never makes two.
    """
    enterprise = enterprise_service.get_enterprise(session, enterprise_id)
    key = data["idempotency_key"]
    existing = session.scalar(select(Application).where(Application.idempotency_key == key))
    if existing is not None:
        if existing.enterprise_id != enterprise.id:
            raise Conflict(
                "表单已失效，请刷新页面后重新填写。", "This form has expired; reload it."
            )
        return existing, None
    if data.get("action") != "draft" and not data.get("consent_bank_ids"):
        raise ValidationFailed(
            "提交前请至少授权一家合作银行查看贵企业信息（银行只有在授权后才能收到推荐材料）。",
            "Consent to at least one partner bank before submitting.",
            fields={"consent_bank_ids": str(CHOOSE_BANKS)},
        )
    amount, term = data["amount"], data["term_months"]
    product = _check_product(session, data.get("product_code") or "", amount, term)
    purpose = data["purpose"]
    note = (data.get("purpose_note") or "").strip()
    # 续贷 (issue 13): the running loan a renewal renews; its bank gets the referral first.
    renews = renewals.renewed_referral_id(
        session, enterprise.id, data.get("renews"), today=today_local()
    )
    application = Application(
        enterprise_id=enterprise.id,
        created_by_id=actor_id,
        state="draft",
        amount=amount,
        term_months=term,
        # The code only: catalogue conditions compare it (esop_loan needs "esop"); the
        # free-text note goes with the audit event of the creation.
        purpose=purpose,
        product_id=product.id if product else None,
        idempotency_key=key,
    )
    session.add(application)
    try:
        session.flush()
    except IntegrityError:
        # Another request with the same key won the race: answer with its application.
        session.rollback()
        existing = session.scalar(select(Application).where(Application.idempotency_key == key))
        if existing is None or existing.enterprise_id != enterprise.id:
            raise Conflict("表单已失效，请刷新页面后重新填写。", "This form has expired.") from None
        return existing, None
    if renews is not None:
        renewals.link(session, application, renews)
    record_event(
        session,
        actor_id=actor_id,
        action="application.created",
        object_type="application",
        object_id=application.id,
        to_state="draft",
        reason=f"用途说明：{note}" if note else "",
        data={
            "purpose_note": note,
            "amount": str(amount),
            "term_months": term,
            "product": data.get("product_code") or None,
            "renewal_of_referral_id": renews,
        },
    )
    grant_consents(
        session,
        actor_id=actor_id,
        application=application,
        bank_ids=data.get("consent_bank_ids") or [],
        valid_until=data.get("consent_valid_until"),
    )
    if data.get("action") == "draft":
        session.commit()
        return application, None
    job = _submit(session, application, actor_id=actor_id, reason="企业提交申请")
    return application, job


def submit_draft(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    application_id: int,
    bank_ids: list[int],
    valid_until: date | None,
) -> Job | None:
    """Grant the chosen consents and submit a draft; submitting twice does nothing (commits)."""
    application = get_application(session, enterprise_id, application_id)
    if application.state in ("submitted", "screened"):
        # Already sent by an earlier click: nothing more to do.
        return None
    if application.state != "draft":
        raise InvalidTransition(
            f"申请当前状态为“{APPLICATION.title(application.state, 'zh_CN')}”，不能再次提交。",
            f"An application that is {application.state} cannot be submitted.",
        )
    grant_consents(
        session,
        actor_id=actor_id,
        application=application,
        bank_ids=bank_ids,
        valid_until=valid_until,
    )
    return _submit(session, application, actor_id=actor_id, reason="企业提交草稿")


def resubmit_application(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    application_id: int,
    raw: dict[str, Any],
) -> Job:
    """Save the fields the centre asked for and send the returned application back (commits)."""
    application = get_application(session, enterprise_id, application_id)
    if application.state != "returned":
        raise InvalidTransition(
            f"申请当前状态为“{APPLICATION.title(application.state, 'zh_CN')}”，无需补充材料。",
            f"An application that is {application.state} cannot be resubmitted.",
        )
    wanted = return_fields(application)
    profile_raw = {
        k: raw.get(k, [] if k in profile_form.LIST_FIELDS else "")
        for k in wanted
        if k not in REQUEST_FIELDS
    }
    errors: dict[str, str] = {}
    profile_data: dict[str, Any] = {}
    if profile_raw:
        try:
            profile_data = profile_form.validate_profile(profile_raw, partial=True)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    request_raw = {k: raw.get(k, "") for k in wanted if k in REQUEST_FIELDS}
    request_data: dict[str, Any] = {}
    if request_raw:
        schema = ApplicationSchema(partial=True, only=tuple(request_raw))
        try:
            request_data = schema.load(request_raw)
        except ValidationError as exc:
            errors.update(profile_form.flatten_messages(exc.messages))
    if not errors and request_data and application.product is not None:
        try:
            _check_product(
                session,
                application.product.code,
                request_data.get("amount", application.amount),
                request_data.get("term_months", application.term_months),
            )
        except ValidationFailed as exc:
            errors.update(exc.fields)
    try:
        documents.require_supplied(session, application, None)
    except ValidationFailed as exc:
        errors["documents"] = exc.fields["documents"]
    if errors:
        raise ValidationFailed.marked(errors)
    changed: list[str] = []
    if profile_data:
        changed = profile_form.save_profile(
            session,
            enterprise_service.get_enterprise(session, enterprise_id),
            profile_data,
            actor_id=actor_id,
            via="return",
            reason=f"补充申请 #{application.id} 所需材料",
            extra={"application_id": application.id},
        )
    for name, value in request_data.items():
        if getattr(application, name) != value:
            setattr(application, name, value)
            changed.append(name)
    return _submit_again(session, application, actor_id=actor_id, changed=changed)


def _submit_again(
    session: Session, application: Application, *, actor_id: int | None, changed: list[str]
) -> Job:
    # The audit event of the resubmission keeps what was asked and what changed.
    return _submit(
        session,
        application,
        actor_id=actor_id,
        reason="企业已按要求补充材料并重新提交",
        data={"return_request": dict(application.return_request or {}), "changed": changed},
    )


# --- withdraw, consents, rating, close ---------------------------------------------------------


def withdraw_application(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    application_id: int,
    reason: str = "",
) -> Application:
    """Withdraw an application before disbursal; its open referrals end with it (commits)."""
    application = get_application(session, enterprise_id, application_id)
    if not can_withdraw(session, application):
        if application.state in WITHDRAWABLE:
            raise InvalidTransition(
                "银行已放款，不能再撤回申请。", "The loan is disbursed; it cannot be withdrawn."
            )
        raise InvalidTransition(
            f"申请当前状态为“{APPLICATION.title(application.state, 'zh_CN')}”，不能撤回。",
            f"An application that is {application.state} cannot be withdrawn.",
        )
    text = limits.valid_text(reason, "reason", "reason") or "企业撤回申请"
    transition(session, application, "withdrawn", by="sme", actor_id=actor_id, reason=text)
    withdraw_for_application(session, application, actor_id=actor_id, reason="企业撤回申请")
    session.commit()
    return application


def withdraw_consent(
    session: Session, *, actor_id: int | None, enterprise_id: int | None, consent_id: int
) -> Consent:
    """Withdraw a consent: from now on no new packet goes to that bank (commits)."""
    return consents.withdraw(
        session, actor_id=actor_id, enterprise_id=enterprise_id, consent_id=consent_id
    )


def rate_application(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    application_id: int,
    stars: int,
    comment: str = "",
) -> Rating:
    """Rate the service of a closed application, once (commits)."""
    application = get_application(session, enterprise_id, application_id)
    if application.state != "closed":
        raise InvalidTransition("申请办结后才能评价。", "Only a closed application can be rated.")
    if not 1 <= int(stars) <= 5:
        raise ValidationFailed(
            "请选择 1 至 5 星。", "Choose 1 to 5 stars.", fields={"stars": str(CHOOSE_STARS)}
        )
    if session.scalar(select(Rating.id).where(Rating.application_id == application.id)):
        raise Conflict("该申请已评价过。", "This application has already been rated.")
    rating = Rating(
        application_id=application.id,
        enterprise_id=application.enterprise_id,
        stars=int(stars),
        comment=limits.valid_text(comment, "comment", "comment"),
        created_by_id=actor_id,
    )
    session.add(rating)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("该申请已评价过。", "This application has already been rated.") from None
    record_event(
        session,
        actor_id=actor_id,
        action="application.rated",
        object_type="application",
        object_id=application.id,
        reason=f"{int(stars)} 星" + (f"：{rating.comment}" if rating.comment else ""),
        data={"stars": int(stars)},
    )
    session.commit()
    return rating


def close_application(
    session: Session, *, actor_id: int | None, application_id: int, reason: str = ""
) -> Application:
    """Close an application (advisor or system: after rejection, withdrawal or the loan's end).

    Commits. The SME is told and may then rate the service once.
    """
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound.of("application")
    transition(
        session, application, "closed", by="system", actor_id=actor_id, reason=reason or "办结"
    )
    session.commit()
    return application


def supply_information(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    application_id: int,
    referral_id: int,
    answer: str,
) -> Referral:
    """Answer a bank's request for information; the bank's clock runs again (commits)."""
    application = get_application(session, enterprise_id, application_id)
    referral = session.get(Referral, referral_id) if limits.check_id(referral_id) else None
    if referral is None or referral.application_id != application.id:
        raise NotFound.of("referral")
    text = limits.valid_text(answer, "reason", "answer")
    if not text:
        raise ValidationFailed.marked(
            {"answer": limits.in_user_language("请写明补充的内容。", "Write what you add.")}
        )
    documents.require_supplied(session, application, referral.id)
    workflow.move(
        session,
        REFERRAL,
        referral,
        R.INFO_SUPPLIED,
        by="sme",
        actor_id=actor_id,
        reason=text,
        data={"application_id": application.id, "bank_id": referral.bank_id},
    )
    # The bank's clock resumed with the time it had left (workflow.move, services/deadlines.py).
    session.commit()
    return referral
