"""The demo holds a batch taken from recommendation to bank decisions, and one still open."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD
from finportal.demo_steps import batches as batch_demo
from finportal.models import AuditEvent, Batch, BatchMember


@pytest.mark.slow
@pytest.mark.demo
def test_demo_batch_goes_from_recommendation_to_bank_decisions(client, db_session, demo_context):
    context = demo_context
    decided = db_session.scalar(select(Batch).where(Batch.code == batch_demo.DECIDED_CODE))
    states = sorted(m.state for m in decided.members)
    assert states == ["approved", "approved", "declined", "withdrawn"]
    approved = sum(m.approved_amount for m in decided.members if m.state == "approved")
    assert decided.quota_used == approved > 0
    assert decided.state == "closed" and decided.filing_status == "filed"
    assert all(m.note for m in decided.members)
    actions = set(
        db_session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("batch%")))
    )
    assert {
        "batch.created",
        "batch_member.recommended",
        "batch_member.checked",
        "batch_member.withdrawn",
        "batch.submitted",
        "batch_member.approved",
        "batch_member.declined",
        "batch.filed",
    } <= actions
    still_open = db_session.scalar(select(Batch).where(Batch.code == batch_demo.OPEN_CODE))
    assert still_open.state == "open" and len(still_open.members) == 2

    # A second run changes nothing.
    counts = (
        db_session.scalar(select(func.count()).select_from(Batch)),
        db_session.scalar(select(func.count()).select_from(BatchMember)),
    )
    batch_demo.seed(db_session, context)
    assert counts == (
        db_session.scalar(select(func.count()).select_from(Batch)),
        db_session.scalar(select(func.count()).select_from(BatchMember)),
    )

    # demo-bank sees it; demo-recommender sees its park's open batch.
    client.post("/auth/login", data={"username": "demo-bank", "password": DEFAULT_PASSWORD})
    assert batch_demo.DECIDED_CODE in client.get("/bank/batches/").text
    assert client.get(f"/bank/batches/{decided.id}").status_code == 200
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "demo-recommender", "password": DEFAULT_PASSWORD})
    assert batch_demo.OPEN_CODE in client.get("/recommender/").text
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "demo-advisor", "password": DEFAULT_PASSWORD})
    assert client.get("/advisor/dashboard").status_code == 200
    assert batch_demo.DECIDED_CODE in client.get("/advisor/batches/").text


@pytest.mark.slow
@pytest.mark.demo
def test_demo_open_batch_can_be_checked_submitted_and_decided_from_the_pages(
    client, db_session, demo_context
):
    from finportal.models import Consent
    from finportal.services import consents as consent_service

    context = demo_context
    batch = db_session.scalar(select(Batch).where(Batch.code == batch_demo.OPEN_CODE))
    for member in batch.members:
        # Each member consented for this batch, not the enterprise as a whole.
        consent = consent_service.for_batch_member(db_session, batch, member.enterprise_id)
        assert consent is not None and consent.batch_id == batch.id, member.enterprise.name
    # Every consent the demo created is audited.
    consent_ids = set(db_session.scalars(select(Consent.id)))
    granted = set(
        db_session.scalars(
            select(AuditEvent.object_id).where(
                AuditEvent.action == "consent.granted", AuditEvent.object_type == "consent"
            )
        )
    )
    assert consent_ids <= granted
    consents = db_session.scalar(select(func.count()).select_from(Consent))
    events = db_session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "consent.granted")
    )
    batch_demo.seed(db_session, context)  # idempotent: no second consent, no second event
    assert db_session.scalar(select(func.count()).select_from(Consent)) == consents
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "consent.granted")
        )
        == events
    )

    client.post("/auth/login", data={"username": "demo-advisor", "password": DEFAULT_PASSWORD})
    client.post(f"/advisor/batches/{batch.id}/check")
    client.post(f"/advisor/batches/{batch.id}/submit")
    db_session.refresh(batch)
    assert batch.state == "submitted", [m.check_result for m in batch.members]
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "demo-bank", "password": DEFAULT_PASSWORD})
    assert client.get(f"/bank/batches/{batch.id}").status_code == 200
    first, second = batch.members
    url = f"/bank/batches/{batch.id}/members"
    client.post(
        f"{url}/{first.id}/decision", data={"decision": "approved", "approved_amount_wan": "100"}
    )
    client.post(
        f"{url}/{second.id}/decision", data={"decision": "declined", "reason_text": "演示拒绝"}
    )
    db_session.refresh(batch)
    assert sorted(m.state for m in batch.members) == ["approved", "declined"]
    assert batch.state == "closed" and batch.quota_used == 1000000
