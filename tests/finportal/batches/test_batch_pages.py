"""Advisor and bank batch pages: create, check, submit, decide, file, export, batch packet."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from finportal.models import Batch


def test_advisor_creates_a_batch_through_the_form(client, db_session, batch_world, login):
    w = batch_world
    login(w.advisor)
    assert client.get("/advisor/batches/").status_code == 200
    response = client.post(
        "/advisor/batches/",
        data={
            "name": "莘庄一批",
            "organiser": f"park:{w.park.id}",
            "bank_id": w.bank.id,
            "quota_wan": "500",
        },
    )
    assert response.status_code == 302
    batch = db_session.scalar(select(Batch))
    assert batch.quota_total == Decimal("5000000") and batch.per_firm_cap == Decimal("3000000")
    page = client.get(response.location)
    assert "莘庄一批" in page.text and "300.00 万元" in page.text


def test_a_bad_batch_form_is_shown_again_with_messages(client, db_session, batch_world, login):
    login(batch_world.advisor)
    response = client.post(
        "/advisor/batches/",
        data={"name": "留着的名字", "organiser": "park:x", "bank_id": "", "quota_wan": "abc"},
    )
    assert response.status_code == 422
    assert "留着的名字" in response.text and "请选择园区或商会" in response.text
    assert db_session.scalar(select(Batch.id)) is None


def test_from_recommendation_to_bank_decisions(client, db_session, batch_world, open_batch, login):
    from finportal.services import batch_recommendations

    w = batch_world
    for enterprise in w.members:
        batch_recommendations.recommend_member(
            db_session,
            batch_id=open_batch.id,
            enterprise_id=enterprise.id,
            actor_id=w.recommender.id,
            requested_amount="2000000",
        )
    login(w.advisor)
    client.post(f"/advisor/batches/{open_batch.id}/check")
    page = client.get(f"/advisor/batches/{open_batch.id}")
    assert "未授权" in page.text  # the third member gave no consent
    third = open_batch.members[2]
    # Submitting is refused while a member has not passed the check.
    client.post(f"/advisor/batches/{open_batch.id}/submit")
    db_session.refresh(open_batch)
    assert open_batch.state == "open"
    client.post(f"/advisor/batches/{open_batch.id}/members/{third.id}/withdraw")
    client.post(f"/advisor/batches/{open_batch.id}/submit")
    db_session.refresh(open_batch)
    assert open_batch.state == "submitted"
    export = client.get(f"/advisor/batches/{open_batch.id}/members.xlsx")
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "企业名称" and len(rows) == 4

    # The other bank does not see it.
    client.post("/auth/logout")
    login(w.other_bank_user)
    assert open_batch.code not in client.get("/bank/batches/").text
    first, second = open_batch.members[:2]
    for method, url in [
        ("GET", f"/bank/batches/{open_batch.id}"),
        ("GET", f"/bank/batches/{open_batch.id}/packet.pdf"),
        ("POST", f"/bank/batches/{open_batch.id}/packet"),
        ("POST", f"/bank/batches/{open_batch.id}/filing"),
        ("POST", f"/bank/batches/{open_batch.id}/members/{first.id}/decision"),
    ]:
        assert (
            client.open(
                url, method=method, data={"decision": "approved", "approved_amount_wan": "1"}
            ).status_code
            == 404
        )

    client.post("/auth/logout")
    login(w.bank_user)
    assert open_batch.code in client.get("/bank/batches/").text
    url = f"/bank/batches/{open_batch.id}/members"
    client.post(
        f"{url}/{first.id}/decision", data={"decision": "approved", "approved_amount_wan": "300"}
    )
    # 300 + 300 > 500 万元: refused with a message, nothing spent.
    page = client.post(
        f"{url}/{second.id}/decision",
        data={"decision": "approved", "approved_amount_wan": "300"},
        follow_redirects=True,
    )
    assert "剩余额度不足" in page.text
    client.post(
        f"{url}/{second.id}/decision", data={"decision": "declined", "reason_text": "额度不足"}
    )
    client.post(f"/bank/batches/{open_batch.id}/filing")
    db_session.refresh(open_batch)
    assert open_batch.quota_used == Decimal("3000000")
    assert open_batch.filing_status == "filed" and open_batch.state == "closed"
    page = client.get(f"/bank/batches/{open_batch.id}")
    assert "已备案" in page.text and "银行同意" in page.text and "银行拒绝" in page.text


def test_batch_packet_is_one_pdf_with_a_cover_and_each_member(
    client, db_session, batch_world, submitted_batch, login
):
    from finportal.models import AuditEvent

    # Rendered by the centre: the bank does not get the centre's copy.
    login(batch_world.advisor)
    assert client.post(f"/advisor/batches/{submitted_batch.id}/packet").status_code == 302
    assert client.get(f"/advisor/batches/{submitted_batch.id}/packet.pdf").status_code == 200
    client.post("/auth/logout")
    login(batch_world.bank_user)
    url = f"/bank/batches/{submitted_batch.id}"
    response = client.get(f"{url}/packet.pdf", follow_redirects=True)
    assert "尚未生成" in response.text
    assert client.post(f"{url}/packet").status_code == 302  # a background job (eager in tests)
    assert "下载批次材料包" in client.get(url).text
    response = client.get(f"{url}/packet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "批次推荐材料" in text and submitted_batch.code in text
    for enterprise in batch_world.members[:2]:
        assert text.count(enterprise.name) >= 2  # in the cover table and in its own packet
    assert "园区批次贷" in text
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert outline[0] == "批次封面" and len(outline) == 3
    downloads = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "batch.packet_downloaded")
        .order_by(AuditEvent.id)
    ).all()
    assert [d.actor_id for d in downloads] == [batch_world.advisor.id, batch_world.bank_user.id]


def test_packet_refused_once_a_member_withdraws_consent(
    client, db_session, batch_world, submitted_batch, login
):
    from finportal.models import Consent, utcnow

    login(batch_world.bank_user)
    url = f"/bank/batches/{submitted_batch.id}"
    client.post(f"{url}/packet")
    consent = db_session.scalar(
        select(Consent).where(Consent.enterprise_id == batch_world.members[0].id)
    )
    consent.withdrawn_at = utcnow()
    db_session.commit()
    response = client.get(f"{url}/packet.pdf", follow_redirects=True)
    assert response.mimetype == "text/html" and "撤回" in response.text
