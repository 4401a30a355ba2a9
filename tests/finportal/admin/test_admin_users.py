"""Admins create users with roles and links, deactivate them and reset passwords."""

from __future__ import annotations

from sqlalchemy import select

from finportal.models import AuditEvent, Chamber, Park, User
from tests.helpers import PASSWORD

NEW_PASSWORD = "new-password-456"  # noqa: S105 - a test password


def _user(db_session, username):
    db_session.expire_all()
    return db_session.scalar(select(User).where(User.username == username))


def test_admin_creates_users_of_each_role_with_the_link_it_needs(
    client, db_session, create_user, create_bank, create_enterprise, login
):
    admin = create_user("admin")
    login(admin)
    bank = create_bank()
    firm = create_enterprise()
    park = Park(code="xinzhuang", name_zh="莘庄工业区")
    chamber = Chamber(code="mh-chamber", name_zh="闵行区工商联")
    db_session.add_all([park, chamber])
    db_session.commit()
    forms = [
        {"username": "bank-li", "role": "bank", "bank_id": str(bank.id)},
        {"username": "sme-wang", "role": "sme", "enterprise_uscc": firm.uscc.lower()},
        {"username": "park-zhao", "role": "recommender", "park_id": str(park.id)},
        {"username": "chamber-qian", "role": "recommender", "chamber_id": str(chamber.id)},
        {"username": "advisor-sun", "role": "advisor", "bank_id": str(bank.id)},
    ]
    page = client.get("/admin/users/new").text
    assert bank.name_zh in page and "莘庄工业区" in page
    for form in forms:
        response = client.post("/admin/users/new", data={**form, "password": PASSWORD})
        assert response.status_code == 302, response.text
    assert _user(db_session, "bank-li").bank_id == bank.id
    assert _user(db_session, "sme-wang").enterprise_id == firm.id
    assert _user(db_session, "park-zhao").park_id == park.id
    assert _user(db_session, "chamber-qian").chamber_id == chamber.id
    # an advisor is not tied to a bank, whatever the form sent
    assert _user(db_session, "advisor-sun").bank_id is None
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.created")).all()
    assert len(events) == 5 and {e.actor_id for e in events} == {admin.id}
    client.get("/admin/users")  # shows (and clears) the flashed messages
    listed = client.get("/admin/users?role=recommender").text
    assert "park-zhao" in listed and "chamber-qian" in listed and "bank-li" not in listed
    assert "sme-wang" in client.get("/admin/users?q=wang").text


def test_a_user_without_the_link_of_their_role_is_refused_keeping_the_form(
    client, create_user, login
):
    login(create_user("admin"))
    response = client.post(
        "/admin/users/new",
        data={"username": "x", "role": "sme", "password": "short", "display_name": "王小明"},
    )
    assert response.status_code == 422
    text = response.text
    assert "企业用户须关联企业" in text
    assert "密码至少8位" in text
    assert "用户名为3-80位" in text
    assert 'value="王小明"' in text
    assert "short" not in text
    unknown = client.post(
        "/admin/users/new",
        data={
            "username": "sme-li",
            "role": "sme",
            "password": PASSWORD,
            "enterprise_uscc": "91310112MA1GBXXX0X",
        },
    )
    assert unknown.status_code == 422 and "没有该统一社会信用代码的企业" in unknown.text
    no_role = client.post("/admin/users/new", data={"username": "nobody", "password": PASSWORD})
    assert no_role.status_code == 422 and "请从列表中选择" in no_role.text
    both = client.post(
        "/admin/users/new",
        data={"username": "rec", "role": "recommender", "password": PASSWORD},
    )
    assert both.status_code == 422 and "只选其一" in both.text


def test_a_taken_username_is_refused(client, create_user, login):
    login(create_user("admin"))
    taken = create_user("advisor")
    response = client.post(
        "/admin/users/new",
        data={"username": taken.username, "role": "advisor", "password": PASSWORD},
    )
    assert response.status_code == 422
    assert "已被使用" in response.text


def test_a_deactivated_user_cannot_sign_in_until_reactivated(app, db_session, create_user, login):
    admin = create_user("admin")
    advisor = create_user("advisor")
    client = login(admin)
    assert client.post(f"/admin/users/{advisor.id}/active", data={}).status_code == 302
    assert _user(db_session, advisor.username).active is False
    other = app.test_client()
    refused = other.post("/auth/login", data={"username": advisor.username, "password": PASSWORD})
    assert refused.status_code == 401
    login(admin)  # requests share the test's app context, so sign the admin in again
    client.post(f"/admin/users/{advisor.id}/active", data={"active": "on"})
    ok = other.post("/auth/login", data={"username": advisor.username, "password": PASSWORD})
    assert ok.status_code == 302
    actions = list(
        db_session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_id == advisor.id, AuditEvent.object_type == "user"
            )
        )
    )
    assert "user.deactivated" in actions and "user.reactivated" in actions


def test_an_admin_cannot_deactivate_themselves(client, db_session, create_user, login):
    admin = create_user("admin")
    login(admin)
    client.post(f"/admin/users/{admin.id}/active", data={})
    assert _user(db_session, admin.username).active is True
    assert "不能停用自己的账户" in client.get("/admin/users").text


def test_password_reset_shows_the_new_password_once_and_it_works(
    app, db_session, create_user, login
):
    admin = create_user("admin")
    bank_user = create_user("bank")
    client = login(admin)
    response = client.post(f"/admin/users/{bank_user.id}/password", data={})
    assert response.status_code == 200
    import re

    password = re.search(r'<code class="secret"[^>]*>([^<]+)</code>', response.text).group(1)
    assert len(password) >= 8
    assert password not in client.get("/admin/users").text
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_reset"))
    assert client.post("/admin/users/999999/password", data={}).status_code == 404
    other = app.test_client()
    assert (
        other.post(
            "/auth/login", data={"username": bank_user.username, "password": PASSWORD}
        ).status_code
        == 401
    )
    assert (
        other.post(
            "/auth/login", data={"username": bank_user.username, "password": password}
        ).status_code
        == 302
    )


def test_admin_changes_a_users_role_and_link(client, db_session, create_user, create_bank, login):
    admin = create_user("admin")
    login(admin)
    old_bank, new_bank = create_bank(), create_bank()
    user = create_user("bank", bank_id=old_bank.id)
    page = client.get(f"/admin/users/{user.id}/edit").text
    assert f'value="{old_bank.id}" selected' in page
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data={"role": "bank", "bank_id": str(new_bank.id), "display_name": "李经理"},
    )
    assert response.status_code == 302
    changed = _user(db_session, user.username)
    assert changed.bank_id == new_bank.id and changed.display_name == "李经理"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
    assert event.data["bank_id"] == [old_bank.id, new_bank.id]
    to_advisor = client.post(f"/admin/users/{user.id}/edit", data={"role": "advisor"})
    assert to_advisor.status_code == 302
    assert _user(db_session, user.username).role == "advisor"
    assert _user(db_session, user.username).bank_id is None
    to_sme = client.post(f"/admin/users/{user.id}/edit", data={"role": "sme", "display_name": "王"})
    assert to_sme.status_code == 422
    assert "企业用户须关联企业" in to_sme.text and 'value="王"' in to_sme.text
    own = client.post(f"/admin/users/{admin.id}/edit", data={"role": "advisor"})
    assert own.status_code == 422 and "不能修改自己的角色" in own.text
    assert client.get("/admin/users/999999/edit").status_code == 404
