"""Checks every request passes before a view sees it, and the one same-site redirect rule.

- ``<int:...>`` in any URL rule (pages and API) only matches ids within
  :data:`finportal.limits.MAX_ID`: a larger id is simply not found (404), as an unknown
  one is, instead of overflowing the database's integer.
- Control characters in the path, the query string, form field names, uploaded file
  names or anywhere in a JSON body, and JSON nested deeper than
  :data:`finportal.limits.JSON_MAX_DEPTH`, are refused with a 400 in the user's
  language. Form *values* are checked by the form's own fields (a message beside the
  field, the form kept as typed).
- :func:`same_site_path` is the only way a user-supplied address (``next=``, the language
  switch's return address) becomes a redirect.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import IntegerConverter, Map
from werkzeug.urls import iri_to_uri

from finportal import limits
from finportal.services.errors import ServiceError


class IdConverter(IntegerConverter):
    """``<int:...>``: a positive integer no larger than the database's ids."""

    def __init__(
        self,
        map: Map,  # noqa: A002 - werkzeug's name
        fixed_digits: int = 0,
        min: int | None = 1,  # noqa: A002
        max: int | None = limits.MAX_ID,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BadInput(ServiceError):
    """The request itself is malformed (control characters, JSON nested too deep)."""

    status = 400
    code = "bad_request"


def _refuse_control_characters(where_zh: str, where_en: str) -> BadInput:
    return BadInput(
        f"{where_zh}含有不允许的控制字符，请删除后重试。",
        f"The {where_en} contains control characters; remove them and try again.",
    )


#: A JSON string (skipped whole, escapes included) or a bracket.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def json_depth(data: bytes | str) -> int:
    """Return how deeply the JSON text nests arrays and objects, without parsing it."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _strings(value: Any) -> Any:
    """Yield every string (keys too) in a parsed JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield str(key)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)


def check_request() -> None:
    """Refuse a request whose path, query, field names or JSON body hold what no input may."""
    has = limits.has_control_characters
    if has(request.path):
        raise _refuse_control_characters("地址", "address")
    for key, value in request.args.items(multi=True):
        if has(key) or has(value):
            raise _refuse_control_characters("查询条件", "query")
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # A multipart part whose name holds a line break reaches Flask with no name (None).
        if any(key is None or has(key) for key in (*request.form, *request.files)):
            raise _refuse_control_characters("表单", "form")
        for upload in request.files.values():
            if upload.filename and has(upload.filename):
                raise _refuse_control_characters("文件名", "file name")
    if request.is_json:
        body = request.get_data(cache=True)
        if not body:
            return
        if json_depth(body) > limits.JSON_MAX_DEPTH:
            raise BadInput(
                f"请求内容嵌套过深（最多 {limits.JSON_MAX_DEPTH} 层）。",
                f"The JSON body nests too deeply (at most {limits.JSON_MAX_DEPTH} levels).",
            )
        try:
            parsed = json.loads(body)
        except ValueError:
            return  # the API answers a malformed body with its own 400
        if any(has(text) for text in _strings(parsed)):
            raise _refuse_control_characters("请求内容", "request body")


def same_site_path(target: str | None) -> str | None:
    """Return ``target`` as a redirect to a path on this site, or None when it is not one.

    Judged after Werkzeug's own normalisation of a ``Location`` (``iri_to_uri``, which
    like a browser drops tabs and line breaks): ``/%09/evil.example`` arrives as
    ``/\t/evil.example`` and would become ``//evil.example``, another site. Control
    characters are refused outright (a line break in a header is an error).
    """
    if not target or not isinstance(target, str) or limits.has_control_characters(target):
        return None
    if any(c in target for c in "\t\r\n"):
        return None
    location = iri_to_uri(target)
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or not location.startswith("/") or location.startswith("//"):
        return None
    return location


def init_app(app: Flask) -> None:
    """Bound ``<int:...>`` ids and check every request (call before registering blueprints)."""
    app.url_map.converters["int"] = IdConverter
    app.config.setdefault("MAX_CONTENT_LENGTH", limits.REQUEST_MAX_BYTES)
    app.before_request(check_request)

    @app.errorhandler(SecurityError)
    def _untrusted_host(exc: SecurityError) -> Any:
        # No address can be built for an untrusted host, so no page either: plain text.
        return (
            "400 请求的主机名不受信任。 / The requested host is not trusted.",
            400,
            {"Content-Type": "text/plain; charset=utf-8"},
        )

    # Forms print their maxlength from the same limits the server checks (a global, so
    # imported macros see it too).
    app.jinja_env.globals["text_max"] = limits.TEXT
