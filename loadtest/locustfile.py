"""Load test of FinPortal (Locust): scenarios per role, and one page at a time.

Run through ``scripts/loadtest.sh``, which starts the production stack and prints the
summary. Two modes, chosen by ``LOADTEST_MODE``:

- ``mix`` (default): every role at once, in proportion — SMEs browse, match and submit;
  advisors work the queue and open review pages; banks open referrals, download packets and
  decide; bank systems call the API with a bearer token; and a bare route for comparison.
- ``page``: every simulated client requests one page (``LOADTEST_PAGE``, a key of
  :data:`PAGES`) as fast as it is answered, as the issue's per-page measurements did.

With ``LOADTEST_SIGN_INS`` set (pairs a second, e.g. ``1``), one more client signs other SMEs
in and out at that rate all through the run (``SignInOut``), as real users do while the
pages are measured: a sign-in or sign-out must not make the measured pages stale. It signs
in as firms of the pool's second half; the measured SME clients take the first half.

Accounts come from ``flask --app wsgi scale-data`` (``scale-sme-NNNNN``, ``scale-advisor-NN``,
``scale-bank-NN-K``, password ``finportal-demo``); the API token from ``LOADTEST_API_TOKEN``.
Every request is named ``[scenario] page`` so the summary groups by both. Successful
submissions are appended (one idempotency key a line) to ``LOADTEST_SUBMISSIONS`` when set,
so the faults script can check that each is in the database exactly once.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import constant, constant_throughput, events, task
from locust.contrib.fasthttp import FastHttpUser as HttpUser
from report import percentile  # loadtest/report.py: Locust puts the locustfile's folder on the path

PASSWORD = os.environ.get("LOADTEST_PASSWORD", "finportal-demo")
MODE = os.environ.get("LOADTEST_MODE", "mix")
PAGE = os.environ.get("LOADTEST_PAGE", "bare")
SME_POOL = int(os.environ.get("LOADTEST_SME_POOL", "2000"))
#: Sign-ins and sign-outs of other firms a second, beside the measured clients (0: none).
SIGN_INS = float(os.environ.get("LOADTEST_SIGN_INS", "0"))
#: The firms the measured SME clients sign in as; the sign-in client takes the others.
MEASURED_SMES = SME_POOL // 2 if SIGN_INS else SME_POOL
API_TOKEN = os.environ.get("LOADTEST_API_TOKEN", "")
SUBMISSIONS = os.environ.get("LOADTEST_SUBMISSIONS", "")
SUMMARY = os.environ.get("LOADTEST_SUMMARY", "")
#: Think time between a simulated user's requests in the mix (seconds).
THINK = float(os.environ.get("LOADTEST_THINK", "0"))
#: In ``page`` mode, the requests a second each client aims at (0: as fast as answered). The
#: clients together then offer a set load, and the run tells the latency a page has at it:
#: ``scripts/loadtest.sh`` with ``LOADTEST_PACE`` sets it to a share of the bare route's
#: throughput. A client whose answers come slower than its pace asks again at once, so a
#: page that cannot keep up shows it as a rate under the one offered.
RATE_PER_CLIENT = float(os.environ.get("LOADTEST_RATE_PER_CLIENT", "0"))
#: The session id of the server's processes (``scripts/prod.sh`` starts gunicorn in a session
#: of its own, its pid in ``run/web.pid``): their CPU time over the measured window is read from
#: ``/proc`` and reported a request (0: not measured, a server on another machine).
SERVER_SESSION = int(os.environ.get("LOADTEST_SERVER_SESSION", "0") or 0)
#: Seconds after every measured client signed in and collected its ids before requests count.
WARMUP = float(os.environ.get("LOADTEST_WARMUP", "3"))
#: In ``page`` mode, each client opens each of its pages once before it counts as started
#: (1, the default): the run measures the page's repeated views, its first views (a render
#: each: 32 clients with 16 of the firm's applications each, say) are left out of the window.
#: 0: its first views fall in the window too (a cold start). docs/BENCHMARKS.md gives both.
PRIME = os.environ.get("LOADTEST_PRIME", "1") != "0"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: Pages left out of the mix (comma-separated keys of PAGES), e.g. ones that take minutes on
#: a large database and would hold every worker: "dashboard,api_list".
SKIP = {p for p in os.environ.get("LOADTEST_SKIP", "").split(",") if p}

#: What an unverified firm is told when it submits (services/verification.require_verified):
#: the scale data leaves about 8 % of the firms unverified.
UNVERIFIED = "尚未通过服务中心认证"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')
BANK_IDS = re.compile(r'name="consent_bank_ids" value="(\d+)"')
_lock = threading.Lock()
#: Sign-in-and-out pairs the SignInOut client completed, and measured clients whose sign-in
#: was refused (they request nothing: a run with some is a run with fewer clients).
_sign_ins = {"pairs": 0, "refused": 0}
#: Measured clients that finished starting (signed in, ids collected), how many there are
#: (known once Locust spawned them all) and when the last one finished (monotonic seconds).
_ready: dict[str, Any] = {"started": 0, "clients": None, "spawned_at": 0.0, "last": 0.0}


def _started() -> None:
    """Note that a measured client finished starting; the requests that count begin
    :data:`WARMUP` seconds after the last one did (:func:`_open_window`).

    Counting from when Locust spawned the clients instead measured their 32 sign-ins and
    first pages too: under load those took longer than the warm-up, so the measured page
    shared the machine with them."""
    with _lock:
        _ready["started"] += 1
        _ready["last"] = time.monotonic()
        _open_window()


def _open_window() -> None:
    clients = _ready["clients"]
    if clients is not None and _ready["started"] >= clients and not _window["start"]:
        _window["start"] = time.monotonic() + WARMUP
        _window["epoch_start"] = time.time() + WARMUP  # to find the window's lines in logs
        gevent.spawn_later(WARMUP, lambda: _cpu.__setitem__("start", _cpu_now()))


#: CPU seconds at the measured window's start and end (:func:`_cpu_now`).
_cpu: dict[str, dict[str, float]] = {}


def _cpu_now() -> dict[str, float]:
    """Return the CPU seconds spent so far by the machine (all cores, busy), the server's
    processes (:data:`SERVER_SESSION`) and this load generator.

    On a machine that runs both, a page's share of the bare route's req/s is also a share of
    what the generator left: the CPU a request of each tells the server's cost apart."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    machine = (sum(fields[:8]) - fields[3] - fields[4]) / tick
    server = 0.0
    if SERVER_SESSION:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                    after_name = f.read().rpartition(")")[2].split()
            except OSError:  # the process ended meanwhile
                continue
            if int(after_name[3]) == SERVER_SESSION:  # session; then utime, stime
                server += (int(after_name[11]) + int(after_name[12])) / tick
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"machine": machine, "server": server, "generator": own.ru_utime + own.ru_stime}


def _post_form(
    client: Any, page_url: str, post_url: str, tag: str, what: str, **fields: str
) -> int:
    """Open a page and post its form token with ``fields`` to ``post_url`` (a sign-in or a
    sign-out), named ``[tag]``; an answer other than a redirect is a failure that names
    ``what``. Return the answer's status (0: the page had no form token)."""
    token = CSRF.search(client.get(page_url, name=f"[{tag}] {page_url}").text)
    if token is None:
        return 0
    with client.post(
        post_url,
        data=urlencode({**fields, "csrf_token": token.group(1)}),
        headers=FORM,
        name=f"[{tag}] POST {post_url}",
        allow_redirects=False,
        catch_response=True,
    ) as answer:
        if answer.status_code != 302:
            answer.failure(f"{what} answered {answer.status_code}")
        return int(answer.status_code)


def _ids(pattern: str, text: str) -> list[int]:
    return sorted({int(x) for x in re.findall(pattern, text)})


class Portal(HttpUser):
    """A signed-in user of the portal (abstract)."""

    abstract = True
    scenario = "portal"
    wait_time = constant(THINK) if THINK else constant(0)

    def username(self) -> str:
        raise NotImplementedError

    def on_start(self) -> None:
        try:
            self._sign_in_and_prepare()
        finally:
            _started()

    def _sign_in_and_prepare(self) -> None:
        self.signed_in = False
        username = self.username()
        status = _post_form(
            self.client,
            "/auth/login",
            "/auth/login",
            "login",
            f"login of {username}",
            username=username,
            password=PASSWORD,
        )
        if status != 302:
            if status:
                with _lock:
                    _sign_ins["refused"] += 1
            return
        self.signed_in = True
        self.prepare()
        if MODE == "page" and PRIME:
            _prime(self)

    def prepare(self) -> None:
        """Collect the ids this user will open."""

    def get(self, url: str, name: str, **kwargs: Any) -> Any:
        return self.client.get(url, name=f"[{self.scenario}] {name}", **kwargs)


class Sme(Portal):
    """An SME user: home, catalogue, matches, own applications, and now and then a submission."""

    scenario = "sme"
    weight = 5

    def username(self) -> str:
        return f"scale-sme-{random.randint(1, MEASURED_SMES):05d}"

    def prepare(self) -> None:
        self.applications = _ids(
            r"/sme/applications/(\d+)", self.get("/sme/applications", "/sme/applications").text
        )

    @task(4)
    def home(self) -> None:
        self.get("/sme/", "/sme/")

    @task(2)
    def catalogue(self) -> None:
        self.get("/products/", "/products/")

    @task(2)
    def matches(self) -> None:
        self.get("/sme/matches", "/sme/matches")

    @task(3)
    def application(self) -> None:
        if self.applications:
            app_id = random.choice(self.applications)
            self.get(f"/sme/applications/{app_id}", "/sme/applications/[id]")

    @task(1)
    def submit(self) -> None:
        form = self.get("/sme/applications/new", "/sme/applications/new")
        csrf, key = CSRF.search(form.text), IDEMPOTENCY.search(form.text)
        banks = BANK_IDS.findall(form.text)
        if not (csrf and key and banks):
            return
        data = {
            "csrf_token": csrf.group(1),
            "idempotency_key": key.group(1),
            "amount": str(random.choice((50, 100, 200, 300))),
            "term_months": "12",
            "purpose": "working_capital",
            "product_code": "",
            "consent_bank_ids": random.sample(banks, min(2, len(banks))),
            "action": "submit",
        }
        with self.client.post(
            "/sme/applications/new",
            data=urlencode(data, doseq=True),
            headers=FORM,
            name="[sme] POST /sme/applications/new",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code == 302 and "/sme/applications/" in answer.headers.get(
                "Location", ""
            ):
                record_submission(key.group(1))
            elif answer.status_code == 422 and UNVERIFIED in answer.text:
                answer.success()  # an unverified firm is told to get verified first: correct
            else:
                answer.failure(f"submission answered {answer.status_code}")


def record_submission(key: str) -> None:
    """Remember an idempotency key the portal confirmed (for the faults script)."""
    if not SUBMISSIONS:
        return
    with _lock, open(SUBMISSIONS, "a", encoding="utf-8") as out:
        out.write(key + "\n")


class Advisor(Portal):
    """An advisor: the queue, review pages, and the dashboard now and then."""

    scenario = "advisor"
    weight = 2

    def username(self) -> str:
        return f"scale-advisor-{random.randint(1, 20):02d}"

    def prepare(self) -> None:
        self.queue = _ids(r"/advisor/applications/(\d+)", self.get("/advisor/", "/advisor/").text)

    @task(4)
    def queue_page(self) -> None:
        self.get("/advisor/", "/advisor/")

    @task(4)
    def review(self) -> None:
        if self.queue:
            app_id = random.choice(self.queue)
            self.get(f"/advisor/applications/{app_id}", "/advisor/applications/[id]")

    @task(1)
    def dashboard(self) -> None:
        self.get("/advisor/dashboard", "/advisor/dashboard")


class Bank(Portal):
    """A bank user: the inbox, referral pages, packet downloads and decisions."""

    scenario = "bank"
    weight = 2

    def username(self) -> str:
        # Bank 01 holds the rendered packets (scale-data renders them for it).
        return f"scale-bank-01-{random.randint(1, 2)}"

    def prepare(self) -> None:
        # The new ones, and those already opened (earlier runs open every new one in time).
        self.referrals = sorted(
            {
                ref
                for tab in ("new", "viewed")
                for ref in _ids(
                    r"/bank/referrals/(\d+)", self.get(f"/bank/?tab={tab}", "/bank/").text
                )
            }
        )
        self.with_packet: list[int] = []

    @task(4)
    def inbox(self) -> None:
        self.get("/bank/", "/bank/")

    @task(4)
    def referral(self) -> None:
        if not self.referrals:
            return
        ref_id = random.choice(self.referrals)
        page = self.get(f"/bank/referrals/{ref_id}", "/bank/referrals/[id]")
        if f"/bank/referrals/{ref_id}/packet.pdf" in page.text and ref_id not in self.with_packet:
            self.with_packet.append(ref_id)

    @task(2)
    def packet(self) -> None:
        if self.with_packet:
            ref_id = random.choice(self.with_packet)
            self.get(f"/bank/referrals/{ref_id}/packet.pdf", "/bank/referrals/[id]/packet.pdf")

    @task(1)
    def decide(self) -> None:
        if not self.referrals:
            return
        ref_id = random.choice(self.referrals)
        page = self.get(f"/bank/referrals/{ref_id}", "/bank/referrals/[id]")
        token = CSRF.search(page.text)
        version = re.search(r'name="lock_version" value="(\d+)"', page.text)
        if token is None or 'name="decision"' not in page.text:
            return
        data = {
            "csrf_token": token.group(1),
            "decision": "info_requested",
            "reason_text": "请补充近三个月银行流水（压力测试）。",
        }
        if version:
            data["lock_version"] = version.group(1)
        with self.client.post(
            f"/bank/referrals/{ref_id}/decision",
            data=urlencode(data),
            headers=FORM,
            name="[bank] POST /bank/referrals/[id]/decision",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code in (302, 409):
                answer.success()  # 409: the referral moved on meanwhile, as the page says


class Api(HttpUser):
    """A bank's system on the API with its bearer token."""

    scenario = "api"
    weight = 1
    wait_time = constant(THINK) if THINK else constant(0)

    default_headers = {"Authorization": f"Bearer {API_TOKEN}"}

    def on_start(self) -> None:
        try:
            self._collect()
        finally:
            _started()

    def _collect(self) -> None:
        # The ids to open: the new referrals only when the full list is left out (it is slow).
        url = "/api/v1/referrals/?status=new" if "api_list" in SKIP else "/api/v1/referrals/"
        listing = self.client.get(url, name="[api] /api/v1/referrals/ (ids)")
        try:
            items = listing.json()
            items = items.get("items", items) if isinstance(items, dict) else items
            self.referrals = [int(r["id"]) for r in items][:200]
        except (ValueError, KeyError, TypeError):
            self.referrals = []

    @task(3)
    def listing(self) -> None:
        self.client.get("/api/v1/referrals/", name="[api] /api/v1/referrals/")

    @task(2)
    def one(self) -> None:
        if self.referrals:
            ref_id = random.choice(self.referrals)
            self.client.get(f"/api/v1/referrals/{ref_id}", name="[api] /api/v1/referrals/[id]")

    @task(1)
    def products(self) -> None:
        self.client.get("/api/v1/products/", name="[api] /api/v1/products/")


class SignInOut(HttpUser):
    """Another firm signing in and out (``LOADTEST_SIGN_INS`` pairs a second), never measured."""

    scenario = "signin"
    fixed_count = 1

    def wait_time(self) -> float:
        return 1.0 / SIGN_INS

    @task
    def sign_in_and_out(self) -> None:
        username = f"scale-sme-{random.randint(MEASURED_SMES + 1, SME_POOL):05d}"
        what = f"sign-in of {username}"
        fields = {"username": username, "password": PASSWORD}
        if _post_form(self.client, "/auth/login", "/auth/login", "signin", what, **fields) != 302:
            return
        if (
            _post_form(self.client, "/sme/", "/auth/logout", "signin", f"sign-out of {username}")
            == 302
        ):
            with _lock:
                _sign_ins["pairs"] += 1


class Bare(HttpUser):
    """The bare route: what the framework answers with no work behind it."""

    scenario = "bare"
    weight = 1
    wait_time = constant(THINK) if THINK else constant(0)

    def on_start(self) -> None:
        _started()

    @task
    def live(self) -> None:
        self.client.get("/health/live", name="[bare] /health/live")


if "dashboard" in SKIP:
    Advisor.tasks = [t for t in Advisor.tasks if getattr(t, "__name__", "") != "dashboard"]
if "api_list" in SKIP:
    Api.tasks = [t for t in Api.tasks if getattr(t, "__name__", "") != "listing"]


# --- one page at a time ------------------------------------------------------------------

#: Key pages: name -> (scenario class, how to get the URL once signed in).
PAGES: dict[str, tuple[type[HttpUser], str]] = {
    "bare": (Bare, "/health/live"),
    "catalogue": (Sme, "/products/"),
    "sme_home": (Sme, "/sme/"),
    "matches": (Sme, "/sme/matches"),
    "application": (Sme, "/sme/applications/{applications}"),
    "advisor_queue": (Advisor, "/advisor/"),
    "review": (Advisor, "/advisor/applications/{queue}"),
    "dashboard": (Advisor, "/advisor/dashboard"),
    "bank_inbox": (Bank, "/bank/"),
    "referral": (Bank, "/bank/referrals/{referrals}"),
    "api_list": (Api, "/api/v1/referrals/"),
}


def _urls(user: Any) -> list[str]:
    """Return the URLs of the key page ``LOADTEST_PAGE`` this user opens (one for each id of
    its own list the URL takes; none when the list is empty)."""
    _role, url = PAGES[PAGE]
    if "{" not in url:
        return [url]
    field = re.search(r"\{(\w+)\}", url).group(1)  # type: ignore[union-attr]
    return [re.sub(r"\{\w+\}", str(i), url) for i in getattr(user, field, None) or []]


def _one_page(user: Any) -> None:
    """Request the key page ``LOADTEST_PAGE`` once (an id picked from the user's own lists)."""
    urls = _urls(user)
    if not urls:
        time.sleep(1)  # this account has none: nothing to measure
        return
    user.client.get(random.choice(urls), name=f"[page] {PAGE}")


def _prime(user: Any) -> None:
    """Open each of the user's pages once, before the measured window (:data:`PRIME`)."""
    for url in _urls(user):
        user.client.get(url, name=f"[prime] {PAGE}")


for _cls in (Sme, Advisor, Bank, Api, Bare, SignInOut):
    _cls.abstract = True
del _cls  # Locust takes every user class the module names, this loop's name too
if SIGN_INS:
    SignInOut.abstract = False
if MODE == "page":
    _role = PAGES[PAGE][0]
    # The role's sign-in and id lists, with one task: the page.
    _pace = constant_throughput(RATE_PER_CLIENT) if RATE_PER_CLIENT else constant(0)
    OnePage = type("OnePage", (_role,), {"abstract": False, "wait_time": _pace})
    OnePage.tasks = [_one_page]  # the role's own tasks would be merged in by Locust otherwise
else:
    Mix = [
        type(f"{c.__name__}Mix", (c,), {"abstract": False}) for c in (Sme, Advisor, Bank, Api, Bare)
    ]
    SmeMix, AdvisorMix, BankMix, ApiMix, BareMix = Mix


# --- summary: throughput, p50/p95/p99 and errors per page and per scenario --------------

_times: dict[str, list[float]] = defaultdict(list)
_errors: dict[str, int] = defaultdict(int)
#: Answers that came from the page cache (``X-Page-Cache: hit``), per page.
_kept: dict[str, int] = defaultdict(int)
_window = {"start": 0.0, "end": 0.0, "epoch_start": 0.0, "epoch_end": 0.0}


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_: Any) -> None:
    with _lock:
        # Every client but the one signing other firms in and out is measured.
        _ready["clients"] = user_count - (1 if SIGN_INS else 0)
        _ready["spawned_at"] = time.monotonic()
        _open_window()


@events.request.add_listener
def _request(
    name: str, response_time: float, exception: Any, response: Any = None, **_: Any
) -> None:
    if (
        name.startswith(("[login]", "[signin]", "[prime]"))
        or not _window["start"]
        or time.monotonic() < _window["start"]
    ):
        return
    _times[name].append(response_time)
    if exception is not None:
        _errors[name] += 1
    headers = getattr(response, "headers", None)
    if headers is not None and headers.get("X-Page-Cache") == "hit":
        _kept[name] += 1


def summarize(seconds: float) -> dict[str, Any]:
    """Return per-page and per-scenario throughput, latency percentiles and error counts."""
    groups: dict[str, list[float]] = defaultdict(list)
    group_errors: dict[str, int] = defaultdict(int)
    group_kept: dict[str, int] = defaultdict(int)
    rows = {}
    for name, values in sorted(_times.items()):
        scenario = name.split("]")[0].strip("[")
        groups[scenario].extend(values)
        group_errors[scenario] += _errors[name]
        group_kept[scenario] += _kept[name]
        rows[name] = _stats(values, _errors[name], seconds, _kept[name])
    scenarios = {
        s: _stats(v, group_errors[s], seconds, group_kept[s]) for s, v in sorted(groups.items())
    }
    return {
        "seconds": round(seconds, 1),
        "pages": rows,
        "scenarios": scenarios,
        "others_signed_in_and_out": _sign_ins["pairs"],
        "cpu_ms_per_request": _cpu_per_request(sum(len(v) for v in _times.values())),
        "clients_not_signed_in": _sign_ins["refused"],
        # Seconds from spawning the clients until the last one had signed in and collected
        # its ids (the requests that count begin WARMUP seconds later).
        "clients_started_in_s": round(max(0.0, _ready["last"] - _ready["spawned_at"]), 1),
        # The counted window in seconds since the epoch, and the page's URL (one-page runs):
        # loadtest/report.py finds the server's own lines for them in its access log.
        "window_epoch": [round(_window["epoch_start"], 3), round(_window["epoch_end"], 3)],
        "url": PAGES[PAGE][1] if MODE == "page" else None,
    }


def _stats(values: list[float], errors: int, seconds: float, kept: int = 0) -> dict[str, float]:
    return {
        "kept_share": round(kept / len(values), 3) if values else 0.0,
        "requests": len(values),
        "rps": round(len(values) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(values, 0.50), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "errors": errors,
    }


@events.test_stop.add_listener
def _stopped(**_: Any) -> None:
    _window["end"] = time.monotonic()
    _window["epoch_end"] = time.time()
    _cpu["end"] = _cpu_now()


def _cpu_per_request(requests: int) -> dict[str, float]:
    """Return the CPU milliseconds a counted request took, over the measured window: of the
    server, of this generator, and of the machine (the rest: the database, Redis, workers)."""
    start, end = _cpu.get("start"), _cpu.get("end")
    if not requests or start is None or end is None:
        return {}
    per = {name: round(1000 * (end[name] - start[name]) / requests, 2) for name in end}
    if not SERVER_SESSION:
        del per["server"]
    return per


@events.quitting.add_listener
def _quitting(**_: Any) -> None:
    end = _window["end"] or time.monotonic()
    seconds = max(0.0, end - _window["start"]) if _window["start"] else 0.0
    summary = summarize(seconds)
    if SUMMARY:
        with open(SUMMARY, "w", encoding="utf-8") as out:
            json.dump(summary, out, ensure_ascii=False, indent=1)
