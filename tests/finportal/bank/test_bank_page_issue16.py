"""The bank's page as the bank would want it (issue 16): a decision form that starts empty and
asks only what the chosen decision needs, the hash explained, the inbox tab it went to."""

from __future__ import annotations

import re

import pytest

from finportal.models import Referral

pytestmark = pytest.mark.db


def test_the_decision_form_starts_with_no_decision(client, login, loop):
    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{loop.referral.id}").text
    select = re.search(r'<select id="f-decision".*?</select>', page, re.S).group(0)
    selected = re.findall(r'<option value="([^"]*)" selected', select)
    assert selected == [""]
    # Each part of the form says which decisions it belongs to.
    assert 'data-shown-for="approved"' in page
    assert 'data-shown-for="declined"' in page
    assert 'data-shown-for="declined info_requested"' in page


def test_no_decision_is_refused_and_the_text_kept(client, login, db_session, loop):
    login(loop.bank_user)
    answer = client.post(
        f"/bank/referrals/{loop.referral.id}/decision",
        data={"lock_version": loop.referral.lock_version, "decision": "", "reason_text": "留着"},
    )
    assert answer.status_code == 422 and ">留着</textarea>" in answer.text
    db_session.expire_all()
    assert db_session.get(Referral, loop.referral.id).state == "sent"


def test_only_the_chosen_decisions_fields_are_read(client, login, db_session, loop):
    """Without JavaScript every field shows: what is left in another decision's fields is
    not the bank's answer and must not stop it."""
    login(loop.bank_user)
    client.get(f"/bank/referrals/{loop.referral.id}")
    db_session.expire_all()
    referral = db_session.get(Referral, loop.referral.id)
    answer = client.post(
        f"/bank/referrals/{referral.id}/decision",
        data={
            "lock_version": referral.lock_version,
            "decision": "declined",
            "approved_amount_wan": "一百万",
            "annual_rate_pct": "abc",
            "term_months": "十二",
            "reason_code": "other",
            "reason_text": "经营流水不足",
        },
    )
    assert answer.status_code == 302, answer.text
    db_session.expire_all()
    assert db_session.get(Referral, referral.id).state == "declined"


@pytest.mark.packet
def test_the_hash_is_explained_beside_its_file(client, login, loop):
    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{loop.referral.id}").text
    facts = re.search(r'<dl class="facts packet-facts".*?</dl>', page, re.S).group(0)
    sha = re.search(r"<code class=\"break-all\">([0-9a-f]{64})</code>", facts).group(1)
    explained = re.search(r'<small class="hint" id="hash-explained">(.*?)</small>', facts, re.S)
    assert explained and f"{loop.referral.packet_number}.pdf" in explained.group(1)
    assert "SHA-256" in explained.group(1) and "水印" in explained.group(1)
    assert sha in facts


def test_an_opened_referral_says_where_it_went_in_the_inbox(client, login, loop):
    login(loop.bank_user)
    new_tab = client.get("/bank/?tab=new").text
    assert loop.referral.packet_number in new_tab and 'id="new-tab-note"' in new_tab
    page = client.get(f"/bank/referrals/{loop.referral.id}").text
    assert 'id="inbox-note"' in page
    assert re.search(r'<a href="/bank/\?tab=viewed" id="back-to-inbox">', page)
    assert loop.referral.packet_number not in client.get("/bank/?tab=new").text
    assert loop.referral.packet_number in client.get("/bank/?tab=viewed").text
