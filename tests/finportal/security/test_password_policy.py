"""One password policy: length, not the username, not a common password, not a trivial pattern."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from finportal.models import User
from finportal.services import accounts, admin_users
from finportal.services.errors import ValidationFailed
from tests.helpers import PASSWORD, make_uscc


@pytest.mark.parametrize(
    ("password", "username", "refused_as"),
    [
        ("short", "firm", "至少8位"),
        ("x" * 129, "firm", "不超过128位"),
        ("zhangsan", "zhangsan", "用户名"),
        ("ZhangSan", "zhangsan", "用户名"),
        ("Zhangsan2024!", "zhangsan", "用户名"),
        ("nasgnahz", "zhangsan", "用户名"),
        ("zh4ngs4n", "zhangsan", "用户名"),
        ("zhang.san", "zhang_san", "用户名"),
        ("password", "firm", "常见"),
        ("Password1", "firm", "常见"),
        ("P@ssw0rd", "firm", "常见"),
        ("1qaz2wsx", "firm", "常见"),
        ("dragon2024", "firm", "常见"),
        ("woaini1314", "firm", "常见"),
        ("qq123456", "firm", "常见"),
        ("88888888", "firm", "重复或连续"),
        ("123123123", "firm", "重复或连续"),
        ("abcdefgh", "firm", "重复或连续"),
        ("98765432", "firm", "重复或连续"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, username, refused_as):
    problem = accounts.password_problem(password, username=username)
    assert problem is not None and refused_as in problem


@pytest.mark.parametrize(
    ("password", "username"),
    [
        (PASSWORD, "sme1"),
        ("zhangsan-drinks-green-tea", "zhangsan"),
        ("闵行区融资服务2026", "firm"),
        ("".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(2)), "firm"),
        ("correct horse battery staple", "firm"),
        ("Qh7-vTq2-mLp9", "12345678"),
    ],
)
def test_good_passwords_pass(password, username):
    assert accounts.password_problem(password, username=username) is None


def test_the_common_list_is_the_shipped_one():
    common = accounts.common_passwords()
    assert len(common) >= 25_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= common


@pytest.mark.db
def test_registration_refuses_the_username_and_keeps_the_form(client, db_session):
    data = {
        "uscc": make_uscc(910001),
        "enterprise_name": "上海密码策略测试有限公司",
        "username": "policyfirm",
        "password": "policyfirm2024",
        "password_confirm": "policyfirm2024",
    }
    response = client.post("/auth/register", data=data)
    assert response.status_code == 422
    assert "密码不能是用户名" in response.text
    assert 'value="上海密码策略测试有限公司"' in response.text
    assert "policyfirm2024" not in response.text
    assert db_session.scalar(select(User).where(User.username == "policyfirm")) is None
    common = client.post(
        "/auth/register", data={**data, "password": "iloveyou1", "password_confirm": "iloveyou1"}
    )
    assert common.status_code == 422 and "最常见的密码" in common.text


@pytest.mark.db
def test_admin_creation_and_reset_use_the_same_policy(client, db_session, create_user, login):
    login(create_user("admin"))
    response = client.post(
        "/admin/users/new",
        data={"username": "advisor-zhou", "role": "advisor", "password": "password123"},
    )
    assert response.status_code == 422 and "最常见的密码" in response.text
    assert db_session.scalar(select(User).where(User.username == "advisor-zhou")) is None
    bank_user = create_user("bank")
    old_hash = bank_user.password_hash
    refused = client.post(
        f"/admin/users/{bank_user.id}/password",
        data={"new_password": bank_user.username + "2024"},
        follow_redirects=True,
    )
    assert "密码不能是用户名" in refused.text
    db_session.refresh(bank_user)
    assert bank_user.password_hash == old_hash


@pytest.mark.db
def test_every_way_of_setting_a_password_asks_the_policy(db_session, create_user):
    user = create_user("advisor")
    with pytest.raises(ValidationFailed) as caught:
        accounts.set_password(user, "qwertyuiop")
    assert "常见" in caught.value.fields["password"]
    with pytest.raises(ValidationFailed):
        accounts.create_user(db_session, username="weak-one", password="12345678", role="advisor")
    with pytest.raises(ValidationFailed) as caught:
        admin_users.reset_password(db_session, user.id, actor_id=None, new_password=user.username)
    assert "new_password" in caught.value.fields
    db_session.rollback()
    # A generated password always passes.
    _, generated = admin_users.reset_password(db_session, user.id, actor_id=None)
    assert accounts.password_problem(generated, username=user.username) is None
