"""Per-request costs paid by every page, looked up once per request (issue 12).

The speed itself is measured by ``scripts/bench_pages.py`` (docs/BENCHMARKS.md); these
tests check that the work is done once, and that the pages still read the same.
"""

from __future__ import annotations

import flask_babel
from flask import render_template_string
from flask_babel import force_locale

from finportal.domain.states import current_locale


def _count_lookups(monkeypatch) -> list[int]:
    calls = [0]
    original = flask_babel.Domain.get_translations

    def counted(self):
        calls[0] += 1
        return original(self)

    monkeypatch.setattr(flask_babel.Domain, "get_translations", counted)
    return calls


def test_templates_look_up_translations_once_per_request(app, monkeypatch):
    calls = _count_lookups(monkeypatch)
    source = "{% for i in range(50) %}{{ _('退出') }}|{% endfor %}"
    with app.test_request_context("/?lang=en"):
        text = render_template_string(source)
    assert text.split("|")[0] == "Sign out"
    assert calls[0] == 1


def test_the_locale_follows_force_locale_within_a_request(app):
    source = "{{ _('退出') }}"
    with app.test_request_context("/"):
        assert render_template_string(source) == "退出"
        assert current_locale().startswith("zh")
        with force_locale("en"):
            assert render_template_string(source) == "Sign out"
            assert current_locale() == "en"
        assert render_template_string(source) == "退出"
        assert current_locale().startswith("zh")


def test_the_locale_follows_a_refresh_within_a_request(app):
    with app.test_request_context("/"):
        from flask import session

        assert render_template_string("{{ _('退出') }}") == "退出"
        session["lang"] = "en"
        flask_babel.refresh()
        assert render_template_string("{{ _('退出') }}") == "Sign out"
        assert current_locale() == "en"
