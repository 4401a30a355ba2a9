"""The API documentation page: in the site's frame, both languages, made from the routes,
with examples a bank can run."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

pytestmark = pytest.mark.db


def _api_routes(app):
    """(METHOD, /api/v1/path with {name}) of every registered API route."""
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(
            ("api-docs", "api_reference")
        ):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((method, path))
    return out


def test_every_registered_route_is_documented_in_the_site_frame(app, client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    text = unescape(page.text)
    # the site's frame: its header, menu of languages and footer
    assert 'class="topbar"' in text and 'class="footer"' in text
    routes = _api_routes(app)
    assert len(routes) >= 10
    for method, path in routes:
        assert (
            f'<code class="method method-{method.lower()}">{method}</code> <code class="path">{path}</code>'
            in text
        ), (method, path)
    # Chinese summaries from the routes' x-summary-zh, with the English beside them
    assert "记录银行反馈" in text and "Record a decision" in text


def test_the_page_reads_in_english(client):
    client.get("/lang/en")
    text = unescape(client.get("/api/v1/docs").text)
    assert "Bank API documentation" in text
    assert "Record a decision: approved" in text
    assert "记录银行反馈" not in text


def test_examples_use_the_configured_address_and_parse(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://rongzi.minhang.example.cn")
    text = unescape(client.get("/api/v1/docs").text)
    assert (
        "curl -sS -X POST 'https://rongzi.minhang.example.cn/api/v1/referrals/1/decisions'" in text
    )
    assert '-H "Authorization: Bearer $TOKEN"' in text
    blocks = re.findall(
        r'<pre data-scroll-box class="api-example"><code>(\{.*?\}|\[.*?\])</code></pre>', text, re.S
    )
    assert len(blocks) >= 10
    for block in blocks:
        json.loads(block)


def test_the_decision_example_is_a_request_the_api_accepts(client, api_world):
    """Run the page's own example against the API: it records a decision."""
    from finportal.web.api import reference

    spec = client.application.extensions["finportal_api"].spec.to_dict()
    ops = reference.operations(spec, "", english=False)
    decision = next(o for o in ops if o["path"].endswith("/decisions") and o["method"] == "POST")
    body = json.loads(decision["request_example"])
    body["approved_amount"] = 1500000  # within the referral's asked amount
    response = client.post(
        f"/api/v1/referrals/{api_world.referral.id}/decisions", json=body, headers=api_world.auth
    )
    assert response.status_code == 201, response.get_json()
