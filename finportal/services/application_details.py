"""An application as the SME reads it: lists, its details, timeline, banks' answers and job progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.orm.interfaces import ORMOption

from finportal import limits
from finportal.domain import permissions
from finportal.domain.states import APPLICATION, REFERRAL
from finportal.domain.states import ApplicationState as A
from finportal.models import (
    Application,
    AuditEvent,
    BankDecision,
    Enterprise,
    Job,
    LoanOutcome,
    Match,
    Rating,
    Referral,
    User,
)
from finportal.paging import Page, paginate
from finportal.services import audit, consents, profile_form
from finportal.services import catalog as catalog_service
from finportal.services.errors import (
    NotFound,
)
from finportal.services.labels import (  # noqa: F401 - PURPOSES and SCOPE_LABELS for views
    DEFAULT_SCOPE,
    PURPOSES,
    SCOPE_LABELS,
    action_label,
    role_label,
)
from finportal.services.referrals import decisions_of_many, of_application, outcomes_of_many
from finportal.services.screening import latest_score_and_model

#: Referral states after which the money has gone out: the SME can no longer withdraw.
DISBURSED_STATES = REFERRAL.tagged("lent")
WITHDRAWABLE = APPLICATION.sources(A.WITHDRAWN, "sme")
REQUEST_FIELDS = ("amount", "term_months", "purpose")


def get_application(
    session: Session,
    enterprise_id: int | None,
    application_id: int,
    options: Sequence[ORMOption] = (),
) -> Application:
    """Return one of the enterprise's applications (loaded with ``options``), or ``NotFound``.

    With ``options`` it is read afresh even when the session holds it, so that what they
    load comes in the same statement, always (not lazily when the session held it).
    """
    application = session.get(
        Application, application_id, options=options, populate_existing=bool(options)
    )
    firm = permissions.Actor(role="sme", enterprise_id=enterprise_id)
    if application is None or not permissions.sees_application(firm, application):
        raise NotFound.of("application")
    return application


#: A list of applications shows neither of an application's snapshots (two JSON documents
#: a row, decoded for nothing).
_LIST_OPTIONS = (defer(Application.feature_snapshot), defer(Application.profile_snapshot))


def _applications_of(enterprise_id: int | None) -> Select[tuple[Application]]:
    firm = permissions.Actor(role="sme", enterprise_id=enterprise_id)
    return (
        select(Application)
        .where(permissions.applications_seen(firm))
        .order_by(Application.id.desc())
    )


def list_applications(
    session: Session, enterprise_id: int | None, *, limit: int | None = None
) -> list[Application]:
    """Return the enterprise's newest applications (``limit`` of them; all with ``None``)."""
    stmt = _applications_of(enterprise_id).options(*_LIST_OPTIONS).limit(limit)
    return list(session.scalars(stmt))


def applications_page(session: Session, enterprise_id: int | None, page: int) -> Page:
    """Return one page of the enterprise's applications, newest first, and their count."""
    return paginate(
        session,
        _applications_of(enterprise_id),
        page=page,
        per_page=limits.PAGE_SIZE,
        options=_LIST_OPTIONS,
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
    firm = permissions.Actor(role="sme", enterprise_id=enterprise_id)
    if application is None or not permissions.sees_application(firm, application):
        raise NotFound.of("job")
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


def timeline(
    session: Session,
    application: Application,
    *,
    consent_ids: list[int] | None = None,
    referral_ids: list[int] | None = None,
) -> list[TimelineEntry]:
    """Return the steps of the application, its consents and referrals that matter, oldest first.

    Each step is shown once: re-openings are left out (``audit.history_of``), and an entry
    that says the same as the one before it (same who, object, action and reason) is collapsed.
    A caller that already holds the application's consents and referrals passes their ids.
    """
    if consent_ids is None:
        consent_ids = [c.id for c in consents.given_for_application(session, application.id)]
    if referral_ids is None:
        referral_ids = list(
            session.scalars(select(Referral.id).where(Referral.application_id == application.id))
        )
    # Re-openings are not read: the page stays kept while the bank opens the referral again.
    history, told = audit.history_of(
        {"application": [application.id], "consent": consent_ids, "referral": referral_ids}
    )
    # Each event with what the timeline shows of its user (no second read for the names).
    events = session.execute(
        select(AuditEvent, *audit.actor_columns(User.display_name, User.enterprise_id, User.role))
        .where(history)
        .order_by(AuditEvent.at, AuditEvent.id)
        .execution_options(**told)
    ).all()
    entries: list[TimelineEntry] = []
    previous: tuple[Any, ...] | None = None
    for event, display_name, enterprise_id, role in events:
        said = (
            event.actor_id,
            event.object_type,
            event.object_id,
            event.action,
            event.from_state,
            event.to_state,
            event.reason,
        )
        if said == previous:
            continue
        previous = said
        if role is None:  # no user (every user has a role): the system
            who = limits.in_user_language("系统", "System")
        elif enterprise_id == application.enterprise_id:
            who = limits.in_user_language(
                f"{display_name}（本企业）", f"{display_name} (your enterprise)"
            )
        else:
            who = limits.in_user_language(
                f"{display_name}（{role_label(role)}）",
                f"{display_name} ({role_label(role)})",
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

    referral_id: int
    bank: str
    product: str
    state: str
    sent_at: datetime
    decisions: list[BankDecision]
    disbursed: list[LoanOutcome]
    #: English names (empty: the Chinese one is shown).
    bank_en: str = ""
    product_en: str = ""


#: The page's application with its firm (and the firm's memberships), and each match with
#: its product version, each in the rows' own statement (options built once).
_WITH_FIRM = (joinedload(Application.enterprise).joinedload(Enterprise.memberships),)
_MATCH_VERSION = catalog_service.eager_version(Match.product_version, joined=True)


def application_details(
    session: Session, enterprise_id: int | None, application_id: int
) -> dict[str, Any]:
    """Return everything the application page shows; ``NotFound`` for other enterprises."""
    application = get_application(session, enterprise_id, application_id, _WITH_FIRM)
    matches = list(
        session.scalars(
            select(Match)
            .where(Match.application_id == application.id)
            .options(_MATCH_VERSION)
            .order_by(Match.eligible.desc(), Match.rank, Match.id)
        )
    )
    score, model = latest_score_and_model(session, application.id)
    given = consents.given_for_application(session, application.id)
    referrals = of_application(session, application.id)
    decisions = decisions_of_many(session, [r.id for r in referrals])
    outcomes = outcomes_of_many(session, [r.id for r in referrals])
    banks = []
    for referral in referrals:
        banks.append(
            BankView(
                referral_id=referral.id,
                bank=referral.bank.name_zh,
                product=referral.product_version.product.name_zh,
                state=referral.state,
                sent_at=referral.sent_at,
                decisions=decisions[referral.id],
                disbursed=outcomes[referral.id],
                bank_en=referral.bank.name_en,
                product_en=referral.product_version.product.name_en,
            )
        )
    # Only a closed application is rated (closed is final): the others' page has no rating.
    rating = (
        session.scalar(select(Rating).where(Rating.application_id == application.id))
        if application.state == A.CLOSED
        else None
    )
    return {
        "application": application,
        "matches": matches,
        "score": score,
        "model": model,
        "consents": given,
        "bank_views": banks,
        "rating": rating,
        "job": latest_job(session, application.id),
        "timeline": timeline(
            session,
            application,
            consent_ids=[c.id for c in given],
            referral_ids=[r.id for r in referrals],
        ),
        "can_withdraw": can_withdraw(session, application, referrals),
        "return_fields": return_fields(application),
    }


def return_fields(application: Application) -> list[str]:
    """Return the fields the centre asked to fix (known fields only), when returned."""
    if application.state != "returned" or not application.return_request:
        return []
    wanted = application.return_request.get("fields") or []
    known = set(profile_form.EDITABLE_FIELDS) | set(REQUEST_FIELDS)
    return [f for f in wanted if isinstance(f, str) and f in known]


def can_withdraw(
    session: Session, application: Application, referrals: Sequence[Referral] | None = None
) -> bool:
    """Tell whether the SME may still withdraw (a state before disbursal).

    A caller that holds the application's referrals (all of them) passes them: no read.
    """
    if application.state not in WITHDRAWABLE:
        return False
    if referrals is not None:
        return not any(r.state in DISBURSED_STATES for r in referrals)
    disbursed = session.scalar(
        select(Referral.id).where(
            Referral.application_id == application.id, Referral.state.in_(DISBURSED_STATES)
        )
    )
    return disbursed is None
