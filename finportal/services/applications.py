"""Applications from the SME's side: create and submit (idempotent), consents, answer a return,
withdraw, rate; plus the close helper other roles use.

Every function that takes an ``enterprise_id`` only ever finds that enterprise's records:
anything else is ``NotFound``, so the ids of other enterprises are not even confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import products
from finportal import jobs, limits
from finportal.domain.states import APPLICATION, REFERRAL
from finportal.domain.states import ApplicationState as A
from finportal.models import (
    Application,
    AuditEvent,
    BankDecision,
    Consent,
    CreditScore,
    Job,
    LoanOutcome,
    Match,
    ModelVersion,
    Product,
    Rating,
    Referral,
    User,
    utcnow,
)
from finportal.services import catalog as catalog_service
from finportal.services import consents, profile_form
from finportal.services import enterprises as enterprise_service
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
    role_label,
)
from finportal.services.lifecycle import transition
from finportal.services.referrals import decisions_of, outcomes_of, withdraw_for_application
from finportal.services.verification import require_verified
from finportal.services.workdays import today_local

MAX_TERM_MONTHS = limits.MAX_TERM_MONTHS
#: Referral states after which the money has gone out: the SME can no longer withdraw.
DISBURSED_STATES = REFERRAL.tagged("lent")
WITHDRAWABLE = APPLICATION.sources(A.WITHDRAWN, "sme")
REQUEST_FIELDS = ("amount", "term_months", "purpose")


CHOOSE_PURPOSE = limits.bilingual("请选择贷款用途。", "Choose the purpose of the loan.")
CHOOSE_BANKS = limits.bilingual(
    "请至少选择一家银行并授权。", "Choose at least one bank to consent to."
)
CHOOSE_STARS = limits.bilingual("请选择 1 至 5 星。", "Choose 1 to 5 stars.")


class AmountWan(limits.Amount):
    """A requested amount in 万元 (a loan, :data:`finportal.limits.AMOUNTS`), loaded as yuan."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("loan", unit="wan", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return limits.check_amount(value, "loan", unit="wan")
        except limits.LimitError as exc:
            if exc.reason == "zero":
                raise ValidationError(
                    limits.in_user_language("申请金额须大于 0。", "The amount must be above 0.")
                ) from None
            raise ValidationError(exc.message()) from None


def _consent_bank_ids() -> fields.List:
    """Return the field of the banks ticked for consent."""
    return fields.List(
        limits.Id(message=("银行选择有误。", "Choose banks from the list.")), load_default=list
    )


def _consent_valid_until() -> fields.Date:
    """Return the field of the day consents end (empty: the default period)."""
    return limits.Date(
        load_default=None,
        allow_none=True,
        error_messages={
            "invalid": limits.bilingual("请按 年-月-日 填写日期。", "Enter a date as YYYY-MM-DD.")
        },
    )


class ApplicationSchema(Schema):
    """What the new-application form posts (amount in 万元)."""

    class Meta:
        unknown = EXCLUDE

    amount = AmountWan(
        required=True,
        error_messages={"required": limits.bilingual("请填写申请金额。", "Enter the amount.")},
    )
    term_months = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(
            min=1,
            max=MAX_TERM_MONTHS,
            error=limits.bilingual(
                f"期限须为 1 至 {MAX_TERM_MONTHS} 个月。",
                f"The term is 1 to {MAX_TERM_MONTHS} months.",
            ),
        ),
        error_messages={
            "required": limits.bilingual("请填写期限。", "Enter the term."),
            "invalid": limits.MESSAGES["months"],
        },
    )
    purpose = fields.String(
        required=True,
        validate=validate.OneOf(list(PURPOSES), error=CHOOSE_PURPOSE),
        error_messages={"required": CHOOSE_PURPOSE},
    )
    purpose_note = limits.Text("purpose_note", load_default="")
    #: "" means "让服务中心匹配" (let the centre match).
    product_code = limits.Text("code", load_default="")
    idempotency_key = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{16,64}$", error=limits.MESSAGES["stale_form"]),
        error_messages={"required": limits.MESSAGES["stale_form"]},
    )
    consent_bank_ids = _consent_bank_ids()
    consent_valid_until = _consent_valid_until()
    action = fields.String(load_default="submit", validate=validate.OneOf(["submit", "draft"]))

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        out = {}
        for key, value in dict(data).items():
            if isinstance(value, str):
                value = value.strip()
                if value == "" and key in ("amount", "term_months", "purpose"):
                    continue  # reported as required
                if value == "" and key == "consent_valid_until":
                    value = None
            out[key] = value
        return out


class ConsentSchema(Schema):
    """Consents given on a draft's submit form."""

    class Meta:
        unknown = EXCLUDE

    consent_bank_ids = _consent_bank_ids()
    consent_valid_until = _consent_valid_until()

    @pre_load
    def _blank(self, data: Any, **kwargs: Any) -> Any:
        out = dict(data)
        if out.get("consent_valid_until") == "":
            out["consent_valid_until"] = None
        return out


class RatingSchema(Schema):
    """The satisfaction rating form."""

    class Meta:
        unknown = EXCLUDE

    stars = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=5, error=CHOOSE_STARS),
        error_messages={"required": CHOOSE_STARS, "invalid": CHOOSE_STARS},
    )
    comment = limits.Text("comment", load_default="")


# --- reading ----------------------------------------------------------------------------------


def get_application(
    session: Session, enterprise_id: int | None, application_id: int
) -> Application:
    """Return one of the enterprise's applications, or raise ``NotFound``."""
    application = session.get(Application, application_id)
    if application is None or enterprise_id is None or application.enterprise_id != enterprise_id:
        raise NotFound("申请不存在。", "No such application.")
    return application


def list_applications(session: Session, enterprise_id: int | None) -> list[Application]:
    """Return the enterprise's applications, newest first."""
    return list(
        session.scalars(
            select(Application)
            .where(Application.enterprise_id == enterprise_id)
            .order_by(Application.id.desc())
        )
    )


def selectable_products(session: Session) -> list[dict[str, Any]]:
    """Return the published products with their amount and term ranges, for the form."""
    catalog, _versions = catalog_service.current_catalog(session)
    return [
        {
            "code": p.code,
            "name": p.name_zh,
            "name_en": p.name_en,
            "amount_min": p.amount_min.value,
            "amount_max": p.amount_max.value,
            "term_min": int(p.term_min.value),
            "term_max": int(p.term_max.value),
            "demo": p.demo,
        }
        for p in catalog
    ]


def latest_job(session: Session, application_id: int) -> Job | None:
    """Return the newest screening job of an application."""
    return session.scalar(
        select(Job)
        .where(
            Job.object_type == "application",
            Job.object_id == application_id,
            Job.kind == "screen_application",
        )
        .order_by(Job.created_at.desc(), Job.id)
        .limit(1)
    )


def job_status(session: Session, enterprise_id: int | None, job_id: str) -> dict[str, Any]:
    """Return the state of a job of one of the enterprise's applications (else ``NotFound``)."""
    record = session.get(Job, job_id)
    application = None
    if record is not None and record.object_type == "application" and record.object_id:
        application = session.get(Application, record.object_id)
    if application is None or application.enterprise_id != enterprise_id or enterprise_id is None:
        raise NotFound("任务不存在。", "No such job.")
    assert record is not None
    labels = {
        "queued": ("排队中", "Queued"),
        "running": ("正在匹配产品并评分", "Matching products and scoring"),
        "done": ("已完成", "Done"),
        "failed": ("失败", "Failed"),
    }
    zh, en = labels.get(record.state, (record.state, record.state))
    return {
        "id": record.id,
        "state": record.state,
        "label": limits.in_user_language(zh, en),
        "done": record.state in ("done", "failed"),
        "message": record.message,
        "application_id": application.id,
        "application_state": application.state,
        "application_state_label": APPLICATION.title(application.state),
    }


@dataclass
class TimelineEntry:
    """One step of an application's history."""

    at: datetime
    who: str
    action: str
    object_type: str
    from_state: str | None
    to_state: str | None
    reason: str


def timeline(session: Session, application: Application) -> list[TimelineEntry]:
    """Return every audited step of the application, its consents and referrals, oldest first."""
    consent_ids = list(
        session.scalars(select(Consent.id).where(Consent.application_id == application.id))
    )
    referral_ids = list(
        session.scalars(select(Referral.id).where(Referral.application_id == application.id))
    )
    clauses = [(AuditEvent.object_type == "application") & (AuditEvent.object_id == application.id)]
    if consent_ids:
        clauses.append(
            (AuditEvent.object_type == "consent") & AuditEvent.object_id.in_(consent_ids)
        )
    if referral_ids:
        clauses.append(
            (AuditEvent.object_type == "referral") & AuditEvent.object_id.in_(referral_ids)
        )
    events = session.scalars(
        select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_({e.actor_id for e in events if e.actor_id}))
        )
    }
    entries = []
    for event in events:
        user = users.get(event.actor_id) if event.actor_id else None
        if user is None:
            who = limits.in_user_language("系统", "System")
        elif user.enterprise_id == application.enterprise_id:
            who = limits.in_user_language(
                f"{user.display_name}（本企业）", f"{user.display_name} (your enterprise)"
            )
        else:
            who = limits.in_user_language(
                f"{user.display_name}（{role_label(user.role)}）",
                f"{user.display_name} ({role_label(user.role)})",
            )
        entries.append(
            TimelineEntry(
                at=event.at,
                who=who,
                action=action_label(event.action, event.from_state, event.to_state),
                object_type=event.object_type,
                from_state=event.from_state,
                to_state=event.to_state,
                reason=event.reason or "",
            )
        )
    return entries


@dataclass
class BankView:
    """A referral to one bank with its decisions, as the SME sees it."""

    bank: str
    product: str
    state: str
    sent_at: datetime
    decisions: list[BankDecision]
    disbursed: list[LoanOutcome]
    #: English names (empty: the Chinese one is shown).
    bank_en: str = ""
    product_en: str = ""


def application_details(
    session: Session, enterprise_id: int | None, application_id: int
) -> dict[str, Any]:
    """Return everything the application page shows; ``NotFound`` for other enterprises."""
    application = get_application(session, enterprise_id, application_id)
    matches = list(
        session.scalars(
            select(Match)
            .where(Match.application_id == application.id)
            .order_by(Match.eligible.desc(), Match.rank, Match.id)
        )
    )
    score = session.scalar(
        select(CreditScore)
        .where(CreditScore.application_id == application.id)
        .order_by(CreditScore.id.desc())
        .limit(1)
    )
    model = session.get(ModelVersion, score.model_version_id) if score else None
    consents = list(
        session.scalars(
            select(Consent).where(Consent.application_id == application.id).order_by(Consent.id)
        )
    )
    referrals = list(
        session.scalars(
            select(Referral).where(Referral.application_id == application.id).order_by(Referral.id)
        )
    )
    banks = []
    for referral in referrals:
        banks.append(
            BankView(
                bank=referral.bank.name_zh,
                product=referral.product_version.product.name_zh,
                state=referral.state,
                sent_at=referral.sent_at,
                decisions=decisions_of(session, referral.id),
                disbursed=outcomes_of(session, referral.id),
                bank_en=referral.bank.name_en,
                product_en=referral.product_version.product.name_en,
            )
        )
    rating = session.scalar(select(Rating).where(Rating.application_id == application.id))
    return {
        "application": application,
        "matches": matches,
        "score": score,
        "model": model,
        "consents": consents,
        "bank_views": banks,
        "rating": rating,
        "job": latest_job(session, application.id),
        "timeline": timeline(session, application),
        "can_withdraw": can_withdraw(session, application),
        "return_fields": return_fields(application),
    }


def return_fields(application: Application) -> list[str]:
    """Return the fields the centre asked to fix (known fields only), when returned."""
    if application.state != "returned" or not application.return_request:
        return []
    wanted = application.return_request.get("fields") or []
    known = set(profile_form.EDITABLE_FIELDS) | set(REQUEST_FIELDS)
    return [f for f in wanted if isinstance(f, str) and f in known]


def can_withdraw(session: Session, application: Application) -> bool:
    """Tell whether the SME may still withdraw (a state before disbursal)."""
    if application.state not in WITHDRAWABLE:
        return False
    disbursed = session.scalar(
        select(Referral.id).where(
            Referral.application_id == application.id, Referral.state.in_(DISBURSED_STATES)
        )
    )
    return disbursed is None


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
        raise ValidationFailed(
            "请修改标出的内容。", "Please correct the marked fields.", fields=errors
        )
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
    if errors:
        raise ValidationFailed(
            "请修改标出的内容。", "Please correct the marked fields.", fields=errors
        )
    changed: list[str] = []
    if profile_data:
        enterprise = enterprise_service.get_enterprise(session, enterprise_id)
        changed = profile_form.apply_profile(session, enterprise, profile_data)
        if changed:
            record_event(
                session,
                actor_id=actor_id,
                action="enterprise.profile_updated",
                object_type="enterprise",
                object_id=enterprise.id,
                reason=f"补充申请 #{application.id} 所需材料",
                data={"fields": changed, "via": "return", "application_id": application.id},
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
        raise NotFound("申请不存在。", "No such application.")
    transition(
        session, application, "closed", by="system", actor_id=actor_id, reason=reason or "办结"
    )
    session.commit()
    return application
