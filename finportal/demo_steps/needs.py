"""Demo data of the demand board: the demo banks' products, and needs of demo-sme on the board.

Idempotent: bank products are set to the table below; a need is posted only when demo-sme
has none yet. One need stays open, one is claimed by Demo Bank A (so every role's
demand-board page has something to show).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import Bank, BankProduct, Need, Product, User
from finportal.services import needs
from finportal.services.errors import NotFound

#: The catalogue products each fictional demo bank lends under (which needs it sees).
DEMO_BANK_PRODUCTS = {
    "demo_bank_a": [
        "policy_guarantee",
        "tech_performance",
        "ip_pledge",
        "credit_easy",
        "specialized_sme",
        "first_loan",
        "renewal",
        "startup_guarantee",
        "hq_development",
    ],
    "demo_bank_b": [
        "policy_guarantee",
        "tech_performance",
        "ip_pledge",
        "credit_easy",
        "specialized_sme",
        "first_loan",
        "esop_loan",
    ],
    "demo_bank_c": [
        "agri_operation",
        "startup_guarantee",
        "policy_guarantee",
        "renewal",
        "first_loan",
    ],
}


def assign_bank_products(session: Session) -> None:
    """Give the demo banks their products (the published catalogue must exist; flushes)."""
    products = {p.code: p.id for p in session.scalars(select(Product))}
    for code, wanted in DEMO_BANK_PRODUCTS.items():
        bank = session.scalar(select(Bank).where(Bank.code == code))
        if bank is None:
            continue
        have = set(
            session.scalars(select(BankProduct.product_id).where(BankProduct.bank_id == bank.id))
        )
        for product_code in wanted:
            product_id = products.get(product_code)
            if product_id is not None and product_id not in have:
                session.add(BankProduct(bank_id=bank.id, product_id=product_id))
    session.flush()


def seed(session: Session, context: dict[str, Any]) -> None:
    """Set the demo banks' products; post two needs of demo-sme, one claimed by bank A."""
    assign_bank_products(session)
    session.commit()
    users = context["users"]
    assert isinstance(users, dict)
    sme: User = users["demo-sme"]
    bank_user: User = users["demo-bank"]
    if session.scalar(select(Need.id).where(Need.enterprise_id == sme.enterprise_id).limit(1)):
        return
    base = {"purpose_note": "", "collateral": "none", "urgency": "normal"}
    needs.post_need(
        session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        data={"amount": Decimal("800000"), "term_months": 12, "purpose": "working_capital", **base},
    )
    claimed = needs.post_need(
        session,
        actor_id=sme.id,
        enterprise_id=sme.enterprise_id,
        data={"amount": Decimal("1500000"), "term_months": 24, "purpose": "equipment", **base},
    )
    if bank_user.bank_id is None:
        return
    try:
        view = needs.get_for_bank(session, bank_user.bank_id, claimed.id)
    except NotFound:
        return  # demo-sme's firm fits none of bank A's products
    if view.products:
        needs.claim_need(
            session,
            actor_id=bank_user.id,
            bank_id=bank_user.bank_id,
            need_id=claimed.id,
            product_id=view.products[0].id,
            note="可提供 150 万元、两年期设备贷款，年化利率 3.2% 起（演示）。",
        )
