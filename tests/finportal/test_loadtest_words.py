"""The load test tells a correct refusal from an error by the portal's own words."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from finportal.services import errors, verification

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtest" / "locustfile.py"


def _constant(name: str) -> str:
    tree = ast.parse(LOCUSTFILE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not in the locustfile")


def test_an_unverified_firms_refusal_is_recognised(db_session, create_enterprise):
    firm = create_enterprise(verification_state="unverified")
    db_session.commit()
    with pytest.raises(errors.Forbidden) as refused:
        verification.require_verified(db_session, firm.id)
    assert _constant("UNVERIFIED") in refused.value.message_zh
