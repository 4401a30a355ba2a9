"""Per-request costs paid by every page, looked up once per request (issue 12).

The speed itself is measured by ``scripts/bench_pages.py`` (docs/BENCHMARKS.md); these
tests check that the work is done once, and that the pages still read the same.
"""

from __future__ import annotations

import flask_babel
from flask import render_template_string
from flask_babel import force_locale

from finportal.domain.states import current_locale
from tests.helpers import RELOAD


def _count_lookups(monkeypatch) -> list[int]:
    calls = [0]
    original = flask_babel.Domain.get_translations

    def counted(self):
        calls[0] += 1
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    return calls


def test_templates_look_up_translations_once_per_request(app, monkeypatch):
    calls = _count_lookups(monkeypatch)
    source = "{% for i in range(50) %}{{ _('退出') }}|{% endfor %}"
    with app.test_request_context("/?lang=en"):
        text = render_template_string(source)
    assert text.split("|")[0] == "Sign out"
    assert calls[0] == 1


def test_the_locale_follows_force_locale_within_a_request(app):
    source = "{{ _('退出') }}"
    with app.test_request_context("/"):
        assert render_template_string(source) == "退出"
        assert current_locale().startswith("zh")
        with force_locale("en"):
            assert render_template_string(source) == "Sign out"
            assert current_locale() == "en"
        assert render_template_string(source) == "退出"
        assert current_locale().startswith("zh")


def test_the_locale_follows_a_refresh_within_a_request(app):
    with app.test_request_context("/"):
        from flask import session

        assert render_template_string("{{ _('退出') }}") == "退出"
        session["lang"] = "en"
        flask_babel.refresh()
        assert render_template_string("{{ _('退出') }}") == "Sign out"
        assert current_locale() == "en"


def test_the_matches_page_reads_the_catalogue_the_lpr_and_the_firm_once(
    client, db_session, published_catalog, create_user, login
):
    from tests.finportal.test_query_counts import counting

    login(create_user("sme"))
    assert client.get("/sme/matches").status_code == 200
    db_session.commit()  # a new transaction, as a new request's session starts with
    with counting() as statements:
        page = client.get("/sme/matches")
    assert page.status_code == 200
    assert "匹配" in page.text

    def reads(table: str) -> int:
        return sum(1 for s in statements if f"FROM {table}" in " ".join(s.split()))

    assert reads("product_versions") == 1  # the matcher and the completeness meter share it
    assert reads("reference_rates") == 1
    assert reads("enterprises") == 1
    # the firm's verified values: the matcher, the coach and the completeness meter share them
    assert reads("verified_facts") == 1


def test_the_sme_home_counts_unread_messages_once(client, db_session, create_user, login):
    login(create_user("sme"))
    _page, statements = _second_view(client, db_session, "/sme/")
    # the page's own count and the menu's badge are one statement
    assert sum(1 for s in statements if "FROM notifications" in " ".join(s.split())) == 1


def test_a_change_in_the_same_session_is_read_not_remembered(db_session, published_catalog):
    from datetime import date
    from decimal import Decimal

    from finportal.models import ReferenceRate
    from finportal.services import catalog

    assert catalog.current_lpr(db_session, date(2030, 1, 1)) == catalog.current_lpr(
        db_session, date(2030, 1, 1)
    )
    db_session.add(
        ReferenceRate(kind="lpr_1y", annual_rate=Decimal("0.0199"), effective_on=date(2029, 1, 1))
    )
    # Not yet flushed: read with it, as before.
    assert catalog.current_lpr(db_session, date(2030, 1, 1)) == Decimal("0.0199")
    db_session.rollback()
    assert catalog.current_lpr(db_session, date(2030, 1, 1)) != Decimal("0.0199")


def _second_view(client, db_session, url: str) -> tuple[object, list[str]]:
    """Open a page, start a new transaction (as a new request does), open it again; return the
    second answer and its SQL statements."""
    from tests.finportal.test_query_counts import counting

    assert client.get(url).status_code == 200
    db_session.commit()
    with counting() as statements:
        page = client.get(url, headers=RELOAD)  # rendered, whatever the page cache holds
    assert page.status_code == 200
    return page, statements


def _reads(statements: list[str], table: str) -> int:
    """Statements that read ``table`` first (``SELECT table.…``), joined reads left out."""
    return sum(1 for s in statements if " ".join(s.split()).startswith(f"SELECT {table}."))


def test_a_bank_users_organisation_comes_with_the_user_and_the_referral_is_read_once(
    client, db_session, loop, login
):
    from tests.finportal.test_query_counts import counting

    login(loop.bank_user)
    url = f"/bank/referrals/{loop.referral.id}"
    assert client.get(url).status_code == 200
    db_session.commit()
    with counting() as statements:
        page = client.get(url)
    assert page.status_code == 200 and loop.enterprise.name in page.text
    assert _reads(statements, "banks") == 0  # joined to the user's statement
    assert _reads(statements, "referrals") == 1  # recorded as opened, then shown: one read


def test_the_application_page_reads_its_consents_and_referrals_once(
    client, db_session, loop, login
):
    login(loop.sme_user)
    _page, statements = _second_view(client, db_session, f"/sme/applications/{loop.application.id}")
    assert _reads(statements, "consents") == 1
    plain = [" ".join(s.split()) for s in statements]
    # The timeline takes the ids of the referrals the page already loaded.
    assert not [
        s
        for s in plain
        if s.startswith("SELECT referrals.id FROM referrals WHERE") and "referrals.state" not in s
    ]


def test_the_review_page_reads_the_firms_verified_facts_once(
    app, client, db_session, make_loop, login
):
    """The profile, the facts kept with the submission and the flags share one read."""
    loop = make_loop()
    # Submitted before profiles were frozen (migration 55bb625f1ea5): every part of the page
    # reads the firm's live facts.
    loop.application.profile_snapshot = None
    db_session.commit()
    login(loop.advisor)
    url = f"/advisor/applications/{loop.application.id}"
    _page, statements = _second_view(client, db_session, url)
    assert sum(1 for s in statements if "FROM verified_facts" in " ".join(s.split())) == 1
