"""The demand board's pages for each role: forms keep what was typed, refusals are 4xx."""

from __future__ import annotations

from flask_babel import refresh
from sqlalchemy import select

from finportal.models import Need, NeedClaim
from finportal.services import needs


def test_the_sme_posts_a_need_and_bad_input_keeps_the_form(client, db_session, board, login):
    login(board.sme)
    form = client.get("/sme/needs/new")
    assert form.status_code == 200 and "需求金额（万元）" in form.text
    bad = client.post(
        "/sme/needs/new",
        data={
            "amount": "abc",
            "term_months": "12",
            "purpose": "working_capital",
            "collateral": "none",
            "urgency": "teleport",
            "purpose_note": "保留这段说明",
        },
    )
    assert bad.status_code == 422
    assert "保留这段说明" in bad.text and "请选择紧急程度" in bad.text
    assert db_session.scalar(select(Need.id).limit(1)) is None
    refresh()  # the test's one app context caches the Chinese catalogue
    english = client.post(
        "/sme/needs/new?lang=en",
        data={
            "amount": "-5",
            "term_months": "12",
            "purpose": "working_capital",
            "collateral": "none",
            "urgency": "soon",
        },
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 422
    assert "Cannot be negative" in english.text and "Post the need" in english.text
    refresh()
    good = client.post(
        "/sme/needs/new",
        data={
            "amount": "100",
            "term_months": "12",
            "purpose": "working_capital",
            "collateral": "none",
            "urgency": "soon",
        },
    )
    assert good.status_code == 302
    need = db_session.scalar(select(Need))
    assert str(need.amount) == "1000000.00"
    page = client.get(good.headers["Location"])
    assert "100 万元" in page.text and need.number in page.text
    listing = client.get("/sme/needs")
    assert need.number in listing.text


def test_a_bank_sees_the_need_without_the_firm_until_consent(client, db_session, board, login):
    need = board.post(db_session)
    login(board.user_a)
    listing = client.get("/bank/needs")
    assert listing.status_code == 200 and need.number in listing.text
    assert board.enterprise.name not in listing.text and board.enterprise.uscc not in listing.text
    detail = client.get(f"/bank/needs/{need.id}")
    assert board.enterprise.name not in detail.text and "100 万元" in detail.text
    refused = client.post(
        f"/bank/needs/{need.id}/claim", data={"product_id": "", "note": "我的方案"}
    )
    assert refused.status_code == 422 and "我的方案" in refused.text
    product = needs.get_for_bank(db_session, board.bank_a.id, need.id).products[0]
    done = client.post(
        f"/bank/needs/{need.id}/claim", data={"product_id": str(product.id), "note": "三日内放款"}
    )
    assert done.status_code == 302
    claim = db_session.scalar(select(NeedClaim))
    assert claim.bank_id == board.bank_a.id
    # The bank whose products do not fit gets 404, as for a need that does not exist.
    client.post("/auth/logout")
    login(board.user_c)
    assert client.get(f"/bank/needs/{need.id}").status_code == 404
    assert need.number not in client.get("/bank/needs").text
    # The firm consents; then the bank sees its name.
    client.post("/auth/logout")
    login(board.sme)
    answer = client.post(f"/sme/needs/{need.id}/claims/{claim.id}/consent")
    assert answer.status_code == 302
    client.post("/auth/logout")
    login(board.user_a)
    assert board.enterprise.name in client.get(f"/bank/needs/{need.id}").text


def test_another_firm_gets_404_for_a_need(client, db_session, board, login, create_user):
    need = board.post(db_session)
    login(create_user("sme"))
    assert client.get(f"/sme/needs/{need.id}").status_code == 404
    assert client.post(f"/sme/needs/{need.id}/withdraw").status_code == 404


def test_the_advisor_lists_and_closes_escalated_needs(client, db_session, board, login):
    from datetime import timedelta

    need = board.post(db_session)
    needs.escalate_unclaimed(db_session, need.claim_due_at + timedelta(minutes=1))
    login(board.advisor)
    listing = client.get("/advisor/needs")
    assert need.number in listing.text and board.enterprise.name in listing.text
    refused = client.post(f"/advisor/needs/{need.id}/close", data={"reason": ""})
    assert refused.status_code == 422 and "请写明关闭原因" in refused.text
    closed = client.post(f"/advisor/needs/{need.id}/close", data={"reason": "企业已另行融资"})
    assert closed.status_code == 302
    db_session.expire_all()
    assert db_session.get(Need, need.id).state == "closed"
    dash = client.get("/advisor/dashboard")
    assert "融资需求认领" in dash.text


def test_the_admin_sets_a_banks_products_on_its_page(client, db_session, board, login, create_user):
    login(create_user("admin"))
    page = client.get(f"/admin/organisations/bank/{board.bank_c.id}/edit")
    assert page.status_code == 200 and "适用产品" in page.text
    ids = needs.bank_product_ids(db_session, board.bank_a.id)[:2]
    saved = client.post(
        f"/admin/organisations/bank/{board.bank_c.id}/products",
        data={"product_ids": [str(i) for i in ids]},
    )
    assert saved.status_code == 302
    assert needs.bank_product_ids(db_session, board.bank_c.id) == sorted(ids)
    junk = client.post(
        f"/admin/organisations/bank/{board.bank_c.id}/products", data={"product_ids": ["x"]}
    )
    assert junk.status_code == 302
    assert needs.bank_product_ids(db_session, board.bank_c.id) == sorted(ids)
