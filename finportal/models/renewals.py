"""Renewal applications (续贷) and the running loans they renew."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from finportal.models.base import Base, utcnow


class Renewal(Base):
    """An application that renews the running loan of a referral (its bank gets it first).

    A table of its own rather than a column of ``applications``: a second foreign key
    between applications and referrals would make every join between them ambiguous.
    """

    __tablename__ = "renewals"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
