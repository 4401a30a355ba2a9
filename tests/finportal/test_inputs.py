"""Every input within its limit: ids, amounts, text, dates, JSON, uploads, exports,
redirects, the Host header and the lock version of versioned actions.

The generated junk of ``test_fuzz_inputs.py`` checks "never a 5xx" everywhere; these tests
check what the user notices for each kind of bad input: the status, the message in the
user's language, and that nothing was saved.
"""

from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from finportal import limits
from finportal.services import bank_actions
from tests.helpers import PASSWORD, pdf_text, squash

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def loop(db_session, make_loop):
    """A screened application referred to a bank (packet not rendered)."""
    from finportal.services import review_actions

    loop = make_loop(refer=False)
    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    (loop.referral,) = review_actions.refer_to_banks(
        db_session,
        loop.application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.bank.id, loop.version_id)],
        opinion="企业经营稳定。",
        render=False,
    )
    return loop


# --- one place ------------------------------------------------------------------------------


def test_every_limit_is_defined_in_the_limits_module():
    """No amount bound, id bound or text length is written anywhere but finportal/limits.py."""
    bounds = re.compile(
        r"""Decimal\(["'](1000000000|10000000000|1000000000000)["']\)"""
        r"|\b(1_000_000_000|10_000_000_000|1_000_000_000_000)\b"
        r"|2\s*\*\*\s*31"
        r"|Length\(\s*(min=\d+,\s*)?max="
        r"|(strip\(\)|\))\[:\s*(80|200|500|1000|2000|5000)\s*\]"
        r"|len\([^()]*\)\s*>=?\s*\d{2,}"
    )
    offenders = []
    for path in sorted((ROOT / "finportal").rglob("*.py")):
        if path.name == "limits.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if bounds.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# --- ids ------------------------------------------------------------------------------------


def test_ids_beyond_the_integer_range_are_not_found(client, login, loop, app):
    login(loop.sme_user)
    for path in ("/sme/applications/2147483648", "/sme/applications/" + "9" * 30):
        response = client.get(path)
        assert response.status_code == 404
        assert "页面不存在" in response.text
    assert client.get(f"/sme/applications/{loop.application.id}").status_code == 200
    spec = client.get("/api/v1/openapi.json").json
    param = spec["paths"]["/api/v1/referrals/{referral_id}"]["parameters"][0]
    assert param["schema"]["maximum"] == limits.MAX_ID


def test_api_ids_beyond_the_integer_range_are_not_found_as_json(client, db_session, loop):
    from finportal.services import api_tokens

    _, token = api_tokens.create_token(db_session, bank_id=loop.bank.id, actor_id=None)
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(
        "/api/v1/batches/2147483648/members/1/decision", json={"decision": "x"}, headers=headers
    )
    assert response.status_code == 404
    assert response.json["code"] == "not_found" and response.json["message_en"]


# --- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e999999999", "9" * 30, "1e-999999999"])
def test_amounts_that_would_overflow_are_refused_on_every_form(
    client, login, db_session, loop, amount
):
    from finportal.models import Application, BankDecision, Enterprise

    login(loop.sme_user)
    profile = client.post(
        "/sme/profile", data={"name": "上海溢出测试有限公司", "total_assets": amount}
    )
    assert profile.status_code == 422
    assert "数值过大" in profile.text or "小数" in profile.text
    new = client.post(
        "/sme/applications/new",
        data={"amount": amount, "term_months": "12", "purpose": "working_capital"},
    )
    assert new.status_code == 422
    matches = client.get(f"/sme/matches?amount={amount}&term=12")
    assert matches.status_code == 422
    client.post("/auth/logout")
    login(loop.bank_user)
    decision = client.post(
        f"/bank/referrals/{loop.referral.id}/decision",
        data={
            "lock_version": loop.referral.lock_version,
            "decision": "approved",
            "approved_amount_wan": amount,
            "annual_rate_pct": amount,
            "term_months": "12",
        },
    )
    assert decision.status_code == 422
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(BankDecision)) == 0
    assert db_session.get(Enterprise, loop.enterprise.id).name != "上海溢出测试有限公司"
    assert db_session.scalar(select(func.count()).select_from(Application)) == 1


def test_days_to_a_loans_maturity_stop_at_the_longest_term(client, login, db_session, loop):
    """Days to maturity are a date to come: past thirty years (the longest loan term) it is a
    typing error, refused beside the field with what was typed kept, and nothing saved."""
    from finportal.domain import fields as profile_fields
    from finportal.models import Enterprise

    largest = profile_fields.field("loan_maturing_within_days").largest
    assert largest >= limits.MAX_TERM_MONTHS * 30
    login(loop.sme_user)
    refused = client.post(
        "/sme/profile", data={"name": "上海到期天数测试", "loan_maturing_within_days": "5000000"}
    )
    assert refused.status_code == 422
    assert f"请输入 0 至 {largest:,} 之间的整数" in refused.text
    assert 'value="5000000"' in refused.text
    db_session.expire_all()
    assert db_session.get(Enterprise, loop.enterprise.id).name != "上海到期天数测试"
    kept = client.post(
        "/sme/profile", data={"name": "上海到期天数测试", "loan_maturing_within_days": "90"}
    )
    assert kept.status_code in (200, 302), kept.text
    db_session.expire_all()
    assert db_session.get(Enterprise, loop.enterprise.id).loan_maturing_within_days == 90


def test_amount_messages_follow_the_users_language(app, client, login, loop):
    login(loop.sme_user)
    zh = client.post("/sme/profile", data={"name": "上海测试", "total_assets": "1e30"})
    assert "数值过大" in zh.text
    client.get("/lang/en")
    # A request of its own app context, as in a server: Flask-Babel keeps the locale in ``g``.
    with app.app_context():
        en = client.post("/sme/profile", data={"name": "上海测试", "total_assets": "1e30"})
    assert en.status_code == 422
    assert "too large" in en.text and "数值过大" not in en.text


# --- text -----------------------------------------------------------------------------------


def test_nul_bytes_and_control_characters_are_refused_beside_the_field(
    client, login, db_session, loop
):
    from finportal.models import ApplicationNote

    login(loop.advisor)
    url = f"/advisor/applications/{loop.application.id}/notes"
    for body in ("备注\x00内容", "备注\x0b内容"):
        response = client.post(url, data={"body": body})
        assert response.status_code == 422
        assert "不能包含控制字符" in response.text
    assert db_session.scalar(select(func.count()).select_from(ApplicationNote)) == 0
    assert client.post(url, data={"body": "多行\n备注\t可以"}).status_code == 302


def test_a_multipart_field_named_with_a_line_break_is_a_400(client, login, create_user):
    # The part's name breaks its header: the form reaches Flask with a field named None.
    login(create_user("sme"))
    for extra in ({"\t\r\n": "331"}, {"\r\n": (io.BytesIO(b"x"), "a.xlsx")}):
        response = client.post(
            "/sme/profile/import",
            data={"file": (io.BytesIO(b"x"), "a.xlsx"), **extra},
            content_type="multipart/form-data",
        )
        assert response.status_code == 400
        assert "控制字符" in response.text


def test_over_long_names_and_reasons_are_refused_with_their_limit(
    client, login, db_session, create_user
):
    from finportal.models import Bank

    login(create_user("admin"))
    name = "银" * (limits.TEXT["name"] + 1)
    response = client.post(
        "/admin/organisations/bank/new", data={"code": "long_bank", "name_zh": name, "active": "y"}
    )
    assert response.status_code == 422
    assert f"不超过 {limits.TEXT['name']} 个字" in response.text
    assert name in response.text  # the form keeps what was typed
    assert db_session.scalar(select(Bank).where(Bank.code == "long_bank")) is None


def test_nul_in_a_query_is_refused_in_the_users_language(client, login, create_user):
    login(create_user("admin"))
    response = client.get("/admin/users?q=a%00b")
    assert response.status_code == 400
    assert "控制字符" in response.text
    client.get("/lang/en")
    assert "control characters" in client.get("/admin/users?q=a%00b").text


def test_a_notification_title_never_outgrows_its_column(db_session, loop):
    """A bank named with the longest name the form allows still gets its decision recorded."""
    from finportal.models import Notification

    loop.bank.name_zh = "银" * limits.TEXT["name"]
    db_session.commit()
    bank_actions.record_decision(
        db_session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="info_requested",
        reason_text="请补充近三个月的纳税证明。",
    )
    titles = db_session.scalars(select(Notification.title_zh)).all()
    assert titles and all(len(t) <= limits.TEXT["title"] for t in titles)


# --- dates and JSON in the API ----------------------------------------------------------------


@pytest.fixture
def bank_token(db_session, loop):
    from finportal.services import api_tokens

    _, token = api_tokens.create_token(db_session, bank_id=loop.bank.id, actor_id=None)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "1000-01-01T00:00:00Z"]
)
def test_odd_dates_in_api_filters_are_a_422(client, bank_token, since):
    response = client.get("/api/v1/referrals/", query_string={"since": since}, headers=bank_token)
    assert response.status_code == 422
    assert response.json["code"] == "validation_failed"
    assert "since" in response.json["errors"]


def test_deeply_nested_json_is_a_400(client, bank_token, loop):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(
        f"/api/v1/referrals/{loop.referral.id}/decisions",
        data=body,
        content_type="application/json",
        headers=bank_token,
    )
    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert str(limits.JSON_MAX_DEPTH) in response.json["message"]


def test_control_characters_in_an_api_body_are_refused(client, db_session, bank_token, loop):
    from finportal.models import BankDecision

    response = client.post(
        f"/api/v1/referrals/{loop.referral.id}/decisions",
        json={"decision": "info_requested", "reason_text": "请补充\u0000材料"},
        headers=bank_token,
    )
    assert response.status_code == 400
    assert response.json["code"] == "bad_request"
    assert db_session.scalar(select(func.count()).select_from(BankDecision)) == 0


# --- bank reason text: the same bound on every path ----------------------------------------


def test_bank_reason_text_has_one_bound_on_pages_and_api(
    client, login, db_session, loop, bank_token
):
    from finportal.models import BankDecision

    too_long = "缺" * (limits.TEXT["reason"] + 1)
    api = client.post(
        f"/api/v1/referrals/{loop.referral.id}/decisions",
        json={"decision": "info_requested", "reason_text": too_long},
        headers=bank_token,
    )
    assert api.status_code == 422 and "reason_text" in api.json["errors"]
    login(loop.bank_user)
    page = client.post(
        f"/bank/referrals/{loop.referral.id}/decision",
        data={
            "lock_version": loop.referral.lock_version,
            "decision": "info_requested",
            "reason_text": too_long,
        },
    )
    assert page.status_code == 422
    assert f"不超过 {limits.TEXT['reason']} 个字" in page.text
    assert db_session.scalar(select(func.count()).select_from(BankDecision)) == 0


def test_a_batch_members_reason_is_refused_not_cut(
    client,
    login,
    db_session,
    batch_world,  # noqa: F811 - fixture
    submitted_batch,  # noqa: F811 - fixture
):
    """The bank's page used to cut the reason at 2,000 characters and save the rest silently."""
    from finportal.models import BatchMember

    member = submitted_batch.members[0]
    login(batch_world.bank_user)
    response = client.post(
        f"/bank/batches/{submitted_batch.id}/members/{member.id}/decision",
        data={"decision": "declined", "reason_text": "原" * (limits.TEXT["reason"] + 1)},
        follow_redirects=True,
    )
    assert f"不超过 {limits.TEXT['reason']} 个字" in response.text
    db_session.expire_all()
    assert db_session.get(BatchMember, member.id).state == "submitted"


# --- optimistic locking -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "", "abc", "1.5"])
def test_claim_without_a_numeric_lock_version_is_refused(
    client, login, db_session, create_enterprise, create_user, version, screened_application
):
    from finportal.models import Application

    application = screened_application(create_enterprise())
    login(create_user("advisor"))
    data = {} if version is None else {"lock_version": version}
    response = client.post(f"/advisor/applications/{application.id}/claim", data=data)
    assert response.status_code == 400
    assert "页面版本缺失或有误" in response.text
    db_session.expire_all()
    assert db_session.get(Application, application.id).state == "screened"


def test_rematch_without_a_lock_version_is_refused(client, login, db_session, loop):

    bank_actions.record_decision(
        db_session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="declined",
        reason_code="other",
        reason_text="额度不足",
    )
    login(loop.advisor)
    response = client.post(f"/advisor/applications/{loop.application.id}/rematch", data={})
    assert response.status_code == 400
    assert "页面版本缺失或有误" in response.text
    page = client.get(f"/advisor/applications/{loop.application.id}")
    version = re.search(r'name="lock_version" value="(\d+)"', page.text).group(1)
    done = client.post(
        f"/advisor/applications/{loop.application.id}/rematch", data={"lock_version": version}
    )
    assert done.status_code == 302


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/%0a/evil.example",
        "%2F%2Fevil.example",
        "/%0d%0aSet-Cookie:x=1",
        "https://evil.example/",
        "/%5Cevil.example",
        "%09/evil.example",
    ],
)
def test_next_and_the_language_switch_stay_on_the_site(client, create_user, target):
    user = create_user("sme")
    response = client.post(
        f"/auth/login?next={target}", data={"username": user.username, "password": "x" * 8}
    )
    assert response.status_code == 401  # wrong password: the form again, no redirect
    response = client.post(
        f"/auth/login?next={target}", data={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    _assert_same_site(response.headers["Location"])
    switch = client.get(f"/lang/en?next={target}")
    assert switch.status_code == 302
    _assert_same_site(switch.headers["Location"])


def _assert_same_site(location: str) -> None:
    from urllib.parse import urlsplit

    # What a browser follows: tabs and line breaks dropped, backslashes read as slashes.
    seen = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    assert parts.netloc in ("", "localhost"), location
    assert not parts.path.startswith("//"), location


def test_a_same_site_next_is_followed(client, create_user):
    user = create_user("sme")
    response = client.post(
        "/auth/login?next=/sme/profile%3Ftab%3D1",
        data={"username": user.username, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/sme/profile?tab=1"
    assert client.get("/lang/en?next=/products/").headers["Location"] == "/products/"


# --- the Host header ------------------------------------------------------------------------


def test_the_packets_verification_address_ignores_the_host_header(
    client, login, db_session, monkeypatch, make_loop
):
    from finportal.models import Referral
    from finportal.services.packets import current_packet, read_packet

    monkeypatch.setenv("FINPORTAL_BASE_URL", "https://fin.example.cn")
    loop = make_loop(refer=False)
    login(loop.advisor)
    page = client.get(f"/advisor/applications/{loop.application.id}")
    version = re.search(r'name="lock_version" value="(\d+)"', page.text).group(1)
    client.post(
        f"/advisor/applications/{loop.application.id}/claim", data={"lock_version": version}
    )
    page = client.get(f"/advisor/applications/{loop.application.id}")
    version = re.search(r'name="lock_version" value="(\d+)"', page.text).group(1)
    # The browser sends its session to whatever host it believes it talks to.
    client.set_cookie("session", client.get_cookie("session").value, domain="evil.example")
    response = client.post(
        f"/advisor/applications/{loop.application.id}/refer",
        data={
            "lock_version": version,
            "opinion": "建议支持。",
            "banks": str(loop.bank.id),
            f"product_{loop.bank.id}": str(loop.version_id),
        },
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 302, response.text
    referral = db_session.scalar(
        select(Referral).where(Referral.application_id == loop.application.id)
    )
    packet = current_packet(db_session, referral.id)
    text = squash(pdf_text(read_packet(packet)))
    assert f"https://fin.example.cn/verify/{packet.verification_code}" in text
    assert "evil.example" not in text


def _production_app(monkeypatch, tmp_path, **env):
    from finportal import create_app

    monkeypatch.setenv("FINPORTAL_ENV", "production")
    monkeypatch.setenv("FINPORTAL_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return create_app(
        {"CHECK_PACKET_ENVIRONMENT": False, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    )


def test_production_refuses_unknown_hosts(monkeypatch, tmp_path):
    app = _production_app(
        monkeypatch,
        tmp_path,
        FINPORTAL_BASE_URL="https://fin.example.cn",
        FINPORTAL_TRUSTED_HOSTS="127.0.0.1",
    )
    client = app.test_client()
    assert client.get("/health/live", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/health/live", headers={"Host": "fin.example.cn"}).status_code == 200
    assert client.get("/health/live", headers={"Host": "127.0.0.1:8000"}).status_code == 200


def test_production_needs_the_public_address(monkeypatch, tmp_path):
    from finportal.config import ConfigError

    monkeypatch.delenv("FINPORTAL_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="FINPORTAL_BASE_URL"):
        _production_app(monkeypatch, tmp_path)


# --- uploads ------------------------------------------------------------------------------------


def _template_parts(db_session, enterprise_id) -> dict[str, bytes]:
    from finportal.services import profile_excel

    content = profile_excel.excel_template(db_session, enterprise_id)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _bomb(parts: dict[str, bytes], megabytes: int = 100) -> bytes:
    """The profile template whose name cell holds ``megabytes`` MB of text (~100 KB zipped)."""
    sheet = "xl/worksheets/sheet1.xml"
    assert (
        b"\xe4\xbc\x81\xe4\xb8\x9a\xe4\xbf\xa1\xe6\x81\xaf" in parts["xl/workbook.xml"]
    )  # 企业信息

    def cell(ref: str, text: str) -> bytes:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            if name != sheet:
                archive.writestr(name, data)
                continue
            with archive.open(name, "w") as member:
                member.write(
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    b'<sheetData><row r="1">'
                )
                header = ("字段代码", "项目", "单位", "填写值")
                for ref, text in zip(("A1", "B1", "C1", "D1"), header, strict=True):
                    member.write(cell(ref, text))
                member.write(
                    b'</row><row r="2">' + cell("A2", "name") + b'<c r="D2" t="inlineStr"><is><t>'
                )
                chunk = b"A" * (1024 * 1024)
                for _ in range(megabytes):
                    member.write(chunk)
                member.write(b"</t></is></c></row></sheetData></worksheet>")
    return out.getvalue()


def test_an_excel_bomb_is_refused_before_it_is_unpacked(client, login, db_session, create_user):
    from finportal.models import AuditEvent

    sme = create_user("sme")
    bomb = _bomb(_template_parts(db_session, sme.enterprise_id))
    assert len(bomb) < 200 * 1024  # small as uploaded ...
    with zipfile.ZipFile(io.BytesIO(bomb)) as archive:
        assert sum(i.file_size for i in archive.infolist()) > 100 * 1024 * 1024  # ... huge unpacked
    login(sme)
    tracemalloc.start()
    try:
        response = client.post(
            "/sme/profile/import",
            data={"file": (io.BytesIO(bomb), "profile.xlsx")},
            content_type="multipart/form-data",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422
    assert "文件解压后过大" in response.text
    # The refusal costs about the upload itself, not the 100 MB inside it.
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert not db_session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action.like("enterprise.profile_%"))
    )


def _lie_about_size(content: bytes, name: str, size: int) -> bytes:
    """Rewrite the unpacked size a zip declares for one member (local header and directory)."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        info = archive.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    encoded = name.encode()
    start = 0
    while (at := data.find(b"PK\x01\x02", start)) != -1:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + length]) == encoded:
            struct.pack_into("<I", data, at + 24, size)
        start = at + 4
    return bytes(data)


def test_a_zip_that_lies_about_its_size_is_refused_with_bounded_memory(db_session, create_user):
    from finportal.services import profile_excel

    sme = create_user("sme")
    bomb = _lie_about_size(
        _bomb(_template_parts(db_session, sme.enterprise_id), megabytes=50),
        "xl/worksheets/sheet1.xml",
        1000,
    )
    tracemalloc.start()
    try:
        with pytest.raises(profile_excel.ImportFailed) as info:
            profile_excel.import_profile(
                db_session,
                actor_id=sme.id,
                enterprise_id=sme.enterprise_id,
                filename="profile.xlsx",
                content=bomb,
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "无法作为 Excel" in info.value.problems[0].message
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_too_many_rows_are_refused(db_session, create_user):
    from openpyxl import Workbook

    from finportal.services import profile_excel

    sme = create_user("sme")
    book = Workbook()
    sheet = book.active
    sheet.title = profile_excel.IMPORT_SHEET
    sheet.append(list(profile_excel.HEADER))
    for n in range(limits.IMPORT_MAX_ROWS + 5):
        sheet.append(["name", "", "", f"企业{n}", ""])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(profile_excel.ImportFailed) as info:
        profile_excel.import_profile(
            db_session,
            actor_id=sme.id,
            enterprise_id=sme.enterprise_id,
            filename="profile.xlsx",
            content=out.getvalue(),
        )
    assert f"最多 {limits.IMPORT_MAX_ROWS} 行" in info.value.problems[0].message


# --- exports ------------------------------------------------------------------------------------


def _template(client) -> tuple[bytes, dict[str, object]]:
    response = client.get("/sme/profile/template.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["企业信息"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    return response.data, {r[0]: r[3] for r in sheet.iter_rows(min_row=2, values_only=True)}


def test_the_smes_template_never_holds_a_formula(client, login, db_session, create_user):
    formula = '=HYPERLINK("http://evil.example","点击")'
    sme = create_user("sme")
    sme.enterprise.name = formula
    db_session.commit()
    login(sme)
    content, values = _template(client)
    assert values["name"] == "'" + formula
    # The template goes back in as it came out: the apostrophe is the template's, not the name's.
    sme.enterprise.name = "上海临时名称有限公司"
    db_session.commit()
    imported = client.post(
        "/sme/profile/import",
        data={"file": (io.BytesIO(content), "profile.xlsx")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302, imported.text
    db_session.expire_all()
    assert sme.enterprise.name == formula


def test_the_smes_template_drops_characters_a_spreadsheet_cannot_hold(
    client, login, db_session, create_user
):
    sme = create_user("sme")
    sme.enterprise.name = "上海\x0b控制\x1b字符有限公司"  # stored before inputs were checked
    db_session.commit()
    login(sme)
    _content, values = _template(client)
    assert values["name"] == "上海控制字符有限公司"


def test_batch_member_export_survives_control_characters_and_formulas(
    client,
    login,
    db_session,
    batch_world,  # noqa: F811 - fixture
    submitted_batch,  # noqa: F811 - fixture
):
    member = submitted_batch.members[0]
    member.note = "@SUM(A1)\x0b\x1b 园区重点企业"
    db_session.commit()
    login(batch_world.advisor)
    response = client.get(f"/advisor/batches/{submitted_batch.id}/members.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    notes = [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'@SUM(A1) 园区重点企业" in notes


def test_junk_filters_and_tabs_are_ignored_with_a_message(client, login, loop):
    """A list's bad filter or tab is ignored (the first page is shown) and said so.

    A bad page number is refused like on every list (tests/finportal/test_page_numbers.py).
    """
    login(loop.advisor)
    page = client.get("/advisor/?deadline=zzz")
    assert page.status_code == 200 and "筛选条件有误，已忽略。" in page.text
    assert "筛选条件有误" not in client.get("/advisor/?page=1").text
    assert client.get("/advisor/?deadline=zzz&page=abc").status_code == 422
    client.post("/auth/logout")
    login(loop.bank_user)
    page = client.get("/bank/?tab=zzz")
    assert page.status_code == 200 and "筛选条件有误，已忽略。" in page.text
    assert "筛选条件有误" not in client.get("/bank/?tab=viewed&page=1").text
    assert client.get("/bank/?tab=zzz&page=-1").status_code == 422
