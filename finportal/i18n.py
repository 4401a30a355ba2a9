"""Chinese first, English second: locale selection with Flask-Babel.

Text comes in the user's language from one of four places:

- UI text of templates and views: the catalogue (``_('中文')``; docs/I18N.md);
- states: their machine (``states.application.title(code)``, ``finportal/domain/states.py``);
- profile fields: ``finportal/domain/fields.py``;
- records and messages that carry both languages (``name_zh``/``name_en`` of products,
  banks, parks and chambers; ``message_zh``/``message_en`` of conditions and errors):
  :func:`local`, in templates the filters ``name`` and ``tr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, g, has_request_context, request, session
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from finportal.extensions import babel
from finportal.limits import in_user_language, pair

LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    """Use the language the user switched to, else Chinese."""
    chosen = session.get("lang")
    if chosen in LOCALES:
        return str(chosen)
    if request and request.args.get("lang") in LOCALES:
        return str(request.args["lang"])
    return "zh_CN"


#: Where a request keeps its locale and translations once looked up (see :func:`_request_memo`).
_MEMO = "_finportal_i18n"


def _request_memo() -> tuple[Any, str, Any, Any] | None:
    """Return (locale, its code, translations, domain) of this request, looked up once.

    Flask-Babel finds the domain, the locale and the translations anew on every ``gettext``
    (through several context-local look-ups: tens of microseconds each, and a page calls it a
    hundred times or more). Its own choice for the request (``babel_locale`` on ``g``, replaced
    by ``force_locale`` and cleared by ``refresh``) is the key here: when it changes, the
    translations are looked up again, so a switch within a request is still followed.
    Outside a request there is no memo: Flask-Babel answers as before.
    """
    if not has_request_context():
        return None
    state = g._get_current_object().__dict__
    babel_state = state.get("_flask_babel")
    locale = getattr(babel_state, "babel_locale", None)
    memo: tuple[Any, str, Any, Any] | None = state.get(_MEMO)
    if (
        memo is not None
        and locale is memo[0]
        and getattr(babel_state, "babel_domain", None) is memo[3]
    ):
        return memo
    chosen = get_locale()
    translations = get_translations()
    babel_state = state.get("_flask_babel")
    memo = (
        getattr(babel_state, "babel_locale", chosen),
        str(chosen or "zh_CN"),
        translations,
        getattr(babel_state, "babel_domain", None),
    )
    state[_MEMO] = memo
    return memo


def request_locale() -> str:
    """Return the request's locale code ("zh_CN" or "en"), chosen once per request."""
    memo = _request_memo()
    return memo[1] if memo is not None else str(get_locale() or "zh_CN")


def _translations() -> Any:
    memo = _request_memo()
    return memo[2] if memo is not None else get_translations()


def _gettext(message: str) -> str:
    return str(_translations().ugettext(message))


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    """Templates' ``_()`` and ``gettext()``: Jinja's new-style gettext in one call.

    Jinja's own wraps the translation in two more calls through the context (``_`` looks up
    ``gettext``, which calls the translation function), and a page calls it hundreds of
    times. The result is the same: the translation, marked safe under autoescaping, with
    the variables put in (escaped) — always formatted, so ``%%`` reads ``%`` with or without
    variables; a text without ``%`` is its own format.
    """
    text = _translations().ugettext(string)
    rv = Markup(text) if context.eval_ctx.autoescape else text  # noqa: S704 - as Jinja marks it
    if variables or "%" in text:
        return rv % variables  # type: ignore[no-any-return]
    return rv


def _ngettext(singular: str, plural: str, n: int) -> str:
    return str(_translations().ungettext(singular, plural, n))


def _pgettext(context: str, message: str) -> str:
    return str(_translations().upgettext(context, message))


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return str(_translations().unpgettext(context, singular, plural, n))


def _part(record: Any, key: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(key)
    return getattr(record, key, None)


def local(record: Any, field: str = "name") -> str:
    """Return ``record.<field>_en`` in English mode when it is not empty, else ``<field>_zh``.

    ``record`` is an object or a mapping (its Chinese text may also be plain ``<field>``):
    a product (of the catalogue or the database), a
    bank, park or chamber, a condition (``local(c, 'message')``), a payment note... A record
    without an English text shows its Chinese one: it is a name, not UI text.
    """
    if record is None:
        return "—"
    zh = _part(record, f"{field}_zh")
    if zh is None:  # a record that names its Chinese text plainly: ``bank_name``
        zh = _part(record, field)
    en = _part(record, f"{field}_en")
    zh_text = "" if zh is None else str(zh)
    en_text = "" if en is None else str(en).strip()
    return in_user_language(zh_text, en_text or zh_text)


def name(record: Any) -> str:
    """Return the name of a product, bank, park or chamber in the user's language."""
    return local(record, "name")


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale selector and expose helpers to templates."""
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories="translations"
    )
    # The templates' _() with the translations looked up once per request, not per call.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=True,
    )
    app.jinja_env.globals.update(gettext=_template_gettext, _=_template_gettext)
    app.jinja_env.filters["name"] = name
    app.jinja_env.filters["tr"] = local
    app.jinja_env.filters["pair"] = pair

    @app.context_processor
    def _locale() -> dict[str, object]:
        lang = select_locale()
        return {
            "current_lang": lang,
            "html_lang": "zh-CN" if lang == "zh_CN" else "en",
            "english": lang == "en",
        }
