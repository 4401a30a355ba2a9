"""Issue 14, done when: tax and social-insurance data imported from a file change a firm's
matches and score, and the packet marks those facts as verified with the source and date."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from finportal.models import CreditScore, VerifiedFact
from finportal.services import matches, packets, profiles
from finportal.services.public_data import authorisations, facts
from finportal.services.workdays import today_local
from tests.finportal.public_data.conftest import csv_bytes, xlsx_bytes
from tests.helpers import pdf_text, screened, squash

pytestmark = pytest.mark.db

#: A firm that declared a poor tax record and few insured staff.
WEAK = {
    "tax_credit_grade": "C",
    "tax_paid_last_year": Decimal("50000.00"),
    "social_insured_employees": 4,
}


def _score(session, application):
    return session.query(CreditScore).filter_by(application_id=application.id).one()


def _eligible(session, enterprise_id, code="credit_easy"):
    return {m.code: m.eligible for m in matches.match_products(session, enterprise_id)}[code]


def test_imported_tax_and_social_insurance_change_matches_score_and_packet(
    db_session, make_loop, create_enterprise, authorise, import_file, monkeypatch
):
    loop = make_loop(refer=False)
    enterprise = loop.enterprise
    for name, value in WEAK.items():
        setattr(enterprise, name, value)
    db_session.commit()
    before = screened(db_session, enterprise)
    assert _eligible(db_session, enterprise.id) is False

    authorise(enterprise, "tax")
    authorise(enterprise, "social_insurance")
    as_of = today_local() - timedelta(days=30)
    tax = import_file(
        "tax",
        csv_bytes(
            [
                [
                    "统一社会信用代码",
                    "数据截至日期",
                    "纳税信用等级",
                    "上年纳税总额（元）",
                    "上年开票收入（元）",
                ],
                [enterprise.uscc, as_of.isoformat(), "A", "1200000.00", "31000000"],
            ]
        ),
    )
    social = import_file(
        "social_insurance",
        xlsx_bytes([["uscc", "as_of", "insured_headcount"], [enterprise.uscc, as_of, 58]]),
        "social.xlsx",
    )
    assert (tax.state, social.state) == ("done", "done"), (tax.errors, social.errors)
    assert tax.counts["stored"] == social.counts["stored"] == 1

    # The declared values stay as the firm typed them; the effective profile is verified.
    db_session.refresh(enterprise)
    assert enterprise.tax_credit_grade == "C"
    profile = profiles.enterprise_profile(enterprise)
    assert profile["tax_credit_grade"] == "A"
    assert profile["tax_paid_last_year"] == Decimal("1200000.00")
    assert profile["social_insured_employees"] == 58
    assert _eligible(db_session, enterprise.id) is True

    after = screened(db_session, enterprise)
    assert _score(db_session, after).score != _score(db_session, before).score
    assert _score(db_session, after).pd < _score(db_session, before).pd

    # Referred, the packet marks the verified facts with the source and the as-of date.
    from finportal.services import review_actions

    bank = loop.bank
    from tests.finportal.conftest import _eligible_version, _grant_consent

    _grant_consent(db_session, after, bank)
    review_actions.claim(db_session, after.id, actor_id=loop.advisor.id)
    (referral,) = review_actions.refer_to_banks(
        db_session,
        after.id,
        actor_id=loop.advisor.id,
        referrals=[(bank.id, _eligible_version(db_session, after))],
        opinion="经核验纳税与社保数据。",
    )
    packets.render_referral_packet(db_session, referral_id=referral.id, force=True)
    text = squash(pdf_text(packets.read_packet(packets.current_packet(db_session, referral.id))))
    assert "✔已核验" in text
    assert "税务部门" in text and "社会保险经办机构" in text
    assert as_of.isoformat() in text
    # The firm's own figure that disagrees is shown beside the verified one, not hidden.
    assert "企业自报" in text and "C级" in text


def test_withdrawing_the_authorisation_turns_values_back_to_the_declared(
    db_session, create_enterprise, authorise, import_file, published_catalog
):
    enterprise = create_enterprise(**WEAK)
    grant = authorise(enterprise, "tax")
    import_file(
        "tax",
        csv_bytes([["uscc", "as_of", "tax_credit_grade"], [enterprise.uscc, "2026-01-31", "A"]]),
    )
    assert profiles.enterprise_profile(enterprise)["tax_credit_grade"] == "A"
    authorisations.withdraw(
        db_session, actor_id=None, enterprise_id=enterprise.id, authorisation_id=grant.id
    )
    assert profiles.enterprise_profile(enterprise)["tax_credit_grade"] == "C"
    # The fact is kept (the record of what was fetched), it only stops counting.
    assert db_session.query(VerifiedFact).filter_by(enterprise_id=enterprise.id).count() == 1
    assert facts.live_rows(db_session, enterprise) == []
