"""Hardening shared by every response and every file: security headers, caching, file modes.

Headers come from Flask-Talisman: a Content-Security-Policy that allows scripts, styles,
images, fonts and fetches from this site only (no inline script, no inline style, no
plugins, no framing), ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and a
Referrer-Policy. Every answer that is not a static file is ``Cache-Control: no-store``: the
pages show enterprises' finances, new API tokens and reset passwords, and the downloads are
referral packets and Excel exports, none of which a shared computer or a proxy may keep.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask_talisman import Talisman
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

#: The Content-Security-Policy of every response. No 'unsafe-inline' anywhere: scripts and
#: styles live in finportal/static/, and the templates carry no <script>, <style>, event
#: handler attribute or style attribute (tests/finportal/security/test_headers.py checks).
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
REFERRER_POLICY = "strict-origin-when-cross-origin"
#: Permissions the portal never uses, switched off for every page.
PERMISSIONS_POLICY = {
    "browsing-topics": "()",
    "camera": "()",
    "geolocation": "()",
    "microphone": "()",
    "payment": "()",
}

#: Files and folders the portal creates are never readable by other users of the machine:
#: files 0640, folders 0750 (the group lets web and worker processes of one service share
#: the instance folder).
UMASK = 0o027


def init_app(app: Flask) -> None:
    """Set the security headers and the caching rule on every response; restrict file modes."""
    restrict_file_modes(app)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        # The client's address and scheme as the trusted proxies saw them, for the sign-in
        # throttle and for Strict-Transport-Security.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    Talisman(
        app,
        # TLS ends at the reverse proxy, which redirects plain HTTP; Strict-Transport-Security
        # is still sent on every HTTPS request (including those the proxy marks as such).
        force_https=False,
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy=REFERRER_POLICY,
        permissions_policy=PERMISSIONS_POLICY,
        # The cookie flags stay those of finportal.config (Secure in production only).
        session_cookie_secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_content_type_options=True,
    )

    @app.after_request
    def _no_store(response: Response) -> Response:
        endpoint = request.endpoint or ""
        if endpoint != "static" and not endpoint.endswith(".static"):
            response.headers["Cache-Control"] = "no-store"
            # send_file's validators would only invite a revalidation nobody may make.
            response.headers.pop("ETag", None)
            response.headers.pop("Last-Modified", None)
        return response


def client_address() -> str:
    """Return the address a request came from (the rate limits' key)."""
    return request.remote_addr or "unknown"


def configured_limit(name: str) -> Callable[[], str]:
    """Return a rate limit for Flask-Limiter read from the app's setting ``name`` (e.g.
    ``LOGIN_RATE_LIMIT``) at each request, so that a changed setting counts at once."""

    def limit() -> str:
        return str(current_app.config[name])

    return limit


#: How many sign-ins (and password resets) one name or address may try.
login_limit = configured_limit("LOGIN_RATE_LIMIT")
#: How many failed sign-ins one address may make, across all usernames.
login_ip_limit = configured_limit("LOGIN_IP_RATE_LIMIT")


def failed_sign_in(response: Response) -> bool:
    """Tell whether a sign-in answer was a refusal (only those count against an address)."""
    return response.status_code == 401


def restrict_file_modes(app: Flask) -> None:
    """Set the process umask and tighten the files of the instance folder that already exist.

    The umask covers everything this process writes from now on (the SQLite database and
    its -wal/-shm files, packets, model files, batch packet files, the secret key). Files
    an older version left behind are tightened here, once per start.
    """
    os.umask(UMASK)
    _tighten(Path(app.instance_path) / "secret_key", 0o077)  # the key: its owner only
    paths = [Path(app.instance_path)]
    for key in ("MODEL_DIR", "PACKET_DIR"):
        if app.config.get(key):
            paths.append(Path(app.config[key]))
    database = sqlite_path(str(app.config.get("DATABASE_URL") or ""))
    if database is not None:
        paths += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for path in paths:
        _tighten(path)


def sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite database URL (None for other databases or in-memory)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _tighten(path: Path, mask: int = UMASK) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & mask:
        try:
            path.chmod(mode & ~mask)
        except PermissionError:  # not ours (a shared folder): leave it, the owner decides
            return
