"""Audit fixes on the SME pages: labelled timelines, read-only memberships, one ranking."""

from __future__ import annotations

import re

import pytest

from finportal.domain import fields as profile_fields
from finportal.models import Park
from finportal.services import enterprises, profile_form
from finportal.services.labels import action_label

pytestmark = pytest.mark.db


def test_profile_shows_memberships_read_only_and_ignores_posted_ones(
    client, login, db_session, sme, published_catalog
):
    park = Park(code="fix-park", name_zh="审计测试园区")
    other = Park(code="fix-other", name_zh="自报园区")
    db_session.add_all([park, other])
    db_session.commit()
    enterprises.set_memberships(
        db_session,
        actor_id=None,
        enterprise_id=sme.enterprise_id,
        park_codes=[park.code],
        chamber_codes=[],
    )
    login(sme)
    page = client.get("/sme/profile")
    assert page.status_code == 200
    assert "审计测试园区" in page.text
    assert "由园区/商会或服务中心确认" in page.text
    assert 'name="park_codes"' not in page.text and 'name="chamber_codes"' not in page.text
    values = profile_form.form_values(sme.enterprise)
    form = {k: v for k, v in values.items() if k not in ("uscc", "park_codes", "chamber_codes")}
    form["park_codes"] = [other.code]
    response = client.post("/sme/profile", data=form)
    assert response.status_code == 302
    db_session.expire_all()
    assert profile_form.form_values(sme.enterprise)["park_codes"] == [park.code]


def test_matches_cards_follow_the_comparison_ranking(client, login, sme, published_catalog):
    login(sme)
    page = client.get("/sme/matches?amount=200&term=12")
    assert page.status_code == 200
    text = page.text
    table = text.split('id="compare-table"')[1].split("</table>")[0]
    table_names = re.findall(r"<tr[^>]*><td>\d+</td><td>([^<]+)</td>", table)
    cards = text.split('id="eligible"')[1].split('id="ineligible"')[0]
    card_names = [
        re.sub(r"\s+", " ", n).strip()
        for n in re.findall(r"<h3>\d+\. ([^<]+?)\s*(?:<span|</h3>)", cards)
    ]
    assert table_names and card_names[: len(table_names)] == table_names
    assert "与上方比较表及申请页、推荐材料包的排名相同" in text
    assert "按年化综合成本从低到高" in client.get("/sme/matches").text


def test_matches_never_ask_the_sme_for_a_batch_recommendation(
    client, login, sme, published_catalog
):
    login(sme)
    text = client.get("/sme/matches").text
    assert "是否经园区或商会推荐入批次" not in text
    ineligible = text.split('id="ineligible"')[1]
    assert "需由所在园区/商会推荐（批次贷）" in ineligible
    # Nothing outside the profile form is asked for as "please fill in".
    for name in ("batch_recommended", "purpose", "amount", "term_months", "park_codes"):
        assert f"「{profile_fields.label(name)}」" not in text, name


def test_every_timeline_action_has_a_chinese_label(
    client, login, db_session, sme, submit, ready, banks
):
    application = submit(sme)
    login(sme)
    page = client.get(f"/sme/applications/{application.id}")
    assert page.status_code == 200
    assert "授权银行查看" in page.text  # consent.granted
    for action in ("referral.sent", "referral.packet_rendered", "referral.viewed"):
        assert action_label(action) != action
    assert not re.search(r"\b(application|referral|consent)\.[a-z_]+\b", page.text)
