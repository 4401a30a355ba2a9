"""Batch pages ask the database as often for a park of 3 members as for one of 60 (issue 12).

The recommender's home once read each member's verified facts and each batch's members one by
one (2,191 statements for a park of 2,144 firms at full scale); the advisor's batch list read
each batch's members, and a batch's page each member's firm. These tests count a page's
statements on a small park, grow the park, its batches and their members, and count again;
and they check what a user sees of the grown lists: pages, search, the same members and figures.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from finportal import limits
from finportal.domain.states import MEMBER
from finportal.models import BatchMember, Consent, Membership, utcnow
from finportal.services import batch_checks, batch_recommendations, batches
from tests.finportal.conftest import consent_to_batch
from tests.finportal.test_query_counts import counting
from tests.helpers import PASSWORD, RELOAD

#: Firms added to the park between the two counts: more than a page of members.
MORE_FIRMS = limits.PAGE_SIZE + 10
#: Batches added between the two counts: more than a page of batches.
MORE_BATCHES = 3


def _signed_in(app: Any, user: Any) -> Any:
    browser = app.test_client()
    answer = browser.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    return browser


def _new_batch(db_session: Any, world: Any, bank: Any, name: str) -> Any:
    return batches.create_batch(
        db_session,
        actor_id=world.advisor.id,
        name=name,
        bank_id=bank.id,
        quota_total=Decimal("9000000"),
        park_id=world.park.id,
    )


def _sent_batch(db_session: Any, world: Any, bank: Any, name: str, firms: list[Any]) -> Any:
    batch = _new_batch(db_session, world, bank, name)
    consent_to_batch(db_session, batch, firms)
    _recommend(db_session, world, batch, firms)
    batch_checks.check_all_members(db_session, batch.id, actor_id=world.advisor.id)
    return batch_checks.submit_batch(db_session, batch.id, actor_id=world.advisor.id)


def _recommend(db_session: Any, world: Any, batch: Any, firms: list[Any]) -> list[Any]:
    return [
        batch_recommendations.recommend_member(
            db_session, batch_id=batch.id, enterprise_id=f.id, actor_id=world.recommender.id
        )
        for f in firms
    ]


@pytest.fixture
def park(db_session, batch_world, open_batch, create_enterprise, create_bank):
    """The batch world with a recommended member in the open batch, and a way to grow the park.

    ``grow()`` adds ``MORE_FIRMS`` member firms (every seventh unfit for the batch product),
    recommends the fit ones into the open batch (more than a page of members) and opens
    ``MORE_BATCHES`` batches with some of them, consented there, checked and sent.
    """
    w = batch_world
    _recommend(db_session, w, open_batch, w.members[:1])
    # A batch sent to the world's bank, with two members (the bank's pages).
    w.sent_batch = _sent_batch(db_session, w, w.bank, "已提交批次", w.members[:2])
    w.sent_batches = [w.sent_batch]

    def grow() -> list[Any]:
        firms = []
        for n in range(MORE_FIRMS):
            firm = create_enterprise(
                name=f"上海园区扩容{n:03d}科技有限公司",
                pending_lawsuits=1 if n % 7 == 3 else 0,
            )
            firm.memberships.append(Membership(park_id=w.park.id))
            firms.append(firm)
        db_session.commit()
        fit = [f for f in firms if not f.pending_lawsuits]
        for k in range(MORE_BATCHES):
            # Every other one at the world's bank (its list grows), the others at new banks.
            bank = w.bank if k % 2 == 0 else create_bank()
            w.sent_batches.append(
                _sent_batch(db_session, w, bank, f"扩容批次{k}", fit[k::MORE_BATCHES])
            )
        _recommend(db_session, w, open_batch, fit)
        return firms

    w.grow = grow
    w.open_batch = open_batch
    return w


def _pages(world: Any) -> list[tuple[Any, str]]:
    batch_id = world.open_batch.id
    return [
        (world.recommender, "/recommender/"),
        (world.recommender, "/recommender/?q=%E6%89%B9%E6%AC%A1"),
        (world.recommender, "/recommender/batches"),
        (world.advisor, "/advisor/batches/"),
        (world.advisor, f"/advisor/batches/{batch_id}"),
        (world.advisor, f"/advisor/batches/{batch_id}?state=recommended"),
        (world.advisor, f"/advisor/batches/{batch_id}?q=%E4%B8%8A%E6%B5%B7"),
        (world.bank_user, "/bank/batches/"),
        (world.bank_user, f"/bank/batches/{world.sent_batch.id}"),
    ]


def _statements_of(db_session: Any, browser: Any, url: str) -> int:
    """Open a page twice and count the statements of the second, as a server's fresh request.

    Between the two, the shared test session ends its transaction (its per-session reads,
    ``memo.read_once``, are forgotten) and expires what the first request loaded, as a new
    request's session starts empty. Without it, the second request finds every firm's
    facts and every lazy relationship already in the session, and an N+1 goes uncounted.
    """
    assert browser.get(url).status_code == 200, url
    db_session.commit()
    db_session.expire_all()
    with counting() as statements:
        answer = browser.get(url, headers=RELOAD)  # rendered, whatever the page cache holds
    assert answer.status_code == 200, url
    return len(statements)


def _count(app: Any, db_session: Any, pages: list[tuple[Any, str]]) -> dict[str, int]:
    clients = {user.id: _signed_in(app, user) for user, _url in pages}
    return {url: _statements_of(db_session, clients[user.id], url) for user, url in pages}


def test_batch_pages_issue_as_many_statements_for_a_large_park(app, client, db_session, park):
    small = _count(app, db_session, _pages(park))
    park.grow()
    members = db_session.scalar(select(func.count()).select_from(BatchMember))
    assert members >= MORE_FIRMS
    large = _count(app, db_session, _pages(park))
    grown = {url: (small[url], large[url]) for url in small if large[url] > small[url]}
    assert grown == {}, f"statements grew with the park (small, large): {grown}"
    assert max(large.values()) <= 25, large
    # A bank's page of a sent batch of 2 members and of one of many: as many statements.
    bank = _signed_in(app, park.bank_user)
    big = max(
        (b for b in park.sent_batches if b.bank_id == park.bank.id), key=lambda b: len(b.members)
    )
    assert len(big.members) > len(park.sent_batch.members)
    assert (
        _statements_of(db_session, bank, f"/bank/batches/{big.id}")
        == large[f"/bank/batches/{park.sent_batch.id}"]
    )


def test_checking_every_member_reads_the_same_few_statements_for_many(db_session, park):
    w = park

    def selects_of_check_all(batch: Any) -> int:
        db_session.commit()  # a new request: nothing of the batch in the session yet
        db_session.expire_all()
        with counting() as statements:
            batch_checks.check_all_members(db_session, batch.id, actor_id=w.advisor.id)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    small = selects_of_check_all(w.open_batch)  # one member
    w.grow()
    for member in w.open_batch.members:
        if member.state == "checked":
            member.state = "recommended"
    db_session.commit()
    large = selects_of_check_all(w.open_batch)  # more than fifty members
    assert large == small
    states = {m.enterprise_id: m.state for m in w.open_batch.members}
    # The consented, fit first member passes; the grown park's firms have not consented to
    # this batch's bank: their check records the missing consent.
    assert states[w.members[0].id] == "checked"
    others = [m for m in w.open_batch.members if m.enterprise_id != w.members[0].id]
    assert others and all(m.state == "recommended" for m in others)
    assert all(m.check_result["eligible"] and m.check_result["consent"] is None for m in others)


def test_the_recommender_pages_the_members_and_finds_them_by_name_or_uscc(
    client, db_session, park, login
):
    firms = park.grow()
    login(park.recommender)
    every = batch_recommendations.organisation_members(db_session, actor_id=park.recommender.id)
    assert len(every) == len(park.members) + MORE_FIRMS
    first = client.get("/recommender/")
    second = client.get("/recommender/?page=2")
    shown = [e.name for e in every if e.name in first.text]
    assert shown == [e.name for e in every[: limits.PAGE_SIZE]]
    assert [e.name for e in every if e.name in second.text] == [
        e.name for e in every[limits.PAGE_SIZE :]
    ]
    assert f"共 {len(every)} 条，第 1 / 2 页" in first.text

    # Each member's verdict is the one the product gives it alone (profiles read together).
    version = batch_recommendations.recommender_product(db_session, actor_id=park.recommender.id)
    unfit = next(f for f in firms if f.pending_lawsuits)
    assert not batch_recommendations.evaluate_member(unfit, version).eligible
    row = _row(client.get(f"/recommender/?q={unfit.uscc}").text, unfit.name)
    assert "不符合" in row and "不符合准入条件，不能推荐" in row
    fit = next(f for f in firms if not f.pending_lawsuits)
    assert batch_recommendations.evaluate_member(fit, version).eligible
    found = client.get(f"/recommender/?q={fit.name[2:9]}")
    assert fit.name in found.text and "共 1 条" in found.text
    placed = db_session.scalars(
        select(BatchMember).where(BatchMember.enterprise_id == fit.id).order_by(BatchMember.id)
    ).all()
    assert len(placed) == 2  # the open batch and a grown one: both shown in its row
    row = _row(found.text, fit.name)
    assert all(f"{m.batch.code}：{MEMBER.title(m.state)}" in row for m in placed)
    assert unfit.name not in found.text
    assert "共 0 条" in client.get("/recommender/?q=无此企业").text

    # Recommending from a search's second page returns to that page and that search.
    member = park.members[1]
    answer = client.post(
        "/recommender/recommendations",
        data={"batch_id": park.open_batch.id, "enterprise_id": member.id, "q": "上海", "page": 2},
    )
    assert answer.status_code == 302
    assert re.search(r"page=2", answer.location) and "q=" in answer.location
    assert db_session.scalar(
        select(BatchMember.id).where(
            BatchMember.batch_id == park.open_batch.id, BatchMember.enterprise_id == member.id
        )
    )


def test_the_recommenders_batches_are_listed_with_their_figures(client, db_session, park, login):
    park.grow()
    login(park.recommender)
    home = client.get("/recommender/")
    assert park.open_batch.code in home.text and 'id="all-batches"' in home.text
    page = client.get("/recommender/batches")
    theirs = batch_recommendations.recommender_batches(db_session, actor_id=park.recommender.id)
    assert len(theirs) == 2 + MORE_BATCHES  # the open batch, the sent one and the grown
    for batch in theirs:
        # The figures counted in SQL are those counted from the batch's own members.
        assert batches.quotas(db_session, [batch])[batch.id] == batches.quota_use(batch)
        row = _row(page.text, batch.code)
        counts = batches.quota_use(batch).members_by_state
        assert counts and all(f"{MEMBER.title(st)} {n}" in row for st, n in counts.items() if n)


def test_the_advisor_pages_batches_and_members(client, db_session, park, login):
    park.grow()
    login(park.advisor)
    listing = client.get("/advisor/batches/")
    every = batches.list_batches(db_session)
    assert f"共 {len(every)} 条" in listing.text
    for batch in every:
        # The member counts per state, counted in SQL, are those of the batch's members.
        use = batches.quota_use(batch)
        assert batches.quotas(db_session, [batch])[batch.id] == use
        n = use.members_by_state["recommended"]
        assert (f"已推荐 {n}" in _row(listing.text, batch.code)) == bool(n)

    batch = park.open_batch
    members = list(batch.members)  # in the order they joined, as the page lists them
    assert len(members) > limits.PAGE_SIZE
    first = client.get(f"/advisor/batches/{batch.id}")
    second = client.get(f"/advisor/batches/{batch.id}?page=2")
    assert f"共 {len(members)} 条，第 1 / 2 页" in first.text
    on_first = [m.enterprise.uscc for m in members if m.enterprise.uscc in first.text]
    on_second = [m.enterprise.uscc for m in members if m.enterprise.uscc in second.text]
    assert on_first == [m.enterprise.uscc for m in members[: limits.PAGE_SIZE]]
    assert on_second == [m.enterprise.uscc for m in members[limits.PAGE_SIZE :]]
    assert f"已推荐 {len(members)} 户" in second.text  # the summary counts every member

    # Search by USCC, by name and by state; the pager keeps them.
    target = members[3].enterprise
    found = client.get(f"/advisor/batches/{batch.id}?q={target.uscc}")
    assert target.uscc in _row(found.text, target.name) and "共 1 条" in found.text
    assert members[4].enterprise.uscc not in found.text
    found = client.get(f"/advisor/batches/{batch.id}?q={target.name[2:9]}")
    assert target.uscc in found.text and "共 1 条" in found.text
    searched = client.get(f"/advisor/batches/{batch.id}?q=%E4%B8%8A%E6%B5%B7&state=recommended")
    assert "q=%E4%B8%8A%E6%B5%B7" in searched.text and "state=recommended" in searched.text
    assert "共 0 条" in client.get(f"/advisor/batches/{batch.id}?state=approved").text
    bad = client.get(f"/advisor/batches/{batch.id}?state=nonsense")
    assert bad.status_code == 200 and members[0].enterprise.uscc in bad.text
    assert client.get(f"/advisor/batches/{batch.id}?state=nonsense&page=abc").status_code == 422

    # The export still holds every member.
    export = client.get(f"/advisor/batches/{batch.id}/members.xlsx")
    sheet = load_workbook(io.BytesIO(export.data)).active
    usccs = {row[1] for row in sheet.iter_rows(values_only=True)}
    assert {m.enterprise.uscc for m in members} <= usccs


def _row(html: str, text: str) -> str:
    """Return the table row of ``html`` that holds ``text``."""
    start = html.index(text)
    return html[html.rindex("<tr", 0, start) : html.index("</tr>", start)]


def test_the_bank_sees_its_batches_and_the_members_it_may_see(client, db_session, park, login):
    park.grow()
    # A member's firm withdraws its consent: the bank no longer sees that member.
    big = max(
        (b for b in park.sent_batches if b.bank_id == park.bank.id), key=lambda b: len(b.members)
    )
    gone = big.members[1]
    consent = db_session.scalar(
        select(Consent).where(
            Consent.batch_id == big.id, Consent.enterprise_id == gone.enterprise_id
        )
    )
    consent.withdrawn_at = utcnow()
    db_session.commit()
    login(park.bank_user)
    listing = client.get("/bank/batches/")
    theirs = batches.list_sent_batches(db_session, bank_id=park.bank.id)
    assert len(theirs) == 3 and f"共 {len(theirs)} 条" in listing.text
    assert all(b.code in listing.text for b in theirs)
    assert not any(b.code in listing.text for b in park.sent_batches if b.bank_id != park.bank.id)
    page = client.get(f"/bank/batches/{big.id}")
    seen = batches.bank_members(db_session, big)
    assert gone not in seen and len(seen) == len(big.members) - 1
    assert [m.enterprise.uscc for m in big.members if m.enterprise.uscc in page.text] == [
        m.enterprise.uscc for m in seen
    ]
    assert f"共 {len(seen)} 条" in page.text
