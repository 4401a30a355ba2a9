"""Every non-public route refuses anonymous users and users of the wrong role."""

from __future__ import annotations

import re

import pytest

#: Routes anyone may open (path prefixes or exact endpoints).
PUBLIC_ENDPOINTS = {
    "static",
    "public.index",
    "public.switch_language",
    # Health checks for the balancer and supervisor; /metrics answers loopback or a token
    # only (tests/finportal/test_observability.py).
    "health.live",
    "health.ready",
    "health.metrics",
    "auth.login",
    "auth.logout",
    "auth.register",
    # Any signed-in user changes their own password; anonymous users are sent to sign in.
    "auth.password",
    # The secret token in the link is the credential (tests/finportal/test_sessions.py).
    "auth.accept_invitation",
    # issue 15: the public report of banks' response times, once the head approved it.
    "ratings.index",
    # issue 15: any signed-in user sets their own notifications (anonymous: sent to sign in);
    # the reset, address-check and unsubscribe links carry their own secret
    # (tests/finportal/notifications).
    "account.notification_settings",
    "account.change_email",
    "account.forgot_password",
    "account.reset_password",
    "account.verify_email",
    "account.unsubscribe",
}
#: Pages of every signed-in user, whatever the role (issue 15: complaints and suggestions).
SIGNED_IN_PREFIXES = ("/complaints",)
PUBLIC_PREFIXES = (
    "/products",
    "/verify/",
    "/api/",
)  # /api/ uses bearer tokens, tested in tests/finportal/api
ROLE_PREFIX = {
    "/sme": "sme",
    "/advisor": "advisor",
    "/recommender": "recommender",
    "/bank": "bank",
    "/admin": "admin",
}


def _protected_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.rule.startswith(PUBLIC_PREFIXES):
            continue
        yield rule


def _url(rule):
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)


def _methods(rule):
    return sorted(m for m in rule.methods if m in ("GET", "POST"))


def test_every_route_is_public_or_belongs_to_one_role(app):
    for rule in _protected_rules(app):
        owners = [
            role for prefix, role in ROLE_PREFIX.items() if rule.rule.startswith(prefix + "/")
        ]
        if rule.rule.startswith(SIGNED_IN_PREFIXES):
            owners = ["any signed-in user"]
        assert owners, f"{rule.rule} is neither public nor under a role prefix"


def test_anonymous_users_are_sent_to_sign_in(client, app):
    checked = 0
    for rule in _protected_rules(app):
        for method in _methods(rule):
            response = client.open(_url(rule), method=method)
            assert response.status_code in (302, 401), (rule.rule, method, response.status_code)
            if response.status_code == 302:
                assert "/auth/login" in response.location, rule.rule
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("role", ["sme", "advisor", "recommender", "bank", "admin"])
def test_users_of_other_roles_are_refused(client, app, create_user, login, role):
    login(create_user(role))
    checked = 0
    for rule in _protected_rules(app):
        if rule.rule.startswith(SIGNED_IN_PREFIXES):
            continue
        owner = next(r for prefix, r in ROLE_PREFIX.items() if rule.rule.startswith(prefix + "/"))
        if owner == role:
            continue
        for method in _methods(rule):
            response = client.open(_url(rule), method=method)
            assert response.status_code == 403, (role, rule.rule, method, response.status_code)
            checked += 1
    assert checked >= 4
