"""Contract tests of the bank API: every endpoint, tokens, other banks' ids, malformed bodies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finportal.models import ApiToken, AuditEvent, BankDecision, Batch, BatchMember, LoanOutcome

API = "/api/v1"


def _today():
    from finportal.models import utcnow
    from finportal.services.workdays import SHANGHAI

    return utcnow().astimezone(SHANGHAI).date().isoformat()


def _error(response, status, code=None):
    assert response.status_code == status, response.text
    body = response.get_json()
    assert set(body) >= {"code", "message"}, body
    assert body["message"]
    if code:
        assert body["code"] == code, body
    return body


def _snapshot(session):
    """What a refused request must leave unchanged."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(BankDecision)),
        session.scalar(select(func.count()).select_from(LoanOutcome)),
        tuple(
            session.execute(
                select(BatchMember.id, BatchMember.state, BatchMember.approved_amount).order_by(
                    BatchMember.id
                )
            ).all()
        ),
        tuple(
            session.execute(
                select(Batch.id, Batch.quota_used, Batch.filing_status).order_by(Batch.id)
            ).all()
        ),
    )


# --- every authenticated endpoint, without or with a bad token ------------------------------

ENDPOINTS = [
    ("GET", "/referrals/"),
    ("GET", "/referrals/{referral}"),
    ("GET", "/referrals/{referral}/packet"),
    ("GET", "/referrals/{referral}/profile"),
    ("POST", "/referrals/{referral}/decisions"),
    ("POST", "/referrals/{referral}/outcomes"),
    ("GET", "/batches/"),
    ("GET", "/batches/{batch}"),
    ("POST", "/batches/{batch}/members/{member}/decision"),
    ("POST", "/batches/{batch}/filing"),
]


def _url(api_world, template):
    return API + template.format(
        referral=api_world.referral.id,
        batch=api_world.batch.id,
        member=api_world.batch.members[0].id,
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "revoked", "Bearer " + "x" * 300],
)
def test_missing_or_bad_token_is_401_and_changes_nothing(client, db_session, api_world, header):
    if header == "revoked":
        header = f"Bearer {api_world.revoked_token}"
    before = _snapshot(db_session)
    headers = {"Authorization": header} if header else {}
    body = {"decision": "approved", "approved_amount": 1000000}
    for method, path in ENDPOINTS:
        response = client.open(
            _url(api_world, path),
            method=method,
            headers=headers,
            json=body if method == "POST" else None,
        )
        _error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _snapshot(db_session) == before


def test_token_of_an_inactive_bank_is_refused(client, db_session, api_world):
    api_world.world.bank.active = False
    db_session.commit()
    _error(client.get(f"{API}/batches/", headers=api_world.auth), 401)


def test_tokens_are_stored_hashed_and_record_use(client, db_session, api_world):
    import hashlib

    tokens = db_session.scalars(select(ApiToken)).all()
    assert all(api_world.token not in (t.token_hash, t.prefix) for t in tokens)
    row = db_session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hashlib.sha256(api_world.token.encode()).hexdigest()
        )
    )
    assert row is not None and row.prefix == api_world.token[:10] and row.last_used_at is None
    assert client.get(f"{API}/batches/", headers=api_world.auth).status_code == 200
    db_session.refresh(row)
    assert row.last_used_at is not None


def test_a_tokens_use_is_written_at_most_once_a_minute(client, db_session, api_world):
    """A call within the minute writes nothing (no commit per call; kept pages stay valid)."""
    from datetime import timedelta

    from finportal.services.api_tokens import LAST_USED_PRECISION, hash_token

    row = db_session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(api_world.token))
    )
    assert client.get(f"{API}/batches/", headers=api_world.auth).status_code == 200
    db_session.refresh(row)
    first = row.last_used_at
    assert client.get(f"{API}/batches/", headers=api_world.auth).status_code == 200
    db_session.refresh(row)
    assert row.last_used_at == first
    row.last_used_at = first - LAST_USED_PRECISION - timedelta(seconds=1)
    db_session.commit()
    assert client.get(f"{API}/batches/", headers=api_world.auth).status_code == 200
    db_session.refresh(row)
    assert row.last_used_at > first


# --- products (public) ---------------------------------------------------------------------


def test_products_are_public(client, api_world):
    response = client.get(f"{API}/products/")
    assert response.status_code == 200
    codes = {p["code"] for p in response.get_json()}
    assert {"park_batch", "chamber_batch", "policy_guarantee"} <= codes
    park = next(p for p in response.get_json() if p["code"] == "park_batch")
    assert park["batch"] is True and park["name_zh"] == "园区批次贷"


# --- referrals -----------------------------------------------------------------------------


def test_referrals_list_only_the_banks_own(client, api_world):
    response = client.get(f"{API}/referrals/", headers=api_world.auth)
    assert response.status_code == 200
    ids = [r["id"] for r in response.get_json()]
    assert ids == [api_world.referral.id]
    item = response.get_json()[0]
    assert item["state"] == "sent" and item["product_code"] == "policy_guarantee"
    assert Decimal(item["amount"]) == Decimal("2000000")
    other = client.get(
        f"{API}/referrals/", headers={"Authorization": f"Bearer {api_world.other_token}"}
    )
    assert [r["id"] for r in other.get_json()] == [api_world.other_referral.id]


def test_referrals_filter_by_status_and_time(client, api_world):
    auth = api_world.auth
    assert len(client.get(f"{API}/referrals/?status=sent", headers=auth).get_json()) == 1
    assert client.get(f"{API}/referrals/?status=approved", headers=auth).get_json() == []
    assert len(client.get(f"{API}/referrals/?status=new", headers=auth).get_json()) == 1
    assert (
        client.get(f"{API}/referrals/?since=2999-01-01T00:00:00%2B08:00", headers=auth).get_json()
        == []
    )
    assert (
        len(client.get(f"{API}/referrals/?since=2000-01-01T00:00:00Z", headers=auth).get_json())
        == 1
    )
    body = _error(
        client.get(f"{API}/referrals/?status=bogus", headers=auth), 422, "validation_failed"
    )
    assert "status" in body["errors"]
    _error(client.get(f"{API}/referrals/?since=yesterday", headers=auth), 422, "validation_failed")


def test_referral_detail_marks_it_viewed(client, db_session, api_world):
    response = client.get(f"{API}/referrals/{api_world.referral.id}", headers=api_world.auth)
    assert response.status_code == 200
    body = response.get_json()
    assert (
        body["id"] == api_world.referral.id and body["decisions"] == [] and body["outcomes"] == []
    )
    assert body["advisor_opinion"] == "建议支持"
    db_session.refresh(api_world.referral)
    assert api_world.referral.state == "viewed"


@pytest.mark.parametrize("suffix", ["", "/packet"])
def test_another_banks_referral_is_not_found(client, db_session, api_world, suffix):
    before = _snapshot(db_session)
    for rid in (api_world.other_referral.id, 999999, 2**40):
        _error(
            client.get(f"{API}/referrals/{rid}{suffix}", headers=api_world.auth), 404, "not_found"
        )
    db_session.refresh(api_world.other_referral)
    assert api_world.other_referral.state == "sent"
    assert _snapshot(db_session) == before


def test_packet_download_is_a_logged_pdf(client, db_session, api_world):
    response = client.get(f"{API}/referrals/{api_world.referral.id}/packet", headers=api_world.auth)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "referral.packet_downloaded")
    )


def test_packet_refused_after_consent_withdrawn(client, db_session, api_world):
    from finportal.models import Consent, utcnow

    for consent in db_session.scalars(select(Consent)):
        consent.withdrawn_at = utcnow()
    db_session.commit()
    _error(
        client.get(f"{API}/referrals/{api_world.referral.id}/packet", headers=api_world.auth), 403
    )


def test_decision_then_outcome(client, db_session, api_world):
    url = f"{API}/referrals/{api_world.referral.id}"
    response = client.post(
        f"{url}/decisions",
        headers=api_world.auth,
        json={
            "decision": "approved",
            "approved_amount": "1500000.00",
            "annual_rate": 0.035,
            "term_months": 12,
        },
    )
    assert response.status_code == 201, response.text
    assert response.get_json()["decision"] == "approved"
    assert Decimal(response.get_json()["approved_amount"]) == Decimal("1500000")
    response = client.post(
        f"{url}/outcomes",
        headers=api_world.auth,
        json={
            "event": "disbursed",
            "occurred_on": _today(),
            "amount": 1500000,
        },
    )
    assert response.status_code == 201, response.text
    detail = client.get(url, headers=api_world.auth).get_json()
    assert detail["state"] == "disbursed"
    assert [d["decision"] for d in detail["decisions"]] == ["approved"]
    assert [o["event"] for o in detail["outcomes"]] == ["disbursed"]


def test_outcome_before_a_decision_is_a_conflict(client, db_session, api_world):
    before = _snapshot(db_session)
    response = client.post(
        f"{API}/referrals/{api_world.referral.id}/outcomes",
        headers=api_world.auth,
        json={"event": "repaid", "occurred_on": _today()},
    )
    _error(response, 409)
    assert _snapshot(db_session) == before


MALFORMED_DECISIONS = [
    {},
    {"decision": 5},
    {"decision": "maybe"},
    {"decision": "approved"},  # amount, rate and term missing
    {"decision": "approved", "approved_amount": "abc", "annual_rate": 0.03, "term_months": 12},
    {"decision": "approved", "approved_amount": True, "annual_rate": 0.03, "term_months": 12},
    {"decision": "approved", "approved_amount": 1e30, "annual_rate": 0.03, "term_months": 12},
    {
        "decision": "approved",
        "approved_amount": "1" + "0" * 400,
        "annual_rate": 0.03,
        "term_months": 12,
    },
    {"decision": "approved", "approved_amount": -5, "annual_rate": 0.03, "term_months": 12},
    {"decision": "approved", "approved_amount": 1000, "annual_rate": 5, "term_months": 12},
    {"decision": "approved", "approved_amount": 1000, "annual_rate": 0.03, "term_months": 10**12},
    {"decision": "approved", "approved_amount": 1000, "annual_rate": 0.03, "term_months": 1.5},
    {
        "decision": "approved",
        "approved_amount": 1000,
        "annual_rate": 0.03,
        "term_months": "12 months",
    },
    {"decision": "declined"},  # no reason code
    {"decision": "declined", "reason_code": "x" * 41},
    {"decision": "info_requested", "reason_text": "x" * 2001},
    {"decision": "declined", "reason_code": "other", "unexpected": 1},
    [1, 2, 3],
    "approved",
]


@pytest.mark.parametrize("body", MALFORMED_DECISIONS)
def test_malformed_decisions_are_422_and_change_nothing(client, db_session, api_world, body):
    before = _snapshot(db_session)
    response = client.post(
        f"{API}/referrals/{api_world.referral.id}/decisions", headers=api_world.auth, json=body
    )
    _error(response, 422, "validation_failed")
    assert _snapshot(db_session) == before
    db_session.refresh(api_world.referral)
    assert api_world.referral.state == "sent"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"event": "disbursed"},
        {"event": "paid", "occurred_on": "2026-01-01"},
        {"event": "disbursed", "occurred_on": "not a date"},
        {"event": "disbursed", "occurred_on": "2026-01-01", "amount": 1e300},
    ],
)
def test_malformed_outcomes_are_422_and_change_nothing(client, db_session, api_world, body):
    before = _snapshot(db_session)
    response = client.post(
        f"{API}/referrals/{api_world.referral.id}/outcomes", headers=api_world.auth, json=body
    )
    _error(response, 422, "validation_failed")
    assert _snapshot(db_session) == before


def test_a_body_that_is_not_json_is_refused(client, db_session, api_world):
    before = _snapshot(db_session)
    url = f"{API}/referrals/{api_world.referral.id}/decisions"
    response = client.post(
        url, headers={**api_world.auth, "Content-Type": "application/json"}, data="{not json"
    )
    assert 400 <= response.status_code < 500
    _error(response, response.status_code)
    response = client.post(url, headers=api_world.auth, data="decision=approved")
    assert 400 <= response.status_code < 500
    _error(response, response.status_code)
    assert _snapshot(db_session) == before


@pytest.mark.parametrize("path", ["/decisions", "/outcomes"])
def test_posting_to_another_banks_referral_is_404(client, db_session, api_world, path):
    before = _snapshot(db_session)
    body = {
        "decision": "declined",
        "reason_code": "other",
        "reason_text": "x",
        "event": "disbursed",
        "occurred_on": "2026-01-01",
    }
    body = {
        k: v for k, v in body.items() if (k in ("event", "occurred_on")) == (path == "/outcomes")
    }
    response = client.post(
        f"{API}/referrals/{api_world.other_referral.id}{path}", headers=api_world.auth, json=body
    )
    _error(response, 404, "not_found")
    assert _snapshot(db_session) == before


# --- batches -------------------------------------------------------------------------------


def test_batches_list_only_the_banks_submitted_batches(client, api_world):
    response = client.get(f"{API}/batches/", headers=api_world.auth)
    assert response.status_code == 200
    assert [b["id"] for b in response.get_json()] == [api_world.batch.id]
    item = response.get_json()[0]
    assert Decimal(item["quota_total"]) == Decimal("5000000") and Decimal(
        item["quota_left"]
    ) == Decimal("5000000")
    assert item["product_code"] == "park_batch" and item["filing_status"] == "not_filed"
    assert client.get(f"{API}/batches/?state=closed", headers=api_world.auth).get_json() == []
    _error(client.get(f"{API}/batches/?state=open", headers=api_world.auth), 422)


def test_batch_detail_lists_members(client, api_world):
    response = client.get(f"{API}/batches/{api_world.batch.id}", headers=api_world.auth)
    assert response.status_code == 200
    members = response.get_json()["members"]
    assert [m["state"] for m in members] == ["submitted", "submitted"]
    assert members[0]["enterprise_name"] == api_world.world.members[0].name


@pytest.mark.parametrize("which", ["other", "open", "missing", "huge"])
def test_other_banks_and_unsent_batches_are_not_found(client, db_session, api_world, which):
    batch_id = {
        "other": api_world.other_batch_id,
        "open": api_world.open_batch_id,
        "missing": 999999,
        "huge": 2**40,
    }[which]
    before = _snapshot(db_session)
    _error(client.get(f"{API}/batches/{batch_id}", headers=api_world.auth), 404, "not_found")
    member = api_world.batch.members[0].id
    _error(
        client.post(
            f"{API}/batches/{batch_id}/members/{member}/decision",
            headers=api_world.auth,
            json={"decision": "approved", "approved_amount": 1000},
        ),
        404,
    )
    _error(client.post(f"{API}/batches/{batch_id}/filing", headers=api_world.auth), 404)
    assert _snapshot(db_session) == before


def test_member_of_another_batch_is_not_found(client, db_session, api_world):
    other_member = db_session.scalar(
        select(BatchMember.id).where(BatchMember.batch_id == api_world.other_batch_id)
    )
    before = _snapshot(db_session)
    response = client.post(
        f"{API}/batches/{api_world.batch.id}/members/{other_member}/decision",
        headers=api_world.auth,
        json={"decision": "approved", "approved_amount": 1000},
    )
    _error(response, 404)
    assert _snapshot(db_session) == before


def test_member_decisions_spend_the_quota(client, db_session, api_world):
    batch = api_world.batch
    first, second = batch.members
    url = f"{API}/batches/{batch.id}/members"
    response = client.post(
        f"{url}/{first.id}/decision",
        headers=api_world.auth,
        json={"decision": "approved", "approved_amount": 3000000},
    )
    assert response.status_code == 200, response.text
    assert response.get_json()["state"] == "approved"
    before = _snapshot(db_session)
    # 3,000,000 + 2,500,000 > 5,000,000
    response = client.post(
        f"{url}/{second.id}/decision",
        headers=api_world.auth,
        json={"decision": "approved", "approved_amount": "2500000"},
    )
    _error(response, 409, "quota_exceeded")
    assert _snapshot(db_session) == before
    # Over the per-firm cap is a validation error.
    _error(
        client.post(
            f"{url}/{second.id}/decision",
            headers=api_world.auth,
            json={"decision": "approved", "approved_amount": 3000001},
        ),
        422,
    )
    response = client.post(
        f"{url}/{second.id}/decision",
        headers=api_world.auth,
        json={"decision": "declined", "reason_text": "额度已满"},
    )
    assert response.status_code == 200
    detail = client.get(f"{API}/batches/{batch.id}", headers=api_world.auth).get_json()
    assert Decimal(detail["quota_used"]) == Decimal("3000000") and Decimal(
        detail["quota_left"]
    ) == Decimal("2000000")
    assert detail["state"] == "closed"
    # Deciding again is a conflict.
    _error(
        client.post(
            f"{url}/{first.id}/decision",
            headers=api_world.auth,
            json={"decision": "declined", "reason_text": "x"},
        ),
        409,
    )
    audit = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "batch_member.approved")
        .order_by(AuditEvent.id)
    ).all()
    assert audit and audit[0].data["via"].startswith("api_token:")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"decision": "yes"},
        {"decision": "approved"},
        {"decision": "approved", "approved_amount": "x"},
        {"decision": "approved", "approved_amount": 10**20},
        {"decision": "approved", "approved_amount": 0},
        {"decision": "approved", "approved_amount": 0.001},
        {"decision": "declined"},
        {"decision": "declined", "reason_text": 7},
        ["approved"],
    ],
)
def test_malformed_member_decisions_are_422_and_change_nothing(client, db_session, api_world, body):
    before = _snapshot(db_session)
    member = api_world.batch.members[0]
    response = client.post(
        f"{API}/batches/{api_world.batch.id}/members/{member.id}/decision",
        headers=api_world.auth,
        json=body,
    )
    _error(response, 422, "validation_failed")
    assert _snapshot(db_session) == before


def test_filing(client, api_world):
    url = f"{API}/batches/{api_world.batch.id}/filing"
    response = client.post(url, headers=api_world.auth)
    assert response.status_code == 200 and response.get_json()["filing_status"] == "filed"
    _error(client.post(url, headers=api_world.auth), 409)


# --- documents -----------------------------------------------------------------------------


def test_openapi_document_validates_and_lists_every_endpoint(client, api_world):
    import schemathesis
    from openapi_spec_validator import validate

    spec = client.get(f"{API}/openapi.json").get_json()
    # schemathesis checks the document against the OpenAPI 3.0 meta-schema (jsonschema-rs),
    # and openapi-spec-validator checks it too.
    schemathesis.openapi.from_dict(spec).validate()
    validate(spec)
    paths = set(spec["paths"])
    assert {
        "/api/v1/products/",
        "/api/v1/referrals/",
        "/api/v1/referrals/{referral_id}",
        "/api/v1/referrals/{referral_id}/packet",
        "/api/v1/referrals/{referral_id}/decisions",
        "/api/v1/referrals/{referral_id}/outcomes",
        "/api/v1/batches/",
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/members/{member_id}/decision",
        "/api/v1/batches/{batch_id}/filing",
    } <= paths
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_uses_local_assets_only(client, api_world):
    import re

    response = client.get(f"{API}/docs")
    assert response.status_code == 200 and "text/html" in response.content_type
    html = response.text
    assert "/api/v1/batches/{batch_id}/members/{member_id}/decision" in html
    assert "Authorization: Bearer" in html
    external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html)
    assert external == []
    # the page is in the site's frame: its only scripts are the portal's own files
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert all(re.search(r'src="/static/[\w.-]+\.js"', tag) for tag in scripts), scripts


def test_the_api_needs_no_csrf_token(app, client, db_session, api_world):
    """Banks' systems post JSON with a bearer token; the pages' CSRF check must not apply."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        member = api_world.batch.members[0]
        response = client.post(
            f"{API}/batches/{api_world.batch.id}/members/{member.id}/decision",
            headers=api_world.auth,
            json={"decision": "declined", "reason_text": "资料不全"},
        )
        assert response.status_code == 200, response.text
        # The pages still refuse a form without one.
        page = client.post("/auth/login", data={"username": "x", "password": "y"})
        assert page.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
