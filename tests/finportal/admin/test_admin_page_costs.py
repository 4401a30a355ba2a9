"""Admin pages cost the same few statements with 10 users or 20,000 (issue 12), and are paged.

Each test counts a page's statements on a small database, adds many more rows of what the
page lists, and counts again; then checks what an admin sees of the paging: the total, and
the next rows in the list's order on the second page.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import select

from finportal.limits import PAGE_SIZE
from finportal.models import Bank, Chamber, Enterprise, Park, User
from tests.finportal.test_query_counts import statements_of
from tests.helpers import healthy_firm

pytestmark = pytest.mark.db

USER_PAGES = [
    "/admin/users",
    "/admin/users?role=sme",
    "/admin/users?role=bank",
    "/admin/users?role=recommender",
    "/admin/users?q=user-",
]


@pytest.fixture
def add_users(db_session):
    """Add users of every role, each linked to their own firm, bank, park or chamber.

    Rows straight into the tables (no password hashing: nobody signs in as them), named
    ``{role}-user-{n}`` so that the list's order (role, username) is known.
    """
    made = {"n": 0}

    def add(sme: int = 0, bank: int = 0, recommender: int = 0, advisor: int = 0) -> None:
        for role, count in (
            ("sme", sme),
            ("bank", bank),
            ("recommender", recommender),
            ("advisor", advisor),
        ):
            for _ in range(count):
                made["n"] += 1
                n = made["n"]
                user = User(
                    username=f"{role}-user-{n:04}",
                    display_name=f"用户{n}",
                    role=role,
                    password_hash="!",  # noqa: S106 - no password: cannot sign in
                )
                if role == "sme":
                    firm = Enterprise(**healthy_firm(90_000 + n))
                    db_session.add(firm)
                    db_session.flush()
                    user.enterprise_id = firm.id
                elif role == "bank":
                    link = Bank(code=f"pc-bank-{n}", name_zh=f"页测银行{n}")
                    db_session.add(link)
                    db_session.flush()
                    user.bank_id = link.id
                elif role == "recommender" and n % 2:
                    link = Park(code=f"pc-park-{n}", name_zh=f"页测园区{n}")
                    db_session.add(link)
                    db_session.flush()
                    user.park_id = link.id
                elif role == "recommender":
                    link = Chamber(code=f"pc-chamber-{n}", name_zh=f"页测商会{n}")
                    db_session.add(link)
                    db_session.flush()
                    user.chamber_id = link.id
                db_session.add(user)
        db_session.commit()

    return add


def _counts(client: Any, urls: list[str]) -> dict[str, int]:
    return {url: statements_of(client, url) for url in urls}


def test_the_users_page_issues_as_many_statements_with_many_more_users(
    client, db_session, create_user, login, add_users
):
    login(create_user("admin"))
    add_users(sme=3, bank=2, recommender=2, advisor=1)
    small = _counts(client, USER_PAGES)
    # Every kind of link, each row its own: enough to fill the first pages of every filter.
    add_users(sme=60, bank=25, recommender=20, advisor=5)
    large = _counts(client, USER_PAGES)
    assert large == small
    assert max(large.values()) <= 8, large


def _listed(html: str) -> list[str]:
    """Return the usernames of the list's rows (each row's first cell), top to bottom."""
    return re.findall(r"<tr>\s*<td>([^<]+)</td>", html)


def test_the_users_page_is_paged_in_a_defined_order_keeping_the_filters(
    client, db_session, create_user, login, add_users
):
    admin = create_user("admin")
    login(admin)
    add_users(sme=PAGE_SIZE + 7, bank=3)
    order = list(
        db_session.scalars(select(User.username).order_by(User.role, User.username, User.id))
    )
    first = client.get("/admin/users")
    assert first.status_code == 200
    assert f"共 {len(order)} 条，第 1 / 2 页" in first.text
    assert _listed(first.text) == order[:PAGE_SIZE]
    # The next page holds the next users, in the same order (role, then username).
    second = client.get("/admin/users?page=2")
    assert "第 2 / 2 页" in second.text
    assert _listed(second.text) == order[PAGE_SIZE:]

    # Filtered: the total is that of the filter, and the pager's link keeps it.
    smes = [u for u in order if u.startswith("sme-user-")]
    filtered = client.get("/admin/users?role=sme&q=sme-user")
    assert f"共 {len(smes)} 条，第 1 / 2 页" in filtered.text
    link = re.search(r'href="([^"]*page=2[^"]*)" rel="next"', filtered.text)
    assert link is not None
    assert "role=sme" in link.group(1) and "q=sme-user" in link.group(1)
    following = client.get(link.group(1).replace("&amp;", "&"))
    assert _listed(following.text) == smes[PAGE_SIZE:]

    # One user among thousands: found by a fragment of the username, or of the name.
    wanted = smes[12]
    assert _listed(client.get(f"/admin/users?q={wanted.upper()}").text) == [wanted]
    named = db_session.scalar(select(User).where(User.username == wanted))
    assert _listed(client.get(f"/admin/users?q={named.display_name}").text) == [wanted]


def test_the_pager_and_a_wrong_page_number_read_in_english(client, create_user, login, add_users):
    # English first: a test's requests share the language looked up by its first page.
    login(create_user("admin"))
    client.get("/lang/en")
    add_users(sme=PAGE_SIZE)
    page = client.get("/admin/users").text
    assert f"{PAGE_SIZE + 1} in all, page 1 of 2" in page and "Next" in page
    for wrong in ("0", "abc"):
        answer = client.get(f"/admin/users?page={wrong}")
        assert answer.status_code == 422
        assert "The page number is not valid" in answer.text


def test_a_wrong_page_number_is_refused_in_chinese(client, create_user, login):
    login(create_user("admin"))
    answer = client.get("/admin/users?page=0&role=bank")
    assert answer.status_code == 422
    assert "页码无效" in answer.text and 'href="/admin/users?role=bank"' in answer.text


@pytest.fixture
def add_scored(db_session, champion_model):
    """Add screened applications of their own firms, each scored by the champion."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    import scoring
    from finportal.models import Application, CreditScore

    made = {"n": 0}

    def add(count: int) -> None:
        frame = scoring.generate_reference_data(count, seed=made["n"] + 1).drop(columns=["bad"])
        for row in frame.to_dict("records"):
            made["n"] += 1
            n = made["n"]
            snapshot = {k: (None if v != v else v) for k, v in row.items()}
            firm = Enterprise(**healthy_firm(70_000 + n))
            application = Application(
                enterprise=firm,
                amount=Decimal(500000),
                term_months=12,
                state="screened",
                feature_snapshot=snapshot,
                screened_at=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=n),
            )
            db_session.add_all([firm, application])
            db_session.flush()
            db_session.add(
                CreditScore(
                    application_id=application.id,
                    model_version_id=champion_model.id,
                    pd=0.02 + (n % 10) / 100,
                    score=600,
                    grade="B",
                    reasons=[],
                    feature_snapshot=snapshot,
                )
            )
        db_session.commit()

    return add


@pytest.mark.slow
def test_the_model_pages_cost_as_much_with_many_more_scored_applications(
    client, db_session, create_user, login, champion_model, add_scored
):
    login(create_user("admin"))
    add_scored(5)
    urls = ["/admin/models", f"/admin/models/{champion_model.id}", "/admin/models/monitor"]
    small = _counts(client, urls)
    # More firms than one statement of their memberships loads (500): whole enterprises
    # were read for the monitor's groups, with their memberships in batches.
    add_scored(620)
    large = _counts(client, urls)
    assert large == small
    monitor = client.get("/admin/models/monitor").text
    assert "企业规模" in monitor and "行业" in monitor


@pytest.fixture
def add_versions(db_session, published_catalog):
    """Publish more versions of a product (or of new products), each with its push jobs.

    Each version gets a failed push, then a later one that finished: the lists show the newest.
    """
    import uuid
    from datetime import timedelta

    from finportal.models import Job, Product, ProductVersion, utcnow

    def add(code: str, count: int, new_product: bool = False) -> None:
        if new_product:
            product = Product(code=code, name_zh=f"页测产品{code}", name_en=f"Paging {code}")
            db_session.add(product)
            db_session.flush()
            base: dict[str, Any] = {"code": code}
        else:
            product = db_session.scalar(select(Product).where(Product.code == code))
            base = dict(product.current_version.content)
        last = db_session.scalar(
            select(ProductVersion.number)
            .where(ProductVersion.product_id == product.id)
            .order_by(ProductVersion.number.desc())
            .limit(1)
        )
        for n in range((last or 0) + 1, (last or 0) + 1 + count):
            version = ProductVersion(
                product_id=product.id,
                number=n,
                content={**base, "note_for_paging": n},
                content_hash=hashlib.sha256(f"{code}-{n}".encode()).hexdigest(),
                published_at=utcnow() + timedelta(minutes=n),
            )
            db_session.add(version)
            db_session.flush()
            for minutes, state in ((0, "failed"), (1, "done")):
                db_session.add(
                    Job(
                        id=str(uuid.uuid4()),
                        kind="notify_eligible",
                        state=state,
                        args={},
                        message="推送失败" if state == "failed" else "",
                        result={"eligible": n, "new": 1, "cheaper": 0} if state == "done" else None,
                        object_type="product_version",
                        object_id=version.id,
                        created_at=utcnow() + timedelta(minutes=10 * n + minutes),
                    )
                )
            product.current_version_id = version.id
        db_session.commit()

    return add


def test_the_product_pages_cost_as_much_with_many_more_versions_and_products(
    client, db_session, create_user, login, add_versions
):
    login(create_user("admin"))
    add_versions("ip_pledge", 1)
    urls = ["/admin/products", "/admin/products/ip_pledge/versions"]
    small = _counts(client, urls)
    add_versions("ip_pledge", 30)
    for n in range(6):
        add_versions(f"paging_{n}", 3, new_product=True)
    large = _counts(client, urls)
    assert large == small
    # Each product shows its current version's newest push: finished, not the failed one.
    listed = client.get("/admin/products").text
    row = listed[listed.index("<code>paging_5</code>") :].split("</tr>")[0]
    assert 'data-job-state="done"' in row and "第 3 版" in row


def test_a_products_versions_are_paged_newest_first(
    client, db_session, create_user, login, add_versions
):
    from finportal.models import Product, ProductVersion

    login(create_user("admin"))
    add_versions("ip_pledge", PAGE_SIZE + 4)
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    numbers = list(
        db_session.scalars(
            select(ProductVersion.number)
            .where(ProductVersion.product_id == product.id)
            .order_by(ProductVersion.number.desc())
        )
    )
    first = client.get("/admin/products/ip_pledge/versions").text
    assert f"共 {len(numbers)} 条，第 1 / 2 页" in first
    shown = [int(n) for n in re.findall(r'<tr id="v(\d+)">', first)]
    assert shown == numbers[:PAGE_SIZE]
    second = client.get("/admin/products/ip_pledge/versions?page=2").text
    assert [int(n) for n in re.findall(r'<tr id="v(\d+)">', second)] == numbers[PAGE_SIZE:]
    # The current version is marked on the first page only (it is the newest).
    assert "当前" in first.split("<tbody>")[1] and "当前" not in second.split("<tbody>")[1]


def test_organisations_and_api_tokens_are_paged(
    client, db_session, create_user, login, create_bank
):
    from finportal.models import ApiToken

    login(create_user("admin"))
    bank = create_bank()

    def add(parks: int, tokens: int, first: int) -> None:
        for n in range(first, first + parks):
            db_session.add(Park(code=f"pc-park-{n:03}", name_zh=f"页测园区{n}"))
        for n in range(first, first + tokens):
            digest = hashlib.sha256(f"token-{n}".encode()).hexdigest()
            db_session.add(ApiToken(bank_id=bank.id, prefix=f"fp_{n:04}", token_hash=digest))
        db_session.commit()

    add(2, 2, 0)
    urls = ["/admin/organisations?kind=park", "/admin/api-tokens"]
    small = _counts(client, urls)
    add(PAGE_SIZE + 3, PAGE_SIZE + 3, 2)
    assert _counts(client, urls) == small

    parks = list(
        db_session.scalars(select(Park.code).order_by(Park.active.desc(), Park.code, Park.id))
    )
    listed = client.get("/admin/organisations?kind=park").text
    assert f"共 {len(parks)} 条，第 1 / 2 页" in listed
    assert re.findall(r"<tr>\s*<td><code>([^<]+)</code>", listed) == parks[:PAGE_SIZE]
    second = client.get("/admin/organisations?kind=park&page=2").text
    assert re.findall(r"<tr>\s*<td><code>([^<]+)</code>", second) == parks[PAGE_SIZE:]

    prefixes = list(db_session.scalars(select(ApiToken.prefix).order_by(ApiToken.id.desc())))
    tokens = client.get("/admin/api-tokens").text
    assert f"共 {len(prefixes)} 条，第 1 / 2 页" in tokens
    assert re.findall(r"<td><code>([^<…]+)…</code>", tokens) == prefixes[:PAGE_SIZE]
    later = client.get("/admin/api-tokens?page=2").text
    assert re.findall(r"<td><code>([^<…]+)…</code>", later) == prefixes[PAGE_SIZE:]
