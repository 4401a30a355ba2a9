"""The API documentation page's content, made from the registered OpenAPI document.

One definition: every endpoint, parameter and schema on the page comes from the routes
and schemas flask-smorest registered (``api.spec``); the Chinese summary of an operation
is its ``x-summary-zh`` (``@blp.doc`` beside the route). Examples (a curl line, a JSON
request and response) are generated from the schemas: a field's ``example`` when it has
one, else a value of its type.
"""

from __future__ import annotations

import json
import re
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")

#: Example values by (type, format) when a field gives none.
_TYPED: dict[tuple[str, str | None], Any] = {
    ("string", "date-time"): "2026-11-30T09:30:00+08:00",
    ("string", "date"): "2026-11-30",
    ("string", None): "…",
    ("integer", None): 1,
    ("number", None): 1.0,
    ("boolean", None): True,
}


#: Example values of fields that give none, by the field's name (what a bank would see).
_NAMED: dict[str, Any] = {
    "enterprise_name": "上海闵联智能装备科技有限公司",
    "enterprise_uscc": "91310112MA1GB3XK29",
    "product_code": "park_batch",
    "product_name": "园区批次贷",
    "code": "B-2026-0007",
    "name": "2026 年第 4 批园区批次贷",
    "organiser": "莘庄工业区",
    "state": "sent",
    "filing_status": "filed",
    "packet_number": "RP-20261127-000123",
    "decision": "approved",
    "reason_code": None,
    "reason_text": "",
    "event": "disbursed",
    "advisor_opinion": "经营稳定，建议支持。",
    "label_zh": "从业人员数",
    "label_en": "number of employees",
    "unit": "persons",
    "taken_at": "2026-11-20T10:00:00+08:00",
    "annual_rate": 0.035,
    "term_months": 12,
    "approved_amount": 1000000,
    "amount": 1000000,
}


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return dict(components.get(ref.rsplit("/", 1)[-1], {}))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return {
            **_resolve(schema["allOf"][0], components),
            **{k: v for k, v in schema.items() if k != "allOf"},
        }
    return schema


def example_of(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    """Return an example value of a JSON schema (objects field by field)."""
    schema = _resolve(schema, components)
    if "example" in schema:
        return schema["example"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)] if depth < 4 else []
    if kind == "object" or "properties" in schema:
        if depth >= 4:
            return {}
        return {
            name: _NAMED[name]
            if name in _NAMED and "example" not in prop and "enum" not in prop
            else example_of(prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
        }
    fmt = schema.get("format")
    return _TYPED.get((kind or "string", fmt), _TYPED.get((kind or "string", None), "…"))


def _body_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    content = (op.get("requestBody") or {}).get("content", {})
    media = content.get("application/json")
    return media.get("schema") if media else None


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str]:
    for status, response in op.get("responses", {}).items():
        if status.startswith("2"):
            content = response.get("content", {})
            if "application/json" in content:
                return status, content["application/json"].get("schema"), "application/json"
            media = next(iter(content), "")
            return status, None, media
    return "200", None, ""


def _path_example(path: str, op: dict[str, Any]) -> str:
    values = {p["name"]: 1 for p in op.get("parameters", []) if p.get("in") == "path"}
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def operations(spec: dict[str, Any], base_url: str, english: bool) -> list[dict[str, Any]]:
    """Return every operation of the document with its words and generated examples."""
    components = spec.get("components", {}).get("schemas", {})
    out = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            public = op.get("security") == []
            body = _body_schema(op)
            status, response, media = _success(op)
            url = base_url.rstrip("/") + _path_example(path, op)
            query = [
                p for p in op.get("parameters", []) if p.get("in") == "query" and p.get("required")
            ]
            if query:
                url += "?" + "&".join(
                    f"{p['name']}={example_of(p.get('schema', {}), components)}" for p in query
                )
            lines = [f"curl -sS{' -X ' + method.upper() if method != 'get' else ''} '{url}'"]
            if not public:
                lines.append('  -H "Authorization: Bearer $TOKEN"')
            request_example = example_of(body, components) if body else None
            if request_example is not None:
                lines.append("  -H 'Content-Type: application/json'")
                lines.append(f"  -d '{json.dumps(request_example, ensure_ascii=False)}'")
            if media == "application/pdf":
                lines.append("  -o packet.pdf")
            summary_en = op.get("summary", "")
            out.append(
                {
                    "id": re.sub(r"[^a-z0-9]+", "-", f"{method}{path}".lower()).strip("-"),
                    "method": method.upper(),
                    "path": path,
                    "summary": summary_en if english else op.get("x-summary-zh") or summary_en,
                    "summary_en": summary_en,
                    "description": op.get("description", ""),
                    "public": public,
                    "parameters": op.get("parameters", []),
                    "body_schema": (body or {}).get("$ref", "").rsplit("/", 1)[-1],
                    "curl": " \\\n".join(lines),
                    "request_example": _pretty(request_example)
                    if request_example is not None
                    else "",
                    "status": status,
                    "media": media,
                    "response_example": _pretty(example_of(response, components))
                    if response
                    else "",
                    "responses": list(op.get("responses", {})),
                }
            )
    return out
