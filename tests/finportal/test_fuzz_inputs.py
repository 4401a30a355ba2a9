"""Generated junk to every form and every URL converter of the url_map, as each role: never a 5xx.

The world holds one record of each kind (an application referred to a bank, a draft, a
batch sent to the bank and an open one, users of every role, an API token). Each role's
client first opens every page it may open and reads the forms on them (action, fields,
the values the page put in), so a generated request starts from what the page would
post and changes some of it: junk values (huge numbers, NUL and control characters,
over-long text, odd dates, formula text), junk field names, junk path values for every
converter (ids beyond the 32-bit range, text for ``<code>``), junk JSON bodies for the
API (deeply nested too). Every request runs inside a savepoint that is rolled back (and
released: ``tests.helpers.undo_writes``), so each example meets the same world; each
example also starts with new browsers (the signed-in roles keep only their sign-in) in a
language it draws, so what an example does depends on its draws alone and a failure
replays as it was found (Hypothesis prints its ``@reproduce_failure`` line). Runs on
SQLite, and on PostgreSQL when ``FINPORTAL_TEST_DATABASE_URL`` is set;
``FINPORTAL_FUZZ_EXAMPLES`` raises the budget.
"""

from __future__ import annotations

import io
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from finportal.i18n import LOCALES
from tests.helpers import undo_writes

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROLES = ("anonymous", "sme", "advisor", "recommender", "bank", "admin")
#: The blueprints each role works in, besides the public ones.
OWN_BLUEPRINTS = {
    "sme": {"sme", "complaints"},
    "advisor": {"advisor", "complaints"},
    "recommender": {"recommender", "complaints"},
    "bank": {"bank", "batches", "referrals", "complaints"},
    "admin": {"admin", "complaints"},
}
PUBLIC_BLUEPRINTS = {
    "public",
    "catalogue",
    "verify",
    "products",
    "api_reference",
    "api-docs",
    "ratings",
}
EXAMPLES = int(os.environ.get("FINPORTAL_FUZZ_EXAMPLES", "2"))

#: Values that broke some input before: each is sent to every field of every form.
KILLERS = [
    "a\x00b",  # PostgreSQL text cannot hold NUL
    "中" * 6000,  # longer than any column or any limit
    "1e999999999",  # beyond the Decimal context: overflows on the first multiplication
    "9" * 40,  # beyond every integer column
]
#: Other odd values, for the generated requests.
ODD = [
    "\x0b\x1b",  # control characters: every Excel export would break on them later
    "",
    " ",
    "0",
    "-1",
    "1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "-1e999999999",
    "1E+30",
    "1e-999999999",
    "0.000000001",
    "NaN",
    "-Infinity",
    "1,000,000",
    "１２３",
    "0x10",
    "\x00",
    "\t\r\n",
    '=HYPERLINK("http://evil.example")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "x" * 300,
    "9999-12-31",
    "0001-01-01",
    "2024-02-30",
    "10000-01-01",
    "2025-13-45T25:61:61+99:00",
    "true",
    "on",
    "approved",
    "declined",
    "info_requested",
    "disbursed",
    "other",
    "park:1",
    "chamber:999999999",
    "park:99999999999",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "%00",
    "\u202etxt.exe",
    "//evil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "lpr_1y",
    "A",
    "sme",
    "admin",
]


def _junk_text() -> st.SearchStrategy[str]:
    killers = st.sampled_from(KILLERS)
    return st.one_of(
        # The known-bad values often, odd and generated ones besides.
        killers,
        killers,
        st.sampled_from(ODD),
        st.sampled_from(ODD),
        st.text(max_size=12),
        st.integers().map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.dates().map(str),
    )


JUNK = _junk_text()
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    JUNK,
)
JSON_JUNK = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(JUNK, inner, max_size=3)),
    max_leaves=8,
)
DEEP_JSON = "[" * 100_000 + "]" * 100_000


# --- the world --------------------------------------------------------------------------


@dataclass
class World:
    """Real ids per path argument, a logged-in client per role and the bank's token."""

    ids: dict[str, list[Any]]
    clients: dict[str, Any]
    token: str
    forms: dict[str, list[Form]] = field(default_factory=dict)
    #: The session cookie each signed-in role got when it signed in.
    sessions: dict[str, str] = field(default_factory=dict)


@dataclass
class Form:
    """A form found on a page: where it goes, how, and what the page filled in."""

    action: str
    method: str
    fields: dict[str, list[str]]
    endpoint: str = ""


class _FormParser(HTMLParser):
    """Collect the forms of a page with their inputs, selects and textareas."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_path
            self._form = Form(action, (a.get("method") or "get").upper(), {})
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form.fields.setdefault(name, [])
                return
            self._form.fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            self._form.fields.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            values = self._form.fields[self._select]
            if not values or "selected" in a:
                values[:] = [a.get("value", "")]
        elif tag == "textarea" and name:
            self._textarea = name
            self._form.fields[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form.fields[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _allowed(role: str, rule: Any) -> bool:
    blueprint = rule.endpoint.rpartition(".")[0]
    if role == "anonymous":
        return True
    if blueprint == "auth" or rule.endpoint == "static":
        # Signing in or out would change the client's user; the anonymous role covers them.
        return False
    return blueprint in PUBLIC_BLUEPRINTS or blueprint in OWN_BLUEPRINTS[role]


@pytest.fixture
def fuzz_world(
    app,
    db_session,
    batch_world,
    submitted_batch,
    create_enterprise,
    create_user,
    grant_consent,
    screened_application,
):
    """A referral loop, a draft, batches, and one logged-in client per role."""
    from finportal.models import (
        AuditEvent,
        Holiday,
        Job,
        Match,
        ModelVersion,
        Notification,
        ReferenceRate,
    )
    from finportal.services import (
        api_tokens,
        bank_actions,
        batch_recommendations,
        batches,
        review_actions,
    )
    from finportal.services.workdays import today_local
    from tests.helpers import PASSWORD

    w = batch_world
    enterprise = create_enterprise(name="上海模糊测试科技有限公司")
    application = screened_application(enterprise)
    consent = grant_consent(application, w.bank)
    review_actions.claim(db_session, application.id, actor_id=w.advisor.id)
    match = db_session.query(Match).filter_by(application_id=application.id, eligible=True).first()
    # Packets are not rendered (slow): their routes answer "not ready", which is enough here.
    (referral,) = review_actions.refer_to_banks(
        db_session,
        application.id,
        actor_id=w.advisor.id,
        referrals=[(w.bank.id, match.product_version_id)],
        opinion="经营稳定。",
        render=False,
    )
    in_review = screened_application(enterprise)
    review_actions.claim(db_session, in_review.id, actor_id=w.advisor.id)
    approved_app = screened_application(enterprise)
    grant_consent(approved_app, w.bank)
    review_actions.claim(db_session, approved_app.id, actor_id=w.advisor.id)
    (approved,) = review_actions.refer_to_banks(
        db_session,
        approved_app.id,
        actor_id=w.advisor.id,
        referrals=[(w.bank.id, match.product_version_id)],
        opinion="经营稳定。",
        render=False,
    )
    bank_actions.record_decision(
        db_session,
        approved.id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        decision="approved",
        approved_amount=Decimal("1000000"),
        annual_rate=Decimal("0.035"),
        term_months=12,
    )
    bank_actions.record_outcome(
        db_session,
        approved.id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        event="disbursed",
        occurred_on=today_local(),
        amount=Decimal("1000000"),
    )
    returned = screened_application(enterprise)
    review_actions.claim(db_session, returned.id, actor_id=w.advisor.id)
    review_actions.return_for_information(
        db_session,
        returned.id,
        actor_id=w.advisor.id,
        message="请补充上年营业收入。",
        fields=["revenue_last_year", "amount"],
    )
    declined_app = screened_application(enterprise)
    grant_consent(declined_app, w.bank)
    review_actions.claim(db_session, declined_app.id, actor_id=w.advisor.id)
    (declined,) = review_actions.refer_to_banks(
        db_session,
        declined_app.id,
        actor_id=w.advisor.id,
        referrals=[(w.bank.id, match.product_version_id)],
        opinion="经营稳定。",
        render=False,
    )
    bank_actions.record_decision(
        db_session,
        declined.id,
        bank_id=w.bank.id,
        actor_id=w.bank_user.id,
        decision="declined",
        reason_code="other",
        reason_text="额度已满。",
    )
    screened = screened_application(enterprise)
    draft = screened_application(enterprise)
    draft.state = "draft"
    sme = create_user("sme", enterprise_id=enterprise.id)
    admin = create_user("admin")
    db_session.add(
        Notification(enterprise_id=enterprise.id, kind="status", title_zh="测试消息", link="/sme/")
    )
    db_session.add(Holiday(day=date.today() + timedelta(days=30), name="测试假日"))
    job = Job(
        id=str(uuid.uuid4()),
        kind="render_packet",
        state="done",
        args={},
        object_type="referral",
        object_id=referral.id,
    )
    db_session.add(job)
    db_session.add(
        ReferenceRate(kind="lpr_1y", annual_rate=Decimal("0.03"), effective_on=date(2001, 1, 1))
    )
    db_session.commit()
    reopened = batches.create_batch(
        db_session,
        actor_id=w.advisor.id,
        name="第二批",
        bank_id=w.bank.id,
        quota_total=Decimal("5000000"),
        park_id=w.park.id,
    )
    batch_recommendations.recommend_member(
        db_session,
        batch_id=reopened.id,
        enterprise_id=w.members[0].id,
        actor_id=w.recommender.id,
        requested_amount="1000000",
    )
    token_row, token = api_tokens.create_token(
        db_session, bank_id=w.bank.id, actor_id=admin.id, label="fuzz"
    )
    db_session.refresh(referral)

    def first(model: Any) -> int:
        return db_session.query(model.id).order_by(model.id).first()[0]

    # issue 15: the advisor is the centre's head (the board and the reports have forms), and
    # a complaint of the firm, given to the advisor, and a draft public report.
    from finportal.domain.permissions import Actor
    from finportal.services import complaint_analysis, complaints

    w.advisor.duty = "head"
    db_session.commit()
    complaint = complaints.raise_complaint(
        db_session,
        actor=Actor.of(sme),
        kind="complaint",
        about="bank",
        theme="fees",
        title="收费",
        body="收费不清楚。",
        bank_id=w.bank.id,
    )
    complaints.acknowledge(db_session, complaint.id, actor=Actor.of(w.advisor))
    complaints.answer(db_session, complaint.id, actor=Actor.of(w.advisor), text="已核实。")
    report = complaint_analysis.prepare_report(
        db_session, actor=Actor.of(w.advisor), start=date(2026, 1, 1), end=date(2026, 12, 31)
    )

    ids: dict[str, list[Any]] = {
        "application_id": [
            application.id,
            in_review.id,
            draft.id,
            returned.id,
            approved_app.id,
            declined_app.id,
            screened.id,
        ],
        "referral_id": [referral.id, approved.id],
        "batch_id": [submitted_batch.id, reopened.id],
        "member_id": sorted(m.id for b in (submitted_batch, reopened) for m in b.members),
        "match_id": [match.id],
        "consent_id": [consent.id],
        "notification_id": [first(Notification)],
        "rate_id": [first(ReferenceRate)],
        "holiday_id": [first(Holiday)],
        "token_id": [token_row.id],
        "user_id": [sme.id, w.advisor.id],
        "org_id": [w.bank.id, w.park.id],
        "model_id": [first(ModelVersion)],
        "job_id": [job.id],
        "code": ["ip_pledge", "X7KQ-M2XD-9PHA", "en", "zh_CN"],
        "kind": ["bank", "park", "chamber"],
        "key": ["funnel", "approval_by_bank"],
        "filename": ["app.css"],
        "complaint_id": [complaint.id],
        "report_id": [report.id],
    }
    assert db_session.query(AuditEvent).count() > 0
    users = {
        "sme": sme,
        "advisor": w.advisor,
        "recommender": w.recommender,
        "bank": w.bank_user,
        "admin": admin,
    }
    clients = {"anonymous": app.test_client()}
    sessions = {}
    for role, user in users.items():
        client = app.test_client()
        response = _open(
            app, client, "/auth/login", data={"username": user.username, "password": PASSWORD}
        )
        assert response.status_code == 302, (role, response.status_code)
        clients[role] = client
        sessions[role] = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).decoded_value
    world = World(ids=ids, clients=clients, token=token, sessions=sessions)
    world.forms = {role: _crawl(app, world, role) for role in ROLES}
    return world


def _open(app: Any, client: Any, url: str, method: str = "POST", **kwargs: Any) -> Any:
    """Send a request in an app context of its own: Flask-Login keeps the user in ``g``,
    which would otherwise be shared by every client of the test's app context."""
    with app.app_context():
        return client.open(url, method=method, **kwargs)


def _new_browsers(app: Any, world: World) -> None:
    """Give every role a new client that holds nothing but the session of its sign-in.

    A client keeps what earlier requests left in its cookies (the language, messages, a
    sign-in made with generated data), so without this an example would start where the
    one before it stopped, and Hypothesis could not replay what it found.
    """
    cookie = app.config["SESSION_COOKIE_NAME"]
    for role in ROLES:
        client = app.test_client()
        if role in world.sessions:
            client.set_cookie(cookie, world.sessions[role])
        world.clients[role] = client


def _real_paths(rule: Any, ids: dict[str, list[Any]]) -> list[str]:
    """Paths of a rule with real ids: each value of each argument, the others at their first."""
    if any(name not in ids for name in rule.arguments):
        return []
    first = {name: ids[name][0] for name in rule.arguments}
    paths = [_fill(rule.rule, first)]
    for name in sorted(rule.arguments):
        for value in ids[name][1:]:
            paths.append(_fill(rule.rule, {**first, name: value}))
    return paths


def _fill(pattern: str, values: dict[str, Any]) -> str:
    def sub(m: re.Match[str]) -> str:
        return quote(str(values[m.group(1)]), safe="")

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", sub, pattern)


def _crawl(app: Any, world: World, role: str) -> list[Form]:
    """Open every page of the role (real ids) and return the forms found on them."""
    client = world.clients[role]
    adapter = app.url_map.bind("localhost")
    forms: list[Form] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not _allowed(role, rule) or rule.endpoint == "static":
            continue
        for path in _real_paths(rule, world.ids):
            if path.endswith((".pdf", ".xlsx", ".json")) or "/api/" in path:
                continue
            response = _open(app, client, path, "GET")
            if response.status_code == 200 and response.mimetype == "text/html":
                parser = _FormParser(path)
                parser.feed(response.text)
                forms.extend(parser.forms)
    found: dict[tuple[str, str, str], Form] = {}
    for form in forms:
        try:
            endpoint, _ = adapter.match(urlsplit(form.action).path, method=form.method)
        except Exception:  # noqa: BLE001, S112 - a link outside the app
            continue
        form.endpoint = endpoint
        key = (form.action, form.method, ",".join(sorted(form.fields)))
        found.setdefault(key, form)
    return list(found.values())


# --- generating one request -----------------------------------------------------------------


def _path_value(name: str, converter: str, ids: dict[str, list[Any]]) -> st.SearchStrategy[str]:
    real = st.sampled_from([str(v) for v in ids.get(name, [])] or ["1"])
    if converter == "IntegerConverter":
        junk = st.one_of(
            st.integers(min_value=0, max_value=10**30).map(str),
            st.sampled_from(["0", "2147483647", "2147483648", "9223372036854775808", "9" * 40]),
        )
    else:
        junk = st.one_of(JUNK.filter(bool), st.text(min_size=1, max_size=300))
    return st.one_of(real, real, junk)


def _form_values(form: Form | None) -> st.SearchStrategy[dict[str, list[str]]]:
    """Start from the page's form and replace, drop or add fields."""
    base = {k: list(v) for k, v in (form.fields if form else {}).items() if k != "csrf_token"}

    @st.composite
    def build(draw: Any) -> dict[str, list[str]]:
        out = {k: list(v) for k, v in base.items()}
        for key in list(out):
            choice = draw(st.integers(min_value=0, max_value=5))
            if choice == 0:
                del out[key]
            elif choice <= 2:
                out[key] = draw(st.lists(JUNK, min_size=1, max_size=2))
        extra = draw(st.dictionaries(JUNK, st.lists(JUNK, min_size=1, max_size=2), max_size=2))
        out.update(extra)
        return out

    return build()


def _send(app: Any, world: World, role: str, method: str, url: str, kind: str, body: Any) -> Any:
    """Send one request inside a savepoint that is rolled back afterwards."""
    from finportal.extensions import db

    client = world.clients[role]
    headers = {}
    if url.startswith("/api/") and role == "bank":
        headers["Authorization"] = f"Bearer {world.token}"
    # The test's own session would hold a savepoint outside ours: end it first.
    db.session.remove()
    with undo_writes(db.test_bind):
        try:
            if kind == "json":
                return _open(
                    app,
                    client,
                    url,
                    method,
                    data=body,
                    content_type="application/json",
                    headers=headers,
                )
            if method == "GET":
                return _open(app, client, url, method, query_string=body, headers=headers)
            return _open(app, client, url, method, data=body, headers=headers)
        finally:
            db.session.remove()


def _xlsx_junk(draw: Any) -> bytes:
    """A small workbook with junk in the template's value column, or raw bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=64))
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    sheet.title = "企业信息"
    sheet.append(["字段代码", "项目", "单位", "填写值", "说明"])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(["name", "revenue_last_year", "employees", "registered_on"]))
        # openpyxl cannot write control characters; everything else goes in.
        sheet.append([name, "", "", ILLEGAL_CHARACTERS_RE.sub("", draw(JUNK)), ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def request_for(draw: Any, app: Any, world: World, role: str, rule: Any) -> tuple[Any, ...]:
    """Draw one request to ``rule`` as ``role``: method, URL, body kind and body."""
    methods = sorted(m for m in rule.methods if m in ("GET", "POST"))
    method = draw(st.sampled_from(methods))
    candidates = [
        f for f in world.forms.get(role, []) if f.endpoint == rule.endpoint and f.method == method
    ]
    form = draw(st.sampled_from(candidates)) if candidates else None
    if form is not None and draw(st.booleans()):
        url = form.action  # the page's own address, with real ids
    else:
        values = {
            name: draw(_path_value(name, type(conv).__name__, world.ids))
            for name, conv in rule._converters.items()
        }
        url = _fill(rule.rule, values) if values else rule.rule
    if url.startswith("/api/") and method == "POST":
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            return method, url, "json", DEEP_JSON
        body = draw(JSON_JUNK)
        if draw(st.booleans()):
            body = {
                "decision": draw(st.sampled_from(["approved", "declined", "info_requested"])),
                "event": "disbursed",
                "occurred_on": draw(JUNK),
                "approved_amount": draw(JSON_LEAF),
                "amount": draw(JSON_LEAF),
                "annual_rate": draw(JSON_LEAF),
                "term_months": draw(JSON_LEAF),
                "reason_code": draw(JSON_LEAF),
                "reason_text": draw(JSON_LEAF),
            }
        return method, url, "json", json.dumps(body)
    data = draw(_form_values(form))
    if method == "POST" and ("file" in data or rule.endpoint.endswith("import")):
        files = {k: v for k, v in data.items() if k != "file"}
        upload = (io.BytesIO(_xlsx_junk(draw)), draw(st.sampled_from(["a.xlsx", "b.txt", ""])))
        return method, url, "multipart", {**files, "file": upload}
    return method, url, "form", data


def _failure(
    app: Any,
    world: World,
    role: str,
    method: str,
    url: str,
    kind: str,
    body: Any,
    what: tuple[Any, ...],
) -> str | None:
    """Send one request; describe a server error (the test app raises it, a deployed one
    would answer 500), or return None."""
    try:
        response = _send(app, world, role, method, url, kind, body)
    except Exception as exc:  # noqa: BLE001 - every server error is reported with its cause
        return f"{what}: {type(exc).__name__}: {str(exc)[:300]}"
    if response.status_code >= 500:
        return f"{what}: {response.status_code} {response.text[:300]}"
    return None


def _distinct_forms(world: World) -> list[tuple[str, Form]]:
    """One form per (role, endpoint, method, field names): the same form on many rows is one.

    Public forms (signing out, the packet check) are taken once, as the anonymous visitor.
    """
    seen: dict[tuple[str, str, str, str], Form] = {}
    for role, forms in world.forms.items():
        for form in forms:
            public = form.endpoint.partition(".")[0] in {"verify", "auth"}
            if public and role != "anonymous":
                continue
            seen.setdefault((role, form.endpoint, form.method, ",".join(sorted(form.fields))), form)
    return [(key[0], form) for key, form in sorted(seen.items(), key=lambda kv: kv[0])]


def _id_failures(app: Any, fuzz_world: World) -> list[str]:
    """Each ``<int:...>`` of the url_map, beyond the 32-bit range: 404 for every role."""
    failures = []
    for role in ROLES:
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not _allowed(role, rule):
                continue
            ints = [
                n for n, c in rule._converters.items() if type(c).__name__ == "IntegerConverter"
            ]
            for name in ints:
                for big in ("2147483648", "9" * 40):
                    values = {n: fuzz_world.ids.get(n, ["x"])[0] for n in rule.arguments}
                    url = _fill(rule.rule, {**values, name: big})
                    for method in sorted(m for m in rule.methods if m in ("GET", "POST")):
                        kind = "json" if url.startswith("/api/") and method == "POST" else "form"
                        body = "{}" if kind == "json" else {}
                        what = (role, method, url)
                        try:
                            response = _send(app, fuzz_world, role, method, url, kind, body)
                        except Exception as exc:  # noqa: BLE001 - reported below
                            failures.append(f"{what}: {type(exc).__name__}: {str(exc)[:200]}")
                            continue
                        # Anonymous users are sent to sign in first; the rest must not find it.
                        expected = (
                            (302,)
                            if role == "anonymous"
                            and rule.endpoint.split(".")[0]
                            in {"sme", "advisor", "recommender", "bank", "admin", "complaints"}
                            else (404, 401)
                        )
                        if response.status_code not in expected:
                            failures.append(f"{what}: {response.status_code}")
    return failures


def test_every_form_field_and_path_id_refuses_bad_input(app, fuzz_world):
    """Each field of each form the pages offer, given each known-bad value, and each id of
    the url_map beyond the database's range: a 4xx (404 for the ids), never a 5xx."""
    # The crawl found the forms that matter, so the values reach their validation.
    actions = {(role, f.endpoint) for role, forms in fuzz_world.forms.items() for f in forms}
    for expected in (
        ("sme", "sme.profile"),
        ("sme", "sme.profile_import"),
        ("sme", "sme.new_application"),
        ("sme", "sme.withdraw_application"),
        ("sme", "sme.submit_application"),
        ("sme", "sme.resubmit_application"),
        ("sme", "sme.rate_application"),
        ("sme", "sme.matches"),
        ("advisor", "advisor.add_note"),
        ("advisor", "advisor.claim"),
        ("advisor", "advisor.reject"),
        ("advisor", "advisor.return_application"),
        ("advisor", "advisor.override_match"),
        ("advisor", "advisor.refer"),
        ("advisor", "advisor.rematch"),
        ("advisor", "advisor.create_batch"),
        ("advisor", "advisor.withdraw_member"),
        ("bank", "bank.decision"),
        ("bank", "bank.outcome"),
        ("bank", "bank.decide_member"),
        ("recommender", "recommender.recommend"),
        ("recommender", "recommender.withdraw"),
        ("admin", "admin.rates"),
        ("admin", "admin.holidays"),
        ("admin", "admin.user_new"),
        ("admin", "admin.user_edit"),
        ("admin", "admin.organisation_new"),
        ("admin", "admin.api_token_create"),
        ("admin", "admin.product_new"),
        ("admin", "admin.audit"),
        ("anonymous", "auth.register"),
        ("anonymous", "auth.login"),
    ):
        assert expected in actions, expected
    failures = []
    forms = _distinct_forms(fuzz_world)
    for role, form in forms:
        for name in sorted(form.fields):
            if name == "csrf_token":
                continue
            for value in KILLERS:
                data = {k: v for k, v in form.fields.items() if k != "csrf_token"}
                data[name] = [value]
                what = (role, form.method, form.action, name, value[:12])
                failures.append(
                    _failure(app, fuzz_world, role, form.method, form.action, "form", data, what)
                )
    failures = [f for f in failures if f] + _id_failures(app, fuzz_world)
    assert not failures, "\n".join(failures)


def test_generated_junk_never_gives_a_server_error(app, fuzz_world):
    """Generated requests (paths, queries, forms, uploads, API bodies) to every rule, every role."""
    targets = [
        (role, rule)
        for role in ROLES
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        if _allowed(role, rule) and {"GET", "POST"} & set(rule.methods)
    ]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # One example is hundreds of requests: report the first failing one as it is,
        # without shrinking (which would replay them many times).
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        # Print the @reproduce_failure line of a failing example (each example starts from
        # the same state, so its draws replay it).
        print_blob=True,
    )
    @given(data=st.data())
    def run(data: Any) -> None:
        _new_browsers(app, fuzz_world)
        language = data.draw(st.sampled_from(LOCALES), label="language")
        for role in ROLES:
            switched = _send(app, fuzz_world, role, "GET", f"/lang/{language}", "form", {})
            assert switched.status_code == 302, (role, language, switched.status_code)
        for role, rule in targets:
            method, url, kind, body = data.draw(
                request_for(app, fuzz_world, role, rule), label=f"{role} {rule.rule}"
            )
            response = _send(app, fuzz_world, role, method, url, kind, body)
            assert response.status_code < 500, (role, method, url, body, response.text[:500])

    run()
