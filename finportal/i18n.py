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

from flask import Flask, request, session

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
