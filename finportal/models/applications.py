"""Applications and what hangs on them: matches, scores, consents, notes and ratings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, TimestampMixin, utcnow
from finportal.models.catalog import Product, ProductVersion
from finportal.models.enterprises import Enterprise
from finportal.models.organisations import Bank

if TYPE_CHECKING:
    from finportal.models.batches import Batch
    from finportal.models.needs import Need


class Application(TimestampMixin, Base):
    """An enterprise's request for financing, moving through the lifecycle in DESIGN.md."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months > 0", name="term_positive"),
        # The advisor's queue and its tab counts (issue 12): a page of the queue, in deadline
        # order, and the count of each state are read from this index alone.
        Index("ix_applications_state_due", "state", "first_response_due_at", "id"),
        # A search of the queue (the found firms' applications, or the one numbered): its
        # tab counts and its list's count are read from this index alone (stop 25).
        Index("ix_applications_state_enterprise", "state", "enterprise_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    #: Amount asked, yuan.
    amount: Mapped[Decimal]
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(Text, default="")
    #: The product the SME chose, or None for "let the centre match".
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    #: The product version the application was matched against (pinned at screening).
    product_version_id: Mapped[int | None] = mapped_column(ForeignKey("product_versions.id"))
    #: The model version that scored it, and the feature values it used.
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    feature_snapshot: Mapped[dict[str, Any] | None]
    #: The enterprise profile as submitted (services/profiles.freeze): what screening, the
    #: advisor, the packet and the API read, whatever the firm edits afterwards.
    profile_snapshot: Mapped[dict[str, Any] | None]
    #: The client's token for this submission: a retried submit finds the same application.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime | None]
    screened_at: Mapped[datetime | None]
    #: The advisor's first response is due by then (1 working day after screening).
    first_response_due_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    #: When the clock stopped because the firm was asked for information (returned); None
    #: while it runs. The one rule: services/deadlines.py.
    clock_paused_at: Mapped[datetime | None]
    assigned_advisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: What the centre asked for when it returned the application:
    #: {"message": ..., "fields": [...], "documents": [document kinds]}.
    return_request: Mapped[dict[str, Any] | None]
    reject_reason_code: Mapped[str | None] = mapped_column(String(40))
    reject_reason_text: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    #: Optimistic-locking counter: two advisors acting at once cannot both win.
    lock_version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    product: Mapped[Product | None] = relationship()
    product_version: Mapped[ProductVersion | None] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class Match(Base):
    """The eligibility of an application against one product version, with its quote."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("application_id", "product_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    product_version_id: Mapped[int] = mapped_column(ForeignKey("product_versions.id"))
    eligible: Mapped[bool]
    #: Rank among the eligible products by net cost (1 = cheapest); None when not eligible.
    rank: Mapped[int | None]
    conditions: Mapped[list[Any]]
    quote: Mapped[dict[str, Any] | None]
    #: An advisor's override of the computed result, with the written reason.
    overridden: Mapped[bool] = mapped_column(default=False)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product_version: Mapped[ProductVersion] = relationship()


class CreditScore(Base):
    """A credit score of an application by one model version."""

    __tablename__ = "credit_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    #: Calibrated probability of default, 0..1.
    pd: Mapped[float] = mapped_column(Float)
    score: Mapped[int]
    grade: Mapped[str] = mapped_column(String(2))
    reasons: Mapped[list[Any]]
    feature_snapshot: Mapped[dict[str, Any]]
    #: What the model said about its inputs when it scored (scoring.ScoreResult.inputs_report):
    #: missing and coerced inputs, and the advisor-only context drivers. None for older scores.
    details: Mapped[dict[str, Any] | None]
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """An enterprise's consent to share stated data with one bank until a date (inclusive).

    A consent has one subject: the application it was given in, the batch that asked
    for it, or the demand-board need a bank claimed. The rule of when it lets data reach a bank is ``services/consents.py``.
    """

    __tablename__ = "consents"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN application_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN batch_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN need_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), index=True)
    #: Data categories shared, e.g. ["profile", "financials", "credit_record", "score"].
    scope: Mapped[list[str]]
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[date]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None]

    bank: Mapped[Bank] = relationship()
    batch: Mapped[Batch | None] = relationship()
    need: Mapped[Need | None] = relationship(foreign_keys=[need_id])


class ApplicationNote(Base):
    """An advisor's note on an application."""

    __tablename__ = "application_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """The SME's satisfaction rating (评价) of a closed application, given once."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
