"""The Content-Security-Policy holds in a real browser: no page of any role breaks it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import is_csp_violation
from tests.helpers import make_uscc

pytestmark = pytest.mark.e2e

PASSWORD = "csp-browser-pass-1"  # noqa: S105 - a test password
PUBLIC = ["/", "/auth/login", "/auth/register", "/products/", "/verify/", "/api/v1/docs"]
PREFIXES = {
    "sme": "/sme/",
    "advisor": "/advisor/",
    "recommender": "/recommender/",
    "bank": "/bank/",
    "admin": "/admin/",
}


def _users(app: Any) -> dict[str, str]:
    """Create one user per role in the live server's database; return their usernames."""
    from finportal.extensions import db
    from finportal.models import Bank, Enterprise, Park, User
    from finportal.services.accounts import create_user

    names = {role: f"csp-{role}" for role in PREFIXES}
    with app.app_context():
        session = db.session
        if session.scalar(select(User.id).where(User.username == names["sme"])) is None:
            enterprise = Enterprise(uscc=make_uscc(660001), name="上海内容安全策略测试有限公司")
            session.add(enterprise)
            session.flush()
            links = {
                "sme": {"enterprise_id": enterprise.id},
                "bank": {"bank_id": session.scalar(select(Bank.id).order_by(Bank.id).limit(1))},
                "recommender": {
                    "park_id": session.scalar(select(Park.id).order_by(Park.id).limit(1))
                },
            }
            for role, username in names.items():
                create_user(
                    session, username=username, password=PASSWORD, role=role, **links.get(role, {})
                )
            session.commit()
        db.session.remove()
    return names


def _pages(app: Any, prefix: str) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix)
        and not rule.arguments
        and "GET" in rule.methods
        and not rule.rule.endswith((".pdf", ".xlsx", ".json"))
    )


def _visit(page: Any, url: str, seen: list[str]) -> None:
    response = page.goto(url)
    page.wait_for_load_state("load")
    assert response is not None and response.status < 500, (url, response and response.status)
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), url
    seen.append(url)


def test_main_pages_of_every_role_raise_no_csp_violation(page, live_server):
    app = live_server["app"]
    names = _users(app)
    violations: list[tuple[str, str]] = []
    current = {"url": ""}
    page.on(
        "console",
        lambda m: violations.append((current["url"], m.text)) if is_csp_violation(m) else None,
    )
    seen: list[str] = []
    for url in PUBLIC:
        current["url"] = url
        _visit(page, url, seen)
    for role, prefix in PREFIXES.items():
        page.context.clear_cookies()
        page.goto("/auth/login")
        page.fill("input[name=username]", names[role])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{prefix}**")
        for url in _pages(app, prefix):
            current["url"] = url
            _visit(page, url, seen)
    assert len(seen) >= 25
    assert violations == []


def test_a_violation_would_be_seen(page, live_server, csp_violations):
    """The listener every browser test relies on does catch what the policy blocks."""
    page.goto("/")
    page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.ranInline = true';
            document.body.appendChild(s);
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ranInline === true") is False
    assert any("script-src" in m for m in csp_violations), csp_violations
    csp_violations.clear()  # provoked on purpose: the fixture's own check would fail the test


def test_confirm_dialogs_work_under_the_policy(page, live_server):
    """A form marked data-confirm asks first (static/app.js), and is sent once accepted."""
    app = live_server["app"]
    names = _users(app)
    page.goto("/auth/login")
    page.fill("input[name=username]", names["admin"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/**")
    page.goto(f"/admin/users?q={names['bank']}")
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    row = page.locator("tr", has_text=names["bank"])
    row.locator("form[data-confirm] button").last.click()
    page.wait_for_timeout(300)
    assert questions and names["bank"] in questions[0]
    assert "/admin/users" in page.url  # dismissed: nothing was sent

    def accept(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.locator("form[data-confirm] button").last.click()
    page.wait_for_load_state("load")
    assert page.locator("code.secret").inner_text().strip() != ""
