"""Documents an enterprise uploads, and its requests to be verified by the centre."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, utcnow


class Document(Base):
    """A file an enterprise uploaded; the bytes live in the document store, named by SHA-256."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    #: The application it was attached to (a contract, an invoice, what a return or a bank's
    #: request asked for); None for a document of the firm's profile (licence, statements).
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    #: What the file is, e.g. business_licence or contract (services/documents.KINDS).
    kind: Mapped[str] = mapped_column(String(40))
    #: The name the uploader's computer gave it (shown, never used as a path).
    filename: Mapped[str] = mapped_column(String(200))
    #: The type found in the content (not the name's extension).
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: The virus scan: "clean", or "not_scanned" (未扫描) when no scanner is installed.
    scan_status: Mapped[str] = mapped_column(String(20), default="not_scanned")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class VerificationRequest(Base):
    """An enterprise user's request that the centre verify the account acts for the firm."""

    __tablename__ = "verification_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    #: pending -> approved | rejected
    state: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    #: What the requester wrote (who they are, their role in the firm).
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The advisor's reason, shown to the enterprise.
    decision_note: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[Document] = relationship()
