"""What the firm submitted is what the advisor reviews, the score reads and the bank receives."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finportal.models import CreditScore
from finportal.services import packets, profiles
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.db


def test_an_edit_after_submission_changes_neither_the_review_nor_the_packet(
    client, login, db_session, loop
):
    snapshot = loop.application.profile_snapshot
    assert snapshot and snapshot["profile"]["revenue_last_year"] == "30000000.00"
    loop.enterprise.revenue_last_year = Decimal("51500000")
    db_session.commit()

    login(loop.advisor)
    page = client.get(f"/advisor/applications/{loop.application.id}")
    section = page.text.split("<h2>企业信息</h2>", 1)[1]
    facts = section.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert "3,000.00 万元" in facts and "5,150.00 万元" not in facts
    changes = page.text.split('id="profile-changes"', 1)[1]
    assert "上年营业收入" in changes and "30000000.00" in changes and "51500000" in changes

    # Rendered again after the edit, the packet prints what was submitted.
    packets.render_referral_packet(db_session, referral_id=loop.referral.id, force=True)
    pdf = packets.read_packet(packets.current_packet(db_session, loop.referral.id))
    text = squash(pdf_text(pdf))
    assert "3,000.00万元" in text and "5,150.00" not in text


def test_screening_scores_the_submitted_profile(db_session, loop):
    score = db_session.query(CreditScore).filter_by(application_id=loop.application.id).one()
    assert profiles.submitted_profile(loop.application)["revenue_last_year"] == Decimal(
        "30000000.00"
    )
    assert score.feature_snapshot
