"""API errors carry a named code, also when the app's HTML error pages would answer first."""

from __future__ import annotations

import pytest

API = "/api/v1"


@pytest.mark.parametrize("kind", ["referral", "batch"])
def test_malformed_json_is_bad_request_with_a_named_code(client, db_session, api_world, kind):
    if kind == "referral":
        url = f"{API}/referrals/{api_world.referral.id}/decisions"
    else:
        member = api_world.batch.members[0]
        url = f"{API}/batches/{api_world.batch.id}/members/{member.id}/decision"
    response = client.post(
        url, headers={**api_world.auth, "Content-Type": "application/json"}, data="{not json"
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "bad_request" and body["message"] and body["message_en"]


def test_unknown_api_paths_and_methods_have_named_codes(client, api_world):
    response = client.get(f"{API}/no-such-thing", headers=api_world.auth)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    response = client.delete(f"{API}/batches/{api_world.batch.id}", headers=api_world.auth)
    assert response.status_code == 405
    assert response.get_json()["code"] == "method_not_allowed"
