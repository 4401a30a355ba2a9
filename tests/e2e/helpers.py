"""Steps the browser tests share: a verified firm with a screened application in the live
server's database, signing in, waiting for a background job, referring, the bank's inbox."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from playwright.sync_api import expect

from tests.helpers import PASSWORD, healthy_firm


def add_firm(session: Any, seed: int, name: str, **figures: Any) -> Any:
    """Add (and flush) a verified, healthy firm (:func:`tests.helpers.healthy_firm`)."""
    from finportal.models import Enterprise

    enterprise = Enterprise(**healthy_firm(seed, name=name, **figures))
    session.add(enterprise)
    session.flush()
    return enterprise


def add_user(session: Any, username: str, role: str, **fields: Any) -> Any:
    """Add a user who signs in with :data:`PASSWORD` (``fields``: bank_id, display_name...)."""
    from finportal.services.accounts import create_user

    return create_user(session, username=username, password=PASSWORD, role=role, **fields)


def add_referral_cast(
    session: Any,
    prefix: str,
    firm: tuple[int, str],
    application: tuple[str, str],
    *,
    advisor_name: str = "",
    bank_name: str = "",
) -> SimpleNamespace:
    """Add who a referral loop needs: the firm (seed, name) with its SME user
    ``<prefix>-sme``, the advisor ``<prefix>-advisor``, ``<prefix>-bank`` of demo bank A,
    and the firm's screened application (amount, purpose) consented to that bank."""
    from sqlalchemy import select

    from finportal.models import Bank

    enterprise = add_firm(session, *firm)
    bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
    sme = add_user(session, f"{prefix}-sme", "sme", enterprise_id=enterprise.id)
    add_user(session, f"{prefix}-advisor", "advisor", display_name=advisor_name)
    add_user(session, f"{prefix}-bank", "bank", bank_id=bank.id, display_name=bank_name)
    amount, purpose = application
    return SimpleNamespace(
        enterprise=enterprise,
        bank=bank,
        application=screened_application(session, sme, amount, purpose, consent_to=bank),
    )


def screened_application(
    session: Any, sme: Any, amount: str, purpose: str, *, consent_to: Any = None
) -> Any:
    """Submit an application of the SME user's firm, screen it with the real job, and give
    the consent to the bank ``consent_to`` (all the scopes, for a year) when one is named."""
    from finportal.models import Application, Consent, utcnow
    from finportal.services.screening import screen_application

    application = Application(
        enterprise_id=sme.enterprise_id,
        created_by_id=sme.id,
        amount=Decimal(amount),
        term_months=12,
        purpose=purpose,
        state="submitted",
        submitted_at=utcnow(),
    )
    session.add(application)
    session.commit()
    screen_application(session, application_id=application.id)
    if consent_to is not None:
        session.add(
            Consent(
                enterprise_id=sme.enterprise_id,
                application_id=application.id,
                bank_id=consent_to.id,
                scope=["profile", "financials", "credit_record", "score", "application"],
                valid_until=date.today() + timedelta(days=365),
                granted_by_id=sme.id,
            )
        )
        session.commit()
    return application


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in on the login page, after signing out whoever was signed in."""
    page.context.clear_cookies()
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def reload_until(page: Any, ready: Any, what: str, seconds: float = 60) -> None:
    """Reload the page until ``ready()`` (a background job's result shows), or fail."""
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"{what} within {seconds:g} seconds"
        time.sleep(0.5)
        page.reload()


def refer(page: Any, bank_id: int, opinion: str) -> None:
    """On a claimed application's review page, refer it to one bank and wait for its packet.

    (Waiting also keeps the test off SQLite's single writer while the job stores the PDF.)
    """
    page.check(f"#bank-{bank_id}")
    page.fill("#f-opinion", opinion)
    page.click("#refer")
    expect(page.locator("#application-state")).to_have_text("已推荐银行")
    reload_until(page, lambda: "生成中" not in page.inner_text("#referrals"), "the packet rendered")


def open_first_referral(page: Any, link: str) -> None:
    """Open the first referral of the bank's inbox, once its packet offers ``link``."""
    page.goto("/bank/")
    page.locator("#inbox a").first.click()
    page.wait_for_url("**/bank/referrals/*")
    reload_until(page, lambda: page.locator(link).count() > 0, f"{link} offered")
