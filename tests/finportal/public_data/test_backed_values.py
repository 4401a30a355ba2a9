"""Issue 14: a declared profile value a profile document backs is marked 有材料佐证 (file,
SHA-256) on the SME's profile, the advisor's review and in the packet; verified wins."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import pytest

from finportal.services import packets, review_actions
from finportal.services.public_data import facts
from tests.finportal.conftest import _eligible_version, _grant_consent
from tests.finportal.documents import files
from tests.finportal.public_data.conftest import csv_bytes
from tests.helpers import pdf_text, screened, squash

pytestmark = pytest.mark.db


def _upload(client, content: bytes, name: str, kind: str, url: str = "/sme/documents"):
    response = client.post(
        url,
        data={"kind": kind, "document": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    return hashlib.sha256(content).hexdigest()


def _mark(page: str, anchor: str, end: str = "</small>") -> str:
    assert anchor in page, anchor
    return page.split(anchor, 1)[1].split(end, 1)[0]


def _refer(db_session, loop, application):
    _grant_consent(db_session, application, loop.bank)
    review_actions.claim(db_session, application.id, actor_id=loop.advisor.id)
    (referral,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.bank.id, _eligible_version(db_session, application))],
        opinion="财务报表已附。",
    )
    packets.render_referral_packet(db_session, referral_id=referral.id, force=True)
    return squash(pdf_text(packets.read_packet(packets.current_packet(db_session, referral.id))))


def test_statements_back_the_revenue_on_the_profile_the_review_and_the_packet(
    client, login, db_session, make_loop
):
    loop = make_loop(refer=False)
    firm = loop.enterprise
    firm.revenue_last_year = Decimal("12000000.00")
    db_session.commit()
    login(loop.sme_user)
    page = client.get("/sme/profile").text
    assert 'id="backed-revenue_last_year"' not in page

    sha = _upload(client, files.pdf(text="2025年报"), "2025年财务报表.pdf", "financial_statement")
    page = client.get("/sme/profile").text
    mark = _mark(page, 'id="backed-revenue_last_year"')
    assert "有材料佐证" in mark and "2025年财务报表.pdf" in mark and sha[:12] in mark
    assert sha[:13] not in mark  # the first 12 digits only
    # The licence's fields are not backed by statements.
    assert 'id="backed-registered_on"' not in page

    application = screened(db_session, firm)
    login(loop.advisor)
    review = client.get(f"/advisor/applications/{application.id}").text
    row = _mark(review, 'id="backed-revenue_last_year"', "</tr>")
    assert "2025年财务报表.pdf" in row and sha[:12] in row and "1,200.00" in row
    # The profile table beside it carries the mark too.
    assert "有材料佐证" in review.split('id="verified-facts"', 1)[0]

    text = _refer(db_session, loop, application)
    assert squash(f"有材料佐证：2025年财务报表.pdf，SHA-256前12位{sha[:12]}") in text
    assert "上年营业收入" in text


def test_a_verified_value_wins_over_a_document(
    client, login, db_session, make_loop, authorise, import_file
):
    loop = make_loop(refer=False)
    firm = loop.enterprise
    firm.tax_paid_last_year = Decimal("50000.00")
    firm.revenue_last_year = Decimal("9000000.00")
    db_session.commit()
    login(loop.sme_user)
    _upload(client, files.pdf(text="税表"), "纳税申报表.pdf", "tax_return")
    assert 'id="backed-tax_paid_last_year"' in client.get("/sme/profile").text

    authorise(firm, "tax")
    record = import_file(
        "tax",
        csv_bytes(
            [
                ["统一社会信用代码", "数据截至日期", "纳税信用等级", "上年纳税总额（元）"],
                [firm.uscc, "2026-10-31", "A", "1200000"],
            ]
        ),
    )
    assert record.state == "done", record.errors
    page = client.get("/sme/profile").text
    assert 'id="verified-tax_paid_last_year"' in page
    assert 'id="backed-tax_paid_last_year"' not in page

    application = screened(db_session, firm)
    login(loop.advisor)
    review = client.get(f"/advisor/applications/{application.id}").text
    assert 'id="backed-tax_paid_last_year"' not in review
    text = _refer(db_session, loop, application)
    assert "有材料佐证：纳税申报表.pdf" not in text
    assert "上年纳税总额120.00万元✔已核验" in text


def test_another_firms_or_an_applications_document_backs_nothing(
    app, client, login, db_session, make_loop, create_enterprise, create_user
):
    loop = make_loop(refer=False)
    firm = loop.enterprise
    firm.revenue_last_year = Decimal("12000000.00")
    db_session.commit()

    other = create_enterprise()
    login(create_user("sme", enterprise_id=other.id))
    _upload(client, files.pdf(text="别家"), "别家报表.pdf", "financial_statement")

    # A statement attached to one application is that application's, not the profile's.
    login(loop.sme_user)
    _upload(
        client,
        files.pdf(text="申请附件"),
        "申请附件报表.pdf",
        "financial_statement",
        f"/sme/applications/{loop.application.id}/documents",
    )
    assert 'id="backed-' not in client.get("/sme/profile").text
    assert facts.backed(db_session, firm.id, {"revenue_last_year": Decimal(1)}) == {}


def test_the_newest_document_of_a_kind_backs_and_an_empty_field_is_not_backed(
    client, login, db_session, make_loop
):
    loop = make_loop(refer=False)
    firm = loop.enterprise
    login(loop.sme_user)
    _upload(client, files.pdf(text="旧"), "旧报表.pdf", "financial_statement")
    new = _upload(client, files.pdf(text="新"), "新报表.pdf", "financial_statement")
    found = facts.backed(
        db_session,
        firm.id,
        {"revenue_last_year": Decimal("100.00"), "total_assets": None, "revenue_prev_year": ""},
    )
    assert list(found) == ["revenue_last_year"]
    assert (found["revenue_last_year"].filename, found["revenue_last_year"].sha256) == (
        "新报表.pdf",
        new,
    )
