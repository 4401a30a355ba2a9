"""Faults under load: kill processes, restart PostgreSQL, stop Redis; count what survived.

Run through ``scripts/faults.sh`` (which starts a production stack of its own with a small
scale database). While SME clients submit applications (each with its idempotency key,
retrying a failed submission with the same key as a browser would), this script:

1. kills a gunicorn worker with SIGKILL (gunicorn starts a new one);
2. kills the RQ workers (and the job processes they forked) with SIGKILL, then starts them
   again with ``scripts/prod.sh start``;
3. restarts PostgreSQL (``pg_ctl restart -m fast``): the web workers' pools reconnect
   (``pool_pre_ping``) without a restart of their own;
4. stops Redis for a while: pages keep serving, submissions are accepted and their jobs run
   in the web process; then starts it again.

Then it lets the jobs settle (the sweep hands out again what a dead worker held) and prints:
submissions confirmed to a client and found in the database exactly once (none missing),
the jobs of those applications done / failed (visible at /admin/jobs with a retry button) /
unfinished, half-written packet files, and the 5xx answers and connection errors per fault
with the window they spanned. The exit status is 0 only when nothing confirmed was lost,
every job ended (done, or failed and visible) and the 5xx windows stayed within bounds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BANK_IDS = re.compile(r'name="consent_bank_ids" value="(\d+)"')
PASSWORD = "finportal-demo"  # noqa: S105 - the documented demo password


@dataclass
class Log:
    """What the clients saw, with the time of each answer."""

    started: float = field(default_factory=time.monotonic)
    confirmed: list[str] = field(default_factory=list)
    attempted: int = 0
    answers: list[tuple[float, int, str]] = field(default_factory=list)  # (t, status, what)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int, what: str) -> None:
        with self.lock:
            self.answers.append((time.monotonic() - self.started, status, what))


class Client(threading.Thread):
    """An SME user who looks at the home page and submits applications until told to stop."""

    def __init__(self, base: str, username: str, log: Log, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.username, self.log, self.stop = base, username, log, stop
        self.http = requests.Session()

    def call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response | None:
        try:
            answer = self.http.request(method, self.base + path, timeout=30, **kwargs)
        except requests.RequestException:
            self.log.answer(0, what)  # connection refused or reset: the worker died under it
            return None
        self.log.answer(answer.status_code, what)
        return answer

    def login(self) -> bool:
        page = self.call("GET", "/auth/login", "login")
        token = CSRF.search(page.text) if page is not None else None
        if token is None:
            return False
        answer = self.call(
            "POST",
            "/auth/login",
            "login",
            data={"username": self.username, "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
        )
        return answer is not None and answer.status_code == 302

    def submit(self) -> None:
        form = self.call("GET", "/sme/applications/new", "form")
        if form is None or form.status_code != 200:
            return
        token, banks = CSRF.search(form.text), BANK_IDS.findall(form.text)
        if token is None or not banks:
            return
        key = uuid.uuid4().hex
        data = {
            "csrf_token": token.group(1),
            "idempotency_key": key,
            "amount": str(random.choice((50, 100, 200))),
            "term_months": "12",
            "purpose": "working_capital",
            "consent_bank_ids": banks[:2],
            "action": "submit",
        }
        with self.log.lock:
            self.log.attempted += 1
        for _attempt in range(5):  # a browser's resubmission carries the same key
            answer = self.call(
                "POST", "/sme/applications/new", "submit", data=data, allow_redirects=False
            )
            if answer is not None and answer.status_code == 302:
                with self.log.lock:
                    self.log.confirmed.append(key)
                return
            if answer is not None and answer.status_code < 500:
                return  # refused for a reason the user is told
            time.sleep(1)

    def run(self) -> None:
        while not self.stop.is_set() and not self.login():
            time.sleep(1)
        while not self.stop.is_set():
            self.call("GET", "/sme/", "home")
            self.submit()


# --- the stack ---------------------------------------------------------------------------


def prod(*args: str) -> str:
    """Run scripts/prod.sh with the current environment and return its output."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts/prod.sh"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return done.stdout + done.stderr


def pid_of(run: Path, name: str) -> int | None:
    try:
        return int((run / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def flask(*args: str) -> str:
    done = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return done.stdout + done.stderr


def sql(query: str) -> list[tuple[Any, ...]]:
    """Run a read query on the stack's database (through the app's engine)."""
    code = (
        "import json,sys\n"
        "from sqlalchemy import create_engine, text\n"
        "import os\n"
        "e = create_engine(os.environ['FINPORTAL_DATABASE_URL'])\n"
        "with e.connect() as c:\n"
        "    print(json.dumps([list(r) for r in c.execute(text(sys.stdin.read()))], default=str))\n"
    )
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", code],
        input=query,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [tuple(r) for r in json.loads(done.stdout)]


# --- the faults --------------------------------------------------------------------------


def kill_web_worker(run: Path) -> str:
    master = pid_of(run, "web")
    workers = children(master) if master else []
    if not workers:
        return "no gunicorn worker found"
    victim = random.choice(workers)
    kill(victim)
    return f"SIGKILL gunicorn worker {victim}"


def kill_rq_workers(run: Path) -> str:
    """Kill every RQ worker and the job process it forked (its supervisor starts it again)."""
    killed = []
    for pidfile in sorted(run.glob("rq-worker-*.pid")):
        supervisor = int(pidfile.read_text().strip())
        for worker in children(supervisor):
            for job_process in children(worker):
                kill(job_process)
                killed.append(job_process)
            kill(worker)
            killed.append(worker)
    return f"SIGKILL RQ workers and job processes {killed}"


def restart_postgres() -> str:
    return prod("restart-postgres").strip() or "PostgreSQL restart failed"


def stop_redis(port: str) -> str:
    subprocess.run(["redis-cli", "-p", port, "shutdown"], capture_output=True, check=False)
    return f"Redis on {port} stopped"


def window(log: Log, start: float, end: float) -> dict[str, Any]:
    """Count 5xx answers and connection errors between two times (seconds since start)."""
    bad = [(t, s) for t, s, _ in log.answers if start <= t < end and (s == 0 or s >= 500)]
    return {
        "5xx": sum(1 for _, s in bad if s >= 500),
        "connection_errors": sum(1 for _, s in bad if s == 0),
        "window_s": round(bad[-1][0] - bad[0][0], 1) if bad else 0.0,
        "answers": sum(1 for t, _s, _w in log.answers if start <= t < end),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="a short run (for the test)")
    parser.add_argument("--clients", type=int, default=None, help="SME clients (3 short, 6 long)")
    parser.add_argument("--json", help="write the counts to this file too")
    args = parser.parse_args(argv)
    prod_dir = Path(os.environ["FINPORTAL_PROD_DIR"])
    run = prod_dir / "run"
    base = f"http://127.0.0.1:{os.environ['FINPORTAL_HTTP_PORT']}"
    redis_port = os.environ["FINPORTAL_REDIS_PORT"]
    phase = 3 if args.short else 20  # seconds between faults
    users = [
        name
        for (name,) in sql(
            "SELECT u.username FROM users u JOIN enterprises e ON e.id = u.enterprise_id "
            "WHERE u.username LIKE 'scale-sme-%' AND e.verification_state = 'verified' "
            "ORDER BY u.id LIMIT 40"
        )
    ]
    log, stop = Log(), threading.Event()
    count = args.clients or (3 if args.short else 6)
    clients = [Client(base, users[i % len(users)], log, stop) for i in range(count)]
    for c in clients:
        c.start()
    marks: list[tuple[str, float, str]] = []

    def fault(name: str, action: Any) -> None:
        time.sleep(phase)
        marks.append((name, time.monotonic() - log.started, action()))
        print(f"[{marks[-1][1]:6.1f}s] {name}: {marks[-1][2]}", flush=True)

    fault("baseline", lambda: "load running")
    fault("kill gunicorn worker", lambda: kill_web_worker(run))
    fault("kill RQ workers", lambda: kill_rq_workers(run))
    fault(
        "restart RQ workers", lambda: " ".join(prod("revive").split())
    )  # supervised: back already
    if (prod_dir / "pg/data").exists():
        fault("restart PostgreSQL", restart_postgres)
    fault("stop Redis", lambda: stop_redis(redis_port))
    fault("start Redis", lambda: " ".join(prod("revive").split()))
    time.sleep(phase)
    stop.set()
    for c in clients:
        c.join(timeout=40)
    ended = time.monotonic() - log.started

    # Let the jobs settle: the sweep hands out again what dead workers held.
    started_settling = time.monotonic()
    settle_deadline = started_settling + (120 if args.short else 180)
    keys = sorted(set(log.confirmed))
    quoted = ",".join(f"'{k}'" for k in keys) or "''"
    job_states: dict[str, int] = {}
    swept_at = 0.0
    while True:
        if time.monotonic() - swept_at > 15:
            flask("jobs", "sweep", "--lost-after", "5")
            swept_at = time.monotonic()
        rows = sql(
            "SELECT j.state, count(*) FROM jobs j JOIN applications a "
            "ON j.object_type = 'application' AND j.object_id = a.id "
            f"WHERE a.idempotency_key IN ({quoted}) GROUP BY j.state"
        )
        job_states = {state: int(n) for state, n in rows}
        if not (job_states.get("queued") or job_states.get("running")):
            break
        if time.monotonic() > settle_deadline:
            break
        time.sleep(2)
    settled_in = round(time.monotonic() - started_settling, 1)
    stuck = sql(
        "SELECT j.id, j.state, j.attempts, j.runner, j.message, j.created_at, j.started_at "
        "FROM jobs j JOIN applications a ON j.object_type = 'application' AND j.object_id = a.id "
        f"WHERE a.idempotency_key IN ({quoted}) AND j.state IN ('queued', 'running') "
        "ORDER BY j.created_at LIMIT 10"
    )

    found = dict(
        sql(
            "SELECT idempotency_key, count(*) FROM applications "
            f"WHERE idempotency_key IN ({quoted}) GROUP BY idempotency_key"
        )
    )
    missing = [k for k in keys if k not in found]
    duplicated = [k for k, n in found.items() if int(n) != 1]
    partial = [str(p) for p in prod_dir.rglob("*.part")]
    faults = {}
    for i, (name, at, what) in enumerate(marks):
        until = marks[i + 1][1] if i + 1 < len(marks) else ended
        faults[name] = {"at_s": round(at, 1), "what": what, **window(log, at, until)}
    report = {
        "submissions": {
            "attempted": log.attempted,
            "confirmed": len(keys),
            "found_exactly_once": len(keys) - len(missing) - len(duplicated),
            "missing": len(missing),
            "duplicated": len(duplicated),
        },
        "jobs": {
            "done": job_states.get("done", 0),
            "failed_visible_in_admin": job_states.get("failed", 0),
            "unfinished": job_states.get("queued", 0) + job_states.get("running", 0),
            "settled_in_s": settled_in,
            "unfinished_detail": [[str(v) for v in row] for row in stuck],
        },
        "half_written_files": len(partial),
        "answers": len(log.answers),
        "faults": faults,
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))
    worst = max((f["window_s"] for f in faults.values()), default=0.0)
    ok = (
        report["submissions"]["missing"] == 0
        and report["submissions"]["duplicated"] == 0
        and report["submissions"]["confirmed"] > 0
        and report["jobs"]["unfinished"] == 0
        and not partial
        and worst <= (30 if args.short else 60)
    )
    print("faults: " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
