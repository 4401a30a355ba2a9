"""Fixtures of the demand board: a firm, two banks whose products fit its need, a third that does not."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from finportal.models import BankProduct, Product


@dataclass
class Board:
    """A firm's user, three banks with a user each, and an advisor."""

    sme: Any
    enterprise: Any
    bank_a: Any
    bank_b: Any
    bank_c: Any
    user_a: Any
    user_b: Any
    user_c: Any
    advisor: Any

    def post(self, session: Any, **overrides: Any) -> Any:
        """Post a need of 100 万元 for 12 months as the firm."""
        from finportal.services import needs

        data = {
            "amount": Decimal("1000000"),
            "term_months": 12,
            "purpose": "working_capital",
            "purpose_note": "采购原材料",
            "collateral": "none",
            "urgency": "soon",
            **overrides,
        }
        return needs.post_need(
            session, actor_id=self.sme.id, enterprise_id=self.enterprise.id, data=data
        )


@pytest.fixture
def board(
    db_session: Any, published_catalog: Any, champion_model: Any, create_user: Any, create_bank: Any
) -> Board:
    """Banks A and B lend under every product but the farm loan; bank C only under it."""
    sme = create_user("sme")
    banks = [create_bank(), create_bank(), create_bank()]
    users = [create_user("bank", bank_id=b.id) for b in banks]
    rows = list(db_session.scalars(select(Product).order_by(Product.code)))
    for bank in banks[:2]:
        for product in rows:
            if product.code != "agri_operation":
                db_session.add(BankProduct(bank_id=bank.id, product_id=product.id))
    farm = next(p for p in rows if p.code == "agri_operation")
    db_session.add(BankProduct(bank_id=banks[2].id, product_id=farm.id))
    db_session.commit()
    return Board(
        sme=sme,
        enterprise=sme.enterprise
        if hasattr(sme, "enterprise")
        else db_session.get(
            __import__("finportal.models", fromlist=["Enterprise"]).Enterprise, sme.enterprise_id
        ),
        bank_a=banks[0],
        bank_b=banks[1],
        bank_c=banks[2],
        user_a=users[0],
        user_b=users[1],
        user_c=users[2],
        advisor=create_user("advisor"),
    )
