"""Documents in the loop: asked for, uploaded, the clock paused and resumed, sent to the bank."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from finportal.models import Application, AuditEvent, Document, Referral, utcnow
from finportal.services import bank_actions, consents, deadlines, review_actions, workdays
from tests.finportal.documents import files

pytestmark = pytest.mark.db


def _post_file(client, url: str, content: bytes, name: str, kind: str = "contract"):
    return client.post(
        url,
        data={"kind": kind, "document": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _documents_of(db_session, enterprise_id: int) -> int:
    return db_session.scalar(
        select(func.count()).select_from(Document).where(Document.enterprise_id == enterprise_id)
    )


def _stored(app, content: bytes) -> bool:
    key = hashlib.sha256(content).hexdigest()
    return (Path(app.config["DOCUMENT_DIR"]) / key[:2] / key).exists()


BAD_UPLOADS = {
    "renamed program": (files.windows_program, "合同.pdf", "可执行程序"),
    "oversized image": (lambda: files.png(8000, 6000), "合同.png", "像素过多"),
    "pdf bomb": (lambda: files.pdf_bomb(80), "合同.pdf", "压缩炸弹"),
    "too many pages": (lambda: files.pdf(51), "合同.pdf", "不能超过 50 页"),
    "zip bomb": (lambda: files.xlsx_bomb(8), "合同.xlsx", "压缩炸弹"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_a_refused_upload_says_why_and_stores_nothing(app, client, login, db_session, loop, case):
    make, name, words = BAD_UPLOADS[case]
    content = make()
    login(loop.sme_user)
    before = _documents_of(db_session, loop.enterprise.id)
    for url in (f"/sme/applications/{loop.application.id}/documents", "/sme/documents"):
        kind = "contract" if "applications" in url else "financial_statement"
        response = _post_file(client, url, content, name, kind)
        assert response.status_code == 422, url
        assert words in response.text, url
    assert _documents_of(db_session, loop.enterprise.id) == before  # no row
    assert not _stored(app, content)  # no file
    uploads = select(func.count()).select_from(AuditEvent)
    assert db_session.scalar(uploads.where(AuditEvent.action == "document.uploaded")) == 0


def test_an_upload_in_english_is_refused_in_english(client, login, db_session, loop):
    login(loop.sme_user)
    client.get("/lang/en")
    response = _post_file(
        client, "/sme/documents", files.windows_program(), "licence.pdf", "business_licence"
    )
    assert response.status_code == 422
    assert "executable program" in response.text


def _claimed(db_session, make_loop):
    loop = make_loop(refer=False)
    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    return loop


def test_a_return_asks_for_a_contract_and_the_advisors_clock_pauses_and_resumes(
    client, login, db_session, make_loop
):
    loop = _claimed(db_session, make_loop)
    application = db_session.get(Application, loop.application.id)
    login(loop.advisor)
    page = client.get(f"/advisor/applications/{application.id}")
    assert 'id="return-doc-contract"' in page.text
    returned = client.post(
        f"/advisor/applications/{application.id}/return",
        data={
            "message": "请上传与采购方签订的购销合同。",
            "documents": ["contract"],
            "lock_version": application.lock_version,
        },
    )
    assert returned.status_code == 302
    db_session.expire_all()
    application = db_session.get(Application, loop.application.id)
    assert application.state == "returned"
    assert application.return_request["documents"] == ["contract"]
    assert application.clock_paused_at is not None
    # As if the firm took three days to answer: the clock stopped with 20 working hours left.
    paused_at = utcnow() - timedelta(days=3)
    table = workdays.holiday_table(db_session)
    start = workdays._working_start(paused_at, table)
    due = workdays.add_working_time(start, timedelta(hours=20), table)
    application.clock_paused_at, application.first_response_due_at = start, due
    db_session.commit()
    client.post("/auth/logout")

    login(loop.sme_user)
    page = client.get(f"/sme/applications/{application.id}")
    assert "服务中心" in page.text and "合同" in page.text and "待上传" in page.text
    # Resubmitting without the contract is refused, and says what is missing.
    refused = client.post(f"/sme/applications/{application.id}/resubmit", data={})
    assert refused.status_code == 422 and "请先上传：合同" in refused.text
    contract = files.pdf(2, "购销合同")
    uploaded = _post_file(
        client, f"/sme/applications/{application.id}/documents", contract, "购销合同.pdf"
    )
    assert uploaded.status_code == 302
    page = client.get(f"/sme/applications/{application.id}")
    assert "已上传" in page.text and hashlib.sha256(contract).hexdigest() in page.text
    before = utcnow()
    assert client.post(f"/sme/applications/{application.id}/resubmit", data={}).status_code == 302
    after = utcnow()
    db_session.expire_all()
    application = db_session.get(Application, loop.application.id)
    assert application.state == "screened"  # screened again (eager jobs)
    assert application.clock_paused_at is None
    # The clock resumed with the 20 working hours it had left, not a fresh working day.
    low = deadlines.resumed_deadline(due, start, before, table)
    high = deadlines.resumed_deadline(due, start, after, table)
    assert low <= application.first_response_due_at <= high
    assert workdays.working_time_between(
        after, application.first_response_due_at, table
    ) <= timedelta(hours=20)


@pytest.mark.packet
def test_a_bank_asks_for_documents_its_clock_pauses_and_the_bundle_carries_them(
    app, client, login, db_session, loop
):
    referral = db_session.get(Referral, loop.referral.id)
    due_before = referral.due_at
    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{referral.id}")
    assert 'id="request-doc-invoice"' in page.text
    asked = client.post(
        f"/bank/referrals/{referral.id}/decision",
        data={
            "decision": "info_requested",
            "reason_text": "请补充近三个月的增值税发票。",
            "documents": ["invoice", "bank_statement"],
            "lock_version": referral.lock_version,
        },
    )
    assert asked.status_code == 302
    db_session.expire_all()
    referral = db_session.get(Referral, loop.referral.id)
    assert referral.state == "info_requested" and referral.clock_paused_at is not None
    paused_at = referral.clock_paused_at
    client.post("/auth/logout")

    login(loop.sme_user)
    url = f"/sme/applications/{loop.application.id}"
    page = client.get(url)
    assert "发票" in page.text and "银行流水" in page.text and "待上传" in page.text
    supply = f"{url}/referrals/{referral.id}/supply"
    refused = client.post(supply, data={"answer": "已上传"})
    assert refused.status_code == 422 and "发票" in refused.text
    invoice = files.pdf(1, "增值税发票")
    statement = files.xlsx()
    assert _post_file(client, f"{url}/documents", invoice, "发票.pdf", "invoice").status_code == 302
    assert (
        _post_file(client, f"{url}/documents", statement, "流水.xlsx", "bank_statement").status_code
        == 302
    )
    licence = files.jpeg()
    assert (
        _post_file(client, "/sme/documents", licence, "执照.jpg", "business_licence").status_code
        == 302
    )
    before = utcnow()
    assert client.post(supply, data={"answer": "已上传发票和流水"}).status_code == 302
    after = utcnow()
    db_session.expire_all()
    referral = db_session.get(Referral, loop.referral.id)
    assert referral.state == "info_supplied" and referral.clock_paused_at is None
    # Moved on by the working time the pause took (none when it fell on a weekend: the test
    # runs at any hour; tests/finportal/documents/test_deadlines.py fixes the days).
    table = workdays.holiday_table(db_session)
    low = deadlines.resumed_deadline(due_before, paused_at, before, table)
    high = deadlines.resumed_deadline(due_before, paused_at, after, table)
    assert due_before <= low <= referral.due_at <= high
    client.post("/auth/logout")

    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{referral.id}")
    for content in (invoice, statement, licence):
        assert hashlib.sha256(content).hexdigest() in page.text
    response = client.get(f"/bank/referrals/{referral.id}/bundle.zip")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("manifest.json"))
    assert archive.read(manifest["packet"]["file"]).startswith(b"%PDF-")
    by_kind = {row["kind"]: row for row in manifest["documents"]}
    assert set(by_kind) == {"invoice", "bank_statement", "business_licence"}
    for kind, content in (("invoice", invoice), ("bank_statement", statement)):
        row = by_kind[kind]
        inside = archive.read(row["file"])
        assert inside == content
        assert row["sha256"] == hashlib.sha256(inside).hexdigest()
        assert row["size_bytes"] == len(content)
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert sorted(r["sha256"] for r in rows) == sorted(r["sha256"] for r in manifest["documents"])
    assert {r["virus_scan"] for r in rows} == {"未扫描"}  # no ClamAV on this machine
    viewed = db_session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "document.viewed", AuditEvent.actor_id == loop.bank_user.id)
    )
    assert viewed == 3


def test_only_the_firm_the_advisors_and_consented_banks_see_a_document(
    app, client, login, db_session, loop, create_user
):
    login(loop.sme_user)
    content = files.pdf(1, "财务报表")
    _post_file(client, "/sme/documents", content, "报表.pdf", "financial_statement")
    document = db_session.scalar(
        select(Document).where(Document.enterprise_id == loop.enterprise.id).order_by(Document.id)
    )
    own = client.get(f"/sme/documents/{document.id}")
    assert own.status_code == 200 and own.data == content
    assert own.headers["Content-Disposition"].startswith("attachment;")
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    assert own.headers["Content-Security-Policy"].startswith("sandbox")
    client.post("/auth/logout")

    stranger = create_user("sme")
    login(stranger)
    assert client.get(f"/sme/documents/{document.id}").status_code == 403
    client.post("/auth/logout")
    login(loop.advisor)
    assert client.get(f"/advisor/documents/{document.id}").data == content
    client.post("/auth/logout")
    # The other bank was consented to but never referred: it sees nothing.
    login(loop.other_bank_user)
    assert (
        client.get(f"/bank/referrals/{loop.referral.id}/documents/{document.id}").status_code == 404
    )
    client.post("/auth/logout")
    login(loop.bank_user)
    url = f"/bank/referrals/{loop.referral.id}/documents/{document.id}"
    assert client.get(url).data == content
    consents.withdraw(
        db_session,
        actor_id=loop.sme_user.id,
        enterprise_id=loop.enterprise.id,
        consent_id=loop.consent.id,
    )
    assert client.get(url).status_code == 403
    views = db_session.scalars(
        select(AuditEvent.actor_id)
        .where(AuditEvent.action == "document.viewed", AuditEvent.object_id == document.id)
        .order_by(AuditEvent.id)
    ).all()
    assert views == [loop.sme_user.id, loop.advisor.id, loop.bank_user.id]


def test_the_packet_lists_the_documents_with_their_hashes(
    db_session, make_loop, create_user, tmp_path
):
    from finportal.services import documents, packet_context
    from finportal.storage import FileStore

    loop = make_loop(refer=False)
    store = FileStore(tmp_path / "documents")
    contract = files.pdf(1, "合同甲")
    documents.attach(
        db_session,
        store,
        actor_id=loop.sme_user.id,
        enterprise_id=loop.enterprise.id,
        application_id=loop.application.id,
        kind="contract",
        upload=documents.Upload("合同.pdf", contract),
    )
    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    (referral,) = review_actions.refer_to_banks(
        db_session,
        loop.application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.bank.id, loop.version_id)],
        opinion="建议支持。",
    )
    context = packet_context.build_context(db_session, referral)
    assert [(d.kind_zh, d.sha256) for d in context.documents] == [
        ("合同", hashlib.sha256(contract).hexdigest())
    ]
    from finportal.packets import render_html

    html = render_html(context)
    assert hashlib.sha256(contract).hexdigest() in html and "企业上传的材料" in html


def test_a_bank_request_names_only_known_kinds(db_session, loop):
    from finportal.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="Unknown document kinds"):
        bank_actions.record_decision(
            db_session,
            loop.referral.id,
            bank_id=loop.bank.id,
            actor_id=loop.bank_user.id,
            decision="info_requested",
            reason_text="请补充",
            document_kinds=["passport"],
        )


def test_a_workbook_sent_for_verification_downloads_as_a_workbook(
    app, client, login, db_session, create_enterprise, create_user
):
    from finportal.services import documents, verification
    from finportal.storage import FileStore

    enterprise = create_enterprise(verification_state="unverified")
    user = create_user("sme", enterprise_id=enterprise.id)
    row = verification.request_verification(
        db_session,
        FileStore(app.config["DOCUMENT_DIR"]),
        actor_id=user.id,
        enterprise_id=enterprise.id,
        kind="business_licence",
        upload=documents.Upload("执照.xlsx", files.xlsx()),
    )
    login(create_user("advisor"))
    response = client.get(f"/advisor/verifications/{row.id}/document")
    assert response.status_code == 200  # was a KeyError (500) for any type but PDF/PNG/JPEG
    assert response.headers["Content-Disposition"].endswith(".xlsx")
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
