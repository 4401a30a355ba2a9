"""GET /api/v1/referrals/{id}/profile: the profile as submitted, to the referral's bank only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finportal.models import utcnow
from finportal.services import api_tokens

pytestmark = pytest.mark.db
API = "/api/v1"


def _auth(db_session, bank_id):
    _row, token = api_tokens.create_token(db_session, bank_id=bank_id, actor_id=None)
    return {"Authorization": f"Bearer {token}"}


def test_the_bank_reads_the_profile_as_submitted_not_as_edited(client, db_session, loop):
    submitted = loop.application.profile_snapshot["profile"]["revenue_last_year"]
    # The firm edits its profile after submitting: the bank still reads what was submitted.
    loop.enterprise.revenue_last_year = Decimal(submitted) + Decimal("500000")
    db_session.commit()
    response = client.get(
        f"{API}/referrals/{loop.referral.id}/profile", headers=_auth(db_session, loop.bank.id)
    )
    assert response.status_code == 200, response.text
    body = response.get_json()
    by_name = {f["name"]: f for f in body["fields"]}
    assert by_name["revenue_last_year"]["value"] == submitted
    assert by_name["revenue_last_year"]["label_zh"] == "上年营业收入"
    assert "uscc" not in by_name  # on the cover, not a profile row
    assert body["enterprise_uscc"] == loop.enterprise.uscc


def test_another_bank_or_a_withdrawn_consent_gets_nothing(client, db_session, loop):
    other = client.get(
        f"{API}/referrals/{loop.referral.id}/profile",
        headers=_auth(db_session, loop.other_bank.id),
    )
    assert other.status_code == 404
    loop.consent.withdrawn_at = utcnow()
    db_session.commit()
    refused = client.get(
        f"{API}/referrals/{loop.referral.id}/profile", headers=_auth(db_session, loop.bank.id)
    )
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "consent_withdrawn"
