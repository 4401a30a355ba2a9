"""The HTTP connector against a real local server speaking the documented JSON contract."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from finportal.models import DataImport, Job, VerifiedFact
from finportal.services import profiles
from finportal.services.public_data import imports
from finportal.services.workdays import today_local

pytestmark = pytest.mark.db


def _as_of() -> str:
    return (today_local() - timedelta(days=10)).isoformat()


def test_a_fetch_stores_the_authorised_firms_data_and_skips_the_rest(
    db_session, create_enterprise, authorise, exchange
):
    authorised = create_enterprise(social_insured_employees=3)
    other = create_enterprise(social_insured_employees=3)
    silent = create_enterprise()
    authorise(authorised, "social_insurance")
    authorise(silent, "social_insurance")
    for firm in (authorised, other):
        exchange.records[("social_insurance", firm.uscc)] = {
            "as_of": _as_of(),
            "data": {"insured_headcount": 61},
        }

    record = imports.fetch(db_session, actor_id=None, source="social_insurance")
    db_session.refresh(record)

    assert record.state == "done"
    assert record.counts == {
        "stored": 1,
        "unchanged": 0,
        "older": 0,
        "no_authorisation": 0,
        "unknown_firm": 0,
        "not_found": 1,
    }
    # Only the firms that authorised the source were asked about, never the other one.
    assert sorted(exchange.requests) == sorted(
        f"/v1/social_insurance/{f.uscc}" for f in (authorised, silent)
    )
    assert profiles.enterprise_profile(authorised)["social_insured_employees"] == 61
    assert profiles.enterprise_profile(other)["social_insured_employees"] == 3
    assert (record.rows_done, record.rows_total) == (2, 2)


def test_a_passing_outage_is_retried_and_the_fetch_completes(
    db_session, create_enterprise, authorise, exchange
):
    firm = create_enterprise(tax_credit_grade="C")
    authorise(firm, "tax")
    exchange.records[("tax", firm.uscc)] = {
        "as_of": _as_of(),
        "data": {"tax_credit_grade": "B", "tax_paid_yuan": "250000.00"},
    }
    exchange.fail_next = 1

    record = imports.fetch(db_session, actor_id=None, source="tax")
    db_session.refresh(record)

    job = db_session.get(Job, record.job_id)
    assert (record.state, job.state, job.attempts) == ("done", "done", 2)
    profile = profiles.enterprise_profile(firm)
    assert (profile["tax_credit_grade"], profile["tax_paid_last_year"]) == (
        "B",
        Decimal("250000.00"),
    )


def test_a_broken_answer_rejects_the_fetch_and_stores_nothing(
    db_session, create_enterprise, authorise, exchange
):
    good, bad = create_enterprise(), create_enterprise()
    for firm in (good, bad):
        authorise(firm, "court")
    exchange.records[("court", good.uscc)] = {"as_of": _as_of(), "data": {"enforcement_records": 0}}
    exchange.records[("court", bad.uscc)] = {"as_of": _as_of(), "data": {"enforcement_records": -2}}

    record = imports.fetch(db_session, actor_id=None, source="court")
    db_session.refresh(record)

    assert record.state == "rejected"
    assert [e["zh"] for e in record.errors] == [
        f"企业 {bad.uscc}：「enforcement_records」：应为非负整数。"
    ]
    assert db_session.query(VerifiedFact).count() == 0


def test_a_wrong_token_is_a_clear_refusal(db_session, create_enterprise, authorise, exchange):
    firm = create_enterprise()
    authorise(firm, "penalties")
    exchange.token = "another"

    record = imports.fetch(db_session, actor_id=None, source="penalties")
    db_session.refresh(record)

    assert record.state == "rejected"
    assert "HTTP 401" in record.errors[0]["zh"] and "token" in record.errors[0]["en"]


def test_authorising_fetches_the_firms_data_at_once(
    client, login, db_session, create_user, exchange
):
    user = create_user("sme")
    firm_uscc = user.enterprise.uscc
    exchange.records[("credit_repair", firm_uscc)] = {
        "as_of": _as_of(),
        "data": {"credit_repair_completed": "是"},
    }
    login(user)
    client.post(
        "/sme/data-authorisations",
        data={"source": "credit_repair", "scope": ["credit_repair_completed"]},
    )
    record = db_session.query(DataImport).one()
    assert (record.connector, record.enterprise_id, record.state) == (
        "http",
        user.enterprise_id,
        "done",
    )
    assert exchange.requests == [f"/v1/credit_repair/{firm_uscc}"]
    # Its 政策找企业 re-match is queued at once (the verified value may open products).
    rematch = db_session.query(Job).filter_by(kind="rematch_enterprise").one()
    assert rematch.args == {"enterprise_id": user.enterprise_id}
    page = client.get("/sme/data-authorisations").text
    assert "✔ 已核验" in page and "是否已完成信用修复" in page
