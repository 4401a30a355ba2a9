"""The workflow tables: every state titled in both languages, derived sets as the rules say."""

from __future__ import annotations

import pytest

from finportal.domain.states import (
    APPLICATION,
    MACHINES,
    MEMBER,
    REFERRAL,
    ApplicationState,
    MemberState,
    ReferralState,
    event_title,
)


@pytest.mark.parametrize("machine", list(MACHINES.values()), ids=list(MACHINES))
def test_every_state_has_both_titles_and_is_reachable_or_initial(machine):
    states = list(machine.states)
    for state in states:
        info = machine.info[state]
        assert info.title_zh and info.title_en and info.title_zh != info.title_en
    reached = {t.target for t in machine.transitions}
    # Records begin in the first state; every other one is reached by some step.
    unreachable = [s for s in states[1:] if s.value not in reached]
    assert unreachable == [], (machine.name, unreachable)
    # Each step is named in both languages.
    for step in machine.transitions:
        assert step.verb_zh and step.verb_en


def test_an_sme_withdraws_until_a_decision_ends_the_case():
    assert APPLICATION.sources(ApplicationState.WITHDRAWN, "sme") == {
        "draft",
        "submitted",
        "screened",
        "in_review",
        "returned",
        "referred",
    }
    # Nobody but the SME withdraws, and an advisor cannot submit for the firm.
    assert not APPLICATION.can("in_review", "withdrawn", "advisor")
    assert not APPLICATION.can("draft", "submitted", "advisor")


def test_the_queue_and_the_bank_clock_are_computed_from_the_tables():
    assert APPLICATION.waiting_on("advisor") == {"screened", "in_review"}
    assert REFERRAL.tagged("clock") == {"sent", "viewed", "info_supplied"}
    assert REFERRAL.tagged("decided") == {
        "approved",
        "declined",
        "disbursed",
        "repaid",
        "overdue_90",
        "defaulted",
    }
    assert REFERRAL.sources(ReferralState.WITHDRAWN, "system") == {
        "sent",
        "viewed",
        "info_requested",
        "info_supplied",
        "approved",
    }
    assert MEMBER.tagged("needs_consent") == {"recommended", "checked", "submitted", "approved"}
    assert MEMBER.tagged("sent") == {"submitted", "approved", "declined"}
    assert MEMBER.sources(MemberState.WITHDRAWN, "recommender") == {"recommended", "checked"}


def test_a_bank_decides_only_open_referrals_and_reports_loans_in_order():
    assert REFERRAL.targets("viewed", "bank") == {"approved", "declined", "info_requested"}
    assert not REFERRAL.can("approved", "declined", "bank")
    assert REFERRAL.can("approved", "disbursed", "bank")
    assert not REFERRAL.can("approved", "repaid", "bank")
    assert REFERRAL.can("overdue_90", "repaid", "bank")


def test_one_title_per_state_in_each_language():
    assert ReferralState.SENT.title_zh == "待银行查看"
    assert REFERRAL.title("sent", "en") == "Sent, not yet opened"
    assert APPLICATION.title(None) == "—"
    assert APPLICATION.title("no_such_state") == "no_such_state"
    assert event_title("consent", "granted", "zh_CN") == "已授权"
    assert event_title("referral", "withdrawn", "en") == "Withdrawn by the enterprise"
