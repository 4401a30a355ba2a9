"""The advisor's work: the queue, the review page, and the actions taken on an application.

Every action takes ``lock_version``, the version of the application the advisor saw.
When another advisor acted first, the versions differ (or the guarded UPDATE finds no
row) and the action is refused with :class:`Conflict`: two advisors cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, joinedload
from sqlalchemy.orm.interfaces import ORMOption

from finportal import charts, limits
from finportal.domain.states import current_locale
from finportal.models import (
    Application,
    ApplicationNote,
    AuditEvent,
    Bank,
    Consent,
    CreditScore,
    Enterprise,
    Match,
    ModelVersion,
    Product,
    ProductVersion,
    Referral,
    User,
    utcnow,
)
from finportal.services import audit, consistency
from finportal.services import consents as consent_service
from finportal.services import packets as packet_service
from finportal.services.errors import (
    NotFound,
)
from finportal.services.profiles import (
    Change,
    changes_since,
    submitted_profile,
    submitted_verified,
)
from finportal.services.public_data import facts as verified_facts
from finportal.services.public_data.facts import Row as VerifiedRow
from finportal.services.queue import application_overdue
from finportal.services.referrals import of_application
from finportal.services.screening import latest_score_and_model

# --- the queue ---------------------------------------------------------------------------


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
    #: How many times the bank opened each referral again (its history lists none of them).
    reopened: dict[int, int]
    consented_bank_ids: set[int]
    assigned_to: str
    overdue: bool
    can_rematch: bool
    banks: list[Bank] = field(default_factory=list)
    #: Consistency flags for the advisor (services/consistency.py); they never reject.
    flags: list[consistency.Flag] = field(default_factory=list)
    #: Facts verified from public data the firm authorised, as submitted (issue 14).
    verified: list[VerifiedRow] = field(default_factory=list)
    #: Declared values the firm's profile documents back (no verified value for them).
    backed: list[verified_facts.Backing] = field(default_factory=list)


def get_application(
    session: Session, application_id: int, options: Sequence[ORMOption] = ()
) -> Application:
    """Return an application the centre can see (not a draft), loaded with ``options``.

    With ``options`` it is read afresh even when the session holds it, so that what they
    load comes in the same statement, always (not lazily when the session held it).
    """
    application = (
        session.get(Application, application_id, options=options, populate_existing=bool(options))
        if limits.check_id(application_id)
        else None
    )
    if application is None or application.state == "draft":
        raise NotFound.of("application")
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


def _user_name(display_name: str | None, username: str) -> str:
    """Name a user as the review page does: the display name, else the user name."""
    return display_name or username


#: The reviewed application with its firm, in one statement (options built once). The
#: firm's memberships follow in their own (its relationship's selectin): joined here too,
#: they changed what later pages read again in the tests' long-lived session
#: (tests/finportal/public_data/test_query_counts.py).
_WITH_FIRM = (joinedload(Application.enterprise),)
_NO_CONTENT = defer(ProductVersion.content)


def get_review(session: Session, application_id: int) -> Review:
    """Return the review of an application: profile, matches, score, history, notes, referrals."""
    application = get_application(session, application_id, _WITH_FIRM)
    enterprise = application.enterprise
    rows = session.execute(
        select(Match, ProductVersion, Product)
        .join(ProductVersion, ProductVersion.id == Match.product_version_id)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Match.application_id == application.id)
        .options(_NO_CONTENT)  # the product is read from its parsed version
        .order_by(Match.eligible.desc(), Match.rank, Product.code)
    ).all()
    matches = [MatchView(m, p, v) for m, v, p in rows]
    score, model = latest_score_and_model(session, application.id)
    referrals = of_application(session, application.id)
    referral_ids = [r.id for r in referrals]
    # Who wrote each event and note comes with it (read by id, joined): no third read. The
    # history leaves out the banks' re-openings, as the firm's timeline does: each is in the
    # trail (the audit log), but thousands of them made the page and its rendering grow.
    history, told = audit.history_of(
        {
            "application": [application.id],
            "referral": referral_ids,
            "match": [m.match.id for m in matches],
        }
    )
    events = list(
        session.execute(
            select(AuditEvent, *audit.actor_columns(User.display_name, User.username))
            .where(history)
            .order_by(AuditEvent.at, AuditEvent.id)
            .execution_options(**told)
        )
    )
    notes = list(
        session.execute(
            select(ApplicationNote, User.display_name, User.username)
            .outerjoin(User, User.id == ApplicationNote.author_id)
            .where(ApplicationNote.application_id == application.id)
            .order_by(ApplicationNote.created_at, ApplicationNote.id)
        )
    )
    # (a row without a user — its user name is never empty — names nobody)
    names = {e.actor_id: _user_name(*who) for e, *who in events if who[1] is not None}
    names.update((n.author_id, _user_name(*who)) for n, *who in notes if who[1] is not None)
    advisor_id = application.assigned_advisor_id
    if advisor_id and advisor_id not in names:  # read only when no event or note named them
        advisor = session.execute(
            select(User.display_name, User.username).where(User.id == advisor_id)
        ).first()
        if advisor is not None:
            names[advisor_id] = _user_name(*advisor)
    # Every consent that counts for the application (its own and its need's), read once: the
    # page lists those given in the application, and may refer to the banks of those in force.
    counted = consent_service.given_for_application(session, application.id)
    given = sorted(
        (c for c in counted if c.application_id == application.id),
        key=lambda c: (c.granted_at, c.id),
    )
    consented = consent_service.banks_in_force(counted)
    from finportal.services.packet_context import application_profile_rows
    from finportal.services.workdays import SHANGHAI

    verified = verified_facts.rows(submitted_verified(application))
    backed = list(
        verified_facts.backed(
            session,
            enterprise.id,
            submitted_profile(application),
            verified_facts.by_field(verified),
        ).values()
    )
    return Review(
        application=application,
        enterprise=enterprise,
        profile=verified_facts.mark_rows(
            application_profile_rows(
                application, utcnow().astimezone(SHANGHAI).date(), current_locale()
            ),
            verified,
            current_locale(),
            backed,
        ),
        verified=verified,
        backed=backed,
        matches=matches,
        score=score,
        model=model,
        reasons_chart=reasons_chart(score),
        history=[
            (e, names.get(e.actor_id or -1, limits.in_user_language("系统", "System")))
            for e, *_who in events
        ],
        notes=[(n, names.get(n.author_id, "")) for n, *_who in notes],
        consents=given,
        changes=changes_since(application),
        referrals=referrals,
        packet_states=packet_service.packet_statuses(session, referrals),
        reopened=audit.repeated_views(session, "referral", referral_ids),
        consented_bank_ids=consented,
        assigned_to=names.get(application.assigned_advisor_id or -1, ""),
        overdue=application_overdue(application),
        can_rematch=application.state == "referred"
        and any(r.state == "declined" for r in referrals),
        banks=list(session.scalars(select(Bank).where(Bank.active.is_(True)).order_by(Bank.code))),
        flags=consistency.application_flags(session, application),
    )


# --- actions -----------------------------------------------------------------------------


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
