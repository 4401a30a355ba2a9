"""The load test runs the clients its settings ask for (Locust lists them without running)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).with_name("locust")


def _users(**settings: str) -> list[str]:
    """Return the user classes Locust would run with these ``LOADTEST_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADTEST_")}
    env.update({f"LOADTEST_{k.upper()}": v for k, v in settings.items()})
    listed = subprocess.run(
        [str(LOCUST), "-f", "loadtest/locustfile.py", "--list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    after = listed.stdout.split("Available Users:", 1)[1]
    return sorted(line.strip() for line in after.splitlines() if line.strip())


@pytest.mark.parametrize(
    ("settings", "users"),
    [
        ({"mode": "page", "page": "referral"}, ["OnePage"]),
        ({"mode": "page", "page": "referral", "sign_ins": "1"}, ["OnePage", "SignInOut"]),
        (
            {"mode": "mix", "sign_ins": "0.5"},
            ["AdvisorMix", "ApiMix", "BankMix", "BareMix", "SignInOut", "SmeMix"],
        ),
    ],
)
def test_the_load_test_runs_the_measured_clients_and_the_sign_ins_asked_for(settings, users):
    """One page (or the role mix), and the client signing other firms in and out only when
    asked: each once, or Locust refuses to start (two classes of one name)."""
    assert _users(**settings) == users


def test_the_report_says_when_clients_were_not_signed_in(tmp_path):
    """A run in which the portal refused some clients' sign-in measured fewer clients than it
    says: the report tells, beside the page's row."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("loadtest_report", ROOT / "loadtest/report.py")
    assert spec is not None and spec.loader is not None
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    stats = {"requests": 300, "rps": 10.0, "p50_ms": 5, "p95_ms": 9, "p99_ms": 12, "errors": 0}
    for page, refused in (("bare", 0), ("referral", 12)):
        (tmp_path / f"page-{page}-c32.json").write_text(
            json.dumps({"pages": {f"[page] {page}": stats}, "clients_not_signed_in": refused})
        )
    lines = report.pages_table(tmp_path, "32")
    assert "(!) referral: 12 of the 32 clients were not signed in and requested nothing" in lines
    assert not any("bare:" in line for line in lines)


def test_the_paced_runs_are_reported_against_the_bare_run_that_set_their_pace(tmp_path):
    """With ``LOADTEST_PACE`` each page runs again at a share of the bare route's req/s: its
    table holds the unpaced bare row, and each paced page's rate as a share of it (a page that
    kept up shows the pace; one that could not, less)."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("loadtest_report", ROOT / "loadtest/report.py")
    assert spec is not None and spec.loader is not None
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)

    def write(name: str, page: str, rps: float, p99: float) -> None:
        stats = {"requests": 300, "rps": rps, "p50_ms": 5, "p95_ms": 9, "p99_ms": p99, "errors": 0}
        cpu = {"server": 1000 / rps, "generator": 0.5, "machine": 2.0}
        data = {"pages": {f"[page] {page}": stats}, "cpu_ms_per_request": cpu}
        (tmp_path / f"{name}-c32.json").write_text(json.dumps(data))

    write("page-bare", "bare", 900.0, 70.0)
    write("page-referral", "referral", 250.0, 300.0)
    write("paced-referral", "referral", 298.0, 61.0)
    unpaced, paced = report.pages_table(tmp_path, "32"), report.pages_table(tmp_path, "32", "paced")
    assert "offering a set share" in paced[0] and "offering" not in unpaced[0]
    rows = {line.split()[0]: line.split() for line in paced[2:]}
    assert sorted(rows) == ["bare", "referral"]
    assert rows["bare"][2:4] == ["900.0", "1.00"]
    assert rows["referral"][2:4] == ["298.0", "0.33"] and rows["referral"][6] == "61.0"
    assert [line.split()[2] for line in unpaced[2:]] == ["900.0", "250.0"]
    # The server's and the generator's CPU a request, last.
    assert [line.split()[-2:] for line in unpaced[2:]] == [["1.11", "0.50"], ["4.00", "0.50"]]


def test_a_pages_own_times_come_from_the_servers_access_log_within_its_run(tmp_path):
    """Beside the client's p99 (which holds waits for a worker and a core on a shared machine),
    the report gives the p99 the server's own access log tells for the page's requests in the
    run's counted window: lines of other pages, before the run's offset or outside its window
    do not count."""
    import importlib.util
    import json
    from datetime import datetime

    spec = importlib.util.spec_from_file_location("loadtest_report", ROOT / "loadtest/report.py")
    assert spec is not None and spec.loader is not None
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)

    start = datetime(2026, 12, 3, 18, 0, 0).timestamp()

    def line(at: float, path: str, ms: float) -> str:
        when = datetime.fromtimestamp(at).strftime(report.LOG_TIME)[:-3]  # milliseconds
        return json.dumps(
            {"time": when, "logger": "finportal.access", "path": path, "duration_ms": ms}
        )

    earlier = line(start + 5, "/bank/referrals/7", 9000.0) + "\n"  # an earlier run's
    lines = [line(start + 1 + i / 10, f"/bank/referrals/{i}", float(i + 1)) for i in range(100)]
    lines += [
        line(start + 3, "/bank/", 5000.0),  # another page
        line(start + 3, "/bank/referrals/7/packet.pdf", 5000.0),  # a path the URL begins
        line(start - 10, "/bank/referrals/7", 5000.0),  # before the window
        line(start + 60, "/bank/referrals/7", 5000.0),  # after it
        '{"time": "not a time", "logger": "finportal.access"}',
        "[2026-12-03 18:00:02 +0000] [9160] [INFO] Booting worker with pid: 9185",
    ]
    log = tmp_path / "web.log"
    log.write_text(earlier + "\n".join(lines) + "\n", encoding="utf-8")
    stats = {"requests": 100, "rps": 300.0, "p50_ms": 9, "p95_ms": 90, "p99_ms": 240.0, "errors": 0}
    summary = tmp_path / "paced-referral-c32.json"
    summary.write_text(
        json.dumps(
            {
                "pages": {"[page] referral": stats},
                "window_epoch": [start, start + 30],
                "url": "/bank/referrals/{referrals}",
            }
        )
    )
    report.add_handler_times(summary, log, len(earlier.encode()))
    assert json.loads(summary.read_text())["handler"] == {
        "requests": 100,
        "p50_ms": 51.0,
        "p99_ms": 99.0,
    }
    row = report.pages_table(tmp_path, "32", "paced")[-1].split()
    assert row[0] == "referral" and row[6:8] == ["240.0", "99.0"]
