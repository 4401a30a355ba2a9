"""Batch packets: one file per batch for its bank, a cover and each member's packet.

The batch side of the one packet pipeline (:mod:`finportal.services.packets`): the
``batch_packet`` job renders the cover and every checked member's packet from the same
context builder, stores each with its row in ``packets`` and merges them into one file;
downloads go through :func:`finportal.services.packets.stamped_download`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from finportal import jobs, packets
from finportal.models import Batch, BatchMember, Job, Packet, utcnow
from finportal.services import batches, consents
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, Forbidden, InvalidTransition
from finportal.services.packet_context import (
    PacketFacts,
    assemble,
    batch_member_facts,
    seal_image,
    to_wan,
    verify_url,
)
from finportal.services.packets import (
    CENTRE_NAME,
    add_packet,
    context_digest,
    resolve_store,
    running_job_id,
    stamped_download,
    unused_codes,
)
from finportal.services.workdays import SHANGHAI
from finportal.storage import FileStore

__all__ = [
    "BATCH_PACKET_JOB",
    "batch_document",
    "batch_packet_members",
    "download_batch_packet",
    "latest_batch_packet_job",
    "render_batch_packet",
    "request_batch_packet",
]

BATCH_PACKET_JOB = "batch_packet"


#: Members a batch packet leaves out: withdrawn, or recommended and not (yet) checked.
NOT_IN_PACKET = ("withdrawn", "recommended")


def batch_packet_members(batch: Batch) -> list[BatchMember]:
    """Return the members a batch packet holds: checked ones, not withdrawn, in order."""
    return [m for m in batch.members if m.state not in NOT_IN_PACKET]


def count_packet_members(batch: Batch) -> int:
    """Count the members a batch packet holds, in the database (one statement, no member read)."""
    session = object_session(batch)
    if session is None:
        return len(batch_packet_members(batch))
    return int(
        session.scalar(
            select(func.count())
            .select_from(BatchMember)
            .where(BatchMember.batch_id == batch.id, BatchMember.state.not_in(NOT_IN_PACKET))
        )
        or 0
    )


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
    base_url: str = "",
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
        verify_url=verify_url(code, base_url) if code else "",
        seal_image=seal_image(),
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
    (:func:`finportal.services.packet_context.batch_member_facts`: the members are read
    together). Every member must have a consent in force to the batch's bank. When nothing
    in the packet changed since the last render, that packet is kept (no new render, no new
    codes).
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
    facts = batch_member_facts(session, batch, members, today)
    blanks = [assemble(f, base_url=base_url) for f in facts]
    digest = hashlib.sha256(
        "|".join(
            [context_digest(_batch_cover(batch, members, facts, blanks, today, ""))]
            + [context_digest(b) for b in blanks]
        ).encode()
    ).hexdigest()
    files = resolve_store(store)
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

    cover_code, *codes = unused_codes(session, len(facts) + 1)
    contexts = [
        assemble(f, verification_code=code, base_url=base_url)
        for f, code in zip(facts, codes, strict=True)
    ]
    cover_ctx = _batch_cover(batch, members, facts, contexts, today, cover_code, base_url)
    job_id = running_job_id(session, BATCH_PACKET_JOB, "batch", batch.id)
    session.commit()  # end the read before the slow renders (see render_referral_packet)
    member_pdfs = [packets.render_packet(c, in_batch=True) for c in contexts]
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


def packet_progress(batch: Batch, job: Job | None, now: Any = None) -> dict[str, Any]:
    """Return how far the batch's packet job is, for the page and its polling (plain data).

    ``members`` is how many member packets the job renders; ``elapsed_seconds`` counts
    from the request (queued) or the start (running) to now or the end.
    """
    if job is None:
        return {"state": None, "done": True, "members": 0, "elapsed_seconds": 0}
    now = now or utcnow()
    start = job.started_at or job.created_at
    end = job.finished_at or now
    elapsed = max(0, int((_aware(end) - _aware(start)).total_seconds())) if start else 0
    return {
        "state": job.state,
        "done": job.state in ("done", "failed"),
        "members": count_packet_members(batch),
        "elapsed_seconds": elapsed,
    }


def _aware(moment: Any) -> Any:
    # SQLite hands back naive UTC times, PostgreSQL aware ones.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
