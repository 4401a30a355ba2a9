"""One packet pipeline: one builder for referrals and batch members, one table, one store,
one verification path — what a bank or a visitor of /verify would notice."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from finportal.domain import fields as profile_fields
from finportal.models import (
    Application,
    AuditEvent,
    Consent,
    Job,
    Packet,
    Referral,
    utcnow,
)
from finportal.services import (
    batch_decisions,
    batch_packets,
    packet_context,
    packet_verification,
    packets,
)
from finportal.storage import packet_store

pytestmark = pytest.mark.db


def _referral_of(db_session, enterprise, bank, version_id, advisor, amount="2000000"):
    """A referral of the enterprise to the bank for the product version, with its consent."""
    application = Application(
        enterprise_id=enterprise.id,
        amount=Decimal(amount),
        term_months=12,
        purpose="working_capital",
        state="referred",
        submitted_at=utcnow(),
    )
    db_session.add(application)
    db_session.flush()
    consent = Consent(
        enterprise_id=enterprise.id,
        application_id=application.id,
        bank_id=bank.id,
        scope=["profile", "financials", "credit_record", "score"],
        valid_until=date.today() + timedelta(days=365),
    )
    db_session.add(consent)
    db_session.flush()
    referral = Referral(
        application_id=application.id,
        bank_id=bank.id,
        product_version_id=version_id,
        consent_id=consent.id,
        state="sent",
        advisor_opinion="经营稳定，建议支持。",
        created_by_id=advisor.id,
        sent_at=utcnow(),
    )
    db_session.add(referral)
    db_session.flush()
    referral.packet_number = packet_context.packet_number_for(referral)
    db_session.commit()
    return referral


def _pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _render_batch(db_session, batch, **kwargs):
    return batch_packets.render_batch_packet(db_session, batch_id=batch.id, **kwargs)


def test_member_and_referral_packets_of_one_firm_share_profile_and_quote(
    db_session, batch_world, submitted_batch
):
    w = batch_world
    member = submitted_batch.members[0]  # asked for 2,000,000 yuan, quoted for 12 months
    referral = _referral_of(
        db_session, member.enterprise, w.bank, submitted_batch.product_version_id, w.advisor
    )
    as_referral = packet_context.build_context(db_session, referral)
    as_member = packet_context.build_context(db_session, member)

    assert as_member.enterprise_profile == as_referral.enterprise_profile
    # One row per field the definition prints in packets, then the four derived figures.
    assert len(as_member.enterprise_profile) == len(profile_fields.names(packet=True)) + 4
    assert (
        as_member.enterprise_profile[profile_fields.label("park_codes", "zh_CN")] == w.park.name_zh
    )
    assert as_member.quote == as_referral.quote
    # The batch packet's quote used to drop the schedule and the demo marks.
    assert len(as_member.quote.schedule) == 12
    assert as_member.quote.repayment_method_zh
    assert as_member.quote.guarantee_fee_demo or as_member.quote.interest_rate_demo
    assert any("演示" in s.note_zh for s in as_member.quote.subsidies)
    # Conditions are named in Chinese in both, never by their field keys.
    assert as_member.conditions and all(
        not re.search(r"[a-z]_[a-z]", c.field) for c in as_member.conditions
    )
    assert as_member.consent.scope == as_referral.consent.scope


def test_batch_packet_members_print_schedule_and_demo_marks(
    client, db_session, batch_world, submitted_batch, login
):
    login(batch_world.bank_user)
    url = f"/bank/batches/{submitted_batch.id}"
    client.post(f"{url}/packet")
    text = _pdf_text(client.get(f"{url}/packet.pdf").data)
    # Each of the two member packets has its repayment schedule and its demo marks.
    assert text.count("还款计划") == 2
    assert text.count("〔演示") >= 2
    assert "pending_lawsuits" not in text and "serious_bad_credit" not in text


def test_every_kind_of_packet_verifies_through_the_packets_table(
    client, db_session, batch_world, submitted_batch
):
    w = batch_world
    referral = _referral_of(
        db_session, w.members[0], w.bank, submitted_batch.product_version_id, w.advisor
    )
    packets.render_referral_packet(db_session, referral_id=referral.id)
    _render_batch(db_session, submitted_batch, bank_id=w.bank.id)
    db_session.commit()
    rows = db_session.scalars(select(Packet).order_by(Packet.id)).all()
    assert sorted(r.kind for r in rows) == [
        "batch_cover",
        "batch_member",
        "batch_member",
        "referral",
    ]
    # No job result is needed any more: the codes are rows of their own.
    for job in db_session.scalars(select(Job)):
        job.result = {}
    db_session.commit()
    cover = next(r for r in rows if r.kind == "batch_cover")
    for row in rows:
        page = client.get(f"/verify/{row.verification_code.lower()}")
        assert page.status_code == 200, row.kind
        assert row.packet_number in page.text
        assert w.bank.name_zh in page.text
        if row.kind == "batch_member":
            # The page shows the batch packet the bank received, and names it.
            assert cover.sha256 in page.text and "所属批次材料包" in page.text
            assert packet_verification.check_file(
                db_session, row.verification_code, cover.sha256
            ).matches == ("original")
            assert packet_verification.check_file(
                db_session, row.verification_code, row.sha256
            ).matches == ("original")
        else:
            assert row.sha256 in page.text
        stored = packet_store().get(row.storage_key)
        assert packets.packets.sha256_hex(stored) == row.sha256 and len(stored) == row.byte_size
    assert client.get("/verify/2345-6789-ABCD").status_code == 404


def test_a_member_code_recognises_a_stamped_batch_download(
    client, db_session, batch_world, submitted_batch, login
):
    login(batch_world.bank_user)
    url = f"/bank/batches/{submitted_batch.id}"
    client.post(f"{url}/packet")
    stamped = client.get(f"{url}/packet.pdf").data
    member = db_session.scalar(
        select(Packet).where(Packet.kind == "batch_member").order_by(Packet.id).limit(1)
    )
    check = client.post(
        f"/verify/{member.verification_code}", data={"file": (io.BytesIO(stamped), "b.pdf")}
    )
    assert 'data-matches="download"' in check.text
    assert batch_world.bank.name_zh in check.text and "第 1 次下载" in check.text


def test_the_same_content_is_rendered_and_stored_once(
    db_session, batch_world, submitted_batch, monkeypatch
):
    w = batch_world
    referral = _referral_of(
        db_session, w.members[0], w.bank, submitted_batch.product_version_id, w.advisor
    )
    first = packets.render_referral_packet(db_session, referral_id=referral.id)
    db_session.commit()
    renders = []
    real = packets.packets.render_packet
    monkeypatch.setattr(
        packets.packets, "render_packet", lambda ctx, **kw: renders.append(ctx) or real(ctx, **kw)
    )
    again = packets.render_referral_packet(db_session, referral_id=referral.id, force=True)
    assert again == {
        "skipped": "unchanged",
        "sha256": first["sha256"],
        "packet_id": first["packet_id"],
    }
    one = _render_batch(db_session, submitted_batch, bank_id=w.bank.id)
    db_session.commit()
    two = _render_batch(db_session, submitted_batch)  # the centre's copy: same content
    assert two["packet_id"] == one["packet_id"] and two["reused"]
    assert len(renders) == 2  # the two member packets, once
    assert db_session.scalar(select(func.count()).select_from(Packet)) == 4

    # A decision changes the cover (approved amount, status): a new packet, new codes.
    batch_decisions.decide_member(
        db_session,
        submitted_batch.id,
        submitted_batch.members[0].id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        decision="approved",
        approved_amount="1500000",
    )
    three = _render_batch(db_session, submitted_batch, bank_id=w.bank.id)
    db_session.commit()
    assert three["packet_id"] != one["packet_id"] and not three["reused"]
    assert three["verification_code"] != one["verification_code"]
    # Old codes still verify: the paper a bank holds stays checkable.
    assert packet_verification.verify_packet(db_session, one["verification_code"])


def test_a_failed_batch_render_leaves_no_packet(
    client, db_session, batch_world, submitted_batch, login, monkeypatch
):
    calls = []
    real_render = packets.packets.render_packet

    def fail_on_second(ctx, **kw):
        # The first member renders; the second fails on every attempt (retries included).
        calls.append(ctx)
        if len(calls) >= 2:
            raise RuntimeError("renderer crashed")
        return real_render(ctx, **kw)

    monkeypatch.setattr(packets.packets, "render_packet", fail_on_second)
    login(batch_world.bank_user)
    url = f"/bank/batches/{submitted_batch.id}"
    client.post(f"{url}/packet")
    job = db_session.scalar(select(Job).where(Job.kind == batch_packets.BATCH_PACKET_JOB))
    assert job.state == "failed" and "renderer crashed" in job.message
    assert db_session.scalar(select(func.count()).select_from(Packet)) == 0
    page = client.get(url)
    assert "生成失败" in page.text
    response = client.get(f"{url}/packet.pdf", follow_redirects=True)
    assert "尚未生成" in response.text


def test_every_download_goes_through_the_store_and_is_audited(
    client, db_session, batch_world, submitted_batch, login
):
    login(batch_world.advisor)
    url = f"/advisor/batches/{submitted_batch.id}"
    client.post(f"{url}/packet")
    cover = db_session.scalar(select(Packet).where(Packet.kind == "batch_cover"))
    # The file is in the packet store, readable by the owner only.
    path = packet_store()._path(cover.storage_key)
    assert path.stat().st_mode & 0o777 == 0o600
    # A damaged file is refused, not handed out.
    original = path.read_bytes()
    path.chmod(0o600)
    path.write_bytes(original[:-10])
    response = client.get(f"{url}/packet.pdf", follow_redirects=True)
    assert response.mimetype == "text/html" and "损坏" in response.text
    path.write_bytes(original)
    response = client.get(f"{url}/packet.pdf")
    assert response.status_code == 200
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "batch.packet_downloaded")
    )
    assert event.data["packet_id"] == cover.id and event.data["packet_sha256"] == cover.sha256
    assert "闵行区融资服务中心 下载" in _pdf_text(response.data)
