"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

PASSWORD = "test-password-123"


def make_uscc(seed: int, district: str = "310112") -> str:
    """Return a valid USCC for tests."""
    from stdnum.cn import uscc

    body = f"91{district}TD{seed:07d}"
    return body + uscc.calc_check_digit(body)
