"""Browser tests: the portal served on 127.0.0.1 in a thread, Debian's Chromium driven by Playwright.

The server has its own SQLite database, migrated, with the published catalogue, the
reference model, the parks, chambers and banks of the demo, and no demo enterprises:
each test registers what it needs through the pages, like a user.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.helpers import served_app_config

CHROMIUM = os.environ.get("FINPORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, reference_model_dir: str
) -> Iterator[dict[str, Any]]:
    """Serve a fresh portal on a free port; yield its base URL and app."""
    import flask_migrate

    from finportal import create_app
    from finportal.demo import seed_reference
    from finportal.extensions import db
    from finportal.services import catalog, credit

    instance = tmp_path_factory.mktemp("e2e-instance")
    app = create_app(served_app_config(instance, "e2e"))
    with app.app_context():
        flask_migrate.upgrade()
        seed_reference(db.session)
        db.session.commit()
        catalog.sync_catalog(db.session)
        credit.register_model(
            db.session, reference_model_dir, actor_id=None, name="参考模型", status="champion"
        )
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app}
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium (scripts/setup.sh test)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


def is_csp_violation(message: Any) -> bool:
    """Tell whether a console message is Chromium refusing something the CSP blocks."""
    return "Content Security Policy" in message.text


@pytest.fixture
def csp_violations() -> list[str]:
    """The CSP violations the browser reported on the test's page (checked after the test)."""
    return []


@pytest.fixture
def page(browser: Any, live_server: dict[str, Any], csp_violations: list[str]) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a page; base URL set to the live server.

    Any page that breaks the Content-Security-Policy (an inline script, handler or style the
    browser refused) fails the test that opened it.
    """
    context = browser.new_context(base_url=live_server["url"], locale="zh-CN")
    context.set_default_timeout(20_000)
    tab = context.new_page()
    tab.on("console", lambda m: csp_violations.append(m.text) if is_csp_violation(m) else None)
    yield tab
    context.close()
    assert csp_violations == [], csp_violations
