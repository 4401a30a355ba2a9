"""Bank API v1 under /api/v1 (flask-smorest), authenticated with per-bank bearer tokens.

Every error is JSON ``{"code", "message", "message_en"[, "errors"]}`` with its status;
the OpenAPI document is at ``/api/v1/openapi.json`` and a plain documentation page,
with no outside assets, at ``/api/v1/docs``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint
from werkzeug.exceptions import HTTPException

from finportal.extensions import csrf, db
from finportal.services import api_tokens
from finportal.services.errors import ServiceError
from finportal.web.api.schemas import ErrorSchema

URL_PREFIX = "/api/v1"
BEARER = "bearerAuth"

_HTTP_CODES = {
    400: ("bad_request", "请求格式有误。", "The request is malformed."),
    401: ("unauthorized", "缺少或无效的访问令牌。", "A valid bearer token is required."),
    403: ("forbidden", "无权访问。", "Forbidden."),
    404: ("not_found", "资源不存在。", "Not found."),
    405: ("method_not_allowed", "不支持此方法。", "Method not allowed."),
    409: ("conflict", "与当前状态冲突。", "Conflict with the current state."),
    413: ("payload_too_large", "请求体太大。", "The request body is too large."),
    415: ("unsupported_media_type", "请使用 application/json。", "Send application/json."),
    422: ("validation_failed", "请求内容未通过校验。", "The request body or query is not valid."),
}


class FinPortalApi(Api):  # type: ignore[misc]
    """flask-smorest's Api without its app-wide error handler (the API blueprints have their own)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Leave the portal's HTML error pages alone."""


class Unauthorized(ServiceError):
    """A missing, unknown or revoked bearer token."""

    status = 401
    code = "unauthorized"


def error_response(
    status: int, code: str, message: str, message_en: str, errors: Any = None
) -> Any:
    """Return the API's JSON error response."""
    body: dict[str, Any] = {"code": code, "message": message, "message_en": message_en}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="finportal"'
    return response


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    code, zh, en = _HTTP_CODES.get(status, ("error", "请求失败。", exc.name or "Error"))
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict) and len(errors) == 1:
        # webargs nests errors by location ("json", "query"); the location is noise here.
        ((location, inner),) = errors.items()
        if location in ("json", "query", "path", "form", "headers") and isinstance(inner, dict):
            errors = inner
    return error_response(status, code, zh, en, errors)


def _service_error(exc: ServiceError) -> Any:
    db.session.rollback()
    return error_response(exc.status, exc.code, exc.message_zh, exc.message_en, exc.fields or None)


def make_blueprint(name: str, description: str, *, authenticated: bool = True) -> ApiBlueprint:
    """Return an API blueprint with JSON errors, no CSRF, and (by default) bearer tokens."""
    blp = ApiBlueprint(name, __name__, url_prefix=f"{URL_PREFIX}/{name}", description=description)
    blp.register_error_handler(HTTPException, _http_error)
    # The app's HTML error pages are registered per status code, and Flask prefers a
    # handler for the exact code over this blueprint's HTTPException one: register the
    # codes too, so an API error (e.g. a malformed JSON body) keeps its named code.
    for status in _HTTP_CODES:
        blp.register_error_handler(status, _http_error)
    blp.register_error_handler(ServiceError, _service_error)
    if authenticated:
        blp.before_request(require_token)
    return blp


def require_token() -> None:
    """Authenticate the request's bearer token and remember its bank (``g.api_bank_id``)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    record = None
    if scheme.lower() == "bearer" and token.strip():
        record = api_tokens.authenticate(db.session, token.strip())
    if record is None:
        raise Unauthorized(
            "缺少或无效的访问令牌（Authorization: Bearer <token>）。",
            "A valid bearer token is required (Authorization: Bearer <token>).",
        )
    g.api_token_id = record.id
    g.api_token_prefix = record.prefix
    g.api_bank_id = record.bank_id


def bank_id() -> int:
    """Return the authenticated bank's id."""
    return int(g.api_bank_id)


def api_source() -> str:
    """Return how the current request reached the service, for the audit trail."""
    return f"api_token:{g.api_token_prefix}"


docs_bp = FlaskBlueprint("api_reference", __name__, url_prefix=URL_PREFIX)


@docs_bp.get("/docs")
def docs() -> Any:
    """Show the API documentation in the site's frame, made from the OpenAPI document."""
    from finportal.domain.states import current_locale
    from finportal.services.packet_context import default_base_url
    from finportal.web.api import reference

    api: Api = current_app.extensions["finportal_api"]
    spec = api.spec.to_dict()
    return render_template(
        "api_docs.html",
        spec=spec,
        operations=reference.operations(
            spec, default_base_url(), current_locale().startswith("en")
        ),
        schemas=spec.get("components", {}).get("schemas", {}),
        error_example=reference.example_of(
            {"$ref": "#/components/schemas/Error"}, spec.get("components", {}).get("schemas", {})
        ),
    )


def referrals_available() -> bool:
    """Tell whether the referrals service (advisor-and-bank issue) is present."""
    return importlib.util.find_spec("finportal.services.referrals") is not None


def init_app(app: Flask) -> None:
    """Register the API, its OpenAPI document and its documentation page on the app."""
    app.config.setdefault("API_TITLE", "FinPortal Bank API（闵行区融资服务平台 银行接口）")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", URL_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": (
                    "Partner banks read the referrals and batches sent to them, download "
                    "packets and report decisions and loan outcomes. Send "
                    "`Authorization: Bearer <token>`; tokens are issued per bank by the centre. "
                    "Money is yuan as a decimal string; rates are fractions per year."
                )
            },
            "servers": [{"url": "/"}],
            "security": [{BEARER: []}],
        },
    )
    api = FinPortalApi(app)
    api.spec.components.security_scheme(BEARER, {"type": "http", "scheme": "bearer"})
    app.extensions["finportal_api"] = api

    from finportal.web.api import batches, products

    blueprints: list[ApiBlueprint] = [products.blp, batches.blp]
    if referrals_available():
        from finportal.web.api import referrals

        blueprints.append(referrals.blp)
    for blp in blueprints:
        csrf.exempt(blp)
        api.register_blueprint(blp)
    csrf.exempt(docs_bp)
    app.register_blueprint(docs_bp)
