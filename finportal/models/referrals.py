"""Referrals to banks, the banks' decisions and the loan outcomes they report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.applications import Application
from finportal.models.base import Base, Rate, TimestampMixin, utcnow
from finportal.models.catalog import ProductVersion
from finportal.models.organisations import Bank


class Referral(TimestampMixin, Base):
    """An application referred to one bank for one product (its packets: ``models.Packet``)."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("application_id", "bank_id", "product_version_id"),
        # A bank's inbox tabs count its referrals per state (and overdue) from this index alone.
        Index("ix_referrals_bank_id_state", "bank_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"))
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    state: Mapped[str] = mapped_column(String(20), index=True, default="sent")
    advisor_opinion: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The bank's response is due by then (2 working days after sending).
    due_at: Mapped[datetime | None]
    #: When the bank's clock stopped because it asked the firm for information; None while
    #: it runs (services/deadlines.py).
    clock_paused_at: Mapped[datetime | None]
    viewed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    #: The day the loan matures: its first disbursal plus the last approved term, as
    #: ``services.maturities.maturity_date`` counts it; kept by ``maturities.refresh_maturity``
    #: whenever either is recorded, None before. The maturity list filters and pages on it.
    matures_on: Mapped[date | None] = mapped_column(index=True)
    #: The referral's reference, printed on its packets (RP-<date>-<id>); the rendered
    #: packets themselves, with their codes and files, are rows of ``packets``.
    packet_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    lock_version: Mapped[int] = mapped_column(default=1)

    application: Mapped[Application] = relationship()
    bank: Mapped[Bank] = relationship()
    product_version: Mapped[ProductVersion] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class BankDecision(Base):
    """A bank's decision on a referral: approved, declined or info_requested."""

    __tablename__ = "bank_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    #: Approved amount, yuan.
    approved_amount: Mapped[Decimal | None]
    #: Approved annual rate as a decimal fraction (0.035 = 3.5 % per year).
    annual_rate: Mapped[Decimal | None] = mapped_column(Rate)
    term_months: Mapped[int | None]
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    #: With info_requested: the document kinds the bank asks for (services/documents.KINDS).
    document_kinds: Mapped[list[str] | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoanOutcome(Base):
    """A loan event reported by the bank: disbursed, then repaid, overdue_90 or defaulted."""

    __tablename__ = "loan_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date]
    #: Disbursed amount for "disbursed", yuan.
    amount: Mapped[Decimal | None]
    # --- issue 13 (subsidy entitlements): what a repayment paid, yuan -------------------
    #: Principal, interest and guarantee fee / premium paid by a "repayment" (or the
    #: final "repaid") event; the subsidies (services/entitlements.py) are worked out of them.
    principal_paid: Mapped[Decimal | None]
    interest_paid: Mapped[Decimal | None]
    fee_paid: Mapped[Decimal | None]
    #: On a "disbursed" event: the firm had never borrowed from a bank before (首贷户).
    first_loan: Mapped[bool | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
