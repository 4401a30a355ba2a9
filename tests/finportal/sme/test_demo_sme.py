"""The SME demo step makes applications in every state, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD, seed_enterprises, seed_reference, seed_users
from finportal.demo_steps import sme as sme_step
from finportal.models import Application, AuditEvent, Consent, Rating

pytestmark = pytest.mark.db


def _count(db_session, model, *where):
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_applications_cover_the_states_and_load_twice(
    db_session, published_catalog, champion_model
):
    seed_reference(db_session)
    enterprises = seed_enterprises(db_session, count=120)
    users = seed_users(db_session, DEFAULT_PASSWORD, enterprises)
    context = {"enterprises": enterprises, "users": users}
    sme_step.seed(db_session, context)
    db_session.commit()
    counts = [_count(db_session, m) for m in (Application, Consent, Rating, AuditEvent)]
    sme_step.seed(db_session, dict(context))
    db_session.commit()
    assert [_count(db_session, m) for m in (Application, Consent, Rating, AuditEvent)] == counts

    mine = {
        a.idempotency_key: a
        for a in db_session.scalars(
            select(Application).where(Application.enterprise_id == users["demo-sme"].enterprise_id)
        )
    }
    states = {key: a.state for key, a in mine.items()}
    assert states == {
        "demo-sme-draft": "draft",
        "demo-sme-screened": "screened",
        "demo-sme-returned": "returned",
        "demo-sme-withdrawn": "withdrawn",
        "demo-sme-closed": "closed",
        "demo-sme-submitted": "submitted",
        "demo-sme-in-review": "in_review",
        "demo-sme-rejected": "rejected",
    }
    assert mine["demo-sme-returned"].return_request["fields"]
    assert mine["demo-sme-screened"].model_version_id == champion_model.id
    assert _count(db_session, Rating) == 1
    others = _count(
        db_session,
        Application,
        Application.enterprise_id != users["demo-sme"].enterprise_id,
        Application.state == "screened",
    )
    assert others == sme_step.OTHER_SCREENED
    # Every state change of the demo is audited.
    for application in mine.values():
        events = db_session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id == application.id)
            .order_by(AuditEvent.id)
        ).all()
        assert events[-1].to_state == application.state or events[-1].action == "application.rated"

    # Each history starts with the creation and the consent, and its steps are spaced.
    rejected = mine["demo-sme-rejected"]
    events = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "application", AuditEvent.object_id == rejected.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    assert [e.action for e in events] == [
        "application.created",
        "application.submitted",
        "application.screened",
        "application.in_review",
        "application.rejected",
    ]
    gaps = [b.at - a.at for a, b in zip(events, events[1:], strict=False)]
    assert all(gap.total_seconds() >= 60 for gap in gaps)
    assert rejected.first_response_at - rejected.screened_at >= timedelta(hours=1)
    consents = db_session.scalars(select(Consent).where(Consent.application_id == rejected.id))
    for consent in consents:
        assert db_session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "consent.granted", AuditEvent.object_id == consent.id
            )
        )
