"""Spread a demo application's history over realistic times.

The demo plays every step through the services at once, so all its events carry the
same second and the dashboard's median response times would read 0. :func:`restage`
moves the audit events (and the timestamps the pages and the dashboard read) so that
each step follows the one before by a plausible delay, and the last one ends at a
chosen moment. Called only on records the demo has just made, so a second run of the
demo changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from finportal.models import (
    Application,
    AuditEvent,
    BankDecision,
    Consent,
    CreditScore,
    LoanOutcome,
    Packet,
    Referral,
)
from finportal.services.referrals import BANK_RESPONSE_WORKING_DAYS
from finportal.services.screening import ADVISOR_RESPONSE_WORKING_DAYS
from finportal.services.workdays import SHANGHAI, deadline

_MIN = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)

#: How long after the previous event each action happens in the demo's histories.
DELAYS = {
    "application.created": timedelta(0),
    "consent.granted": 2 * _MIN,
    "application.submitted": 25 * _MIN,
    "application.screened": 3 * _MIN,
    "application.in_review": 4 * _HOUR,  # the advisor's first response
    "application.returned": 2 * _HOUR,
    "application.rejected": 3 * _HOUR,
    "application.referred": 90 * _MIN,
    "referral.sent": timedelta(seconds=1),
    "referral.packet_rendered": _MIN,
    "referral.viewed": 5 * _HOUR,
    "referral.opened": _HOUR,
    "referral.packet_downloaded": 10 * _MIN,
    "referral.info_requested": 20 * _HOUR,
    "referral.approved": 30 * _HOUR,  # the bank's decision
    "referral.declined": 26 * _HOUR,
    "referral.disbursed": 3 * _DAY,
    "referral.repayment": 10 * _DAY,  # issue 13: a repayment a month or so after the disbursal
    "referral.repaid": 20 * _DAY,
    "referral.overdue_90": 20 * _DAY,
    "referral.defaulted": 25 * _DAY,
    "application.withdrawn": _DAY,
    "referral.withdrawn": timedelta(seconds=1),
    "application.closed": _DAY,
    "application.rated": 2 * _HOUR,
}
DEFAULT_DELAY = 10 * _MIN


def _events(session: Session, application: Application) -> list[AuditEvent]:
    consents = select(Consent.id).where(Consent.application_id == application.id)
    referrals = select(Referral.id).where(Referral.application_id == application.id)
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    (AuditEvent.object_type == "application")
                    & (AuditEvent.object_id == application.id),
                    (AuditEvent.object_type == "consent") & AuditEvent.object_id.in_(consents),
                    (AuditEvent.object_type == "referral") & AuditEvent.object_id.in_(referrals),
                )
            )
            .order_by(AuditEvent.id)
        )
    )


def restage(session: Session, application: Application, end_at: datetime) -> None:
    """Space the application's history by :data:`DELAYS`, its last event at ``end_at``."""
    session.flush()
    events = _events(session, application)
    if not events:
        return
    offsets = []
    total = timedelta(0)
    for index, event in enumerate(events):
        if index:
            total += DELAYS.get(event.action, DEFAULT_DELAY)
        offsets.append(total)
    start = end_at - total
    for event, offset in zip(events, offsets, strict=True):
        event.at = start + offset

    def first(action: str, object_id: int | None = None) -> datetime | None:
        return next(
            (
                e.at
                for e in events
                if e.action == action and (object_id is None or e.object_id == object_id)
            ),
            None,
        )

    def last(action: str, object_id: int | None = None) -> datetime | None:
        return next(
            (
                e.at
                for e in reversed(events)
                if e.action == action and (object_id is None or e.object_id == object_id)
            ),
            None,
        )

    application.created_at = events[0].at
    application.submitted_at = last("application.submitted") or application.submitted_at
    screened = last("application.screened")
    if screened is not None:
        application.screened_at = screened
        application.first_response_due_at = deadline(
            session, screened, ADVISOR_RESPONSE_WORKING_DAYS
        )
        for score in session.scalars(
            select(CreditScore).where(CreditScore.application_id == application.id)
        ):
            score.scored_at = screened
    if application.first_response_at is not None:
        application.first_response_at = first("application.in_review")
    if application.closed_at is not None:
        application.closed_at = last("application.closed")
    for consent in session.scalars(select(Consent).where(Consent.application_id == application.id)):
        consent.granted_at = first("consent.granted", consent.id) or events[0].at
    for referral in session.scalars(
        select(Referral).where(Referral.application_id == application.id)
    ):
        sent = first("referral.sent", referral.id) or last("application.referred")
        if sent is None:
            continue
        referral.sent_at = sent
        referral.due_at = deadline(session, sent, BANK_RESPONSE_WORKING_DAYS)
        if referral.viewed_at is not None:
            referral.viewed_at = first("referral.viewed", referral.id) or referral.viewed_at
        for packet in session.scalars(
            select(Packet).where(Packet.kind == "referral", Packet.referral_id == referral.id)
        ):
            packet.rendered_at = first("referral.packet_rendered", referral.id) or sent
        decided = [
            e.at
            for e in events
            if e.object_type == "referral"
            and e.object_id == referral.id
            and e.action in ("referral.approved", "referral.declined", "referral.info_requested")
        ]
        for row, at in zip(
            session.scalars(
                select(BankDecision)
                .where(BankDecision.referral_id == referral.id)
                .order_by(BankDecision.id)
            ),
            decided,
            strict=False,
        ):
            row.decided_at = at
        if referral.decided_at is not None:
            referral.decided_at = (
                last("referral.approved", referral.id)
                or last("referral.declined", referral.id)
                or referral.decided_at
            )
        for outcome in session.scalars(
            select(LoanOutcome).where(LoanOutcome.referral_id == referral.id)
        ):
            at = last(f"referral.{outcome.event}", referral.id)
            if at is not None:
                outcome.occurred_on = at.astimezone(SHANGHAI).date()
                outcome.recorded_at = at
    session.flush()
