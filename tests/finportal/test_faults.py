"""Faults under load (the short run of scripts/faults.sh): nothing confirmed is lost.

It starts a production stack of its own (PostgreSQL, Redis, gunicorn, RQ workers, scheduler)
on free loopback ports, so it runs where the test command has those services installed
(scripts/test.sh sets FINPORTAL_TEST_DATABASE_URL and FINPORTAL_TEST_REDIS_URL).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.db,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (
            os.environ.get("FINPORTAL_TEST_DATABASE_URL", "").startswith("postgresql")
            and os.environ.get("FINPORTAL_TEST_REDIS_URL")
        ),
        reason="needs PostgreSQL and Redis (scripts/test.sh starts both)",
    ),
]


def test_kills_and_restarts_under_load_lose_nothing(tmp_path):
    out = tmp_path / "faults.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FINPORTAL_", "PROMETHEUS_")) or k.startswith("FINPORTAL_TEST_")
    }
    done = subprocess.run(
        ["bash", str(ROOT / "scripts/faults.sh"), "--short", "--json", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    submissions, jobs = report["submissions"], report["jobs"]
    # Every application a client was told was received is in the database exactly once.
    assert submissions["confirmed"] > 0
    assert submissions["missing"] == 0 and submissions["duplicated"] == 0
    assert submissions["found_exactly_once"] == submissions["confirmed"]
    # Every job ended: done, or failed and listed for the admin with a retry button.
    assert jobs["unfinished"] == 0, report
    assert report["half_written_files"] == 0
    faults = report["faults"]
    assert faults["kill gunicorn worker"]["5xx"] == 0  # a lost connection, then a retry
    assert faults["restart PostgreSQL"]["what"] == "PostgreSQL restarted"
    assert faults["restart PostgreSQL"]["window_s"] <= 30
    # Without Redis pages still answer and submissions are taken.
    redis_down = faults["stop Redis"]
    assert redis_down["answers"] > 0 and redis_down["5xx"] == 0
    assert done.returncode == 0, done.stdout[-3000:]
