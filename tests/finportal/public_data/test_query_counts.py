"""The public-data pages issue as many statements with many facts, sources and imports as
with one (docs/DEVELOPING.md, "Add a page that lists rows")."""

from __future__ import annotations

from typing import Any

import pytest

from finportal.services.public_data import sources
from tests.finportal.public_data.conftest import csv_bytes, xlsx_bytes
from tests.finportal.test_query_counts import statements_of
from tests.helpers import PASSWORD, screened

pytestmark = pytest.mark.db


def _signed_in(app: Any, user: Any) -> Any:
    browser = app.test_client()  # the client fixture's class: a fresh user per request
    answer = browser.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


def test_the_pages_do_not_grow_with_facts_sources_and_imports(
    app, client, db_session, make_loop, create_enterprise, create_user, authorise, import_file
):
    loop = make_loop(refer=False)
    firm = loop.enterprise
    admin = create_user("admin")
    authorise(firm, "tax")
    import_file(
        "tax", csv_bytes([["uscc", "as_of", "tax_credit_grade"], [firm.uscc, "2026-09-30", "B"]])
    )
    application = screened(db_session, firm)

    sme, advisor, staff = (_signed_in(app, u) for u in (loop.sme_user, loop.advisor, admin))
    pages = [
        (sme, "/sme/data-authorisations"),
        (sme, "/sme/profile"),
        (staff, "/admin/public-data"),
        (advisor, f"/advisor/applications/{application.id}"),
    ]
    before = {url: statements_of(client, url) for client, url in pages}

    # Every source authorised and verified, other firms in the extracts, more imports.
    others = [create_enterprise() for _ in range(5)]
    for each in [firm, *others]:
        for source in sources.SOURCES:
            authorise(each, source.code)
    for source in sources.SOURCES:
        header = ["uscc", "as_of", *(i.code for i in source.items)]
        values = {"category": "A", "money": "1000", "count": 3, "bool": "是"}
        rows = [
            [each.uscc, "2026-10-31", *(values[i.kind] for i in source.items)]
            for each in [firm, *others]
        ]
        import_file(source.code, xlsx_bytes([header, *rows]), f"{source.code}.xlsx")
    import_file("tax", b"uscc,as_of\n")  # a rejected one
    application = screened(db_session, firm)
    pages[3] = (advisor, f"/advisor/applications/{application.id}")
    after = {url.split("/applications/")[0]: statements_of(client, url) for client, url in pages}
    before = {url.split("/applications/")[0]: count for url, count in before.items()}
    assert after == before
