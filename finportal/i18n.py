"""Chinese first, English second: locale selection with Flask-Babel."""

from __future__ import annotations

from flask import Flask, request, session

from finportal.extensions import babel

LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    """Use the language the user switched to, else Chinese."""
    chosen = session.get("lang")
    if chosen in LOCALES:
        return str(chosen)
    if request and request.args.get("lang") in LOCALES:
        return str(request.args["lang"])
    return "zh_CN"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale selector and expose helpers to templates."""
    babel.init_app(
        app, locale_selector=select_locale, default_translation_directories="translations"
    )

    @app.context_processor
    def _locale() -> dict[str, object]:
        lang = select_locale()
        return {"current_lang": lang, "html_lang": "zh-CN" if lang == "zh_CN" else "en"}
