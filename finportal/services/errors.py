"""Errors a service raises; each carries a message in Chinese and in English."""

from __future__ import annotations


class ServiceError(Exception):
    """An operation was refused; ``status`` is the HTTP status an API answers with."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message_zh: str,
        message_en: str = "",
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en or message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh
        if code:
            self.code = code
        #: Field name -> message (zh), for forms that show errors beside fields.
        self.fields = fields or {}

    def message(self, locale: str = "zh_CN") -> str:
        """Return the message in the given locale."""
        return self.message_en if locale.startswith("en") else self.message_zh


class NotFound(ServiceError):
    """The record does not exist, or the actor may not know that it does."""

    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    """The actor may not do this."""

    status = 403
    code = "forbidden"


class InvalidTransition(ServiceError):
    """The record's state does not allow this step."""

    status = 409
    code = "invalid_transition"


class Conflict(ServiceError):
    """Someone else changed the record first (optimistic locking) or it already exists."""

    status = 409
    code = "conflict"


class ValidationFailed(ServiceError):
    """The input is not valid; ``fields`` says where."""

    status = 422
    code = "validation_failed"

    @classmethod
    def marked(cls, fields: dict[str, str]) -> ValidationFailed:
        """Return the error of a form with messages beside the marked fields."""
        return cls("请修改标出的内容。", "Please correct the marked fields.", fields=fields)
