"""Every page of every role reads in English when the user switches to English.

The demo data (``finportal.demo.load_demo``: 220 enterprises, applications, referrals
and batches in every state, packets, jobs) is loaded; each role's demo user signs in,
switches to English (``/lang/en``) and opens every GET route of the url_map that belongs
to the role, plus the public pages. A route with ids in its URL is opened once per state
of its records (one application in each state, one referral in each state...), with ids
the role may see, so the forms and notes of each state are rendered. Non-HTML answers
(PDF, Excel, JSON) are not checked. Any CJK character (ideographs, CJK punctuation and
full-width forms) left on a page, outside user data, is reported.

What counts as user data, and is removed from the page before the check:

- the values of the database columns that hold what people typed or named: enterprise
  names, users' display names and usernames, reasons, notes, opinions, comments,
  messages, file names, batch names, holiday names, model names, token labels, the
  source notes of rates and organisations, the free-text part of a loan purpose, audit
  reasons (:data:`DATA_COLUMNS`);
- the Chinese name of a bank, park, chamber or product that has no English name;
- the catalogue's ``source`` citations (policy documents are cited in their own words)
  and official document numbers such as ``工信部联企业〔2011〕300号``
  (:data:`DOCUMENT_NUMBER`), which are names;
- text inside an element marked ``lang="zh-CN"`` (the "中文" language switch): Chinese
  on purpose.

Everything else on the page is UI text and must come from the English catalogue, the
state machines, the field definitions or the English names of records.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import func, select

from finportal.demo import DEFAULT_PASSWORD, load_demo

pytestmark = pytest.mark.slow

#: One CJK character: ideographs, CJK symbols and punctuation, full-width forms.
CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
#: A run of text with CJK in it, for the report.
CJK_RUN = re.compile(
    '[^<>"\n]{0,30}[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]'
    '[^<>"\n]{0,30}'
)
#: An official document number (发文字号), e.g. 工信部联企业〔2011〕300号, 沪科〔2025〕212号.
DOCUMENT_NUMBER = re.compile("[\u4e00-\u9fff]{1,12}〔\\d{4}〕\\d+号")
#: An element whose content is Chinese on purpose.
CHINESE_ELEMENT = re.compile(r"<(\w+)[^>]*\blang=\"zh-CN\"[^>]*>.*?</\1>", re.S)

#: (model, column) pairs whose values are user data (see the module docstring).
DATA_COLUMNS = {
    "Enterprise": ["name"],
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
    "AuditEvent": ["reason"],
    "Holiday": ["name"],
    "ReferenceRate": ["source"],
    "Park": ["source"],
    "Chamber": ["source"],
    "ModelVersion": ["name"],
    "ApiToken": ["label"],
    "Invitation": ["note"],
}
ROLES = ("sme", "advisor", "recommender", "bank", "admin")
ROLE_PREFIX = {role: f"/{role}/" for role in ROLES}
PUBLIC_PATHS = ("/", "/auth/login", "/auth/register", "/products/", "/verify/")


def _data_strings(session: Any) -> set[str]:
    """Collect the user data of the database (see the module docstring)."""
    import finportal.models as models
    from products.catalog import load_catalog

    found: set[str] = set()
    for model_name, columns in DATA_COLUMNS.items():
        model = getattr(models, model_name)
        for column in columns:
            for value in session.scalars(select(getattr(model, column))):
                if value:
                    found.add(str(value))
                    # A loan purpose is stored as "code:what the user typed".
                    found.update(part for part in str(value).split(":")[1:] if part)
    for model in (models.Bank, models.Park, models.Chamber, models.Product):
        for name_zh, name_en in session.execute(select(model.name_zh, model.name_en)):
            if not (name_en or "").strip():
                found.add(name_zh)
    found.update(_sources(load_catalog()))
    return {s.strip() for s in found if s and CJK.search(s)}


def _sources(value: Any) -> Iterable[str]:
    """Yield every ``source`` text of the catalogue (nested anywhere in its data)."""
    if hasattr(value, "__dict__") and not isinstance(value, type):
        value = vars(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "source" and isinstance(item, str):
                yield item
            else:
                yield from _sources(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _sources(item)


class Checker:
    """Strip user data from pages and collect the CJK text left."""

    def __init__(self, data: set[str]) -> None:
        ordered = sorted(data, key=len, reverse=True)
        self.data = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None
        self.problems: dict[str, set[str]] = {}

    def leftover(self, page: str) -> list[str]:
        """Return the CJK runs of a page that are not user data."""
        text = CHINESE_ELEMENT.sub("", page)
        text = html.unescape(text)
        if self.data is not None:
            text = self.data.sub("\x00", text)
        text = DOCUMENT_NUMBER.sub("\x00", text)
        return [m.group(0).strip() for m in CJK_RUN.finditer(text)]

    def check(self, where: str, response: Any) -> None:
        """Record the CJK text of an HTML answer."""
        if response.mimetype != "text/html":
            return
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
            where = [m.Batch.park_id == user.park_id]
        else:
            where = []
        return _one_per_state(session, m.Batch, *where)
    if name == "model_id":
        return list(session.scalars(select(m.ModelVersion.id).order_by(m.ModelVersion.id)))
    if name == "user_id":
        query = select(func.min(m.User.id)).group_by(m.User.role).order_by(m.User.role)
        return list(session.scalars(query))
    if name == "code":
        return list(session.scalars(select(m.Product.code).order_by(m.Product.code)))
    if name == "job_id":
        query = select(m.Job.kind, func.min(m.Job.id)).group_by(m.Job.kind).order_by(m.Job.kind)
        return [job_id for _kind, job_id in session.execute(query)]
    return []


def _urls(app: Any, session: Any, role: str, user: Any) -> Iterable[str]:
    """Yield the URL of every GET page of ``role`` (one per record kind where ids are needed)."""
    import finportal.models as m

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith(ROLE_PREFIX[role]):
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


def test_every_page_of_every_role_reads_in_english(app, client, db_session):
    import finportal.models as m
    from finportal.services import accounts

    load_demo(db_session)
    users = {
        role: db_session.scalar(select(m.User).where(m.User.username == f"demo-{role}"))
        for role in ROLES
    }
    _invitation, token = accounts.invite_colleague(
        db_session,
        actor_id=users["sme"].id,
        enterprise_id=users["sme"].enterprise_id,
        note="新同事",
    )
    checker = Checker(_data_strings(db_session))
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

    for role in ROLES:
        _sign_in(client, role)
        for url in _urls(app, db_session, role, users[role]):
            response = client.get(url)
            assert response.status_code < 500, (role, url, response.status_code)
            if response.status_code == 200:
                checker.check(f"{role} {url}", response)
                opened += 1
    assert opened >= 60
    assert not checker.problems, (
        f"{checker.count} Chinese strings on English pages:\n{checker.report()}"
    )
