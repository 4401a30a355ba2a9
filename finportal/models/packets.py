"""Rendered packets (推荐材料包): one row per PDF, whatever it was made for.

A packet's subject is a referral (the packet one bank gets for one application), a batch
member (that member's packet inside a batch packet) or a batch cover (the whole batch
packet: the cover table, then every member's packet, merged). The PDF lives in the packet
store under ``storage_key`` (a file, not a blob in the row); the row keeps what
``/verify/<code>`` shows and checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finportal.models.base import Base, utcnow
from finportal.models.batches import Batch, BatchMember
from finportal.models.referrals import Referral

#: What a packet is about; the CHECK below ties each kind to its one subject column.
PACKET_KINDS = ("referral", "batch_member", "batch_cover")


class Packet(Base):
    """One rendered packet PDF: its subject, number, verification code and stored file."""

    __tablename__ = "packets"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'referral' AND referral_id IS NOT NULL"
            " AND batch_id IS NULL AND batch_member_id IS NULL)"
            " OR (kind = 'batch_member' AND referral_id IS NULL"
            " AND batch_id IS NOT NULL AND batch_member_id IS NOT NULL AND cover_id IS NOT NULL)"
            " OR (kind = 'batch_cover' AND referral_id IS NULL"
            " AND batch_id IS NOT NULL AND batch_member_id IS NULL AND cover_id IS NULL)",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: referral | batch_member | batch_cover
    kind: Mapped[str] = mapped_column(String(20))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    batch_member_id: Mapped[int | None] = mapped_column(ForeignKey("batch_members.id"), index=True)
    #: A member packet's batch packet (the merged file the bank receives).
    cover_id: Mapped[int | None] = mapped_column(ForeignKey("packets.id"), index=True)
    #: Printed on the cover and in every page header (RP-20261127-000042, PB-…-001).
    packet_number: Mapped[str] = mapped_column(String(40))
    #: Short public code printed on the packet, checked at /verify/<code>.
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    #: SHA-256 of the stored PDF, 64 lowercase hex digits.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: Where the PDF is in the packet store (finportal.storage.packet_store()).
    storage_key: Mapped[str] = mapped_column(String(128))
    byte_size: Mapped[int]
    #: SHA-256 of what the packet says apart from its code: the same content is not
    #: rendered (nor stored) twice. None for packets carried over from before the table.
    context_sha256: Mapped[str | None] = mapped_column(String(64))
    rendered_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    #: The product version the packet was priced and checked against.
    product_version_id: Mapped[int | None] = mapped_column(ForeignKey("product_versions.id"))
    #: The consent the packet was rendered under (referrals and batch members).
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))

    referral: Mapped[Referral | None] = relationship()
    batch: Mapped[Batch | None] = relationship()
    batch_member: Mapped[BatchMember | None] = relationship()
    cover: Mapped[Packet | None] = relationship(remote_side=[id])
