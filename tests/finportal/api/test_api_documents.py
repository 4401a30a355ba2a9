"""A bank's API asks for documents with info_requested (issue 14); the referral's clock pauses."""

from __future__ import annotations

import pytest

from finportal.models import Referral

pytestmark = pytest.mark.db

API = "/api/v1"


def test_an_information_request_names_documents_and_pauses_the_clock(client, db_session, api_world):
    url = f"{API}/referrals/{api_world.referral.id}/decisions"
    refused = client.post(
        url,
        headers=api_world.auth,
        json={"decision": "info_requested", "reason_text": "请补充", "documents": ["passport"]},
    )
    assert refused.status_code == 422
    assert db_session.get(Referral, api_world.referral.id).clock_paused_at is None
    response = client.post(
        url,
        headers=api_world.auth,
        json={
            "decision": "info_requested",
            "reason_text": "请补充近三个月增值税发票",
            "documents": ["invoice", "contract"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.get_json()["document_kinds"] == ["invoice", "contract"]
    db_session.expire_all()
    referral = db_session.get(Referral, api_world.referral.id)
    assert referral.state == "info_requested" and referral.clock_paused_at is not None
