"""What the centre or a bank asked an enterprise to supply (待您补充), for the SME's banner.

An ask is open while the work waits on the firm: an application the centre returned for
information (``returned``) and a referral on which a bank asked for information (the
referral machine's states that wait on the SME). Read in two statements, whatever the
number of applications.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.domain.states import REFERRAL, ApplicationState
from finportal.limits import in_user_language
from finportal.models import Application, Bank, BankDecision, Referral


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
    """Return the firm's open asks, the oldest first.

    Two statements of plain columns (the banner is on every SME page): the applications
    returned to the firm, and the referrals waiting on it with their bank and the bank's
    latest request (a correlated lookup per referral).
    """
    if enterprise_id is None:
        return []
    asks: list[Ask] = []
    returned = session.execute(
        select(Application.id, Application.return_request, Application.updated_at)
        .where(
            Application.enterprise_id == enterprise_id,
            Application.state == ApplicationState.RETURNED.value,
        )
        .order_by(Application.updated_at, Application.id)
    ).all()
    for application_id, request, updated_at in returned:
        message = str((request or {}).get("message") or "")
        asks.append(Ask("centre", application_id, None, message, updated_at, "return-request"))

    def latest_request(column: Any) -> Any:
        return (
            select(column)
            .where(
                BankDecision.referral_id == Referral.id,
                BankDecision.decision == "info_requested",
            )
            .order_by(BankDecision.decided_at.desc(), BankDecision.id.desc())
            .limit(1)
            .correlate(Referral)
            .scalar_subquery()
        )

    waiting = [str(s) for s in REFERRAL.waiting_on("sme")]
    referrals = session.execute(
        select(
            Referral.id,
            Referral.application_id,
            Referral.decided_at,
            Bank.name_zh,
            Bank.name_en,
            latest_request(BankDecision.reason_text),
            latest_request(BankDecision.decided_at),
        )
        .join(Application, Application.id == Referral.application_id)
        .join(Bank, Bank.id == Referral.bank_id)
        .where(Application.enterprise_id == enterprise_id, Referral.state.in_(waiting))
        .order_by(Referral.id)
    ).all()
    for referral_id, application_id, decided_at, name_zh, name_en, text, asked_at in referrals:
        asks.append(
            Ask(
                "bank",
                application_id,
                (name_zh, name_en or name_zh),
                text or "",
                asked_at or decided_at,
                f"supply-{referral_id}",
            )
        )
    return sorted(asks, key=lambda a: (a.asked_at is None, a.asked_at or datetime.min))
