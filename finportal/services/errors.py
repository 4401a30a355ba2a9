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


#: What the user is told when a record of a kind is not there (Chinese, English).
NOT_FOUND: dict[str, tuple[str, str]] = {
    "application": ("申请不存在。", "No such application."),
    "authorisation": ("数据核查授权不存在。", "No such authorisation to check public data."),
    "bank": ("银行不存在。", "No such bank."),
    "batch": ("批次不存在。", "No such batch."),
    "batch_member": ("批次成员不存在。", "No such batch member."),
    "claim": ("认领记录不存在。", "No such claim."),
    "complaint": ("诉求不存在。", "No such complaint or suggestion."),
    "consent": ("授权不存在。", "No such consent."),
    "document": ("文件不存在。", "No such document."),
    "draft": ("草稿不存在。", "No such draft."),
    "enterprise": ("企业不存在。", "No such enterprise."),
    "holiday": ("节假日记录不存在。", "No such holiday."),
    "import": ("导入记录不存在。", "No such import."),
    "invitation": ("邀请不存在。", "No such invitation."),
    "job": ("任务不存在。", "No such job."),
    "match": ("匹配结果不存在。", "No such match."),
    "message": ("外发消息不存在。", "No such outgoing message."),
    "model_version": ("模型版本不存在。", "No such model version."),
    "need": ("融资需求不存在。", "No such need."),
    "notification": ("消息不存在。", "No such notification."),
    "organisation": ("机构不存在。", "No such organisation."),
    "organisation_kind": ("机构类别不存在。", "No such kind of organisation."),
    "payout_batch": ("兑付批次不存在。", "No such payout batch."),
    "product": ("产品不存在。", "No such product."),
    "product_version": ("产品版本不存在。", "No such product version."),
    "rate": ("利率记录不存在。", "No such rate."),
    "referral": ("推荐记录不存在。", "No such referral."),
    "report": ("报告不存在。", "No such report."),
    "running_loan": (
        "没有这笔在贷贷款（可能已结清）。",
        "No such running loan (it may be repaid).",
    ),
    "subsidy": ("补贴不存在。", "No such subsidy."),
    "token": ("令牌不存在。", "No such token."),
    "user": ("用户不存在。", "No such user."),
    "verification_request": ("认证申请不存在。", "No such verification request."),
}


class NotFound(ServiceError):
    """The record does not exist, or the actor may not know that it does."""

    status = 404
    code = "not_found"

    @classmethod
    def of(cls, kind: str) -> NotFound:
        """Return the error for a record of ``kind`` (a key of :data:`NOT_FOUND`)."""
        return cls(*NOT_FOUND[kind])


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
