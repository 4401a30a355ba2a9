"""Error pages in the user's language, and service errors turned into HTTP answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from finportal import limits
from finportal.services.errors import ServiceError

MESSAGES = {
    400: ("请求有误。", "Bad request."),
    403: ("您没有权限访问此页面。", "You may not open this page."),
    404: ("页面不存在。", "Page not found."),
    405: ("不支持此操作。", "Method not allowed."),
    409: ("操作与当前状态冲突。", "This conflicts with the current state."),
    413: ("上传的文件太大。", "The uploaded file is too large."),
    429: ("尝试次数过多，请稍后再试。", "Too many attempts; please wait a minute and try again."),
    500: ("系统出错，请稍后再试。", "Something went wrong; please try again later."),
}

#: The named ``code`` of a JSON error, as the API names them (``finportal.web.api``).
JSON_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "internal_error",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


#: The link of a bad page number's refusal (zh, en).
FIRST_PAGE = ("回到列表第一页", "Go to the first page of the list")


def first_page_url() -> str:
    """Return the address of the list's first page: this request's without ``page``."""
    kept = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    path = (
        url_for(request.endpoint, **(request.view_args or {}))
        if request.endpoint
        else request.script_root + request.path
    )
    return path + (f"?{urlencode(kept)}" if kept else "")


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    def render(
        status: int,
        zh: str | None = None,
        en: str | None = None,
        *,
        code: str | None = None,
        link: tuple[str, str, str] | None = None,
    ) -> Any:
        default_zh, default_en = MESSAGES.get(status, MESSAGES[500])
        zh, en = zh or default_zh, en or default_en
        if _wants_json():
            body = {"code": code or JSON_CODES.get(status, str(status)), "message": zh}
            body["message_en"] = en
            if link is not None:
                body["link"] = link[0]
            return body, status
        return render_template(
            "error.html", status=status, message_zh=zh, message_en=en, link=link
        ), status

    for status in MESSAGES:
        app.register_error_handler(status, lambda exc, status=status: render(status))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return render(
            400,
            "表单已过期或缺少安全令牌，请刷新页面后重试。",
            "The form expired; reload and try again.",
        )

    @app.errorhandler(ServiceError)
    def _service(exc: ServiceError) -> Any:
        return render(exc.status, exc.message_zh, exc.message_en)

    @app.errorhandler(limits.BadPage)
    def _bad_page(exc: limits.BadPage) -> Any:
        # Every paged list: the message, and the way back to the list's first page with
        # the list's other arguments (filters, search, tab) kept.
        return render(
            exc.status,
            exc.message_zh,
            exc.message_en,
            code=exc.code,
            link=(first_page_url(), *FIRST_PAGE),
        )
