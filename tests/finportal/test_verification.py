"""Anyone can register a firm's code, so nothing reaches an advisor or a bank until verified."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from finportal.models import (
    Application,
    AuditEvent,
    Document,
    Enterprise,
    Invitation,
    User,
    VerificationRequest,
    utcnow,
)
from tests.helpers import make_uscc, token_times_left_out

pytestmark = pytest.mark.db


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _register(client, n: int, **extra):
    return client.post(
        "/auth/register",
        data={
            "uscc": make_uscc(90000 + n),
            "enterprise_name": f"上海新注册测试有限公司{n}",
            "username": f"newfirm{n}",
            "password": "long-enough-pw",
            "password_confirm": "long-enough-pw",
            **extra,
        },
        **({} if "environ_base" not in extra else {}),
    )


def _upload(client, content: bytes, filename: str = "licence.pdf", kind: str = "business_licence"):
    return client.post(
        "/sme/verification",
        data={
            "kind": kind,
            "message": "法定代表人 张三",
            "document": (io.BytesIO(content), filename),
        },
        content_type="multipart/form-data",
    )


@pytest.fixture
def registered(client, db_session, published_catalog, champion_model, create_bank):
    """A firm registered through the form by someone who knows its code; signed in."""
    create_bank()
    response = _register(client, 1)
    assert response.status_code == 302 and response.location.endswith("/sme/verification")
    user = db_session.scalar(select(User).where(User.username == "newfirm1"))
    return user


def _new_application(client, db_session, bank_id: int, action: str = "submit"):
    return client.post(
        "/sme/applications/new",
        data={
            "idempotency_key": uuid.uuid4().hex,
            "amount": "100",
            "term_months": "12",
            "purpose": "working_capital",
            "consent_bank_ids": [str(bank_id)],
            "action": action,
        },
    )


def test_an_unverified_firm_keeps_a_profile_but_reaches_nobody(client, db_session, registered):
    enterprise = db_session.get(Enterprise, registered.enterprise_id)
    assert enterprise.verification_state == "unverified"
    assert client.get("/sme/").status_code == 200
    assert client.get("/sme/matches").status_code == 200
    page = client.get("/sme/applications/new")
    assert "尚未通过服务中心认证" in page.text
    from finportal.models import Bank

    bank_id = db_session.scalar(select(Bank.id).order_by(Bank.id).limit(1))
    response = _new_application(client, db_session, bank_id)
    assert response.status_code == 422
    assert "请先在“企业认证”页上传营业执照或授权委托书" in response.text
    assert 'value="100"' in response.text  # what was typed is kept
    assert db_session.scalar(select(func.count()).select_from(Application)) == 0


def test_a_renamed_executable_is_refused_and_nothing_is_stored(client, db_session, registered, app):
    from pathlib import Path

    folder = Path(app.config["DOCUMENT_DIR"])
    # The store is shared by the tests of this process: compare its files, not emptiness.
    before = sorted(folder.rglob("*")) if folder.exists() else []
    response = _upload(client, b"MZ\x90\x00" + b"\x00" * 2000, filename="licence.pdf")
    assert response.status_code == 422
    # issue 14: a program is named as such, whatever its name says.
    assert "这是一个可执行程序" in response.text
    assert db_session.scalar(select(func.count()).select_from(Document)) == 0
    assert (sorted(folder.rglob("*")) if folder.exists() else []) == before


def test_verification_from_upload_to_a_submitted_application(
    app, client, db_session, registered, create_user, login
):
    response = _upload(client, _pdf())
    assert response.status_code == 302
    assert "正在审核" in client.get("/sme/verification").text
    request_row = db_session.scalar(select(VerificationRequest))
    assert request_row.state == "pending"
    # Only the owner can read the file back: mode 600.
    import os
    import stat

    document = db_session.get(Document, request_row.document_id)
    path = os.path.join(app.config["DOCUMENT_DIR"], document.sha256[:2], document.sha256)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    client.post("/auth/logout")

    advisor = create_user("advisor")
    login(advisor)
    queue = client.get("/advisor/verifications")
    assert "上海新注册测试有限公司1" in queue.text
    download = client.get(f"/advisor/verifications/{request_row.id}/document")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data.startswith(b"%PDF-")
    viewed = db_session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "document.viewed")
    )
    assert viewed == 1
    refused = client.post(
        f"/advisor/verifications/{request_row.id}", data={"decision": "reject", "note": ""}
    )
    assert refused.status_code == 302
    db_session.expire_all()
    assert db_session.get(VerificationRequest, request_row.id).state == "pending"
    client.post(f"/advisor/verifications/{request_row.id}", data={"decision": "approve"})
    db_session.expire_all()
    enterprise = db_session.get(Enterprise, registered.enterprise_id)
    assert enterprise.verification_state == "verified" and enterprise.verified_at is not None
    client.post("/auth/logout")

    client.post("/auth/login", data={"username": "newfirm1", "password": "long-enough-pw"})
    from finportal.models import Bank

    bank_id = db_session.scalar(select(Bank.id).order_by(Bank.id).limit(1))
    response = _new_application(client, db_session, bank_id)
    assert response.status_code == 302, response.text
    application = db_session.scalar(select(Application))
    assert application.state in ("submitted", "screened")


def test_a_refusal_tells_the_firm_why(client, db_session, registered, create_user):
    from finportal.services import verification

    _upload(client, _pdf())
    request_row = db_session.scalar(select(VerificationRequest))
    advisor = create_user("advisor")
    verification.decide(
        db_session,
        request_row.id,
        actor_id=advisor.id,
        approve=False,
        note="营业执照名称与注册名称不符",
    )
    page = client.get("/sme/verification")
    assert "营业执照名称与注册名称不符" in page.text


def test_only_a_verified_firm_invites_and_a_link_works_once(app, client, db_session, registered):
    page = client.get("/sme/colleagues")
    assert "企业通过认证后才能邀请同事" in page.text
    refused = client.post("/sme/colleagues", data={"note": "财务 李四"})
    assert refused.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Invitation)) == 0

    enterprise = db_session.get(Enterprise, registered.enterprise_id)
    enterprise.verification_state = "verified"
    db_session.commit()
    created = client.post("/sme/colleagues", data={"note": "财务 李四"})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    link = created.text.split("/auth/invite/", 1)[1].split("<", 1)[0]
    invite_url = f"/auth/invite/{link}"
    colleague = app.test_client()
    assert "您受邀加入" in colleague.get(invite_url).text
    joined = colleague.post(
        invite_url,
        data={"username": "lisi", "password": "lisi-password", "password_confirm": "lisi-password"},
    )
    assert joined.status_code == 302
    lisi = db_session.scalar(select(User).where(User.username == "lisi"))
    assert lisi.enterprise_id == enterprise.id and lisi.role == "sme"
    assert colleague.get("/sme/").status_code == 200
    again = app.test_client().post(
        invite_url,
        data={
            "username": "lisi2",
            "password": "lisi-password",
            "password_confirm": "lisi-password",
        },
    )
    assert again.status_code == 404
    assert db_session.scalar(select(User).where(User.username == "lisi2")) is None


def test_an_expired_invitation_is_refused(app, db_session, create_user):
    from finportal.services import accounts

    user = create_user("sme")
    invitation, token = accounts.invite_colleague(
        db_session, actor_id=user.id, enterprise_id=user.enterprise_id
    )
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    assert app.test_client().get(f"/auth/invite/{token}").status_code == 404


def test_a_revoked_invitation_says_so_and_no_longer_opens(
    app, client, login, db_session, create_user
):
    from finportal.services import accounts

    user = create_user("sme")
    invitation, token = accounts.invite_colleague(
        db_session, actor_id=user.id, enterprise_id=user.enterprise_id
    )
    url = f"/sme/colleagues/invitations/{invitation.id}/revoke"
    login(user)
    assert "邀请已撤销。" in client.post(url, follow_redirects=True).text
    assert app.test_client().get(f"/auth/invite/{token}").status_code == 404
    assert "该邀请已使用或已撤销。" in client.post(url, follow_redirects=True).text


def test_registration_is_throttled_per_address(app, client, db_session):
    app.config["REGISTER_RATE_LIMIT"] = "3 per hour"
    try:
        statuses = [
            client.post(
                "/auth/register",
                data={"uscc": "x", "username": f"spray{i}"},
                environ_base={"REMOTE_ADDR": "198.51.100.77"},
            ).status_code
            for i in range(4)
        ]
    finally:
        app.config["REGISTER_RATE_LIMIT"] = "10000 per minute"
    assert statuses[:3] == [422, 422, 422]
    assert statuses[3] == 429


def test_a_registered_code_reads_the_same_whether_verified_or_not(
    client, db_session, create_enterprise
):
    texts = []
    for state in ("unverified", "verified"):
        enterprise = create_enterprise(verification_state=state)
        response = client.post(
            "/auth/register",
            data={
                "uscc": enterprise.uscc,
                "enterprise_name": "冒名有限公司",
                "username": f"squatter{state}",
                "password": "long-enough-pw",
                "password_confirm": "long-enough-pw",
            },
        )
        assert response.status_code == 409 or response.status_code == 422
        page = token_times_left_out(response.text.split('<main class="container"', 1)[1])
        texts.append(page.replace(enterprise.uscc, "<code>").replace(f"squatter{state}", "<name>"))
    assert "已有账户" in texts[0]
    assert texts[0] == texts[1]
