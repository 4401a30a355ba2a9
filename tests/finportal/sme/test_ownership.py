"""An SME never sees or changes another enterprise's records: every /sme/ route is tried."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from finportal.models import Application, AuditEvent, Consent, Notification, Rating
from finportal.services.application_details import latest_job
from finportal.services.applications import close_application

pytestmark = pytest.mark.db


def _snapshot(db_session, application, consent, note, enterprise):
    db_session.expire_all()
    return {
        "state": db_session.get(Application, application.id).state,
        "consent": db_session.get(Consent, consent.id).withdrawn_at,
        "note": db_session.get(Notification, note.id).read_at,
        "ratings": db_session.scalar(select(func.count()).select_from(Rating)),
        "events": db_session.scalar(select(func.count()).select_from(AuditEvent)),
        "applications": db_session.scalar(select(func.count()).select_from(Application)),
        "name": enterprise.name,
        "revenue": enterprise.revenue_last_year,
    }


@pytest.fixture
def victim(db_session, sme, submit, ready, banks, create_user):
    """SME A's records: a closed application (rateable), a consent, a notification, a job."""
    application = submit(sme)
    job = latest_job(db_session, application.id)
    consent = db_session.scalar(select(Consent).where(Consent.application_id == application.id))
    note = db_session.scalar(
        select(Notification).where(Notification.enterprise_id == sme.enterprise_id)
    )
    # A second, closed one so that the rating route has something to refuse.
    closed = submit(sme)
    from finportal.services.applications import withdraw_application

    withdraw_application(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id, application_id=closed.id
    )
    close_application(db_session, actor_id=None, application_id=closed.id)
    # A park batch that asks A for its consent, and an open invitation of A's.
    from finportal.models import Membership, Park
    from finportal.services import accounts, batch_recommendations, batches

    park = Park(code="own_park", name_zh="测试园区")
    db_session.add(park)
    db_session.flush()
    sme.enterprise.memberships.append(Membership(park_id=park.id))
    db_session.commit()
    batch = batches.create_batch(
        db_session,
        actor_id=None,
        name="A 的批次",
        bank_id=banks[0].id,
        quota_total="5000000",
        park_id=park.id,
    )
    recommender = create_user("recommender", park_id=park.id)
    batch_recommendations.recommend_member(
        db_session, batch_id=batch.id, enterprise_id=sme.enterprise_id, actor_id=recommender.id
    )
    invitation, _token = accounts.invite_colleague(
        db_session, actor_id=sme.id, enterprise_id=sme.enterprise_id
    )
    # A need of A's on the demand board, claimed by a bank (issue 15).
    from decimal import Decimal

    from finportal.models import NeedClaim, Product
    from finportal.services import needs

    need = needs.post_need(
        db_session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        data={
            "amount": Decimal("500000"),
            "term_months": 12,
            "purpose": "working_capital",
            "collateral": "none",
            "urgency": "normal",
        },
    )
    claim = NeedClaim(
        need_id=need.id,
        bank_id=banks[0].id,
        product_id=db_session.scalar(select(Product.id).order_by(Product.id).limit(1)),
        note="方案",
    )
    db_session.add(claim)
    need.state = "claimed"
    db_session.commit()
    entitlement = _listed_subsidy(db_session, submit(sme), banks[0], create_user)
    # issue 14: a document of A's (another firm gets 403 or 404 for it, never the file).
    from finportal.models import Document

    document = Document(
        enterprise_id=sme.enterprise_id,
        application_id=application.id,
        kind="contract",
        filename="A 的合同.pdf",
        content_type="application/pdf",
        size_bytes=1,
        sha256="0" * 64,
    )
    db_session.add(document)
    # issue 14: an authorisation to fetch the firm's tax data
    from finportal.services.public_data import authorisations

    authorisation = authorisations.grant(
        db_session,
        actor_id=None,
        enterprise_id=sme.enterprise_id,
        source="tax",
        scope=["tax_credit_grade"],
        valid_until=None,
    )
    db_session.commit()
    return {
        "document": document,
        "authorisation": authorisation,
        "need": need,
        "claim": claim,
        "entitlement": entitlement,
        "batch": batch,
        "invitation": invitation,
        "application": application,
        "closed": closed,
        "job": job,
        "consent": consent,
        "note": note,
        "enterprise": sme.enterprise,
    }


def _listed_subsidy(db_session, application, bank, create_user):
    """Lend to A (ip_pledge), report a repayment and list its subsidy (issue 13)."""
    from finportal.models import Match, ProductVersion, SubsidyEntitlement
    from finportal.services import bank_actions, entitlements, review_actions
    from finportal.services.workdays import today_local

    advisor = create_user("advisor")
    version_id = db_session.scalar(
        select(Match.product_version_id)
        .join(ProductVersion, ProductVersion.id == Match.product_version_id)
        .where(
            Match.application_id == application.id,
            Match.eligible.is_(True),
            ProductVersion.product.has(code="ip_pledge"),
        )
    )
    review_actions.claim(db_session, application.id, actor_id=advisor.id)
    (referral,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=advisor.id,
        referrals=[(bank.id, version_id)],
        opinion="建议支持。",
        render=False,
    )
    for event, values in (
        ("approved", {}),
        ("disbursed", {"amount": application.amount}),
        ("repayment", {"principal_paid": "0", "interest_paid": "1000"}),
    ):
        if event == "approved":
            bank_actions.record_decision(
                db_session,
                referral.id,
                bank_id=bank.id,
                actor_id=None,
                decision="approved",
                approved_amount=application.amount,
                annual_rate="0.035",
                term_months=application.term_months,
            )
            continue
        bank_actions.record_outcome(
            db_session,
            referral.id,
            bank_id=bank.id,
            actor_id=None,
            event=event,
            occurred_on=today_local(),
            **values,
        )
    entitlements.compute_entitlements(db_session)
    entitlements.publish_list(db_session, entitlements.period_of(today_local()), actor_id=None)
    return db_session.scalar(
        select(SubsidyEntitlement).where(SubsidyEntitlement.referral_id == referral.id)
    )


def _ids(victim, which):
    return {
        "entitlement_id": str(victim["entitlement"].id),
        "authorisation_id": str(victim["authorisation"].id),
        "application_id": str(victim[which].id),
        "consent_id": str(victim["consent"].id),
        "notification_id": str(victim["note"].id),
        "job_id": victim["job"].id,
        "batch_id": str(victim["batch"].id),
        "invitation_id": str(victim["invitation"].id),
        # Any referral id: another firm's application already answers 404.
        "referral_id": "1",
        "need_id": str(victim["need"].id),
        "claim_id": str(victim["claim"].id),
        "document_id": str(victim["document"].id),
    }


def test_every_sme_route_with_another_enterprises_ids_is_not_found(
    app, client, login, other_sme, db_session, victim
):
    login(other_sme)
    before = _snapshot(
        db_session, victim["application"], victim["consent"], victim["note"], victim["enterprise"]
    )
    tried = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/sme/") or not rule.arguments:
            continue
        unknown = rule.arguments - {
            "application_id",
            "consent_id",
            "notification_id",
            "job_id",
            "batch_id",
            "invitation_id",
            "referral_id",
            "need_id",
            "claim_id",
            "entitlement_id",
            "document_id",
            "authorisation_id",
        }
        assert not unknown, f"add {unknown} of {rule.rule} to this test"
        for which in ("application", "closed"):
            ids = _ids(victim, which)
            url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, ids=ids: ids[m.group(1)], rule.rule)
            for method in sorted(m for m in rule.methods if m in ("GET", "POST")):
                response = client.open(
                    url,
                    method=method,
                    data={
                        "stars": "1",
                        "tax_paid_last_year": "1",
                        "consent_bank_ids": ["1"],
                        "follow": "1",
                    },
                )
                assert response.status_code in (403, 404), (method, url, response.status_code)
                assert victim["enterprise"].name not in response.text
                tried.add(rule.endpoint)
    assert {
        "sme.application",
        "sme.submit_application",
        "sme.resubmit_application",
        "sme.withdraw_application",
        "sme.rate_application",
        "sme.withdraw_consent",
        "sme.read_notification",
        "sme.job_status",
        "sme.grant_batch_consent",
        "sme.withdraw_any_consent",
        "sme.revoke_invitation",
        "sme.supply_information",
        "sme.attach_document",
        "sme.document_file",
        "sme.need_detail",
        "sme.need_consent",
        "sme.need_choose",
        "sme.need_withdraw",
        "sme.withdraw_data_authorisation",
    } <= tried
    after = _snapshot(
        db_session, victim["application"], victim["consent"], victim["note"], victim["enterprise"]
    )
    assert after == before
    db_session.refresh(victim["authorisation"])
    assert victim["authorisation"].withdrawn_at is None


def test_routes_without_ids_only_touch_the_own_enterprise(
    client, login, other_sme, db_session, victim, banks
):
    login(other_sme)
    before = _snapshot(
        db_session, victim["application"], victim["consent"], victim["note"], victim["enterprise"]
    )
    # Lists show nothing of the other enterprise.
    for url in ("/sme/", "/sme/applications", "/sme/notifications", "/sme/profile", "/sme/matches"):
        page = client.get(url)
        assert page.status_code == 200
        assert victim["enterprise"].name not in page.text, url
        assert f'/sme/applications/{victim["application"].id}"' not in page.text, url
    # Smuggled ids are ignored: the profile form saves the signed-in enterprise only.
    from finportal.services.profile_form import form_values

    form = form_values(other_sme.enterprise)
    form.update(enterprise_id=str(victim["enterprise"].id), uscc=victim["enterprise"].uscc)
    form["name"] = "别人的新名字有限公司"
    assert client.post("/sme/profile", data=form).status_code == 302
    # Reusing the other enterprise's idempotency key makes nothing and reveals nothing.
    page = client.post(
        "/sme/applications/new",
        data={
            "amount": "10",
            "term_months": "12",
            "purpose": "other",
            "idempotency_key": victim["application"].idempotency_key,
            "consent_bank_ids": [str(banks[0].id)],
        },
    )
    assert page.status_code == 422
    assert "表单已失效" in page.text
    # Marking everything read marks only one's own.
    client.post("/sme/notifications/read-all")
    after = _snapshot(
        db_session, victim["application"], victim["consent"], victim["note"], victim["enterprise"]
    )
    assert after["name"] == before["name"]
    assert after["note"] is None
    assert after["state"] == before["state"]
    assert after["applications"] == before["applications"]
    db_session.refresh(other_sme.enterprise)
    assert other_sme.enterprise.name == "别人的新名字有限公司"
