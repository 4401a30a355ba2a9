"""The near-miss coach on the SME's matches page and on a product's page."""

from __future__ import annotations

import re

import pytest

from finportal.models import Park
from finportal.services import coaching, profiles
from products import evaluate, load_catalog

pytestmark = pytest.mark.db


@pytest.fixture
def bad_credit_sme(db_session, create_enterprise, create_user, published_catalog):
    enterprise = create_enterprise(serious_bad_credit_24m=True, credit_repair_completed=False)
    db_session.add(Park(code="coach_park", name_zh="测试园区"))
    db_session.commit()
    return create_user("sme", enterprise_id=enterprise.id)


def _section(html: str, code: str) -> str:
    match = re.search(rf'<article class="near-miss" data-code="{code}">(.*?)</article>', html, re.S)
    assert match, code
    return match.group(1)


def test_matches_page_shows_the_repair_and_the_cost(client, login, bad_credit_sme):
    login(bad_credit_sme)
    page = client.get("/sme/matches?amount=100&term=12")
    assert page.status_code == 200
    assert "差一点就符合的产品" in page.text
    card = _section(page.text, "policy_guarantee")
    assert "完成信用修复" in card
    assert "近两年有严重失信记录（未完成信用修复）" in card
    assert "https://www.creditchina.gov.cn/" in card and "信用中国" in card
    assert "符合后按 100 万元、12 个月测算：净成本" in card


def test_matches_page_in_english(client, login, bad_credit_sme):
    login(bad_credit_sme)
    client.get("/lang/en")
    page = client.get("/sme/matches?amount=100&term=12")
    assert page.status_code == 200
    card = _section(page.text, "policy_guarantee")
    assert "Complete a credit repair" in card
    assert "Credit China website (credit repair)" in card
    assert "完成信用修复" not in card


def test_product_page_shows_the_steps_to_a_signed_in_sme(client, login, bad_credit_sme):
    page = client.get("/products/policy_guarantee")
    assert "near-miss" not in page.text  # nobody signed in
    login(bad_credit_sme)
    page = client.get("/products/policy_guarantee")
    assert page.status_code == 200
    assert "您的企业差一点就符合此产品" in page.text
    assert "完成信用修复" in _section(page.text, "policy_guarantee")


def test_the_service_suggestions_applied_to_the_stored_profile_qualify(db_session, bad_credit_sme):
    found = coaching.near_misses(db_session, bad_credit_sme.enterprise_id)
    assert found
    enterprise = bad_credit_sme.enterprise
    profile = profiles.enterprise_profile(enterprise)
    catalog = load_catalog()
    for item in found:
        new_profile, new_request = item.suggestion.apply(profile, {})
        assert evaluate(catalog.get(item.code), new_profile, new_request).eligible, item.code
