"""Registration with the USCC, sign-in, throttling, CSRF and cookies."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from finportal.models import AuditEvent, Enterprise, User
from tests.helpers import PASSWORD, make_uscc

VALID = "91350100M000100Y43"  # the standard's own example


def register(client, **overrides):
    data = {
        "uscc": make_uscc(900001),
        "enterprise_name": "上海示例智能科技有限公司",
        "username": "newfirm",
        "password": "long-enough-pw",
        "password_confirm": "long-enough-pw",
    }
    data.update(overrides)
    return client.post("/auth/register", data=data)


def test_register_with_valid_uscc_creates_enterprise_and_signs_in(client, db_session):
    response = register(client, uscc=VALID.lower())
    assert response.status_code == 302
    assert response.location.endswith("/sme/verification")
    enterprise = db_session.scalar(select(Enterprise).where(Enterprise.uscc == VALID))
    assert enterprise is not None and enterprise.name == "上海示例智能科技有限公司"
    assert enterprise.district_code == "350100"
    user = db_session.scalar(select(User).where(User.username == "newfirm"))
    assert user.role == "sme" and user.enterprise_id == enterprise.id
    assert user.password_hash.startswith("$argon2")
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "enterprise.registered"))
    home = client.get("/sme/")
    assert "上海示例智能科技有限公司" in home.text


def test_wrong_check_character_is_refused_and_form_keeps_input(client, db_session):
    wrong = VALID[:-1] + ("4" if VALID[-1] != "4" else "5")
    response = register(
        client, uscc=wrong, enterprise_name="上海保留输入有限公司", username="keepme"
    )
    assert response.status_code == 422
    assert "校验位错误" in response.text
    assert "应为 3" in response.text  # tells the right check character
    assert f'value="{wrong}"' in response.text
    assert 'value="上海保留输入有限公司"' in response.text
    assert 'value="keepme"' in response.text
    assert "long-enough-pw" not in response.text  # passwords are never echoed
    assert db_session.scalar(select(User).where(User.username == "keepme")) is None


@pytest.mark.parametrize(
    ("uscc", "message"),
    [("12345", "应为18位"), ("91350100M000100YI3", "不允许的字符"), ("", "此项必填")],
)
def test_malformed_uscc_is_refused_with_reason(client, uscc, message):
    response = register(client, uscc=uscc)
    assert response.status_code == 422
    assert message in response.text


def test_duplicate_uscc_and_username_are_refused(client, create_user):
    existing = create_user("sme")
    response = register(client, uscc=existing.enterprise.uscc, username="other")
    assert response.status_code == 422 and "已有账户" in response.text
    response = register(client, uscc=make_uscc(900002), username=existing.username)
    assert response.status_code == 422 and "已被使用" in response.text


def test_password_mismatch_and_short_password(client):
    assert "不一致" in register(client, password_confirm="something-else").text
    assert "至少8位" in register(client, password="short", password_confirm="short").text


def test_enterprise_name_with_html_is_escaped(client, db_session):
    register(
        client,
        enterprise_name="<script>alert(1)</script>有限公司",
        uscc=make_uscc(900003),
        username="xss1",
    )
    page = client.get("/sme/")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;有限公司" in page.text


@pytest.mark.parametrize("role", ["sme", "advisor", "recommender", "bank", "admin"])
def test_each_role_signs_in_to_its_chinese_home(client, create_user, role):
    user = create_user(role)
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.location.endswith(f"/{role}/")
    page = client.get(f"/{role}/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "退出" in page.text


def test_wrong_password_is_refused(client, create_user):
    user = create_user("advisor")
    response = client.post(
        "/auth/login", data={"username": user.username, "password": "wrong-password"}
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/advisor/").status_code == 302


def test_inactive_user_cannot_sign_in(client, create_user, db_session):
    user = create_user("bank")
    user.active = False
    db_session.commit()
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 401


def test_sign_in_is_throttled(database_url, tmp_path, monkeypatch):
    from finportal import create_app

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "WTF_CSRF_ENABLED": False,
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
    )
    client = app.test_client()
    codes = [
        client.post("/auth/login", data={"username": "nobody", "password": "x"}).status_code
        for _ in range(4)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429
    page = client.post("/auth/login", data={"username": "nobody", "password": "x"})
    assert "尝试次数过多" in page.text


def test_forms_need_a_csrf_token(database_url, tmp_path, monkeypatch):
    from finportal import create_app

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    client = app.test_client()
    response = client.post("/auth/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400
    assert "安全令牌" in response.text
    form = client.get("/auth/login").text
    assert re.search(r'name="csrf_token" value="[^"]+"', form)


def test_session_cookie_is_httponly_and_samesite(client, create_user):
    user = create_user("admin")
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    from finportal import create_app
    from finportal.config import ConfigError

    monkeypatch.setenv("FINPORTAL_ENV", "production")
    monkeypatch.delenv("FINPORTAL_SECRET_KEY", raising=False)
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="FINPORTAL_SECRET_KEY"):
        create_app()


def test_production_refuses_a_short_secret_key(monkeypatch, tmp_path):
    from finportal.config import ConfigError, load_config

    monkeypatch.setenv("FINPORTAL_ENV", "production")
    monkeypatch.setenv("FINPORTAL_SECRET_KEY", "x")
    with pytest.raises(ConfigError, match="too short"):
        load_config(str(tmp_path))
    monkeypatch.setenv("FINPORTAL_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("FINPORTAL_BASE_URL", "https://fin.example.cn")  # also required there
    assert load_config(str(tmp_path))["SECRET_KEY"] == "k" * 32


def test_development_secret_key_is_generated_once(monkeypatch, tmp_path):
    from finportal.config import load_config

    monkeypatch.delenv("FINPORTAL_SECRET_KEY", raising=False)
    monkeypatch.delenv("FINPORTAL_ENV", raising=False)
    first = load_config(str(tmp_path))["SECRET_KEY"]
    second = load_config(str(tmp_path))["SECRET_KEY"]
    assert first == second and len(str(first)) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_language_switch_to_english(client):
    client.get("/lang/en")
    page = client.get("/auth/login")
    assert '<html lang="en">' in page.text


def test_app_refuses_to_start_without_cjk_fonts_or_harfbuzz_subset(monkeypatch, tmp_path):
    from finportal import create_app
    from finportal.packets import environment

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setattr(environment, "find_harfbuzz_subset", lambda: None)
    environment.ensure_environment.cache_clear()
    try:
        with pytest.raises(environment.PacketEnvironmentError, match="libharfbuzz-subset"):
            create_app({"TESTING": True})
    finally:
        monkeypatch.undo()
        environment.ensure_environment.cache_clear()


def test_the_portal_hashes_with_argon2_defaults_whatever_the_tests_use():
    """The tests hash at argon2's cheapest parameters (tests/conftest.py); the portal itself,
    imported afresh, keeps argon2-cffi's defaults."""
    import subprocess
    import sys

    code = (
        "import argon2; from finportal.services import accounts; "
        "h, d = accounts._hasher, argon2.PasswordHasher(); "
        "print((h.time_cost, h.memory_cost, h.parallelism) == (d.time_cost, d.memory_cost, d.parallelism))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "True"
