"""Helpers for HTML forms validated by marshmallow schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash
from marshmallow import Schema, ValidationError

from finportal import limits
from finportal.extensions import db
from finportal.services.errors import ServiceError, ValidationFailed

#: Messages of a required field that must also parse (a number, a date, a choice).
REQUIRED = {"required": limits.MESSAGES["required"], "invalid": limits.MESSAGES["invalid"]}


def load_form(schema: Schema, form: Any) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Load a submitted form through a schema; return (data, errors by field)."""
    raw = {key: value for key, value in form.items() if key != "csrf_token"}
    try:
        return schema.load(raw), {}
    except ValidationError as exc:
        return None, flatten_errors(exc.messages)


def flatten_errors(messages: Any) -> dict[str, str]:
    """Turn marshmallow's nested messages into one message per field."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for field, value in messages.items():
            if isinstance(value, list):
                out[str(field)] = limits.joined(value)
            elif isinstance(value, dict):
                for sub, text in flatten_errors(value).items():
                    out[f"{field}.{sub}"] = text
            else:
                out[str(field)] = str(value)
    return out


def message(exc: ServiceError | limits.LimitError) -> str:
    """Return a refusal's message in the user's language."""
    return limits.in_user_language(exc.message_zh, exc.message_en)


def form_errors(exc: ServiceError) -> dict[str, str]:
    """Return a refusal as a form's errors: its fields' messages, else the message itself."""
    return dict(exc.fields) or {"_form": message(exc)}


def invalid(message: str, errors: dict[str, str]) -> ValidationFailed:
    """Refuse a form a view loaded: ``message`` is already in the user's language (``_()``)."""
    return ValidationFailed(message, message, fields=errors)


def flash_refusal(exc: ServiceError) -> None:
    """Roll back a refused service call and flash its message; a 404 is raised again."""
    db.session.rollback()
    if exc.status == 404:
        # Someone else's record: answer 404 rather than confirm it exists.
        raise exc
    flash(message(exc), "danger")


def flash_outcome(step: Callable[[], object], done: str) -> None:
    """Run a one-button action: flash ``done``, or its refusal (:func:`flash_refusal`).

    The view then redirects back to its page either way.
    """
    try:
        step()
    except ServiceError as exc:
        flash_refusal(exc)
    else:
        flash(done, "success")


def no_refusal() -> dict[str, Any]:
    """Return what a page of action forms shows when no action was refused."""
    return {"errors": {}, "values": {}, "error": None, "active_form": None}


def refusal(exc: ServiceError, values: dict[str, Any], form: str) -> dict[str, Any]:
    """Roll back a refused action; return what its page shows again (status, message, errors)."""
    db.session.rollback()
    return {
        "status": exc.status if exc.status >= 400 else 422,
        "error": message(exc),
        "errors": exc.fields,
        "values": values,
        "active_form": form,
    }
