"""What a user is told when a record is not there: one message per kind, in one place."""

from __future__ import annotations

import re
from pathlib import Path

from finportal.services.errors import NOT_FOUND, NotFound

ROOT = Path(__file__).resolve().parents[3]


def test_each_kind_of_missing_record_has_a_message_of_its_own_in_both_languages():
    chinese = [zh for zh, _ in NOT_FOUND.values()]
    english = [en for _, en in NOT_FOUND.values()]
    # Two kinds told apart in one language are told apart in the other too.
    assert len(set(chinese)) == len(set(english)) == len(NOT_FOUND)
    error = NotFound.of("referral")
    assert (error.status, error.message("zh_CN"), error.message("en")) == (
        404,
        "推荐记录不存在。",
        "No such referral.",
    )


def test_no_service_words_a_no_such_record_message_of_its_own():
    """A "no such X" written beside a call drifts from the table (it did: the same record was
    "申请不存在" on one page and "没有这个申请" on another)."""
    written = re.compile(r'NotFound\(\s*"[^"]*"\s*,\s*"No such ')
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "finportal").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if written.search(line)
    ]
    assert found == []
