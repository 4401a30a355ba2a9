"""scale-data: a large plausible database, consistent with the models, made once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from finportal.models import (
    Application,
    AuditEvent,
    BankDecision,
    Consent,
    CreditScore,
    Enterprise,
    Match,
    Referral,
    utcnow,
)
from tests.finportal.ops_helpers import drop_database, fresh_database_url, make_app

#: The generator writes each dialect its own way (COPY on PostgreSQL).
pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.both_engines]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    from finportal.extensions import db
    from finportal.scale import Plan, generate

    tmp = tmp_path_factory.mktemp("scale")
    url = fresh_database_url(tmp, "scale")
    app = make_app(url, tmp / "instance")
    plan = Plan.of(0.003, packets=2)
    with app.app_context():
        counts = generate(db.session, plan, today=date(2026, 11, 30))
        yield app, plan, counts
        db.session.remove()
        db.engine.dispose()
    drop_database(url)


def test_it_writes_the_planned_volume(scaled):
    app, plan, counts = scaled
    from finportal.extensions import db

    with app.app_context():
        s = db.session
        assert (
            s.scalar(
                select(func.count())
                .select_from(Application)
                .where(Application.idempotency_key.like("scale-%"))
            )
            == plan.applications
        )
        assert counts["enterprises"] == plan.enterprises
        assert counts["audit_events"] >= plan.audit_events
        referrals = counts["referrals"]
        assert 0.7 * plan.referrals <= referrals <= 1.5 * plan.referrals
        states = set(s.scalars(select(Application.state).distinct()))
        assert {"draft", "screened", "in_review", "referred", "rejected", "closed"} <= states
        ref_states = set(s.scalars(select(Referral.state).distinct()))
        assert {"sent", "viewed", "declined", "repaid"} <= ref_states


def test_rows_agree_with_each_other(scaled):
    app, _plan, _counts = scaled
    from finportal.extensions import db

    with app.app_context():
        s = db.session
        # Every referral rests on a consent given in its application to its bank.
        mismatched = s.scalar(
            select(func.count())
            .select_from(Referral)
            .join(Consent, Consent.id == Referral.consent_id)
            .where(
                (Consent.application_id != Referral.application_id)
                | (Consent.bank_id != Referral.bank_id)
                | Consent.batch_id.is_not(None)
            )
        )
        assert mismatched == 0
        # A consent has one subject.
        assert (
            s.scalar(
                select(func.count())
                .select_from(Consent)
                .where(Consent.application_id.is_(None), Consent.batch_id.is_(None))
            )
            == 0
        )
        # Screened applications carry a match per published product and a score.
        screened = s.scalars(
            select(Application.id).where(
                Application.screened_at.is_not(None), Application.idempotency_key.like("scale-%")
            )
        ).all()
        assert screened
        per_app = s.execute(
            select(Match.application_id, func.count())
            .where(Match.application_id.in_(screened))
            .group_by(Match.application_id)
        ).all()
        assert len({n for _, n in per_app}) == 1 and len(per_app) == len(screened)
        assert s.scalar(select(func.count()).select_from(CreditScore)) > 0.8 * len(screened)
        # Only verified firms got past a draft.
        unverified_past_draft = s.scalar(
            select(func.count())
            .select_from(Application)
            .join(Enterprise)
            .where(Enterprise.verification_state != "verified", Application.state != "draft")
        )
        assert unverified_past_draft == 0
        # Approved decisions carry an amount, a rate and a term.
        assert (
            s.scalar(
                select(func.count())
                .select_from(BankDecision)
                .where(BankDecision.decision == "approved", BankDecision.approved_amount.is_(None))
            )
            == 0
        )
        # Nothing happens in the future.
        now = utcnow()
        assert s.scalar(select(func.max(AuditEvent.at))) <= now
        assert (s.scalar(select(func.max(Referral.decided_at))) or now) <= now
        # Audit events were written in time order (ids follow time, as a hash chain needs).
        ordered = s.scalars(select(AuditEvent.at).order_by(AuditEvent.id.desc()).limit(200)).all()
        assert ordered == sorted(ordered, reverse=True)


def test_a_second_run_is_refused(scaled):
    import click

    app, plan, _counts = scaled
    from finportal.extensions import db
    from finportal.scale import generate

    with app.app_context(), pytest.raises(click.ClickException, match="规模测试企业"):
        generate(db.session, plan, today=date(2026, 11, 30))


def test_the_portal_serves_the_generated_users(scaled):
    app, _plan, _counts = scaled
    client = app.test_client()
    answer = client.post(
        "/auth/login", data={"username": "scale-advisor-01", "password": "finportal-demo"}
    )
    assert answer.status_code == 302
    queue = client.get("/advisor/")
    assert queue.status_code == 200 and "/advisor/applications/" in queue.text
    client.post("/auth/logout")
    from finportal.extensions import db
    from finportal.models import Bank

    with app.app_context():
        code = db.session.scalar(
            select(Bank.code)
            .join(Referral, Referral.bank_id == Bank.id)
            .where(Referral.state == "sent", Bank.code.like("scale_bank_%"))
            .order_by(Referral.sent_at.desc())
            .limit(1)
        )
    number = code.rsplit("_", 1)[1]
    client.post(
        "/auth/login", data={"username": f"scale-bank-{number}-1", "password": "finportal-demo"}
    )
    inbox = client.get("/bank/")
    assert inbox.status_code == 200 and "/bank/referrals/" in inbox.text


def test_submitted_applications_keep_the_profile_they_were_submitted_with(scaled):
    """As the portal freezes it at submission (services/profiles.freeze): the pages read it."""
    app, _plan, _counts = scaled
    from finportal.extensions import db
    from finportal.services.profiles import enterprise_profile, membership_names, thaw

    with app.app_context():
        s = db.session
        apps = list(
            s.scalars(
                select(Application)
                .where(Application.idempotency_key.like("scale-%"))
                .order_by(Application.id)
            )
        )
        submitted = [a for a in apps if a.state != "draft"]
        assert submitted and all(a.profile_snapshot for a in submitted)
        assert not any(a.profile_snapshot for a in apps if a.state == "draft")
        for application in submitted[:20]:
            # The generator never changes a firm after it applies: the frozen profile is the live one.
            live = enterprise_profile(application.enterprise)
            frozen = thaw(application.profile_snapshot)
            assert frozen == {name: live[name] for name in frozen}
            assert application.profile_snapshot["memberships"] == membership_names(
                application.enterprise
            )
