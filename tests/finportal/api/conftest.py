"""A bank with a token, a submitted batch and referrals in several states; another bank's too."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest


def blank_pdf() -> bytes:
    """Return a one-page PDF, standing in for a rendered packet."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class ApiWorld:
    """Tokens, ids and the batch world behind the API tests."""

    world: Any
    batch: Any
    token: str
    other_token: str
    revoked_token: str
    referral: Any
    other_referral: Any
    open_batch_id: int
    other_batch_id: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def api_world(db_session, batch_world, submitted_batch):  # noqa: F811 - fixtures
    """Tokens for the world's bank and another bank, and one referral to each bank."""
    from finportal.models import Application, Consent, Referral, utcnow
    from finportal.services import api_tokens, batch_checks, batch_recommendations, batches, packets
    from finportal.services.catalog import current_versions
    from finportal.storage import packet_store

    w = batch_world
    _, token = api_tokens.create_token(db_session, bank_id=w.bank.id, actor_id=None, label="t")
    _, other = api_tokens.create_token(db_session, bank_id=w.other_bank.id, actor_id=None)
    revoked, revoked_plain = api_tokens.create_token(db_session, bank_id=w.bank.id, actor_id=None)
    api_tokens.revoke_token(db_session, revoked.id, actor_id=None)
    version = next(v for v in current_versions(db_session) if v.product.code == "policy_guarantee")
    now = utcnow()
    referrals = []
    for bank in (w.bank, w.other_bank):
        application = Application(
            enterprise_id=w.members[0].id,
            amount=Decimal("2000000"),
            term_months=12,
            state="referred",
            submitted_at=now - timedelta(days=2),
            screened_at=now - timedelta(days=2),
        )
        db_session.add(application)
        db_session.flush()
        consent = Consent(
            enterprise_id=application.enterprise_id,
            application_id=application.id,
            bank_id=bank.id,
            scope=["profile", "financials", "credit_record", "score"],
            valid_until=(now + timedelta(days=365)).date(),
        )
        db_session.add(consent)
        db_session.flush()
        referral = Referral(
            application_id=application.id,
            bank_id=bank.id,
            consent_id=consent.id,
            product_version_id=version.id,
            state="sent",
            sent_at=now - timedelta(days=1),
            due_at=now + timedelta(days=1),
            packet_number=f"RP-TEST-{application.id:06d}",
            advisor_opinion="建议支持",
        )
        db_session.add(referral)
        db_session.flush()
        # A stored packet without the slow render: a blank page in the packet store.
        packets.add_packet(
            db_session,
            packet_store(),
            kind="referral",
            pdf=blank_pdf(),
            packet_number=referral.packet_number,
            verification_code=f"TEST-{application.id:06d}",
            referral_id=referral.id,
            consent_id=consent.id,
        )
        referrals.append(referral)
    # An open batch of the bank (not sent yet) and a submitted batch of the other bank.
    still_open = batches.create_batch(
        db_session,
        actor_id=None,
        name="未提交批次",
        bank_id=w.bank.id,
        quota_total="5000000",
        park_id=w.park.id,
    )
    others = batches.create_batch(
        db_session,
        actor_id=None,
        name="他行批次",
        bank_id=w.other_bank.id,
        quota_total="5000000",
        park_id=w.park.id,
    )
    m = batch_recommendations.recommend_member(
        db_session, batch_id=others.id, enterprise_id=w.members[2].id, actor_id=w.recommender.id
    )
    m.state = "checked"
    db_session.commit()
    batch_checks.submit_batch(db_session, others.id, actor_id=None)
    return ApiWorld(
        world=w,
        batch=submitted_batch,
        token=token,
        other_token=other,
        revoked_token=revoked_plain,
        referral=referrals[0],
        other_referral=referrals[1],
        open_batch_id=still_open.id,
        other_batch_id=others.id,
    )
