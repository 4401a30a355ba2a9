"""The advisor's work: the queue, the review page, and the actions taken on an application.

Every action takes ``lock_version``, the version of the application the advisor saw.
When another advisor acted first, the versions differ (or the guarded UPDATE finds no
row) and the action is refused with :class:`Conflict`: two advisors cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from finportal import charts, limits
from finportal.domain import fields as profile_fields
from finportal.domain.states import APPLICATION, current_locale
from finportal.domain.states import ApplicationState as A
from finportal.models import (
    Application,
    ApplicationNote,
    AuditEvent,
    Bank,
    Consent,
    CreditScore,
    Enterprise,
    Match,
    Membership,
    ModelVersion,
    Product,
    ProductVersion,
    Referral,
    User,
    utcnow,
)
from finportal.services import consents as consent_service
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
from finportal.services.profiles import Change, changes_since
from finportal.services.referrals import (
    BANK_RESPONSE_WORKING_DAYS,
    CLOSED,
)
from finportal.services.verification import is_verified
from finportal.services.workdays import deadline

#: States the queue shows by default.
QUEUE_STATES = APPLICATION.waiting_on("advisor")
#: States an advisor may filter the queue by.
QUEUE_FILTER_STATES = tuple(s for s in A if s in QUEUE_STATES or s in (A.RETURNED, A.REFERRED))

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

#: Fields the advisor can ask the SME to fix when returning an application: the request's
#: own, and the profile fields the definition marks ``ask`` (fields.yaml). (zh, en)
REQUEST_LABELS = {
    "amount": ("申请金额", "Amount requested"),
    "term_months": ("期限", "Term"),
    "purpose": ("资金用途", "Purpose"),
}
CONSENT_LABEL = ("银行授权", "Consent to banks")


def return_fields() -> dict[str, str]:
    """Return the fields an advisor may ask about, with their labels in the user's language."""
    out = limits.words(REQUEST_LABELS)
    for name in RETURN_PROFILE_FIELDS:
        out[name] = profile_fields.label(name)
    out["consent"] = limits.in_user_language(*CONSENT_LABEL)
    return out


#: The profile fields an advisor may ask about (``ask`` in fields.yaml).
RETURN_PROFILE_FIELDS = profile_fields.names(ask=True)

#: Most rows the queue page shows at once.
QUEUE_LIMIT = 500

DEADLINE_FILTERS = {
    "overdue": ("已超时（预警）", "Overdue (warning)"),
    "today": ("今日到期", "Due today"),
    "ok": ("未超时", "Not overdue"),
}


# --- the queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """One row of the advisor's queue."""

    application: Application
    enterprise: Enterprise
    product_name: str
    grade: str | None
    score: int | None
    due_at: datetime | None
    overdue: bool
    assigned_to: str


def _latest_scores(session: Session, ids: Sequence[int]) -> dict[int, CreditScore]:
    if not ids:
        return {}
    latest: dict[int, CreditScore] = {}
    for row in session.scalars(
        select(CreditScore)
        .where(CreditScore.application_id.in_(ids))
        .order_by(CreditScore.application_id, CreditScore.id)
    ):
        latest[row.application_id] = row
    return latest


def application_overdue(application: Application, now: datetime | None = None) -> bool:
    """Tell whether the advisor's first response is late (预警)."""
    now = now or utcnow()
    return (
        application.first_response_at is None
        and application.first_response_due_at is not None
        and application.first_response_due_at < now
        and application.state in QUEUE_STATES
    )


def list_queue(
    session: Session,
    *,
    status: str | None = None,
    product_code: str | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
    grade: str | None = None,
    deadline_filter: str | None = None,
    now: datetime | None = None,
    limit: int = QUEUE_LIMIT,
) -> list[QueueItem]:
    """Return the queue: screened and in-review applications, earliest deadline first.

    At most ``limit`` rows: the filters narrow a long queue down.
    """
    now = now or utcnow()
    stmt = select(Application).join(Enterprise, Enterprise.id == Application.enterprise_id)
    if status:
        if status not in QUEUE_FILTER_STATES:
            raise ValidationFailed(
                "未知的申请状态。", "Unknown status.", fields={"status": "未知的申请状态。"}
            )
        stmt = stmt.where(Application.state == status)
    else:
        stmt = stmt.where(Application.state.in_(QUEUE_STATES))
    if product_code:
        chosen = select(Product.id).where(Product.code == product_code).scalar_subquery()
        matched = (
            select(Match.application_id)
            .join(ProductVersion, ProductVersion.id == Match.product_version_id)
            .join(Product, Product.id == ProductVersion.product_id)
            .where(Product.code == product_code, Match.eligible.is_(True))
        )
        stmt = stmt.where(or_(Application.product_id == chosen, Application.id.in_(matched)))
    if park_id:
        stmt = stmt.where(
            Application.enterprise_id.in_(
                select(Membership.enterprise_id).where(Membership.park_id == park_id)
            )
        )
    if chamber_id:
        stmt = stmt.where(
            Application.enterprise_id.in_(
                select(Membership.enterprise_id).where(Membership.chamber_id == chamber_id)
            )
        )
    if deadline_filter == "overdue":
        stmt = stmt.where(
            Application.first_response_at.is_(None),
            Application.first_response_due_at < now,
        )
    elif deadline_filter == "today":
        stmt = stmt.where(
            Application.first_response_at.is_(None),
            Application.first_response_due_at >= now,
            Application.first_response_due_at <= _end_of_day(now),
        )
    elif deadline_filter == "ok":
        stmt = stmt.where(
            or_(
                Application.first_response_at.is_not(None),
                Application.first_response_due_at >= now,
            )
        )
    if grade:
        stmt = stmt.where(
            Application.id.in_(select(CreditScore.application_id).where(CreditScore.grade == grade))
        )
    stmt = stmt.order_by(
        Application.first_response_due_at.is_(None),
        Application.first_response_due_at,
        Application.id,
    ).limit(limit)
    applications = list(session.scalars(stmt))
    scores = _latest_scores(session, [a.id for a in applications])
    advisors = {
        u.id: u.display_name or u.username
        for u in session.scalars(
            select(User).where(
                User.id.in_({a.assigned_advisor_id for a in applications if a.assigned_advisor_id})
            )
        )
    }
    versions = {
        v.id: v
        for v in session.scalars(
            select(ProductVersion).where(
                ProductVersion.id.in_(
                    {a.product_version_id for a in applications if a.product_version_id}
                )
            )
        )
    }
    items = []
    for application in applications:
        score = scores.get(application.id)
        if grade and (score is None or score.grade != grade):
            continue
        version = versions.get(application.product_version_id or -1)
        if application.product is not None:
            product_name = limits.in_user_language(
                application.product.name_zh,
                application.product.name_en or application.product.name_zh,
            )
        elif version is not None:
            product = version.product
            product_name = limits.in_user_language(
                product.name_zh + "（匹配）", f"{product.name_en or product.name_zh} (matched)"
            )
        else:
            product_name = limits.in_user_language("由中心匹配", "To be matched by the centre")
        items.append(
            QueueItem(
                application=application,
                enterprise=application.enterprise,
                product_name=product_name,
                grade=score.grade if score else None,
                score=score.score if score else None,
                due_at=application.first_response_due_at,
                overdue=application_overdue(application, now),
                assigned_to=advisors.get(application.assigned_advisor_id or -1, ""),
            )
        )
    return items


def _end_of_day(now: datetime) -> datetime:
    from finportal.services.workdays import SHANGHAI

    local = now.astimezone(SHANGHAI)
    return local.replace(hour=23, minute=59, second=59, microsecond=0)


# --- the review page ---------------------------------------------------------------------


@dataclass
class MatchView:
    """A match with its product, for the review page."""

    match: Match
    product: Product
    version: ProductVersion


@dataclass
class Review:
    """Everything the review page shows of one application."""

    application: Application
    enterprise: Enterprise
    profile: dict[str, str]
    matches: list[MatchView]
    score: CreditScore | None
    model: ModelVersion | None
    reasons_chart: str
    history: list[tuple[AuditEvent, str]]
    notes: list[tuple[ApplicationNote, str]]
    consents: list[Consent]
    #: What the firm changed in its profile since it submitted (the review shows the snapshot).
    changes: list[Change]
    referrals: list[Referral]
    packet_states: dict[int, packet_service.PacketStatus]
    consented_bank_ids: set[int]
    assigned_to: str
    overdue: bool
    can_rematch: bool
    banks: list[Bank] = field(default_factory=list)


def get_application(session: Session, application_id: int) -> Application:
    """Return an application the centre can see (not a draft)."""
    application = (
        session.get(Application, application_id) if limits.check_id(application_id) else None
    )
    if application is None or application.state == "draft":
        raise NotFound("申请不存在。", "No such application.")
    return application


def reasons_chart(score: CreditScore | None) -> str:
    """Draw the score's reason codes as a small SVG bar chart ('' when there are none)."""
    if score is None or not score.reasons:
        return ""
    return charts.bar_chart(
        [
            (
                str(
                    limits.in_user_language(r.get("text_zh", ""), r.get("text_en", ""))
                    or r.get("feature")
                ),
                float(r.get("contribution", 0)),
            )
            for r in score.reasons
        ],
        title=limits.in_user_language(
            "主要影响因素（正值表示提高风险）", "Main factors (positive values raise the risk)"
        ),
        width=520,
        value_format="+.3f",
    )


def get_review(session: Session, application_id: int) -> Review:
    """Return the review of an application: profile, matches, score, history, notes, referrals."""
    application = get_application(session, application_id)
    enterprise = application.enterprise
    rows = session.execute(
        select(Match, ProductVersion, Product)
        .join(ProductVersion, ProductVersion.id == Match.product_version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Match.application_id == application.id)
        .order_by(Match.eligible.desc(), Match.rank, Product.code)
    ).all()
    matches = [MatchView(m, p, v) for m, v, p in rows]
    score = session.scalar(
        select(CreditScore)
        .where(CreditScore.application_id == application.id)
        .order_by(CreditScore.id.desc())
        .limit(1)
    )
    model = session.get(ModelVersion, score.model_version_id) if score else None
    referrals = list(
        session.scalars(
            select(Referral).where(Referral.application_id == application.id).order_by(Referral.id)
        )
    )
    referral_ids = [r.id for r in referrals]
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    and_(
                        AuditEvent.object_type == "application",
                        AuditEvent.object_id == application.id,
                    ),
                    and_(
                        AuditEvent.object_type == "referral",
                        AuditEvent.object_id.in_(referral_ids or [-1]),
                    ),
                    and_(
                        AuditEvent.object_type == "match",
                        AuditEvent.object_id.in_([m.match.id for m in matches] or [-1]),
                    ),
                )
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
    notes = list(
        session.scalars(
            select(ApplicationNote)
            .where(ApplicationNote.application_id == application.id)
            .order_by(ApplicationNote.created_at, ApplicationNote.id)
        )
    )
    user_ids = {e.actor_id for e in events if e.actor_id} | {n.author_id for n in notes}
    if application.assigned_advisor_id:
        user_ids.add(application.assigned_advisor_id)
    names = {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_(user_ids or {-1})))
    }
    given = list(
        session.scalars(
            select(Consent)
            .where(Consent.application_id == application.id)
            .order_by(Consent.granted_at, Consent.id)
        )
    )
    consented = consent_service.banks_for_application(session, application.id)
    from finportal.services.packet_context import application_profile_rows
    from finportal.services.workdays import SHANGHAI

    return Review(
        application=application,
        enterprise=enterprise,
        profile=application_profile_rows(
            application, utcnow().astimezone(SHANGHAI).date(), current_locale()
        ),
        matches=matches,
        score=score,
        model=model,
        reasons_chart=reasons_chart(score),
        history=[
            (e, names.get(e.actor_id or -1, limits.in_user_language("系统", "System")))
            for e in events
        ],
        notes=[(n, names.get(n.author_id, "")) for n in notes],
        consents=given,
        changes=changes_since(application),
        referrals=referrals,
        packet_states={r.id: packet_service.packet_status(session, r) for r in referrals},
        consented_bank_ids=consented,
        assigned_to=names.get(application.assigned_advisor_id or -1, ""),
        overdue=application_overdue(application),
        can_rematch=application.state == "referred"
        and any(r.state == "declined" for r in referrals),
        banks=list(session.scalars(select(Bank).where(Bank.active.is_(True)).order_by(Bank.code))),
    )


# --- actions -----------------------------------------------------------------------------


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
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(
            "另一位顾问刚刚处理了该申请，您的操作未保存；请刷新页面查看最新状态。",
            "Another advisor changed this application at the same moment; nothing was saved.",
        ) from exc


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
) -> Application:
    """Send the application back to the SME for information (what is missing, in words and fields)."""
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
    unknown = [f for f in wanted if f not in return_fields()]
    if unknown:
        listed = [f[:40] for f in unknown[:10]]
        errors["fields"] = limits.in_user_language(
            "未知的字段：" + "、".join(listed), "Unknown fields: " + ", ".join(listed)
        )
    if errors:
        raise ValidationFailed("退回内容有误。", "The return request is not valid.", fields=errors)
    _require_in_review(application, "退回")
    application.return_request = {"message": message, "fields": wanted}
    transition(
        session,
        application,
        "returned",
        by="advisor",
        actor_id=actor_id,
        reason=message,
        data={"fields": wanted},
    )
    _commit(session)
    return application


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
        raise NotFound("匹配结果不存在。", "No such match.")
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
) -> list[Referral]:
    """Refer the application to one or more banks, each for a chosen product; commits.

    Only banks the enterprise consented to (consent in force) and products it matched
    (eligible, or overridden to eligible) are accepted; one open referral per bank.
    Each referral's packet is rendered afterwards by the ``render_packet`` job.
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
    if A.REFERRED not in APPLICATION.targets(application.state, "advisor"):
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
        by="advisor",
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


def scored_with_synthetic_model(session: Session, application_ids: Iterable[int]) -> bool:
    """Tell whether any of these applications was scored by a model trained on synthetic data."""
    ids = list(application_ids)
    if not ids:
        return False
    return (
        session.scalar(
            select(CreditScore.id)
            .join(ModelVersion, ModelVersion.id == CreditScore.model_version_id)
            .where(CreditScore.application_id.in_(ids), ModelVersion.synthetic.is_(True))
            .limit(1)
        )
        is not None
    )
