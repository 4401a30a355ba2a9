"""Public checks of a packet: ``/verify/<code>`` and "is this file the one you issued?".

Every code printed on a packet — a referral's, a batch packet's cover or one of its
member packets — is a row of ``packets``, found by an indexed lookup. A file is the
original when its SHA-256 is the packet's (or, for a member packet, that of the batch
packet it was merged into) and a recorded download when it is the SHA-256 of a stamped
copy kept in the download's audit event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import AuditEvent, Bank, Packet
from finportal.services.batches import organiser_name
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.packets import CENTRE_NAME, CENTRE_NAME_EN
from finportal.services.workdays import SHANGHAI

_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class VerifiedPacket:
    """What the public verification page shows of a packet (no personal data)."""

    packet_number: str
    #: SHA-256 of the file the bank received (for a member packet: its batch packet).
    sha256: str
    bank_name: str
    product_name: str
    enterprise_name: str
    rendered_at: dt.datetime | None
    sent_on: dt.date
    kind: str = "referral"
    #: For a member packet: the number of the batch packet it is part of.
    part_of: str = ""
    #: The English names (empty: the Chinese one is shown).
    bank_name_en: str = ""
    product_name_en: str = ""
    enterprise_name_en: str = ""


def mask_name(name: str) -> str:
    """Hide the middle of an enterprise name on public pages (上海㐀明****有限公司)."""
    if len(name) <= 6:
        return name[:1] + "*" * (len(name) - 1)
    keep_head, keep_tail = 4, 4
    return name[:keep_head] + "*" * max(2, len(name) - keep_head - keep_tail) + name[-keep_tail:]


def find_packet(session: Session, code: str) -> Packet:
    """Return the packet with this verification code (any case, spaces ignored)."""
    code = (code or "").strip().upper()
    packet = (
        session.scalar(select(Packet).where(Packet.verification_code == code)) if code else None
    )
    if packet is None:
        raise NotFound(
            "未找到该验证码对应的推荐材料包。", "No referral packet has this verification code."
        )
    return packet


def _document(packet: Packet) -> Packet:
    """Return the packet a bank downloads for this one: a member packet's batch packet."""
    return packet.cover if packet.cover is not None else packet


def verify_packet(session: Session, code: str) -> VerifiedPacket:
    """Return the public facts of the packet with this verification code."""
    packet = find_packet(session, code)
    document = _document(packet)
    if packet.referral is not None:
        referral = packet.referral
        return VerifiedPacket(
            packet_number=packet.packet_number,
            sha256=packet.sha256,
            bank_name=referral.bank.name_zh,
            bank_name_en=referral.bank.name_en,
            product_name=referral.product_version.product.name_zh,
            product_name_en=referral.product_version.product.name_en,
            enterprise_name=mask_name(referral.application.enterprise.name),
            rendered_at=packet.rendered_at,
            sent_on=referral.sent_at.astimezone(SHANGHAI).date(),
        )
    batch = packet.batch
    assert batch is not None  # the CHECK constraint: batch packets name their batch
    if packet.batch_member is not None:
        enterprise = enterprise_en = mask_name(packet.batch_member.enterprise.name)
    else:
        count = len(session.scalars(select(Packet.id).where(Packet.cover_id == packet.id)).all())
        organiser = batch.park or batch.chamber
        enterprise = f"{organiser_name(batch)}批次（{count} 户）"
        enterprise_en = f"Batch of {(organiser and organiser.name_en) or organiser_name(batch)}" + (
            f" ({count} firms)" if count != 1 else " (1 firm)"
        )
    return VerifiedPacket(
        packet_number=packet.packet_number,
        sha256=document.sha256,
        bank_name=batch.bank.name_zh,
        bank_name_en=batch.bank.name_en,
        product_name=batch.product.name_zh,
        product_name_en=batch.product.name_en,
        enterprise_name=enterprise,
        enterprise_name_en=enterprise_en,
        rendered_at=packet.rendered_at,
        sent_on=(batch.submitted_at or packet.rendered_at).astimezone(SHANGHAI).date(),
        kind=packet.kind,
        part_of=document.packet_number if document is not packet else "",
    )


@dataclass(frozen=True)
class FileCheck:
    """Whether a file is the original packet, one recorded download of it, or neither."""

    sha256: str
    matches: str  # original | download | none
    bank_name: str = ""
    bank_name_en: str = ""
    downloaded_at: dt.datetime | None = None
    serial: int | None = None


def check_file(session: Session, code: str, sha256: str) -> FileCheck:
    """Tell whether ``sha256`` is the packet's original or a recorded (stamped) download.

    Every download is stamped, so its file differs from the original; its SHA-256 is kept
    in the download's audit event. The answer names the bank (or the centre) and the time
    of the download, never the user.
    """
    digest = (sha256 or "").strip().lower()
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise ValidationFailed(
            "SHA-256 应为 64 位十六进制字符。",
            "A SHA-256 is 64 hexadecimal characters.",
            fields={
                "sha256": limits.in_user_language(
                    "SHA-256 应为 64 位十六进制字符。", "A SHA-256 is 64 hexadecimal characters."
                )
            },
        )
    try:
        packet = find_packet(session, code)
    except NotFound:
        return FileCheck(digest, "none")
    document = _document(packet)
    if digest in (packet.sha256, document.sha256):
        return FileCheck(digest, "original")
    if document.kind == "referral":
        action, object_type, object_id = (
            "referral.packet_downloaded",
            "referral",
            document.referral_id,
        )
    else:
        action, object_type, object_id = "batch.packet_downloaded", "batch", document.batch_id
    downloads = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == action,
            AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id,
        )
        .order_by(AuditEvent.id)
    )
    # The serial counts every download of the subject, as the stamp printed it.
    for serial, event in enumerate(downloads, start=1):
        data = event.data or {}
        of_document = data.get("packet_id") == document.id or (
            "packet_id" not in data
            and document.sha256 in (data.get("packet_sha256"), data.get("sha256"))
        )
        if of_document and data.get("stamped_sha256") == digest:
            bank = session.get(Bank, data["bank_id"]) if data.get("bank_id") else None
            return FileCheck(
                digest,
                "download",
                bank_name=bank.name_zh if bank is not None else CENTRE_NAME,
                bank_name_en=bank.name_en if bank is not None else CENTRE_NAME_EN,
                downloaded_at=event.at,
                serial=serial,
            )
    return FileCheck(digest, "none")
