"""The English switch: the en catalogue is complete, compiled, and used by the pages.

Chinese (zh_CN) is the source language: the msgids are the Chinese UI text, and
``finportal/translations/en`` holds the English. How to extract, translate and
compile: docs/I18N.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "finportal" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None}
HOW_TO_FIX = "see docs/I18N.md: pybabel extract, update, translate, compile"


def _read_po(path: Path):
    with path.open("rb") as f:
        return read_po(f, locale="en" if path.suffix == ".po" else None)


def _msgids(catalog) -> list[str]:
    return [m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id]


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    return bool(strings) and all(s and s.strip() for s in strings) and not message.fuzzy


def _english(client):
    response = client.get("/lang/en")
    assert response.status_code == 302
    return client


# --- the catalogue ---------------------------------------------------------------


def test_every_pot_msgid_has_an_english_translation():
    template = _read_po(POT)
    catalog = _read_po(PO)
    assert len(template) > 0
    missing = [
        msgid
        for msgid in _msgids(template)
        if catalog.get(msgid) is None or not _translated(catalog.get(msgid))
    ]
    assert missing == [], f"msgids without an English msgstr ({HOW_TO_FIX}): {missing}"


def test_po_has_no_fuzzy_or_obsolete_entries():
    catalog = _read_po(PO)
    assert not catalog.fuzzy, "the .po header is fuzzy: pybabel compile would skip it"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert fuzzy == [], f"fuzzy entries are not compiled: {fuzzy}"
    assert not catalog.obsolete, f"obsolete entries: {list(catalog.obsolete)}"


def test_po_passes_babel_checks():
    """Placeholders such as ``%(bank)s`` survive translation (Babel's catalogue checks)."""
    catalog = _read_po(PO)
    problems = [
        f"{message.id!r}: {'; '.join(str(e) for e in errors)}"
        for message, errors in catalog.check()
    ]
    assert problems == []


def test_mo_is_compiled_from_the_current_po():
    """The committed .mo holds exactly the .po's translations (content, not mtime,
    since a git checkout does not keep file times)."""
    catalog = _read_po(PO)
    with MO.open("rb") as f:
        compiled = read_mo(f)
    expected = {m.id: m.string for m in catalog if m.id and _translated(m)}
    actual = {m.id: m.string for m in compiled if m.id}
    stale = sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
    assert stale == [], (
        "messages.mo is out of date with messages.po; run "
        f"`pybabel compile -d finportal/translations`: {stale[:20]}"
    )


def test_every_msgid_in_the_templates_is_in_the_catalogue():
    """A new ``_('…')`` in a template or in Python under finportal/ needs a translation."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)

    def inside_finportal(dirpath: str) -> bool:
        rel = Path(dirpath).resolve().relative_to(ROOT)
        name = rel.name
        top = rel.parts[0] if rel.parts else ""
        return top == "finportal" and not name.startswith((".", "_"))

    catalog = _read_po(PO)
    missing = sorted(
        {
            f"{msgid!r} ({filename}:{lineno})"
            for filename, lineno, message, _comments, _context in extract_from_dir(
                ROOT,
                method_map,
                options_map,
                keywords=KEYWORDS,
                directory_filter=inside_finportal,
            )
            for msgid in [message if isinstance(message, str) else message[0]]
            if catalog.get(msgid) is None or not _translated(catalog.get(msgid))
        }
    )
    assert missing == [], f"UI text without an English translation ({HOW_TO_FIX}): {missing}"


def test_packet_templates_are_not_extracted():
    template = _read_po(POT)
    files = {path for m in template for path, _line in m.locations}
    assert files, "the .pot has no locations"
    assert not [p for p in files if p.startswith("finportal/packets/")]


# --- the pages --------------------------------------------------------------------


def test_chinese_is_the_default(client):
    page = client.get("/").text
    assert '<html lang="zh-CN">' in page
    assert "<h1>闵行区融资服务平台</h1>" in page
    assert "Sign in" not in page


def test_landing_page_in_english(client):
    page = _english(client).get("/").text
    assert '<html lang="en">' in page
    assert "<h1>Minhang District Financing Service Platform</h1>" in page
    assert "Sign in" in page and "Register" in page
    assert "Product matching" in page
    assert "闵行区融资服务平台" not in page
    assert "产品匹配" not in page


def test_switching_back_to_chinese(app):
    """Uses its own client: the ``client`` fixture keeps one app context (and so one
    ``g``, where Flask-Babel caches the locale) for the whole test, while in the app
    each request has its own."""
    client = app.test_client()
    _english(client)
    assert "Sign in" in client.get("/").text
    client.get("/lang/zh_CN")
    page = client.get("/").text
    assert "<h1>闵行区融资服务平台</h1>" in page and "Sign in" not in page


def test_sign_in_page_in_english(client):
    page = _english(client).get("/auth/login").text
    assert "<h1>Sign in</h1>" in page
    assert "Username" in page and "Password" in page and "No account yet?" in page
    assert "<h1>登录</h1>" not in page
    assert "用户名" not in page


def test_registration_page_in_english(client):
    page = _english(client).get("/auth/register").text
    assert "<h1>Register</h1>" in page
    assert "Unified social credit code" in page and "Confirm password" in page
    assert "<h1>企业注册</h1>" not in page
    assert "统一社会信用代码" not in page


def test_registration_errors_keep_the_english_template(client):
    """The field messages come from the services and stay Chinese; the page is English."""
    response = _english(client).post(
        "/auth/register",
        data={
            "uscc": "12345",
            "enterprise_name": "上海示例有限公司",
            "username": "english-user",
            "password": "long-enough-pw",
            "password_confirm": "long-enough-pw",
        },
    )
    assert response.status_code == 422
    assert "<h1>Register</h1>" in response.text
    assert "Unified social credit code" in response.text
    assert "<h1>企业注册</h1>" not in response.text


@pytest.mark.parametrize(
    ("role", "path", "english", "chinese"),
    [
        ("sme", "/sme/", "<h1>Enterprise home</h1>", "<h1>企业首页</h1>"),
        ("advisor", "/advisor/", "<h1>Advisor workbench</h1>", "<h1>普惠金融顾问工作台</h1>"),
        ("bank", "/bank/", "<h1>Partner bank workbench</h1>", "<h1>合作银行工作台</h1>"),
        ("admin", "/admin/", "<h1>Administration</h1>", "<h1>系统管理</h1>"),
    ],
)
def test_role_home_in_english(client, create_user, login, role, path, english, chinese):
    login(create_user(role))
    _english(client)
    response = client.get(path)
    assert response.status_code == 200
    assert english in response.text
    assert chinese not in response.text
    assert "Sign out" in response.text


def test_navigation_and_role_label_in_english(client, create_user, login):
    login(create_user("sme"))
    _english(client)
    page = client.get("/sme/").text
    assert ">Home</a>" in page and ">My applications</a>" in page
    assert "Enterprise user" in page
    assert "企业用户" not in page and ">首页</a>" not in page


def test_role_home_in_chinese_by_default(client, create_user, login):
    login(create_user("sme"))
    page = client.get("/sme/").text
    assert "<h1>企业首页</h1>" in page and "Sign out" not in page


def test_recommender_home_shows_english_chrome(client, create_user, login):
    login(create_user("recommender"))
    _english(client)
    page = client.get("/recommender/").text
    assert "Sign out" in page and "Minhang District Financing Service Platform" in page


def test_recommender_home_heading_in_english(client, create_user, login):
    login(create_user("recommender"))
    _english(client)
    assert "<h1>园区/商会推荐工作台</h1>" not in client.get("/recommender/").text


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_templates_gettext_reads_as_jinjas_own(app, lang):
    """The templates' one-call ``_()`` (finportal/i18n.py) words, escapes and formats as Jinja's.

    Text marked safe under autoescaping, variables escaped, ``%%`` read as ``%`` with or
    without variables, ``gettext()`` and ``_()`` alike, in both languages.
    """
    from flask import render_template_string
    from jinja2.ext import _gettext_alias, _make_new_gettext

    from finportal import i18n

    source = (
        "{{ _('企业') }}|{{ _('申请 #%(id)s', id='<b>') }}|{{ _('100%%') }}|"
        "{{ gettext('融资申请 #%(id)s', id=7) }}|{% trans %}企业{% endtrans %}|"
        "{{ _('%(n)s 个月', n=3) }}"
    )
    env = app.jinja_env
    mine = {"gettext": env.globals["gettext"], "_": env.globals["_"]}
    theirs = {"gettext": _make_new_gettext(i18n._gettext), "_": _gettext_alias}
    with app.test_request_context(f"/?lang={lang}"):
        ours = render_template_string(source)
        env.globals.update(theirs)
        try:
            jinjas = render_template_string(source)
        finally:
            env.globals.update(mine)
    assert ours == jinjas
    assert "&lt;b&gt;" in ours
    assert ("Enterprise" in ours) == (lang == "en")
