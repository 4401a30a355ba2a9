"""Security headers on every response; no inline script or style; nothing secret is cached."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from finportal.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.db

ROLE_PREFIXES = {
    "sme": "/sme/",
    "advisor": "/advisor/",
    "recommender": "/recommender/",
    "bank": "/bank/",
    "admin": "/admin/",
}


def csp_directives(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy", "")
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            out[name] = value
    return out


def assert_security_headers(response, where: str) -> None:
    csp = csp_directives(response)
    assert csp.get("script-src") == "'self'", (where, csp)
    assert csp.get("style-src") == "'self'", (where, csp)
    assert csp.get("default-src") == "'self'", (where, csp)
    assert csp.get("object-src") == "'none'", (where, csp)
    assert csp.get("frame-ancestors") == "'none'", (where, csp)
    assert csp.get("base-uri") == "'none'", (where, csp)
    assert "unsafe" not in response.headers["Content-Security-Policy"], where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where


class InlineFinder(HTMLParser):
    """Collect what a strict Content-Security-Policy would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not names.get("src"):
                self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:…>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append("inline script text")


def inline_code(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_every_kind_of_response_carries_the_headers(client, db_session, create_user, login):
    """Pages, error pages, JSON, the API's errors and static files alike."""
    answers = {
        "home": client.get("/"),
        "sign-in": client.get("/auth/login"),
        "not found": client.get("/no-such-page"),
        "api docs": client.get("/api/v1/docs"),
        "openapi": client.get("/api/v1/openapi.json"),
        "api 401": client.get("/api/v1/referrals/"),
        "static": client.get("/static/app.css"),
    }
    login(create_user("advisor"))
    answers["advisor home"] = client.get("/advisor/")
    answers["forbidden"] = client.get("/admin/")
    assert answers["not found"].status_code == 404
    assert answers["api 401"].status_code == 401
    assert answers["forbidden"].status_code == 403
    for where, response in answers.items():
        assert_security_headers(response, where)
    assert CONTENT_SECURITY_POLICY["frame-ancestors"] == "'none'"


def _html_pages(app, prefix):
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods or not rule.rule.startswith(prefix):
            continue
        if rule.rule.endswith((".pdf", ".xlsx", ".json")):
            continue
        yield rule.rule


def test_no_page_of_any_role_has_inline_script_or_style(app, client, create_user, login):
    """Every argument-free page of each role renders without what the CSP blocks."""
    public = ["/", "/auth/login", "/auth/register", "/products/", "/verify/", "/api/v1/docs"]
    checked = 0
    for url in public:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.text) == [], url
        checked += 1
    for role, prefix in ROLE_PREFIXES.items():
        login(create_user(role))
        for url in _html_pages(app, prefix):
            response = client.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            assert inline_code(response.text) == [], (role, url, inline_code(response.text))
            assert_security_headers(response, url)
            checked += 1
        client.post("/auth/logout")
    assert checked >= 20


def test_the_finder_sees_what_the_policy_would_block():
    """The page check above is only worth something if it finds inline code."""
    assert inline_code('<script>alert(1)</script><form onsubmit="x()"></form>') == [
        "<script> without src",
        "inline script text",
        "<form onsubmit=…>",
    ]
    assert inline_code('<p style="color:red"><a href="javascript:x()">x</a></p>') == [
        "<p style=…>",
        "<a href=javascript:…>",
    ]
    assert inline_code('<script src="/static/app.js" defer></script>') == []


def test_templates_hold_no_inline_script_or_style():
    """Also the templates no test renders (confirm dialogs, error branches)."""
    from pathlib import Path

    import finportal

    root = Path(finportal.__file__).parent
    offenders = []
    for path in sorted(root.glob("**/templates/**/*.html")):
        if "packets" in path.parts:  # WeasyPrint's PDF templates are not served to browsers
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)", r"<style", r"\son[a-z]+\s*=", r"\sstyle\s*="):
            if re.search(pattern, text):
                offenders.append((path.name, pattern))
    assert offenders == []


def _assert_no_store(response, where):
    assert response.headers.get("Cache-Control") == "no-store", (where, response.headers)
    assert "ETag" not in response.headers, where


def test_secret_pages_are_not_stored(client, db_session, create_user, create_bank, login):
    admin = create_user("admin")
    bank_user = create_user("bank")
    login(admin)
    token_page = client.post(
        "/admin/api-tokens", data={"bank_id": str(create_bank().id), "label": "信贷系统"}
    )
    assert token_page.status_code == 200 and 'id="new-token"' in token_page.text
    _assert_no_store(token_page, "new API token")
    reset_page = client.post(f"/admin/users/{bank_user.id}/password", data={})
    assert reset_page.status_code == 200 and 'class="secret"' in reset_page.text
    _assert_no_store(reset_page, "password reset")


@pytest.mark.packet
def test_downloads_are_not_stored_but_static_files_may_be(client, db_session, loop, login):
    login(loop.bank_user)
    packet = client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    assert packet.status_code == 200 and packet.mimetype == "application/pdf"
    _assert_no_store(packet, "referral packet")
    client.post("/auth/logout")
    login(loop.advisor)
    export = client.get("/advisor/dashboard/funnel.xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    _assert_no_store(export, "Excel export")
    client.post("/auth/logout")
    login(loop.sme_user)
    template = client.get("/sme/profile/template.xlsx")
    assert template.status_code == 200
    _assert_no_store(template, "profile template")
    static = client.get("/static/app.css")
    assert static.headers.get("Cache-Control") != "no-store"
