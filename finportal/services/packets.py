"""The packet pipeline: render in a job, keep the file in the store and a row in ``packets``.

One pipeline for every packet (docs/PACKETS.md):

- **context**: :func:`finportal.services.packet_context.build_context` for a referral or a
  batch member — one builder, one set of sections;
- **render**: background jobs only — ``render_packet`` (:func:`render_referral_packet`) for
  a referral, ``batch_packet`` (:func:`finportal.services.batch_packets.render_batch_packet`)
  for a batch: its cover, then each member's packet from the same builder, merged into one file;
- **store**: the PDF goes to the packet store (:func:`finportal.storage.packet_store`,
  files named by their SHA-256 in the instance folder); a row of ``packets`` keeps its
  subject, number, verification code, SHA-256, storage key, size, job, product version
  and consent. A packet whose content has not changed is not rendered (nor stored) again;
  a failed render leaves no row (the job's transaction rolls back);
- **download**: :func:`stamped_download` — every download (bank page, API, advisor,
  batch) reads the stored file, stamps it with who took it and when, and is audited;
- **verify**: :mod:`finportal.services.packet_verification` looks codes up in ``packets``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal import jobs, packets
from finportal.models import Job, Packet, Referral, utcnow
from finportal.services.audit import download_stamp, record_event
from finportal.services.errors import Conflict, Forbidden, NotFound
from finportal.services.packet_context import (
    assemble,
    build_context,
    packet_number_for,
    referral_facts,
)
from finportal.storage import FileStore, packet_store

__all__ = [
    "PacketStatus",
    "REFERRAL_PACKET_JOB",
    "add_packet",
    "build_context",
    "context_digest",
    "current_packet",
    "new_verification_code",
    "packet_number_for",
    "packet_status",
    "render_referral_packet",
    "request_render",
    "stamped_download",
]

REFERRAL_PACKET_JOB = "render_packet"
CENTRE_NAME = "闵行区融资服务中心"
CENTRE_NAME_EN = "Minhang District Financing Service Centre"

# No 0/O, 1/I/L: a code is read aloud or typed from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_verification_code() -> str:
    """Return a random public code like ``7KQ4-M2XD-9PHA`` (about 59 bits)."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def unused_codes(session: Session, n: int) -> list[str]:
    """Return ``n`` different verification codes no packet has yet."""
    # 59 bits make a clash all but impossible; checking costs one indexed lookup each.
    codes: list[str] = []
    while len(codes) < n:
        code = new_verification_code()
        taken = session.scalar(select(Packet.id).where(Packet.verification_code == code))
        if taken is None and code not in codes:
            codes.append(code)
    return codes


def context_digest(ctx: Any) -> str:
    """Return the SHA-256 of what a packet says, leaving out its verification code.

    Two renders of contexts with the same digest print the same packet but for the code,
    so the second is not rendered: the first packet (file and row) is kept.
    """
    blank = {"verification_code": ""}
    if hasattr(ctx, "verify_url"):
        blank["verify_url"] = ""
    return hashlib.sha256(repr(dataclasses.replace(ctx, **blank)).encode()).hexdigest()


def resolve_store(store: FileStore | None) -> FileStore:
    return store if store is not None else packet_store()


def add_packet(
    session: Session,
    store: FileStore,
    *,
    kind: str,
    pdf: bytes,
    packet_number: str,
    verification_code: str,
    context_sha256: str | None = None,
    referral_id: int | None = None,
    batch_id: int | None = None,
    batch_member_id: int | None = None,
    cover: Packet | None = None,
    job_id: str | None = None,
    product_version_id: int | None = None,
    consent_id: int | None = None,
) -> Packet:
    """Put a rendered PDF in the store and add its ``packets`` row (the caller commits).

    The file is written first: if the row is never committed, what is left is an
    unreferenced file, never a row pointing at nothing.
    """
    key = store.put(pdf)
    row = Packet(
        kind=kind,
        referral_id=referral_id,
        batch_id=batch_id,
        batch_member_id=batch_member_id,
        cover=cover,
        packet_number=packet_number,
        verification_code=verification_code,
        sha256=packets.sha256_hex(pdf),
        storage_key=key,
        byte_size=len(pdf),
        context_sha256=context_sha256,
        rendered_at=utcnow(),
        job_id=job_id,
        product_version_id=product_version_id,
        consent_id=consent_id,
    )
    session.add(row)
    session.flush()
    return row


def running_job_id(session: Session, kind: str, object_type: str, object_id: int) -> str | None:
    return session.scalar(
        select(Job.id)
        .where(Job.kind == kind, Job.object_type == object_type, Job.object_id == object_id)
        .order_by(Job.created_at.desc())
        .limit(1)
    )


# --- referral packets -------------------------------------------------------------------


def current_packet(session: Session, referral_id: int) -> Packet | None:
    """Return the newest packet rendered for a referral (None before the first render)."""
    return session.scalar(
        select(Packet)
        .where(Packet.kind == "referral", Packet.referral_id == referral_id)
        .order_by(Packet.id.desc())
        .limit(1)
    )


def record_refusal(
    session: Session, referral: Referral, *, actor_id: int | None, reason: str
) -> None:
    """Audit that a referral's packet was refused (consent gone) and commit that alone."""
    record_event(
        session,
        actor_id=actor_id,
        action="referral.packet_refused",
        object_type="referral",
        object_id=referral.id,
        from_state=referral.state,
        to_state=referral.state,
        reason=reason,
    )
    session.commit()


@jobs.job(REFERRAL_PACKET_JOB)
def render_referral_packet(
    session: Session,
    *,
    referral_id: int,
    base_url: str = "",
    force: bool = False,
    store: FileStore | None = None,
) -> dict[str, Any]:
    """Render a referral's packet into the store and add its row (the ``render_packet`` job).

    Refuses (and audits the refusal) when the enterprise's consent to the bank is no
    longer in force. A second run changes nothing unless ``force``; even then a packet
    whose content has not changed is kept as it is.
    """
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFound.of("referral")
    current = current_packet(session, referral.id)
    if current is not None and not force:
        return {"skipped": "already rendered", "sha256": current.sha256, "packet_id": current.id}
    try:
        facts = referral_facts(session, referral)
    except Forbidden:
        # Keep the audit event: the job fails afterwards and rolls back what is pending.
        record_refusal(session, referral, actor_id=None, reason="企业已撤回授权，不生成推荐材料包")
        raise
    files = resolve_store(store)
    digest = context_digest(assemble(facts, base_url=base_url))
    if (
        current is not None
        and current.context_sha256 == digest
        and files.exists(current.storage_key)
    ):
        return {"skipped": "unchanged", "sha256": current.sha256, "packet_id": current.id}
    (code,) = unused_codes(session, 1)
    ctx = assemble(facts, verification_code=code, base_url=base_url)
    job_id = running_job_id(session, REFERRAL_PACKET_JOB, "referral", referral.id)
    # End the read before the slow render: on SQLite a read transaction that later writes
    # fails at once ("database is locked") if anyone else wrote meanwhile.
    session.commit()
    pdf = packets.render_packet(ctx)
    raced = current_packet(session, referral.id)
    if raced is not None and (current is None or raced.id != current.id):
        # Another run of this job stored a packet while this one rendered: keep theirs.
        return {"skipped": "already rendered", "sha256": raced.sha256, "packet_id": raced.id}
    row = add_packet(
        session,
        files,
        kind="referral",
        pdf=pdf,
        packet_number=ctx.packet_number,
        verification_code=code,
        context_sha256=digest,
        referral_id=referral.id,
        job_id=job_id,
        product_version_id=facts.product_version_id,
        consent_id=facts.consent.id,
    )
    record_event(
        session,
        actor_id=None,
        action="referral.packet_rendered",
        object_type="referral",
        object_id=referral.id,
        data={
            "sha256": row.sha256,
            "bytes": row.byte_size,
            "packet_number": row.packet_number,
            "packet_id": row.id,
        },
    )
    return {"sha256": row.sha256, "bytes": row.byte_size, "packet_id": row.id}


def request_render(
    session: Session, referral: Referral, *, actor_id: int | None, base_url: str = ""
) -> Job:
    """Queue the packet of a referral for rendering (commits; the job runs in the background)."""
    return jobs.enqueue(
        session,
        REFERRAL_PACKET_JOB,
        actor_id=actor_id,
        object_type="referral",
        object_id=referral.id,
        referral_id=referral.id,
        base_url=base_url,
    )


@dataclass(frozen=True)
class PacketStatus:
    """Whether a referral's packet is ready (with its code and SHA-256), pending or failed."""

    state: str  # ready | pending | failed
    message: str = ""
    packet_number: str = ""
    verification_code: str = ""
    sha256: str = ""


def packet_status(session: Session, referral: Referral) -> PacketStatus:
    """Tell whether the referral's packet is ready, still rendering, or failed."""
    return packet_statuses(session, [referral])[referral.id]


def packet_statuses(session: Session, referrals: Sequence[Referral]) -> dict[int, PacketStatus]:
    """Tell, per referral id, whether its packet is ready, still rendering, or failed.

    Two statements for any number of referrals: their packets, then the render jobs of
    those without one (the newest of each counts).
    """
    ids = [r.id for r in referrals]
    newest: dict[int, Packet] = {}
    if ids:
        for packet in session.scalars(
            select(Packet)
            .where(Packet.kind == "referral", Packet.referral_id.in_(ids))
            .order_by(Packet.referral_id, Packet.id)
        ):
            newest[packet.referral_id or -1] = packet
    waiting = [i for i in ids if i not in newest]
    last_job: dict[int, Job] = {}
    if waiting:
        for job in session.scalars(
            select(Job)
            .where(
                Job.kind == REFERRAL_PACKET_JOB,
                Job.object_type == "referral",
                Job.object_id.in_(waiting),
            )
            .order_by(Job.object_id, Job.created_at, Job.id)
        ):
            last_job[job.object_id or -1] = job
    statuses = {}
    for referral_id in ids:
        packet = newest.get(referral_id)
        job = last_job.get(referral_id)
        if packet is not None:
            statuses[referral_id] = PacketStatus(
                "ready",
                packet_number=packet.packet_number,
                verification_code=packet.verification_code,
                sha256=packet.sha256,
            )
        elif job is not None and job.state == "failed":
            statuses[referral_id] = PacketStatus("failed", job.message)
        else:
            statuses[referral_id] = PacketStatus("pending")
    return statuses


# --- downloads ---------------------------------------------------------------------------


def read_packet(packet: Packet, store: FileStore | None = None) -> bytes:
    """Return the stored PDF of a packet, checked against its SHA-256."""
    try:
        pdf = resolve_store(store).get(packet.storage_key)
    except KeyError as exc:
        raise Conflict(
            "材料包文件不存在，请重新生成。",
            "The packet file is missing; render it again.",
            code="packet_missing",
        ) from exc
    if packets.sha256_hex(pdf) != packet.sha256:
        raise Conflict(
            "材料包文件已损坏（摘要不符），请重新生成。",
            "The stored packet file does not match its SHA-256; render it again.",
            code="packet_damaged",
        )
    return pdf


def stamped_download(
    session: Session,
    packet: Packet,
    *,
    actor_id: int | None,
    taker: str,
    label: str,
    action: str,
    object_type: str,
    object_id: int,
    data: dict[str, Any] | None = None,
    state: str | None = None,
    store: FileStore | None = None,
) -> bytes:
    """Return the stored packet stamped with who takes it and when; audit it (caller commits).

    The one way out of the store for every packet download: the bank's page and API, the
    advisor's and the bank's batch downloads. The stamped copy's SHA-256 is kept in the
    audit event, so ``/verify`` recognises the file later; the stored packet is unchanged.
    """
    pdf = read_packet(packet, store)
    lines = download_stamp(
        session,
        actor_id=actor_id,
        taker=taker,
        packet=label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        at=utcnow(),
    )
    stamped = packets.stamp_pdf(pdf, lines)
    record_event(
        session,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        from_state=state,
        to_state=state,
        data={
            **(data or {}),
            "packet_id": packet.id,
            "packet_number": packet.packet_number,
            "packet_sha256": packet.sha256,
            "stamp": lines,
            "stamped_sha256": packets.sha256_hex(stamped),
        },
    )
    return stamped
