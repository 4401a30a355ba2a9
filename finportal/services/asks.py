"""What the centre or a bank asked an enterprise to supply (待您补充), for the SME's banner.

An ask is open while the work waits on the firm: an application the centre returned for
information (``returned``) and a referral on which a bank asked for information (the
referral machine's states that wait on the SME). Read in two statements, whatever the
number of applications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from finportal.domain.states import REFERRAL, ApplicationState
from finportal.limits import in_user_language
from finportal.models import Application, BankDecision, Referral


@dataclass(frozen=True)
class Ask:
    """One open request to the firm: who asked, what they wrote, which application."""

    #: "centre" or "bank"
    source: str
    application_id: int
    #: The bank's names (zh, en) for a bank's ask; None for the centre's.
    bank_names: tuple[str, str] | None
    message: str
    asked_at: datetime | None
    #: The anchor on the application page where the firm answers.
    anchor: str

    def bank_name(self) -> str:
        """Return the asking bank's name in the reader's language ('' for the centre)."""
        return in_user_language(*self.bank_names) if self.bank_names else ""


def open_asks(session: Session, enterprise_id: int | None) -> list[Ask]:
    """Return the firm's open asks, the oldest first."""
    if enterprise_id is None:
        return []
    asks: list[Ask] = []
    returned = session.scalars(
        select(Application)
        .where(
            Application.enterprise_id == enterprise_id,
            Application.state == ApplicationState.RETURNED.value,
        )
        .order_by(Application.updated_at, Application.id)
    ).all()
    for app in returned:
        request = app.return_request or {}
        asks.append(
            Ask(
                "centre",
                app.id,
                None,
                str(request.get("message") or ""),
                app.updated_at,
                "return-request",
            )
        )
    waiting = [str(s) for s in REFERRAL.waiting_on("sme")]
    referrals = session.scalars(
        select(Referral)
        .join(Application, Application.id == Referral.application_id)
        .where(Application.enterprise_id == enterprise_id, Referral.state.in_(waiting))
        .options(joinedload(Referral.bank))
        .order_by(Referral.id)
    ).all()
    latest: dict[int, BankDecision] = {}
    if referrals:
        for decision in session.scalars(
            select(BankDecision)
            .where(
                BankDecision.referral_id.in_([r.id for r in referrals]),
                BankDecision.decision == "info_requested",
            )
            .order_by(BankDecision.decided_at, BankDecision.id)
        ):
            latest[decision.referral_id] = decision
    for ref in referrals:
        decision = latest.get(ref.id)
        asks.append(
            Ask(
                "bank",
                ref.application_id,
                (ref.bank.name_zh, ref.bank.name_en or ref.bank.name_zh),
                decision.reason_text if decision else "",
                decision.decided_at if decision else ref.decided_at,
                f"supply-{ref.id}",
            )
        )
    return sorted(asks, key=lambda a: (a.asked_at is None, a.asked_at or datetime.min))
