"""Who may see and do what: the roles' areas and the object rules, in one place.

Two layers, both read from here:

- **Areas**: every page under ``/sme``, ``/advisor``, ``/recommender``, ``/bank`` and
  ``/admin`` belongs to one role (:data:`AREAS`); ``web/access.py`` refuses the others.
- **Objects**: within its area an actor sees only its own records. Each rule is written
  once as a predicate (for one record) and, where lists are queried, as its SQL twin (for
  many), side by side so they cannot drift apart. A record an actor may not see answers
  404 (not 403), so its existence is not confirmed.

The consent rule (whether a bank may receive a firm's data) is its own module,
``services/consents.py``; the rules here call it where a bank reads member data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from finportal.domain.states import MEMBER, BatchState, MemberState
from finportal.models import Application, Batch, BatchMember, Complaint, Referral

#: The role each area of the portal belongs to (URL prefix -> role).
AREAS = {
    "/sme": "sme",
    "/advisor": "advisor",
    "/recommender": "recommender",
    "/bank": "bank",
    "/admin": "admin",
}
#: Roles that see every application, referral and batch (the centre's staff).
CENTRE = frozenset({"advisor", "admin"})


@dataclass(frozen=True)
class Actor:
    """Who acts: a role and the organisation the user acts for (from a User or a token)."""

    role: str
    user_id: int | None = None
    enterprise_id: int | None = None
    bank_id: int | None = None
    park_id: int | None = None
    chamber_id: int | None = None
    #: An advisor's extra duty (``users.duty``): None, "supervisor" or "head" (issue 15).
    duty: str | None = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        """Return the actor of a signed-in user."""
        return cls(
            role=user.role,
            user_id=user.id,
            enterprise_id=user.enterprise_id,
            bank_id=user.bank_id,
            park_id=user.park_id,
            chamber_id=user.chamber_id,
            duty=getattr(user, "duty", None),
        )

    @classmethod
    def bank(cls, bank_id: int) -> Actor:
        """Return the actor of a bank's API token."""
        return cls(role="bank", bank_id=bank_id)


# --- applications ---------------------------------------------------------------------------


def sees_application(actor: Actor, application: Application) -> bool:
    """An enterprise sees its own applications; the centre sees all."""
    if actor.role in CENTRE:
        return True
    return actor.role == "sme" and application.enterprise_id == actor.enterprise_id


def applications_seen(actor: Actor) -> ColumnElement[bool]:
    """SQL twin of :func:`sees_application`."""
    if actor.role in CENTRE:
        return true()
    if actor.role == "sme" and actor.enterprise_id is not None:
        return Application.enterprise_id == actor.enterprise_id
    return false()


# --- referrals ------------------------------------------------------------------------------


def sees_referral(actor: Actor, referral: Referral) -> bool:
    """A bank sees the referrals sent to it; the centre sees all; the firm sees its own."""
    if actor.role in CENTRE:
        return True
    if actor.role == "bank":
        return referral.bank_id == actor.bank_id
    return actor.role == "sme" and referral.application.enterprise_id == actor.enterprise_id


def referrals_seen(actor: Actor) -> ColumnElement[bool]:
    """SQL twin of :func:`sees_referral` for banks and the centre."""
    if actor.role in CENTRE:
        return true()
    if actor.role == "bank" and actor.bank_id is not None:
        return Referral.bank_id == actor.bank_id
    return false()


# --- batches ----------------------------------------------------------------------------------


def organises(actor: Actor, batch: Batch) -> bool:
    """Tell whether a recommender acts for the batch's park or chamber."""
    return actor.role == "recommender" and (
        (batch.park_id is not None and batch.park_id == actor.park_id)
        or (batch.chamber_id is not None and batch.chamber_id == actor.chamber_id)
    )


def sees_batch(actor: Actor, batch: Batch) -> bool:
    """The centre sees every batch; the organiser its own; the bank those sent to it."""
    if actor.role in CENTRE:
        return True
    if actor.role == "bank":
        return batch.bank_id == actor.bank_id and batch.state != BatchState.OPEN
    return organises(actor, batch)


def batches_seen(actor: Actor) -> ColumnElement[bool]:
    """SQL twin of :func:`sees_batch`."""
    if actor.role in CENTRE:
        return true()
    if actor.role == "bank" and actor.bank_id is not None:
        return and_(Batch.bank_id == actor.bank_id, Batch.state != BatchState.OPEN)
    if actor.role == "recommender":
        clauses = []
        if actor.park_id is not None:
            clauses.append(Batch.park_id == actor.park_id)
        if actor.chamber_id is not None:
            clauses.append(Batch.chamber_id == actor.chamber_id)
        return or_(*clauses) if clauses else false()
    return false()


#: Member states a bank sees: the ones the advisor sent it.
BANK_MEMBER_STATES = MEMBER.tagged("sent")


def may_withdraw_member(actor: Actor, member: BatchMember) -> bool:
    """The advisor, or the recommender of the batch's organisation, takes a member out."""
    if not MEMBER.can(member.state, MemberState.WITHDRAWN, actor.role):
        return False
    return actor.role == "advisor" or organises(actor, member.batch)


# --- supervision, complaints and publications (issue 15: 交办, 预警, 反映, 评价晾晒) ---------------

#: Duties of advisors who assign work and are told of overdue work (督导顾问, 中心负责人).
SUPERVISING_DUTIES = frozenset({"supervisor", "head"})


def supervises(actor: Actor) -> bool:
    """A supervising advisor or the centre's head assigns work and sees everyone's load."""
    return actor.role == "advisor" and actor.duty in SUPERVISING_DUTIES


def approves_publication(actor: Actor) -> bool:
    """Only the centre's head approves figures for the public (评价晾晒)."""
    return actor.role == "advisor" and actor.duty == "head"


def sees_complaint(actor: Actor, complaint: Complaint) -> bool:
    """The raiser, the advisor it is assigned to, and supervisors and the head see it."""
    if actor.user_id is not None and complaint.raised_by_id == actor.user_id:
        return True
    if actor.role != "advisor":
        return False
    return supervises(actor) or (
        actor.user_id is not None and complaint.assigned_to_id == actor.user_id
    )


def complaints_seen(actor: Actor) -> ColumnElement[bool]:
    """SQL twin of :func:`sees_complaint`."""
    if actor.user_id is None:
        return false()
    own = Complaint.raised_by_id == actor.user_id
    if actor.role != "advisor":
        return own
    if supervises(actor):
        return true()
    return or_(own, Complaint.assigned_to_id == actor.user_id)


def handles_complaint(actor: Actor, complaint: Complaint) -> bool:
    """The centre's side of a complaint: its assigned advisor, supervisors and the head.

    The raiser of a complaint never handles it, even an advisor who raised one.
    """
    if actor.role != "advisor" or complaint.raised_by_id == actor.user_id:
        return False
    return supervises(actor) or (
        actor.user_id is not None and complaint.assigned_to_id == actor.user_id
    )
