"""The packet pipeline: render in a job, keep the file in the store and a row in ``packets``.

One pipeline for every packet (docs/PACKETS.md):

- **context**: :func:`finportal.services.packet_context.build_context` for a referral or a
  batch member — one builder, one set of sections;
- **render**: background jobs only — ``render_packet`` (:func:`render_referral_packet`) for
  a referral, ``batch_packet`` (:func:`render_batch_packet`) for a batch: its cover, then
  each member's packet from the same builder, merged into one file;
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
from finportal.models import Batch, BatchMember, Job, Packet, Referral, utcnow
from finportal.services import batches, consents
from finportal.services.audit import download_stamp, record_event
from finportal.services.errors import Conflict, Forbidden, InvalidTransition, NotFound
from finportal.services.packet_context import (
    PacketFacts,
    assemble,
    build_context,
    member_facts,
    packet_number_for,
    referral_facts,
    to_wan,
)
from finportal.services.workdays import SHANGHAI
from finportal.storage import FileStore, packet_store

__all__ = [
    "BATCH_PACKET_JOB",
    "PacketStatus",
    "REFERRAL_PACKET_JOB",
    "add_packet",
    "batch_document",
    "batch_packet_members",
    "build_context",
    "context_digest",
    "current_packet",
    "download_batch_packet",
    "latest_batch_packet_job",
    "new_verification_code",
    "packet_number_for",
    "packet_status",
    "render_batch_packet",
    "render_referral_packet",
    "request_batch_packet",
    "request_render",
    "stamped_download",
]

REFERRAL_PACKET_JOB = "render_packet"
BATCH_PACKET_JOB = "batch_packet"
CENTRE_NAME = "闵行区融资服务中心"

# No 0/O, 1/I/L: a code is read aloud or typed from paper.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_verification_code() -> str:
    """Return a random public code like ``7KQ4-M2XD-9PHA`` (about 59 bits)."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _unused_codes(session: Session, n: int) -> list[str]:
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


def _store(store: FileStore | None) -> FileStore:
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


def _running_job_id(session: Session, kind: str, object_type: str, object_id: int) -> str | None:
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
        raise NotFound("推荐记录不存在。", "No such referral.")
    current = current_packet(session, referral.id)
    if current is not None and not force:
        return {"skipped": "already rendered", "sha256": current.sha256, "packet_id": current.id}
    try:
        facts = referral_facts(session, referral)
    except Forbidden:
        # Keep the audit event: the job fails afterwards and rolls back what is pending.
        record_refusal(session, referral, actor_id=None, reason="企业已撤回授权，不生成推荐材料包")
        raise
    files = _store(store)
    digest = context_digest(assemble(facts, base_url=base_url))
    if (
        current is not None
        and current.context_sha256 == digest
        and files.exists(current.storage_key)
    ):
        return {"skipped": "unchanged", "sha256": current.sha256, "packet_id": current.id}
    (code,) = _unused_codes(session, 1)
    ctx = assemble(facts, verification_code=code, base_url=base_url)
    job_id = _running_job_id(session, REFERRAL_PACKET_JOB, "referral", referral.id)
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
        pdf = _store(store).get(packet.storage_key)
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


# --- batch packets -----------------------------------------------------------------------


def batch_packet_members(batch: Batch) -> list[BatchMember]:
    """Return the members a batch packet holds: checked ones, not withdrawn, in order."""
    return [m for m in batch.members if m.state not in ("withdrawn", "recommended")]


def _members_or_refuse(batch: Batch) -> list[BatchMember]:
    members = batch_packet_members(batch)
    if not members:
        raise InvalidTransition(
            "批次没有已核验的成员，无法生成材料包。", "The batch has no checked members yet."
        )
    return members


def _batch_cover(
    batch: Batch,
    members: list[BatchMember],
    facts: list[PacketFacts],
    contexts: list[Any],
    today: Any,
    code: str,
) -> packets.BatchCoverContext:
    product = facts[0].product
    return packets.BatchCoverContext(
        batch_number=batch.code,
        batch_name=batch.name,
        bank_name=batch.bank.name_zh,
        product_name=product.name_zh,
        product_code=product.code,
        organiser_name=batches.organiser_name(batch),
        date=today,
        quota_wan=to_wan(batch.quota_total),
        per_firm_cap_wan=to_wan(batch.per_firm_cap),
        members=[
            packets.BatchMember(
                enterprise_name=m.enterprise.name,
                enterprise_uscc=m.enterprise.uscc,
                amount_wan=to_wan(m.requested_amount or batch.per_firm_cap),
                approved_wan=to_wan(m.approved_amount) if m.state == "approved" else None,
                grade=ctx.grade,
                packet_number=ctx.packet_number,
                status_zh=batches.MEMBER_STATE_LABELS.get(m.state, m.state),
            )
            for m, ctx in zip(members, contexts, strict=True)
        ],
        verification_code=code,
        notes=(
            f"已用额度 {to_wan(batch.quota_used):,.2f} 万元；备案状态："
            f"{batches.FILING_LABELS.get(batch.filing_status, batch.filing_status)}",
        ),
    )


def _batch_result(session: Session, cover: Packet, *, reused: bool) -> dict[str, Any]:
    members = session.scalars(
        select(Packet).where(Packet.cover_id == cover.id).order_by(Packet.id)
    ).all()
    return {
        "packet_id": cover.id,
        "sha256": cover.sha256,
        "bytes": cover.byte_size,
        "packet_number": cover.packet_number,
        "verification_code": cover.verification_code,
        "members": [
            {
                "member_id": m.batch_member_id,
                "packet_id": m.id,
                "packet_number": m.packet_number,
                "verification_code": m.verification_code,
            }
            for m in members
        ],
        "reused": reused,
    }


@jobs.job(BATCH_PACKET_JOB)
def render_batch_packet(
    session: Session,
    *,
    batch_id: int,
    requested_by: int | None = None,
    bank_id: int | None = None,
    base_url: str = "",
    store: FileStore | None = None,
    **_legacy: Any,  # ``out_dir`` of jobs queued before the packet store
) -> dict[str, Any]:
    """Render a batch packet: the cover, then each member's packet, merged (the ``batch_packet`` job).

    Member packets come from the same builder as referral packets
    (:func:`finportal.services.packet_context.member_facts`). Every member must have a
    consent in force to the batch's bank. When nothing in the packet changed since the
    last render, that packet is kept (no new render, no new codes).
    """
    batch = batches.get_batch(session, batch_id, bank_id=bank_id)
    members = _members_or_refuse(batch)
    today = utcnow().astimezone(SHANGHAI).date()
    # A bank sees members only while their consent to that bank stands.
    refused = consents.members_without_consent(session, batch, members, today)
    if refused:
        raise Forbidden(
            f"以下企业已撤回或未授权向该银行提供信息：{'、'.join(m.enterprise.name for m in refused[:5])}",
            "Some members have no standing consent to this bank.",
        )
    facts = [member_facts(session, m, i, today) for i, m in enumerate(members, 1)]
    blanks = [assemble(f, base_url=base_url) for f in facts]
    digest = hashlib.sha256(
        "|".join(
            [context_digest(_batch_cover(batch, members, facts, blanks, today, ""))]
            + [context_digest(b) for b in blanks]
        ).encode()
    ).hexdigest()
    files = _store(store)
    previous = session.scalar(
        select(Packet)
        .where(
            Packet.kind == "batch_cover",
            Packet.batch_id == batch.id,
            Packet.context_sha256 == digest,
        )
        .order_by(Packet.id.desc())
        .limit(1)
    )
    if previous is not None and files.exists(previous.storage_key):
        return _batch_result(session, previous, reused=True)

    cover_code, *codes = _unused_codes(session, len(facts) + 1)
    contexts = [
        assemble(f, verification_code=code, base_url=base_url)
        for f, code in zip(facts, codes, strict=True)
    ]
    cover_ctx = _batch_cover(batch, members, facts, contexts, today, cover_code)
    job_id = _running_job_id(session, BATCH_PACKET_JOB, "batch", batch.id)
    session.commit()  # end the read before the slow renders (see render_referral_packet)
    member_pdfs = [packets.render_packet(c) for c in contexts]
    merged = packets.merge_batch_packet(cover_ctx, member_pdfs)
    version_id = facts[0].product_version_id
    cover = add_packet(
        session,
        files,
        kind="batch_cover",
        pdf=merged,
        packet_number=batch.code,
        verification_code=cover_code,
        context_sha256=digest,
        batch_id=batch.id,
        job_id=job_id,
        product_version_id=version_id,
    )
    for member, fact, ctx, pdf in zip(members, facts, contexts, member_pdfs, strict=True):
        add_packet(
            session,
            files,
            kind="batch_member",
            pdf=pdf,
            packet_number=ctx.packet_number,
            verification_code=ctx.verification_code,
            context_sha256=context_digest(ctx),
            batch_id=batch.id,
            batch_member_id=member.id,
            cover=cover,
            job_id=job_id,
            product_version_id=fact.product_version_id,
            consent_id=fact.consent.id,
        )
    record_event(
        session,
        actor_id=requested_by,
        action="batch.packet_rendered",
        object_type="batch",
        object_id=batch.id,
        data={
            "bank_id": batch.bank_id,
            "members": len(members),
            "sha256": cover.sha256,
            "packet_id": cover.id,
        },
    )
    return _batch_result(session, cover, reused=False)


def request_batch_packet(
    session: Session,
    batch_id: int,
    *,
    actor_id: int | None,
    bank_id: int | None = None,
    base_url: str = "",
) -> Job:
    """Queue the rendering of a batch packet (for the bank, when ``bank_id`` is given)."""
    batch = batches.get_batch(session, batch_id, bank_id=bank_id)
    _members_or_refuse(batch)
    record_event(
        session,
        actor_id=actor_id,
        action="batch.packet_requested",
        object_type="batch",
        object_id=batch.id,
        data={"bank_id": bank_id},
    )
    return jobs.enqueue(
        session,
        BATCH_PACKET_JOB,
        actor_id=actor_id,
        object_type="batch",
        object_id=batch.id,
        batch_id=batch.id,
        requested_by=actor_id,
        bank_id=bank_id,
        base_url=base_url,
    )


def latest_batch_packet_job(
    session: Session, batch_id: int, *, bank_id: int | None = None
) -> Job | None:
    """Return the newest packet job of the batch requested by the bank (or by the centre)."""
    candidates = session.scalars(
        select(Job)
        .where(Job.kind == BATCH_PACKET_JOB, Job.object_type == "batch", Job.object_id == batch_id)
        .order_by(Job.created_at.desc())
    )
    # A bank only ever sees the packets rendered for itself.
    return next((j for j in candidates if (j.args or {}).get("bank_id") == bank_id), None)


def batch_document(session: Session, job: Job) -> Packet | None:
    """Return the batch packet (cover row) a finished ``batch_packet`` job made or kept."""
    packet_id = (job.result or {}).get("packet_id")
    if packet_id is not None:
        return session.get(Packet, packet_id)
    return session.scalar(
        select(Packet)
        .where(Packet.kind == "batch_cover", Packet.job_id == job.id)
        .order_by(Packet.id.desc())
        .limit(1)
    )


def download_batch_packet(
    session: Session,
    batch_id: int,
    *,
    actor_id: int | None,
    bank_id: int | None = None,
    store: FileStore | None = None,
) -> tuple[bytes, str]:
    """Return the last batch packet rendered for the bank (or the centre), stamped; audit it.

    Refused once a member has withdrawn its consent to the bank; commits.
    """
    batch = batches.get_batch(session, batch_id, bank_id=bank_id)
    last = latest_batch_packet_job(session, batch.id, bank_id=bank_id)
    document = batch_document(session, last) if last is not None and last.state == "done" else None
    if document is None:
        raise Conflict(
            "批次材料包尚未生成完成，请稍后刷新页面。",
            "The batch packet is not ready yet.",
            code="packet_not_ready",
        )
    if bank_id is not None and consents.members_without_consent(
        session, batch, batch_packet_members(batch)
    ):
        raise Forbidden(
            "有成员企业已撤回对该银行的授权，材料包不予提供。",
            "A member withdrew its consent to this bank; the packet is refused.",
        )
    stamped = stamped_download(
        session,
        document,
        actor_id=actor_id,
        taker=batch.bank.name_zh if bank_id is not None else CENTRE_NAME,
        label=f"批次材料包 {batch.code}",
        action="batch.packet_downloaded",
        object_type="batch",
        object_id=batch.id,
        data={"bank_id": bank_id, "job_id": last.id if last is not None else None},
        store=store,
    )
    session.commit()
    return stamped, f"batch-{batch.code}.pdf"
