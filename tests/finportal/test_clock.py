"""The portal's day is Shanghai's: code asks ``workdays.today_local()``, never the server's zone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Clocks that answer in the server's time zone (UTC on the servers and in CI), or in no zone:
#: from 16:00 to 24:00 UTC they name yesterday in Shanghai, and on 31 Dec last year.
_SERVER_CLOCKS = re.compile(
    r"\bdate\.today\(\)|\bdatetime\.today\(\)|\bdatetime\.now\(\)|\butcnow\(\)\.date\(\)"
    r"|\bdatetime\.utcnow\(\)"
)


def test_the_portal_takes_the_day_in_shanghai() -> None:
    offenders = []
    for package in ("finportal",):
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if _SERVER_CLOCKS.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
