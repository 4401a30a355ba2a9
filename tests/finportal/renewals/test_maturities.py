"""When a running loan matures: the bank's disbursal plus its approved term, else the SME's figure."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.services import maturities, profile_form
from finportal.services.workdays import SHANGHAI, today_local
from tests.helpers import bank_approves, bank_reports

pytestmark = pytest.mark.db


@pytest.mark.parametrize(
    ("disbursed", "months", "expected"),
    [
        (date(2026, 3, 15), 12, date(2027, 3, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # a month end stays in its month
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 10), 36, date(2029, 5, 10)),
    ],
)
def test_maturity_is_the_disbursal_plus_the_term(disbursed, months, expected):
    assert maturities.maturity_date(disbursed, months) == expected


def test_a_disbursed_loan_matures_after_the_term_the_bank_approved(db_session, lend, loop):
    lend(loop, term_months=9, amount="800000")
    today = today_local()
    (loan,) = maturities.loans_of(db_session, loop.enterprise.id, today=today)
    assert loan.source == "bank"
    assert loan.maturity == maturities.maturity_date(today, 9)
    assert loan.referral_id == loop.referral.id
    assert loan.bank_id == loop.bank.id
    assert loan.amount == Decimal("800000.00")
    assert loan.term_months == 9
    assert loan.advisor_id == loop.advisor.id
    assert loan.days_left(today) == (maturities.maturity_date(today, 9) - today).days
    assert loan.key == f"bank-{loop.referral.id}"


def test_the_last_approval_gives_the_term(db_session, loop):
    """A bank that approved again (after an information request) set the term of the loan."""
    from finportal.models import BankDecision

    db_session.add(
        BankDecision(
            referral_id=loop.referral.id,
            decision="approved",
            approved_amount=Decimal("500000"),
            term_months=6,
        )
    )
    db_session.commit()
    bank_approves(db_session, loop, term_months=18, amount="500000", annual_rate="0.04")
    bank_reports(db_session, loop, "disbursed", amount="500000")
    (loan,) = maturities.loans_of(db_session, loop.enterprise.id, today=today_local())
    assert loan.term_months == 18


def test_a_repaid_loan_is_not_running(db_session, lent):
    today = today_local()
    assert maturities.loans_of(db_session, lent.enterprise.id, today=today)
    bank_reports(db_session, lent, "repaid", on=today)
    assert maturities.loans_of(db_session, lent.enterprise.id, today=today) == []


def test_an_approved_loan_not_yet_disbursed_has_no_maturity(db_session, loop):
    bank_approves(db_session, loop, term_months=12, amount="500000", annual_rate="0.04")
    assert maturities.loans_of(db_session, loop.enterprise.id, today=today_local()) == []


def test_the_smes_figure_counts_from_the_day_it_was_typed_and_is_marked(
    db_session, create_enterprise, create_user
):
    enterprise = create_enterprise()
    user = create_user("sme", enterprise_id=enterprise.id)
    profile_form.update_profile(
        db_session,
        actor_id=user.id,
        enterprise_id=enterprise.id,
        data={"loan_maturing_within_days": 45, "existing_loan_balance": Decimal("2000000")},
    )
    today = today_local()
    (loan,) = maturities.loans_of(db_session, enterprise.id, today=today)
    assert loan.source == "sme"
    assert loan.source_words == ("企业自行填报", "typed by the enterprise")
    assert loan.typed_on == today
    assert loan.maturity == today + timedelta(days=45)
    assert loan.amount == Decimal("2000000.00")
    assert loan.bank_id is None
    # Ten days later the same figure means 35 days left, not 45.
    assert loan.days_left(today + timedelta(days=10)) == 35
    # Once its day has passed it is no running loan.
    assert maturities.loans_of(db_session, enterprise.id, today=today + timedelta(days=46)) == []


def test_the_banks_events_win_over_the_smes_figure(db_session, loop, lend):
    loop.enterprise.loan_maturing_within_days = 20
    db_session.commit()
    today = today_local()
    (typed,) = maturities.loans_of(db_session, loop.enterprise.id, today=today)
    assert typed.source == "sme"
    lend(loop, term_months=12)
    (loan,) = maturities.loans_of(db_session, loop.enterprise.id, today=today)
    assert loan.source == "bank"
    # Repaid: the figure typed before the bank's events may be that loan's; still nothing.
    bank_reports(db_session, loop, "repaid", on=today)
    assert maturities.loans_of(db_session, loop.enterprise.id, today=today) == []


def test_get_loan_finds_only_the_firms_own(db_session, lent, create_enterprise):
    from finportal.services.errors import NotFound

    today = today_local()
    key = f"bank-{lent.referral.id}"
    assert maturities.get_loan(db_session, lent.enterprise.id, key, today=today).key == key
    other = create_enterprise()
    with pytest.raises(NotFound):
        maturities.get_loan(db_session, other.id, key, today=today)


@pytest.mark.parametrize("disbursed", [date(2027, 1, 31), date(2027, 1, 28), date(2026, 12, 31)])
def test_the_maturity_window_in_sql_keeps_exactly_the_loans_of_the_window(
    db_session, lend, loop, disbursed
):
    """A page of the next days filters in SQL on the stored maturity; month ends stay in."""
    from finportal.models import LoanOutcome

    lend(loop, term_months=1)
    outcome = db_session.scalar(
        select(LoanOutcome).where(LoanOutcome.referral_id == loop.referral.id)
    )
    outcome.occurred_on = disbursed  # as if disbursed that day
    maturities.refresh_maturity(db_session, loop.referral)  # as the bank's step keeps it
    db_session.commit()
    maturity = maturities.maturity_date(disbursed, 1)
    today = disbursed

    def keys(since, until):
        found = maturities.running_loans(db_session, today=today, since=since, until=until)
        return [loan.key for loan in found if loan.source == "bank"]

    key = f"bank-{loop.referral.id}"
    assert keys(None, maturity) == [key]
    assert keys(maturity, maturity) == [key]
    assert keys(None, maturity - timedelta(days=1)) == []
    assert keys(maturity + timedelta(days=1), maturity + timedelta(days=60)) == []


def test_the_stored_maturity_follows_the_banks_steps(db_session, loop):
    """An approval and then the disbursal set the day the list filters and pages on."""
    from finportal.models import Referral
    from finportal.services.workdays import today_local

    today = today_local()
    bank_approves(db_session, loop, term_months=12, amount="500000", annual_rate="0.04")
    assert db_session.get(Referral, loop.referral.id).matures_on is None  # not lent yet
    bank_reports(db_session, loop, "disbursed", on=today, amount="500000")
    referral = db_session.get(Referral, loop.referral.id)
    assert referral.matures_on == maturities.maturity_date(today, 12)
    in_a_year = (maturities.maturity_date(today, 12) - today).days
    (loan,) = [
        loan
        for loan in maturities.loans_page(db_session, today=today, within_days=in_a_year).items
        if loan.referral_id == referral.id
    ]
    assert loan.maturity == referral.matures_on
    assert not any(
        loan.referral_id == referral.id
        for loan in maturities.loans_page(db_session, today=today, within_days=30).items
    )


def _typed(db_session, firms, days, *, at=None):
    """The firms type ``days`` to their loan's maturity (at ``at``, else now; no audited edit)."""
    for firm in firms:
        firm.loan_maturing_within_days = days
        if at is not None:
            firm.updated_at = at  # the day the figure counts from (no profile edit audited)
    db_session.commit()


@pytest.mark.both_engines  # the typed figures still ahead are found in SQL per dialect
def test_a_typed_figure_gives_way_to_a_running_bank_loan_and_to_no_other(
    db_session, client, login, make_loop, lend, create_enterprise
):
    """A firm's own figure is left out while a bank-reported loan of it runs, whenever the
    bank reported it; a loan that ended before the figure was typed leaves it in."""
    today = today_local()
    long_ago = today - timedelta(days=200)

    def referred_long_ago():
        loop = make_loop()
        loop.referral.sent_at -= timedelta(days=300)  # so the bank may report older events
        db_session.commit()
        return loop

    # Every bank event below is older than the figures typed today: only the running
    # loans' state may leave a figure out.
    running = lend(referred_long_ago(), term_months=12, disbursed_on=long_ago)
    overdue = lend(referred_long_ago(), term_months=12, disbursed_on=long_ago)
    bank_reports(db_session, overdue, "overdue_90", on=today - timedelta(days=100))
    ended = lend(referred_long_ago(), term_months=3, disbursed_on=long_ago)
    bank_reports(db_session, ended, "repaid", on=today - timedelta(days=100))
    approved = make_loop()  # approved, never disbursed: no loan runs
    bank_approves(db_session, approved, term_months=12, amount="500000", annual_rate="0.04")
    plain = create_enterprise()
    firms = [running.enterprise, overdue.enterprise, ended.enterprise, approved.enterprise, plain]
    _typed(db_session, firms, 30)  # typed today: after every bank event above

    def sme_keys(found):
        return sorted(loan.key for loan in found if loan.source == "sme")

    kept = [ended.enterprise, approved.enterprise, plain]
    expected = sorted(f"sme-{firm.id}-{today + timedelta(days=30):%Y%m%d}" for firm in kept)
    assert sme_keys(maturities.typed_loans(db_session, today=today)) == expected
    listed = maturities.loans_page(db_session, today=today, within_days=None).items
    assert sme_keys(listed) == expected
    # The running loans are listed as the banks reported them, once each.
    assert sorted(loan.key for loan in listed if loan.source == "bank") == sorted(
        [f"bank-{running.referral.id}", f"bank-{overdue.referral.id}"]
    )
    for loop in (running, overdue):
        (loan,) = maturities.loans_of(db_session, loop.enterprise.id, today=today)
        assert loan.source == "bank"
    # The advisor's list shows the same rows.
    login(running.advisor)
    text = client.get("/advisor/maturities?within=all").text
    assert sorted(re.findall(r'data-loan="(sme-[^"]+)"', text)) == expected


@pytest.mark.both_engines  # the typed figures still ahead are found in SQL per dialect
def test_a_typed_figure_counts_from_the_day_in_shanghai_it_was_typed(db_session, create_enterprise):
    """The list reads a figure up to the day it matures, counted from the Shanghai day of the
    profile's last change (which starts at 16:00 UTC the evening before)."""
    today = today_local()

    def local(days_ago, hour, minute=0, second=0):
        return datetime.combine(
            today - timedelta(days=days_ago), time(hour, minute, second), SHANGHAI
        )

    cases = {
        "midnight, matures today": (local(10, 0), 10, True),
        "last second of that day, matures today": (local(10, 23, 59, 59), 10, True),
        "midnight, matured yesterday": (local(10, 0), 9, False),
        "last second of the day before, matured yesterday": (local(11, 23, 59, 59), 10, False),
        "last second of the day before, matures today": (local(11, 23, 59, 59), 11, True),
    }
    firms = {}
    for name, (at, days, _kept) in cases.items():
        firm = create_enterprise()
        _typed(db_session, [firm], days, at=at)
        firms[name] = firm
    found = {loan.enterprise_id: loan for loan in maturities.typed_loans(db_session, today=today)}
    assert {name for name, firm in firms.items() if firm.id in found} == {
        name for name, (_at, _days, kept) in cases.items() if kept
    }
    assert {found[firm.id].maturity for firm in firms.values() if firm.id in found} == {today}


@pytest.mark.both_engines  # the typed figures still ahead are found in SQL per dialect
def test_a_figure_past_the_calendars_end_lists_instead_of_failing(
    db_session, client, login, make_loop, create_enterprise
):
    """A figure stored before the field had its maximum (5,000,000 days: past year 9999) is a
    loan maturing on the calendar's last day: the advisor's list and the firm's loans page
    answer as for any other figure, not with a server error for every advisor."""
    loop = make_loop()
    firm = create_enterprise()
    _typed(db_session, [firm], 5_000_000)
    assert maturities.typed_maturity(today_local(), 5_000_000) == date.max
    login(loop.advisor)
    assert client.get("/advisor/maturities?within=all").status_code == 200
    assert client.get("/advisor/maturities").status_code == 200
