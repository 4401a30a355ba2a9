"""Every page of every role reads in English when the user switches to English.

The demo data (``finportal.demo.load_demo``: 220 enterprises, applications, referrals
and batches in every state, packets, jobs) is loaded; each role's demo user signs in,
switches to English (``/lang/en``) and opens every GET route of the url_map that belongs
to the role, plus the public pages. A route with ids in its URL is opened once per state
of its records (one application in each state, one referral in each state...), with ids
the role may see, so the forms and notes of each state are rendered. Non-HTML answers
(PDF, Excel, JSON) are not checked. Any CJK character (ideographs, CJK punctuation and
full-width forms) left on a page, outside user data, is reported.

What counts as user data, and is removed from the page before the check (the test's
one definition, applied to every page):

- the values of the database columns that hold what people typed or named: enterprise
  names, users' display names and usernames, reasons, notes, opinions, comments,
  messages, file names, batch names, holiday names, model names, token labels, the
  source notes of rates and organisations, the free-text part of a loan purpose, audit
  reasons (:data:`DATA_COLUMNS`), and the Chinese body of a notification without an
  English one (it is the reason a person gave for a step), read again before each
  check (opening a page or posting a form may record an event);
- the Chinese name of a bank, park, chamber or product that has no English name, and
  enterprise names as the public verification page masks them;
- the product catalogue as its admins write it: the ``source`` citations (policy
  documents are cited in their own words) and the English texts (names, descriptions,
  conditions, notes), which may quote a Chinese term ("First loan (首贷)");
- citations of Chinese official documents, which are names: a document number
  (``工信部联企业〔2011〕300号``), a title in book marks (``《中小企业划型标准规定》``)
  and an article (``第四条（十二）``) (:data:`CITATION`);
- what a form field holds for editing (``<textarea>``) and documents shown as stored
  (``<pre>``: a product's YAML, a model card's Markdown);
- text inside an element marked ``lang="zh-CN"``, and ``<input lang="zh-CN">``: Chinese
  on purpose (the "中文" language switch, an organisation's Chinese name in the admin's
  list and form).

Everything else on the page is UI text and must come from the English catalogue, the
state machines, the field definitions or the English names of records.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import re
from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD
from products.sources import public_source, split_citations

pytestmark = pytest.mark.slow

#: One CJK character: ideographs, CJK symbols and punctuation, full-width forms.
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
#: A run of text with CJK in it, for the report.
CJK_RUN = re.compile(
    '[^<>"\n]{0,30}[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]'
    '[^<>"\n]{0,30}'
)
#: A citation of a Chinese official document, kept in its own words: a document number
#: (发文字号: 工信部联企业〔2011〕300号), a title in book marks (《中小企业划型标准规定》) and an
#: article (第四条（十二）).
CITATION = re.compile(
    "[\u4e00-\u9fff]{1,12}〔\\d{4}〕\\d+号"
    "|《[^《》]{1,60}》"
    "|第[一二三四五六七八九十百\\d]+条(?:（[一二三四五六七八九十\\d]+）)?"
)
#: An element whose content is Chinese on purpose, or a Chinese input.
CHINESE_ELEMENT = re.compile(
    r"<(\w+)[^>]*\blang=\"zh-CN\"[^>]*>.*?</\1>|<input[^>]*\blang=\"zh-CN\"[^>]*>", re.S
)
#: Form fields and stored documents shown as they are.
VERBATIM = re.compile(r"<(textarea|pre)\b[^>]*>.*?</\1>", re.S)

#: (model, column) pairs whose values are user data (see the module docstring).
DATA_COLUMNS = {
    "Enterprise": ["name", "legal_representative"],
    "User": ["display_name", "username"],
    "Application": ["purpose", "reject_reason_text"],
    "Match": ["override_reason"],
    "ApplicationNote": ["body"],
    "Rating": ["comment"],
    "Batch": ["name"],
    "BatchMember": ["note", "reason_text"],
    "Referral": ["advisor_opinion"],
    "BankDecision": ["reason_text"],
    "VerificationRequest": ["message", "decision_note"],
    "Document": ["filename"],
    "DataImport": ["filename"],  # issue 14: an uploaded exchange file's name
    "AuditEvent": ["reason"],
    "Holiday": ["name"],
    "ReferenceRate": ["source"],
    "Park": ["source"],
    "Chamber": ["source"],
    "ModelVersion": ["name"],
    "ApiToken": ["label"],
    "Invitation": ["note"],
    # issue 15: what complainants and advisors wrote
    "Complaint": ["title", "body", "answer", "rating_comment", "reopen_reason", "first_answer"],
}
ROLES = ("sme", "advisor", "recommender", "bank", "admin")
#: Who walks: a demo user of each role, and the centre's head (demo-head: an advisor whose
#: duty opens the assignment board and the public reports; issue 15).
WALKERS = (*ROLES, "head")
ROLE_PREFIX = {**{role: f"/{role}/" for role in ROLES}, "head": "/advisor/"}
#: Pages of every signed-in user, walked by each (issue 15: complaints and suggestions).
SHARED_PREFIXES = ("/complaints/",)
PUBLIC_PATHS = ("/", "/auth/login", "/auth/register", "/products/", "/verify/", "/ratings")


def _data_strings(session: Any) -> set[str]:
    """Collect the user data of the database (see the module docstring)."""
    import finportal.models as models
    from finportal.services.packet_verification import mask_name

    found: set[str] = set()
    for model_name, columns in DATA_COLUMNS.items():
        model = getattr(models, model_name)
        for column in columns:
            for value in session.scalars(select(getattr(model, column))):
                if value:
                    found.add(str(value))
                    # A loan purpose is stored as "code:what the user typed".
                    found.update(part for part in str(value).split(":")[1:] if part)
    found.update(
        session.scalars(
            select(models.Notification.body_zh).where(models.Notification.body_en == "")
        )
    )
    for model in (models.Bank, models.Park, models.Chamber, models.Product):
        for name_zh, name_en in session.execute(select(model.name_zh, model.name_en)):
            if not (name_en or "").strip():
                found.add(name_zh)
    found.update(mask_name(name) for name in session.scalars(select(models.Enterprise.name)))
    found.update(_catalogue_strings())
    return {s.strip() for s in found if s and CJK.search(s)}


@functools.cache
def _catalogue_strings() -> frozenset[str]:
    """The catalogue's texts (its files, which no request changes: read once)."""
    from products.catalog import load_catalog

    return frozenset(_catalogue_texts(list(load_catalog())))


def _catalogue_texts(value: Any) -> Iterable[str]:
    """Yield every ``source`` and English (``*_en``) text of the catalogue, nested anywhere."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if key == "source" or str(key).endswith("_en"):
                    yield item
                if key == "source":  # as pages show it: each citation without notes
                    yield from (public_source(c) for c in split_citations(item))
            else:
                yield from _catalogue_texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _catalogue_texts(item)


class Checker:
    """Strip user data from pages and collect the CJK text left."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.data: re.Pattern[str] | None = None
        self.strings: set[str] | None = None
        self.problems: dict[str, set[str]] = {}

    def refresh(self) -> None:
        """Read the user data again (a request may have recorded some)."""
        strings = _data_strings(self.session)
        if strings == self.strings:
            return
        self.strings = strings
        ordered = sorted(strings, key=len, reverse=True)
        self.data = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def leftover(self, page: str) -> list[str]:
        """Return the CJK runs of a page that are not user data."""
        text = VERBATIM.sub("", CHINESE_ELEMENT.sub("", page))
        text = html.unescape(text)
        if self.data is not None:
            text = self.data.sub("\x00", text)
        text = CITATION.sub("\x00", text)
        return [m.group(0).strip() for m in CJK_RUN.finditer(text)]

    def check(self, where: str, response: Any) -> None:
        """Record the CJK text of an HTML answer."""
        if response.mimetype != "text/html":
            return
        self.refresh()
        runs = self.leftover(response.get_data(as_text=True))
        if runs:
            self.problems.setdefault(where, set()).update(runs)

    def report(self) -> str:
        lines = []
        for where, runs in sorted(self.problems.items()):
            lines.append(f"{where}:")
            lines.extend(f"    {run!r}" for run in sorted(runs))
        return "\n".join(lines)

    @property
    def count(self) -> int:
        """Return how many distinct Chinese strings were found, over all pages."""
        return len({run for runs in self.problems.values() for run in runs})


def _one_per_state(session: Any, model: Any, *where: Any) -> list[int]:
    """Return the smallest id of each state of ``model``'s rows matching ``where``."""
    query = select(func.min(model.id)).where(*where).group_by(model.state).order_by(model.state)
    return [i for i in session.scalars(query) if i is not None]


def _ids(session: Any, role: str, user: Any, name: str) -> list[Any]:
    """Return the ids of one URL variable that ``user`` may open, one per kind of record."""
    import finportal.models as m

    if name == "application_id":
        where = [m.Application.enterprise_id == user.enterprise_id] if role == "sme" else []
        return _one_per_state(session, m.Application, *where)
    if name == "referral_id":
        return _one_per_state(session, m.Referral, m.Referral.bank_id == user.bank_id)
    if name == "batch_id":
        if role == "bank":
            where = [m.Batch.bank_id == user.bank_id]
        elif role == "recommender":
            where = [m.Batch.park_id == user.park_id, m.Batch.chamber_id == user.chamber_id]
            where = [where[0] if user.park_id else where[1]]
        else:
            where = []
        return _one_per_state(session, m.Batch, *where)
    if name == "need_id":  # demand board (issue 15)
        if role == "sme":
            where = [m.Need.enterprise_id == user.enterprise_id]
        elif role == "bank":
            where = [
                m.Need.id.in_(
                    select(m.NeedClaim.need_id).where(m.NeedClaim.bank_id == user.bank_id)
                )
            ]
        else:
            where = []
        return _one_per_state(session, m.Need, *where)
    if name == "user_id":
        # Other users than the admin who walks: a reset or a deactivation must not sign
        # the walker out.
        query = (
            select(func.min(m.User.id))
            .where(m.User.id != user.id)
            .group_by(m.User.role)
            .order_by(m.User.role)
        )
        return list(session.scalars(query))
    if name == "code":
        return list(session.scalars(select(m.Product.code).order_by(m.Product.code)))
    if name == "complaint_id":
        from finportal.domain.permissions import Actor, complaints_seen

        return _one_per_state(session, m.Complaint, complaints_seen(Actor.of(user)))
    if name == "report_id":
        return list(
            session.scalars(
                select(func.min(m.PublishedReport.id)).group_by(m.PublishedReport.state)
            )
        )
    if name == "import_id":  # issue 14: a public-data import of each outcome
        return _one_per_state(session, m.DataImport)
    if name == "job_id":
        query = select(m.Job.kind, func.min(m.Job.id)).group_by(m.Job.kind).order_by(m.Job.kind)
        return [job_id for _kind, job_id in session.execute(query)]
    owned = {
        "consent_id": (m.Consent, m.Consent.enterprise_id == user.enterprise_id),
        "notification_id": (m.Notification, m.Notification.enterprise_id == user.enterprise_id),
        "invitation_id": (m.Invitation, m.Invitation.enterprise_id == user.enterprise_id),
        "request_id": (m.VerificationRequest, m.VerificationRequest.id.is_not(None)),
        "model_id": (m.ModelVersion, m.ModelVersion.id.is_not(None)),
        "token_id": (m.ApiToken, m.ApiToken.id.is_not(None)),
        "holiday_id": (m.Holiday, m.Holiday.id.is_not(None)),
        "rate_id": (m.ReferenceRate, m.ReferenceRate.id.is_not(None)),
        "draft_id": (m.ProductDraft, m.ProductDraft.id.is_not(None)),  # wip-13p
    }
    if name in owned:
        model, where = owned[name]
        limit = None if name == "model_id" else 1
        return list(session.scalars(select(model.id).where(where).order_by(model.id).limit(limit)))
    return []


def _children(session: Any, parents: list[int], model: Any, parent: Any) -> list[tuple[int, int]]:
    """Return (parent id, first child id) for each parent that has a child."""
    pairs = []
    for parent_id in parents:
        child = session.scalar(select(func.min(model.id)).where(parent == parent_id))
        if child is not None:
            pairs.append((parent_id, child))
    return pairs


def _urls(
    app: Any, session: Any, role: str, user: Any, method: str = "GET", prefix: str = ""
) -> Iterable[str]:
    """Yield the URL of every ``method`` route of ``role`` (one per record kind where ids
    are needed)."""
    import finportal.models as m

    prefix = prefix or ROLE_PREFIX[role]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if method not in (rule.methods or ()) or not rule.rule.startswith(prefix):
            continue
        names = sorted(rule.arguments)
        if not names:
            yield rule.rule
        elif names == ["kind", "org_id"]:
            for kind, model in (("bank", m.Bank), ("park", m.Park), ("chamber", m.Chamber)):
                org_id = session.scalar(select(func.min(model.id)))
                if org_id is not None:
                    yield rule.build({"kind": kind, "org_id": org_id})[1]
        elif names == ["kind"]:
            for kind in ("bank", "park", "chamber"):
                yield rule.build({"kind": kind})[1]
        elif names == ["application_id", "match_id"]:
            apps = _ids(session, role, user, "application_id")
            for app_id, match_id in _children(session, apps, m.Match, m.Match.application_id):
                yield rule.build({"application_id": app_id, "match_id": match_id})[1]
        elif names == ["batch_id", "member_id"]:
            batches = _ids(session, role, user, "batch_id")
            for batch_id, member_id in _children(
                session, batches, m.BatchMember, m.BatchMember.batch_id
            ):
                yield rule.build({"batch_id": batch_id, "member_id": member_id})[1]
        elif len(names) == 1:
            for value in _ids(session, role, user, names[0]):
                yield rule.build({names[0]: value})[1]


def _sign_in(client: Any, role: str) -> None:
    client.post("/auth/logout")
    response = client.post(
        "/auth/login", data={"username": f"demo-{role}", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302, role
    assert client.get("/lang/en").status_code == 302


@pytest.mark.demo
def test_every_page_of_every_role_reads_in_english(app, client, db_session):
    import finportal.models as m
    from finportal.services import accounts

    users = {
        role: db_session.scalar(select(m.User).where(m.User.username == f"demo-{role}"))
        for role in WALKERS
    }
    _invitation, token = accounts.invite_colleague(
        db_session,
        actor_id=users["sme"].id,
        enterprise_id=users["sme"].enterprise_id,
        note="新同事",
    )
    # wip-13p: a product draft awaiting a second admin, so its page (and what-if) is read
    from finportal.services import admin_products, publishing

    ip = admin_products.get_product(db_session, "ip_pledge").current_version.content
    publishing.draft_product(
        db_session,
        admin_products.product_yaml({**ip, "description_zh": ip["description_zh"] + "（修订）"}),
        actor_id=users["admin"].id,
        expected_code="ip_pledge",
    )
    checker = Checker(db_session)
    opened = 0

    client.get("/lang/en")
    codes = list(db_session.scalars(select(m.Packet.verification_code).order_by(m.Packet.id)))
    products = list(db_session.scalars(select(m.Product.code).order_by(m.Product.code)))
    public = [
        *PUBLIC_PATHS,
        f"/auth/invite/{token}",
        *(f"/verify/{c}" for c in codes[:3]),
        *(f"/products/{code}" for code in products),
    ]
    for path in public:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        checker.check(f"public {path}", response)
        opened += 1

    for role in WALKERS:
        _sign_in(client, role)
        shared = [
            u for p in SHARED_PREFIXES for u in _urls(app, db_session, role, users[role], prefix=p)
        ]
        for url in [*_urls(app, db_session, role, users[role]), *shared]:
            response = client.get(url)
            assert response.status_code < 500, (role, url, response.status_code)
            if response.status_code == 200:
                checker.check(f"{role} {url}", response)
                opened += 1
    assert opened >= 60
    assert not checker.problems, (
        f"{checker.count} Chinese strings on English pages:\n{checker.report()}"
    )


#: Form fields of every form, each given a value no form accepts ("x" is no number, no
#: date, no choice, no id, no YAML mapping, and too short for a code or a password).
JUNK_FIELDS = [
    # issue 15: complaints, assignment and the public report
    "about",
    "advisor_id",
    "answer",
    "end",
    "product_id",
    "start",
    "theme",
    "title",
    "action",
    "amount",
    "amount_wan",
    "annual_rate_pct",
    "approved_amount_wan",
    "active",
    "bank_id",
    "banks",
    "batch_id",
    "body",
    "chamber_id",
    "code",
    "comment",
    "consent_bank_ids",
    "consent_valid_until",
    "content",
    "current_password",
    "day",
    "decision",
    "demo",
    "display_name",
    "effective_on",
    "eligible",
    "enterprise_id",
    "enterprise_name",
    "enterprise_uscc",
    "event",
    "fields",
    "idempotency_key",
    "is_workday",
    "kind",
    "label",
    "lock_version",
    "message",
    "name",
    "name_en",
    "name_zh",
    "new_password",
    "new_password_confirm",
    "note",
    "occurred_on",
    "opinion",
    "organiser",
    "park_id",
    "password",
    "password_confirm",
    "product_code",
    "purpose",
    "purpose_note",
    "quota_wan",
    "rate_percent",
    "reason",
    "reason_code",
    "reason_text",
    "requested_amount_wan",
    "role",
    "sha256",
    "source",
    "stars",
    "term_months",
    "username",
    "uscc",
    "year",
]


def _junk() -> dict[str, str]:
    from finportal.domain import fields as profile_fields

    return {name: "x" for name in (*JUNK_FIELDS, *profile_fields.fields())}


@pytest.mark.demo
def test_every_form_answers_in_english(app, client, db_session):
    """Every form of every role, posted empty and with values it refuses, answers in English.

    Each POST route of a role (with real ids, as above; the walking admin never resets or
    deactivates itself) is posted twice: empty, and with "x" in every field any form has.
    The answer is followed through its redirect and checked like a page: the form shown
    again with its messages beside the fields, or the page the flashed message (a
    refusal, or the success of an action that needs no field) is shown on. User data is
    the same as in :func:`test_every_page_of_every_role_reads_in_english`.
    """
    import finportal.models as m

    users = {
        role: db_session.scalar(select(m.User).where(m.User.username == f"demo-{role}"))
        for role in WALKERS
    }
    junk = _junk()
    checker = Checker(db_session)
    posted = 0

    client.get("/lang/en")
    code = db_session.scalar(select(m.Packet.verification_code).order_by(m.Packet.id).limit(1))
    for path in ("/auth/login", "/auth/register", f"/verify/{code}"):
        for form in ({}, junk):
            response = client.post(path, data=form, follow_redirects=True)
            assert response.status_code < 500, (path, response.status_code)
            checker.check(f"public POST {path} {'junk' if form else 'empty'}", response)
            posted += 1

    for role in WALKERS:
        _sign_in(client, role)
        shared = [
            u
            for p in SHARED_PREFIXES
            for u in _urls(app, db_session, role, users[role], "POST", prefix=p)
        ]
        urls = [*_urls(app, db_session, role, users[role], "POST"), *shared, "/auth/password"]
        for url in urls:
            for form in ({}, junk):
                response = client.post(url, data=form, follow_redirects=True)
                assert response.status_code < 500, (role, url, response.status_code)
                checker.check(f"{role} POST {url} {'junk' if form else 'empty'}", response)
                posted += 1
    assert posted >= 100
    assert not checker.problems, (
        f"{checker.count} Chinese strings on English pages:\n{checker.report()}"
    )


def test_no_view_flashes_a_chinese_literal():
    """A flashed message is ``_()`` of the catalogue or a refusal's message, never a literal.

    The page walks above only see the flashes their requests trigger; this reads every
    ``flash(...)`` of the views, so a success message added later is caught too.
    """
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "finportal" / "web"
    offences = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "flash"):
                continue
            first = node.args[0] if node.args else None
            literals = [
                n.value
                for n in ast.walk(first)
                if first is not None
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            if isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp) and any(
                CJK.search(text) for text in literals
            ):
                offences.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offences == []
