"""One rule for a list's page number, on every paged list of every role.

A ``?page`` that is not a whole number from 1 to ``limits.MAX_PAGE`` is answered with a 422
page in the user's language that says the page number is not valid and links to the list's
first page (the same address without ``page``, its other arguments kept); a page past the
last shows the last page. Before, the admin lists refused a bad page while the others
quietly showed page 1 (or the queue's filter form with its error), and every list showed
an empty page past its end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

from finportal import limits
from finportal.demo import DEFAULT_PASSWORD
from finportal.models import Batch, User

pytestmark = pytest.mark.demo

#: Page numbers no list accepts: not a number, zero, negative, huge, a fraction, one past
#: the maximum, a full-width digit, a sign.
BAD_PAGES = ("abc", "0", "-3", "99999999999999999999", "1.5", str(limits.MAX_PAGE + 1), "２", "+2")


def _demo_batch(session: Any, bank: bool = False) -> int:
    """Return the id of a demo batch (with ``bank``: one sent to demo-bank's bank)."""
    stmt = select(Batch.id).order_by(Batch.id)
    if bank:
        bank_id = session.scalar(select(User.bank_id).where(User.username == "demo-bank"))
        stmt = stmt.where(Batch.bank_id == bank_id, Batch.state != "open")
    found = session.scalar(stmt.limit(1))
    assert found is not None, "the demo has batches"
    return found


#: Every paged list: (demo user, address without ``page`` — or a function of the session that
#: gives it —, the list's own arguments the first-page link keeps).
LISTS: dict[str, tuple[str, str | Callable[[Any], str], str]] = {
    "sme.applications": ("sme", "/sme/applications", ""),
    "sme.notifications": ("sme", "/sme/notifications", "show=unread"),
    "sme.consent_list": ("sme", "/sme/consents", ""),
    "sme.needs_list": ("sme", "/sme/needs", ""),
    "complaints.home": ("sme", "/complaints/", "tab=open"),
    "advisor.home": ("advisor", "/advisor/", "q=%E4%B8%8A%E6%B5%B7"),
    "advisor.maturities_list": ("advisor", "/advisor/maturities", "within=90"),
    "advisor.complaints_list": ("advisor", "/advisor/complaints", ""),
    "advisor.assignment_board": ("supervisor", "/advisor/assignment", "tab=complaints"),
    "advisor.subsidies": ("advisor", "/advisor/subsidies", ""),
    "advisor.needs_escalated": ("advisor", "/advisor/needs", ""),
    "advisor.batches": ("advisor", "/advisor/batches/", ""),
    "advisor.batch_detail": (
        "advisor",
        lambda s: f"/advisor/batches/{_demo_batch(s)}",
        "state=recommended",
    ),
    "recommender.home": ("recommender", "/recommender/", "q=%E4%B8%8A%E6%B5%B7"),
    "recommender.batches": ("recommender", "/recommender/batches", ""),
    "bank.home": ("bank", "/bank/", "tab=viewed"),
    "bank.batches": ("bank", "/bank/batches/", ""),
    "bank.batch_detail": ("bank", lambda s: f"/bank/batches/{_demo_batch(s, bank=True)}", ""),
    "bank.needs_board": ("bank", "/bank/needs", ""),
    "admin.users": ("admin", "/admin/users", "role=sme"),
    "admin.jobs_list": ("admin", "/admin/jobs", "state=done"),
    "admin.outbox_list": ("admin", "/admin/outbox", ""),
    "admin.audit": ("admin", "/admin/audit", ""),
    "admin.organisations": ("admin", "/admin/organisations", "kind=bank"),
    "admin.api_tokens": ("admin", "/admin/api-tokens", ""),
    "admin.product_versions": ("admin", "/admin/products/ip_pledge/versions", ""),
    "admin.public_data": ("admin", "/admin/public-data", ""),
}


def _sign_in(client: Any, who: str, english: bool = False) -> None:
    answer = client.post(
        "/auth/login", data={"username": f"demo-{who}", "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 302, who
    if english:
        assert client.get("/lang/en").status_code == 302


def _address(db_session: Any, name: str) -> tuple[str, str, str]:
    who, path, keep = LISTS[name]
    return who, path(db_session) if callable(path) else path, keep


def _with(path: str, keep: str, page: str) -> str:
    from urllib.parse import quote

    query = "&".join(part for part in (keep, f"page={quote(page)}") if part)
    return f"{path}?{query}"


def _link(html: str) -> str:
    found = re.search(r'<a href="([^"]*)" id="error-link">', html)
    assert found is not None, "the refusal links to the first page"
    return found.group(1).replace("&amp;", "&")


def _same_address(link: str, path: str, keep: str) -> bool:
    parts = urlsplit(link)
    return parts.path == path and parse_qsl(parts.query) == parse_qsl(keep)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_bad_page_number_is_refused_with_a_link_to_the_first_page(name, client, db_session):
    who, path, keep = _address(db_session, name)
    _sign_in(client, who)
    assert client.get(_with(path, keep, "1")).status_code == 200, name
    for bad in BAD_PAGES:
        answer = client.get(_with(path, keep, bad))
        assert answer.status_code == 422, (name, bad, answer.status_code)
        assert "页码无效" in answer.text and f"1 至 {limits.MAX_PAGE} 之间的整数" in answer.text
        link = _link(answer.text)
        assert _same_address(link, path, keep), (name, bad, link)
        assert "回到列表第一页" in answer.text
        assert client.get(link).status_code == 200, (name, link)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_bad_page_number_is_refused_in_english(name, client, db_session):
    who, path, keep = _address(db_session, name)
    _sign_in(client, who, english=True)
    answer = client.get(_with(path, keep, "abc"))
    assert answer.status_code == 422
    assert "The page number is not valid" in answer.text and "页码无效" not in answer.text
    assert "Go to the first page of the list" in answer.text
    assert _same_address(_link(answer.text), path, keep)


#: The pager's words: "共 N 条，第 P / M 页".
PAGER = re.compile(r"共 (\d+) 条，第 (\d+) / (\d+) 页")


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_page_past_the_last_shows_the_last(name, client, db_session):
    who, path, keep = _address(db_session, name)
    _sign_in(client, who)
    first = client.get(_with(path, keep, "1"))
    past = client.get(_with(path, keep, str(limits.MAX_PAGE)))
    assert past.status_code == 200, (name, past.status_code)
    pagers, shown = PAGER.findall(past.text), PAGER.findall(first.text)
    if not shown:  # no rows: the list's empty state, whatever the page asked for
        assert not pagers, name
        return
    assert [total for total, _p, _n in pagers] == [total for total, _p, _n in shown]
    for _total, page, pages in pagers:
        assert page == pages, (name, page, pages)


def test_a_page_past_the_last_of_many_shows_the_rows_of_the_last(client, db_session):
    _sign_in(client, "admin")
    first = client.get("/admin/audit")
    total, _page, pages = PAGER.findall(first.text)[0]
    assert int(pages) >= 2, "the demo's audit trail fills more than one page"
    last = client.get(f"/admin/audit?page={pages}")
    past = client.get(f"/admin/audit?page={int(pages) + 3}")
    assert PAGER.findall(past.text)[0] == (total, pages, pages)
    rows = re.compile(r'data-event="(\d+)"')
    assert rows.findall(past.text) == rows.findall(last.text) != []
    previous = re.search(r'href="([^"]*)" rel="prev"', past.text)
    assert previous is not None and f"page={int(pages) - 1}" in previous.group(1)


def test_every_list_with_a_pager_is_checked_here():
    """A new paged list (a template calling the pager macro) must join :data:`LISTS`."""
    templates = Path(__file__).resolve().parents[2] / "finportal" / "templates"
    found = {
        m.group(1)
        for f in templates.rglob("*.html")
        for m in re.finditer(r"pager\(\s*\w+,\s*'([\w.]+)'", f.read_text(encoding="utf-8"))
    }
    assert found == set(LISTS)


def test_no_view_reads_a_page_number_its_own_way():
    """Views read ``page`` through ``limits.page_number`` / ``limits.page_field`` only."""
    web = Path(__file__).resolve().parents[2] / "finportal" / "web"
    own_way = re.compile(
        r"""request\.args\.get\(\s*["']page["']|request\.args\[["']page["']\]"""
        r"""|^\s*page\s*=\s*fields\."""
    )
    offenders = []
    for module in web.rglob("*.py"):
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            if own_way.search(line) and "limits.page_number(" not in line:
                offenders.append(f"{module.name}:{number}: {line.strip()}")
    assert not offenders, offenders


def test_the_api_list_keeps_its_own_contract_past_the_last_page(client, db_session):
    """The API's clients read pages until one is empty: past the last, the API stays empty.

    (The pages' rule, the last page, would never end such a loop.) A bad page is its 422.
    """
    from finportal.services import api_tokens

    bank_id = db_session.scalar(select(User.bank_id).where(User.username == "demo-bank"))
    _token, plain = api_tokens.create_token(db_session, bank_id=bank_id, actor_id=None, label="pn")
    db_session.commit()
    auth = {"Authorization": f"Bearer {plain}"}
    first = client.get("/api/v1/referrals/?page_size=1", headers=auth)
    assert first.status_code == 200 and len(first.get_json()) == 1
    past = client.get(f"/api/v1/referrals/?page_size=1&page={limits.MAX_PAGE}", headers=auth)
    assert past.status_code == 200 and past.get_json() == []
    assert client.get("/api/v1/referrals/?page=abc", headers=auth).status_code == 422
