"""Sessions end when they should: logout, password change or reset, deactivated organisations."""

from __future__ import annotations

import pytest

from finportal.models import Bank, Park
from finportal.services import admin_users
from tests.helpers import PASSWORD

pytestmark = pytest.mark.db


def _cookie(client):
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie, url):
    """Open ``url`` with a copied session cookie in a fresh browser."""
    other = app.test_client()
    other.set_cookie("session", cookie, domain="localhost")
    return other.get(url)


def test_a_cookie_copied_before_logout_is_dead_after_it(app, client, login, create_user):
    user = create_user("advisor")
    login(user)
    copied = _cookie(client)
    assert _replay(app, copied, "/advisor/").status_code == 200
    client.post("/auth/logout")
    response = _replay(app, copied, "/advisor/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_logout_ends_the_users_sessions_in_other_browsers(app, client, login, create_user):
    user = create_user("advisor")
    phone = app.test_client()
    phone.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert phone.get("/advisor/").status_code == 200
    login(user)
    client.post("/auth/logout")
    assert phone.get("/advisor/").status_code == 302


def test_an_admins_password_reset_ends_the_old_sessions(
    app, client, login, db_session, create_user
):
    user = create_user("bank")
    login(user)
    assert client.get("/bank/").status_code == 200
    admin_users.reset_password(db_session, user.id, actor_id=None, new_password="a-new-password-1")
    response = client.get("/bank/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_changing_ones_password_ends_other_sessions_but_keeps_this_one(
    app, client, login, create_user
):
    user = create_user("sme")
    other = app.test_client()
    other.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    login(user)
    wrong = client.post(
        "/auth/password",
        data={
            "current_password": "not-it",
            "new_password": "brand-new-pass-2",
            "new_password_confirm": "brand-new-pass-2",
        },
    )
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.text
    response = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand-new-pass-2",
            "new_password_confirm": "brand-new-pass-2",
        },
    )
    assert response.status_code == 302
    assert client.get("/sme/").status_code == 200
    assert other.get("/sme/").status_code == 302
    again = app.test_client().post(
        "/auth/login", data={"username": user.username, "password": "brand-new-pass-2"}
    )
    assert again.status_code == 302


def test_the_session_and_csrf_token_rotate_at_sign_in(client, create_user):
    user = create_user("advisor")
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["csrf_token"] = "planted-by-an-attacker"
        session["_fixation"] = "x"
    client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    with client.session_transaction() as session:
        assert session.get("csrf_token") != "planted-by-an-attacker"
        assert "_fixation" not in session
        assert session.get("_user_id") == f"{user.id}.{user.session_version}"


@pytest.mark.parametrize("org", ["bank", "park"])
def test_a_deactivated_organisations_users_lose_access(
    app, client, login, db_session, create_user, org
):
    user = create_user("bank" if org == "bank" else "recommender")
    home = "/bank/" if org == "bank" else "/recommender/"
    login(user)
    assert client.get(home).status_code == 200
    row = (
        db_session.get(Bank, user.bank_id) if org == "bank" else db_session.get(Park, user.park_id)
    )
    row.active = False
    db_session.commit()
    response = client.get(home)
    assert response.status_code == 302 and "/auth/login" in response.location
    again = app.test_client().post(
        "/auth/login", data={"username": user.username, "password": PASSWORD}
    )
    assert again.status_code == 401
