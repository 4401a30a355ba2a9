"""The admin blueprint, its home page and the form helpers its pages share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, render_template
from marshmallow import EXCLUDE, Schema, fields, pre_load

from finportal import limits
from finportal.extensions import db
from finportal.services import audit_log
from finportal.services.errors import NotFound, ServiceError
from finportal.web.access import restrict_blueprint
from finportal.web.forms import message

bp = Blueprint("admin", __name__, url_prefix="/admin")
restrict_blueprint(bp, "admin")

#: The admin forms' messages (one bilingual table: ``finportal.limits.MESSAGES``).
M = limits.MESSAGES
REQUIRED = {"required": M["required"], "null": M["required"]}
INTEGER = {"invalid": M["integer"], **REQUIRED}
DECIMAL = {"invalid": M["decimal"], "special": M["number"], **REQUIRED}
DATE = {"invalid": M["date"], **REQUIRED}
CHOICE = M["choice"]


class FormSchema(Schema):
    """A form schema: ignores unknown keys, and an empty input counts as not given."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _drop_empty(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


def text(kind: str, required: bool = False, **kwargs: Any) -> limits.Text:
    """Return a text field within the limit of ``kind`` (:data:`finportal.limits.TEXT`)."""
    if required:
        return limits.Text(kind, required=True, error_messages=REQUIRED, **kwargs)
    return limits.Text(kind, load_default="", **kwargs)


def checkbox() -> fields.Boolean:
    """Return a checkbox field: absent means False."""
    return fields.Boolean(load_default=False, error_messages={"invalid": M["checkbox"]})


def service_errors(exc: ServiceError) -> dict[str, str]:
    """Turn a refused service call into form errors (the form message plus fields)."""
    db.session.rollback()
    if isinstance(exc, NotFound):
        raise exc
    return {"_form": message(exc), **exc.fields}


def attempt(call: Callable[[], Any]) -> tuple[Any, dict[str, str]]:
    """Run one service call; return (result, {}) or (None, form errors)."""
    try:
        return call(), {}
    except ServiceError as exc:
        return None, service_errors(exc)


@bp.get("/")
def home() -> Any:
    """Show the admin's home page with counts of what they manage."""
    return render_template("admin/home.html", counts=audit_log.overview(db.session))
