"""Banks report repayments with what was paid (the subsidies' input), on the page and the API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finportal.models import LoanOutcome
from finportal.services import api_tokens, bank_actions
from finportal.services.errors import InvalidTransition, ValidationFailed
from finportal.services.workdays import today_local


def _repayments(db_session, referral_id):
    return db_session.scalar(
        select(func.count())
        .select_from(LoanOutcome)
        .where(LoanOutcome.referral_id == referral_id, LoanOutcome.event == "repayment")
    )


def test_the_bank_page_records_a_repayment_once_and_keeps_bad_input(
    client, login, db_session, lend
):
    referral, world = lend("ip_pledge")
    login(world.bank_user)
    page = client.get(f"/bank/referrals/{referral.id}")
    assert page.status_code == 200
    assert 'value="repayment"' in page.text and "支付利息（元" in page.text
    version = referral.lock_version
    form = {
        "lock_version": version,
        "event": "repayment",
        "occurred_on": today_local().isoformat(),
        "principal_paid": "80000",
        "interest_paid": "abc",
    }
    bad = client.post(f"/bank/referrals/{referral.id}/outcome", data=form)
    assert bad.status_code == 422
    assert 'value="abc"' in bad.text  # the form keeps what was typed
    assert _repayments(db_session, referral.id) == 0

    form["interest_paid"] = "2916.67"
    assert client.post(f"/bank/referrals/{referral.id}/outcome", data=form).status_code == 302
    # The same form sent again (a double click) is refused: the repayment is recorded once.
    again = client.post(f"/bank/referrals/{referral.id}/outcome", data=form)
    assert again.status_code == 409
    assert _repayments(db_session, referral.id) == 1
    row = db_session.scalar(
        select(LoanOutcome).where(
            LoanOutcome.referral_id == referral.id, LoanOutcome.event == "repayment"
        )
    )
    assert (row.principal_paid, row.interest_paid, row.fee_paid) == (
        Decimal("80000.00"),
        Decimal("2916.67"),
        None,
    )
    shown = client.get(f"/bank/referrals/{referral.id}").text
    assert "还款" in shown and "2,916.67" in shown


def test_a_repayment_needs_a_running_loan_and_its_amounts(db_session, lend, make_loop):
    referral, world = lend("ip_pledge")
    with pytest.raises(ValidationFailed) as missing:
        bank_actions.record_outcome(
            db_session,
            referral.id,
            bank_id=world.bank.id,
            actor_id=None,
            event="repayment",
            occurred_on=today_local(),
            principal_paid="1000",
        )
    assert "interest_paid" in missing.value.fields
    db_session.rollback()
    with pytest.raises(ValidationFailed) as misplaced:
        bank_actions.record_outcome(
            db_session,
            referral.id,
            bank_id=world.bank.id,
            actor_id=None,
            event="overdue_90",
            occurred_on=today_local(),
            interest_paid="1000",
        )
    assert "interest_paid" in misplaced.value.fields
    db_session.rollback()

    loop = make_loop()  # referred, not yet lent: no repayment
    with pytest.raises(InvalidTransition):
        bank_actions.record_outcome(
            db_session,
            loop.referral.id,
            bank_id=loop.bank.id,
            actor_id=None,
            event="repayment",
            occurred_on=today_local(),
            principal_paid="0",
            interest_paid="10",
        )


def test_the_api_takes_a_repayment(client, db_session, lend):
    referral, world = lend("ip_pledge")
    _token, plain = api_tokens.create_token(
        db_session, bank_id=world.bank.id, actor_id=None, label="t"
    )
    db_session.commit()
    answer = client.post(
        f"/api/v1/referrals/{referral.id}/outcomes",
        json={
            "event": "repayment",
            "occurred_on": today_local().isoformat(),
            "principal_paid": 0,
            "interest_paid": "2916.67",
            "fee_paid": 0,
        },
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json["interest_paid"] == "2916.67"
    assert _repayments(db_session, referral.id) == 1


def test_the_cli_computes_once_and_closes_expired_lists(app, db_session, lend, repay):
    import json

    referral, world = lend("ip_pledge")
    repay(referral, world, principal="0", interest="1000")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["subsidies", "compute"])
    assert json.loads(first.output) == {"owed": 1, "excluded": 0}
    second = runner.invoke(args=["subsidies", "compute"])
    assert json.loads(second.output) == {"owed": 0, "excluded": 0}
    assert json.loads(runner.invoke(args=["subsidies", "close"]).output) == {"closed": 0}
