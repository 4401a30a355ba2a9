"""Admins issue banks' API tokens (shown once) and revoke them."""

from __future__ import annotations

import re

from sqlalchemy import select

from finportal.models import ApiToken, AuditEvent


def test_a_new_token_is_shown_once_and_only_its_prefix_is_listed(
    client, db_session, create_user, create_bank, login
):
    admin = create_user("admin")
    bank = create_bank()
    login(admin)
    assert bank.name_zh in client.get("/admin/api-tokens").text
    response = client.post("/admin/api-tokens", data={"bank_id": str(bank.id), "label": "信贷系统"})
    assert response.status_code == 200
    plain = re.search(
        r'<code class="secret" id="new-token"[^>]*>([^<]+)</code>', response.text
    ).group(1)
    token = db_session.scalar(select(ApiToken))
    assert token.bank_id == bank.id and token.label == "信贷系统"
    assert plain.startswith(token.prefix)
    listed = client.get("/admin/api-tokens").text
    assert plain not in listed
    assert token.prefix in listed and "有效" in listed
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.created"))
    assert event.actor_id == admin.id


def test_a_token_without_a_bank_is_refused(client, create_user, login):
    login(create_user("admin"))
    response = client.post("/admin/api-tokens", data={"label": "无银行"})
    assert response.status_code == 422
    assert "请选择银行" in response.text and 'value="无银行"' in response.text


def test_a_revoked_token_is_marked_and_cannot_be_revoked_twice(
    client, db_session, create_user, create_bank, login
):
    login(create_user("admin"))
    bank = create_bank()
    client.post("/admin/api-tokens", data={"bank_id": str(bank.id)})
    token = db_session.scalar(select(ApiToken))
    assert client.post(f"/admin/api-tokens/{token.id}/revoke").status_code == 302
    db_session.expire_all()
    assert db_session.get(ApiToken, token.id).revoked_at is not None
    assert "已撤销" in client.get("/admin/api-tokens").text
    client.post(f"/admin/api-tokens/{token.id}/revoke")
    assert "令牌已撤销。" in client.get("/admin/api-tokens").text
    assert client.post("/admin/api-tokens/99999/revoke").status_code == 404
