"""Audit findings on batches: stamped packet downloads, verifiable codes, requested vs approved
amounts on the cover, the synthetic-model note, and no recommending an ineligible member."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import select

from finportal.models import AuditEvent, BatchMember, Job
from finportal.services import (
    batch_checks,
    batch_decisions,
    batch_packets,
    batch_recommendations,
)

CODE = re.compile(r"\b[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}\b")
SYNTHETIC = "合成的参考数据训练"


def _download(client, batch, login, user):
    login(user)
    url = f"/bank/batches/{batch.id}"
    assert client.post(f"{url}/packet").status_code == 302  # a job, eager in tests
    response = client.get(f"{url}/packet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.data))


def test_bank_download_is_stamped_on_every_page_and_audited(
    client, db_session, batch_world, submitted_batch, login
):
    w = batch_world
    reader = _download(client, submitted_batch, login, w.bank_user)
    assert len(reader.pages) >= 3
    for page in reader.pages:
        text = page.extract_text()
        assert f"{w.bank.name_zh} 下载" in text
        assert w.bank_user.username in text
        assert "时间：" in text and "第 1 次下载" in text
    # A second download is stamped with its own serial number; both are audited.
    second = PdfReader(
        io.BytesIO(client.get(f"/bank/batches/{submitted_batch.id}/packet.pdf").data)
    )
    assert "第 2 次下载" in second.pages[0].extract_text()
    events = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "batch.packet_downloaded")
        .order_by(AuditEvent.id)
    ).all()
    assert [e.actor_id for e in events] == [w.bank_user.id, w.bank_user.id]
    first = events[0].data
    assert first["bank_id"] == w.bank.id and first["stamp"][0] == f"{w.bank.name_zh} 下载"
    assert first["stamped_sha256"] != first["packet_sha256"]


def test_every_code_printed_in_a_downloaded_batch_packet_verifies(
    client, db_session, batch_world, submitted_batch, login
):
    reader = _download(client, submitted_batch, login, batch_world.bank_user)
    text = "".join(page.extract_text() for page in reader.pages)
    printed = set(CODE.findall(text))
    job = db_session.scalar(select(Job).where(Job.kind == batch_packets.BATCH_PACKET_JOB))
    stored = {job.result["verification_code"]} | {
        m["verification_code"] for m in job.result["members"]
    }
    assert len(stored) == 3  # the cover and the two members
    assert printed == stored
    # member packets print a whole verification address and the consent scope in words
    assert "http://127.0.0.1:5000/verify/" in text.replace("\n", "")
    assert "企业基本信息" in text
    client.post("/auth/logout")
    for code in printed:
        page = client.get(f"/verify/{code}")
        assert page.status_code == 200, code
        assert job.result["sha256"] in page.text
        assert batch_world.bank.name_zh in page.text
    member_codes = {m["verification_code"]: m for m in job.result["members"]}
    one = next(iter(member_codes.values()))
    assert one["packet_number"] in client.get(f"/verify/{one['verification_code']}").text
    assert submitted_batch.code in client.get(f"/verify/{job.result['verification_code']}").text
    assert client.get("/verify/2345-6789-ABCD").status_code == 404


def test_cover_sums_requested_amounts_and_shows_approved_separately(
    client, db_session, batch_world, submitted_batch, login
):
    w = batch_world
    first = submitted_batch.members[0]
    assert first.requested_amount == Decimal("2000000")
    batch_decisions.decide_member(
        db_session,
        submitted_batch.id,
        first.id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        decision="approved",
        approved_amount="1500000",
    )
    reader = _download(client, submitted_batch, login, w.bank_user)
    cover = reader.pages[0].extract_text()
    # Requested: 200 + 300 万元; approved: 150 万元 for one member.
    assert re.search(r"申请合计\s*500\.00\s*万元（2\s*户）", cover), cover
    assert re.search(r"批准合计\s*150\.00\s*万元（1\s*户）", cover), cover
    assert "申请（万元）" in cover and "批准（万元）" in cover


def test_synthetic_model_note_on_batch_pages(
    client, db_session, batch_world, open_batch, champion_model, login
):
    w = batch_world
    champion_model.synthetic = True
    db_session.commit()
    for enterprise in w.members[:2]:
        member = batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=enterprise.id,
            actor_id=w.recommender.id,
            requested_amount="1000000",
        )
        batch_checks.check_member(db_session, member.id, actor_id=w.advisor.id)
        assert member.check_result["score"]["synthetic"] is True
    login(w.advisor)
    assert SYNTHETIC in client.get(f"/advisor/batches/{open_batch.id}").text
    batch_checks.submit_batch(db_session, open_batch.id, actor_id=w.advisor.id)
    client.post("/auth/logout")
    login(w.bank_user)
    assert SYNTHETIC in client.get(f"/bank/batches/{open_batch.id}").text

    # A model trained on real outcomes carries no such note.
    for member in open_batch.members:
        member.check_result = {**member.check_result, "score": {**member.check_result["score"]}}
        member.check_result["score"]["synthetic"] = False
    db_session.commit()
    assert SYNTHETIC not in client.get(f"/bank/batches/{open_batch.id}").text


def test_recommender_cannot_recommend_an_ineligible_member(
    client, db_session, batch_world, open_batch, login
):
    w = batch_world
    w.members[0].pending_lawsuits = 2
    db_session.commit()
    login(w.recommender)
    page = client.get("/recommender/")
    assert page.text.count("不符合准入条件，不能推荐") == 1
    # Only the eligible members are offered the form.
    assert page.text.count('name="enterprise_id"') == len(w.members) - 1
    assert f'name="enterprise_id" value="{w.members[0].id}"' not in page.text
    response = client.post(
        "/recommender/recommendations",
        data={"batch_id": open_batch.id, "enterprise_id": w.members[0].id},
        follow_redirects=True,
    )
    assert "不符合批次产品准入条件，不能推荐" in response.text
    assert "诉讼" in response.text  # what fails is named
    assert db_session.scalar(select(BatchMember.id)) is None
    response = client.post(
        "/recommender/recommendations",
        data={"batch_id": open_batch.id, "enterprise_id": w.members[1].id},
        follow_redirects=True,
    )
    assert "已推荐" in response.text
    assert db_session.scalar(select(BatchMember.enterprise_id)) == w.members[1].id
