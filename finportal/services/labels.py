"""Labels of stored codes in Chinese and English, one table each, for every page and the packet.

Loan purposes (the SME form's choices), consent scopes, and audit actions as the
histories of applications name them.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Loan purposes: the SME form's choices; Application.purpose holds the key. (zh, en)
PURPOSES = {
    "working_capital": ("流动资金周转", "Working capital"),
    "equipment": ("购置设备", "Buying equipment"),
    "research": ("研发投入", "Research and development"),
    "renewal": ("贷款续贷/转贷", "Renewing or refinancing a loan"),
    "esop": ("员工持股", "Employee share ownership"),
    "other": ("其他", "Other"),
}

#: What a consent lets the bank see, in plain words (Consent.scope holds the keys). (zh, en)
SCOPES = {
    "profile": (
        "企业基本信息：名称、统一社会信用代码、成立日期、行业、从业人数、园区与商会",
        "Basic information: name, unified social credit code, date of registration, industry,"
        " employees, parks and chambers",
    ),
    "financials": (
        "经营与财务数据：营业收入、资产负债、利润、纳税及纳税信用等级、社保人数",
        "Operations and finances: revenue, assets and liabilities, profit, tax paid and tax"
        " credit grade, employees with social insurance",
    ),
    "credit_record": (
        "融资与信用记录：现有贷款、逾期、诉讼、被执行、行政处罚、信用修复",
        "Borrowing and credit record: current loans, overdue payments, lawsuits, enforcement,"
        " administrative penalties, credit repair",
    ),
    "score": (
        "本平台的信用评分、等级及主要影响因素，以及本次申请的金额、期限和用途",
        "This platform's credit score, grade and main factors, and the amount, term and"
        " purpose of this application",
    ),
}
#: The Chinese words of each scope (packets and tests read them).
SCOPE_LABELS = {key: zh for key, (zh, _en) in SCOPES.items()}
#: The scope every consent is given with.
DEFAULT_SCOPE = list(SCOPES)

#: What each role is called (models.ROLES), in the header, user lists and histories. (zh, en)
ROLE_TITLES = {
    "sme": ("企业用户", "Enterprise user"),
    "advisor": ("普惠金融顾问", "Advisor"),
    "recommender": ("园区/商会", "Park / chamber"),
    "bank": ("合作银行", "Partner bank"),
    "admin": ("管理员", "Administrator"),
}

#: Audit actions that are not a state's step, as every history names them (zh, en).
#: A step of a workflow (``application.submitted``...) is named by its machine's table.
ACTION_LABELS = {
    "referral.repayment": ("银行报告还款", "Repayment reported by the bank"),
    "application.created": ("创建申请", "Application created"),
    "application.draft": ("保存草稿", "Draft saved"),
    "application.rated": ("企业评价", "Rated by the enterprise"),
    "application.note_added": ("添加备注", "Note added"),
    "match.overridden": ("调整匹配结果", "Match adjusted"),
    "consent.granted": ("授权银行查看", "Consent given"),
    "consent.withdrawn": ("撤回授权", "Consent withdrawn"),
    "referral.sent": ("发出推荐", "Referred"),
    "referral.packet_rendered": ("生成推荐材料包", "Packet made"),
    "referral.packet_refused": ("拒绝提供材料包（授权已撤回）", "Packet refused"),
    "referral.opened": ("银行再次查看", "Opened again by the bank"),
    "referral.packet_downloaded": ("银行下载材料包", "Packet downloaded by the bank"),
    "enterprise.registered": ("企业注册", "Enterprise registered"),
    "enterprise.verification_requested": ("提交认证材料", "Asked for verification"),
    "enterprise.verified": ("认证通过", "Verified"),
    "enterprise.verification_rejected": ("认证未通过", "Verification refused"),
    "score.insufficient_data": ("资料不足，未评分", "Not scored: data missing"),
    # demand board (issue 15)
    "need.posted": ("发布融资需求", "Need posted"),
    "need_claim.claimed": ("银行认领需求", "Need claimed by a bank"),
    "bank.products_set": ("设置银行适用产品", "Bank's products set"),
    # issue 15: assignment (交办), escalation (预警) and complaints (反映)
    "application.assigned": ("交办给顾问", "Assigned to an advisor"),
    "application.escalated": ("超时升级", "Escalated (overdue)"),
    "complaint.raised": ("提出诉求", "Raised"),
    "complaint.assigned": ("交办给顾问", "Assigned to an advisor"),
    "complaint.escalated": ("超时升级", "Escalated (overdue)"),
    "user.duty_changed": ("变更顾问职责", "Advisor's duty changed"),
    "report.prepared": ("准备公开报告", "Public report prepared"),
    "report.approved": ("批准公开", "Approved for publication"),
    "report.withdrawn": ("撤下公开报告", "Public report withdrawn"),
    # every other event the portal records, so the audit log names each in words (issue 16)
    "api_token.created": ("签发接口令牌", "API token issued"),
    "api_token.revoked": ("撤销接口令牌", "API token revoked"),
    "bank.created": ("新增银行", "Bank added"),
    "bank.updated": ("修改银行", "Bank changed"),
    "bank.deleted": ("停用银行", "Bank removed"),
    "park.created": ("新增园区", "Park added"),
    "park.updated": ("修改园区", "Park changed"),
    "park.deleted": ("停用园区", "Park removed"),
    "chamber.created": ("新增商会", "Chamber added"),
    "chamber.updated": ("修改商会", "Chamber changed"),
    "chamber.deleted": ("停用商会", "Chamber removed"),
    "batch.created": ("创建批次", "Batch created"),
    "batch.filed": ("批次备案", "Batch filed"),
    "batch.packet_requested": ("请求生成批次材料包", "Batch packet requested"),
    "batch.packet_rendered": ("生成批次材料包", "Batch packet made"),
    "batch.packet_downloaded": ("下载批次材料包", "Batch packet downloaded"),
    "bench.appended": ("记录性能测试结果", "Benchmark recorded"),
    "data_authorisation.granted": ("授权核查公共数据", "Public data authorised"),
    "data_authorisation.withdrawn": ("撤回公共数据核查授权", "Public data authorisation withdrawn"),
    "public_data.queued": ("公共数据导入排队", "Public data import queued"),
    "public_data.done": ("公共数据导入完成", "Public data imported"),
    "public_data.rejected": ("公共数据导入被退回", "Public data import rejected"),
    "document.uploaded": ("上传材料", "Document uploaded"),
    "document.viewed": ("查看材料", "Document viewed"),
    "enterprise.memberships_confirmed": ("确认园区/商会成员身份", "Memberships confirmed"),
    "enterprise.profile_imported": ("从 Excel 导入企业资料", "Profile imported from Excel"),
    "enterprise.profile_updated": ("更新企业资料", "Profile updated"),
    "holiday.added": ("新增节假日", "Holiday added"),
    "holiday.deleted": ("删除节假日", "Holiday deleted"),
    "holiday.loaded": ("导入节假日", "Holidays loaded"),
    "invitation.created": ("发出邀请", "Invitation sent"),
    "invitation.accepted": ("接受邀请", "Invitation accepted"),
    "invitation.revoked": ("撤销邀请", "Invitation revoked"),
    "job.retried": ("重新排队后台任务", "Job queued again"),
    "job.selftest": ("后台任务自检", "Job self-test"),
    "model.registered": ("登记模型版本", "Model version registered"),
    "model.retrained": ("重新训练模型", "Model retrained"),
    "model.promoted": ("启用模型", "Model activated"),
    "model.promotion_reason": ("记录启用理由", "Reason for activation recorded"),
    "model.rescored": ("重新评分在办申请", "Open applications rescored"),
    "model.retired": ("停用模型", "Model retired"),
    "model.rolled_back": ("恢复上一个模型", "Previous model restored"),
    "outbox.retried": ("重新发送消息", "Message sent again"),
    "product.activated": ("产品上架", "Product put back"),
    "product.deactivated": ("产品下架", "Product taken off"),
    "product.published": ("发布产品版本", "Product version published"),
    "product.policy_push": ("政策找企业推送", "Policy push"),
    "product_draft.pending": ("提交产品草稿", "Product draft submitted"),
    "rate.added": ("新增参考利率", "Reference rate added"),
    "rate.deleted": ("删除参考利率", "Reference rate deleted"),
    "subsidy_entitlement.computed": ("计算补贴", "Subsidy computed"),
    "user.created": ("新增用户", "User added"),
    "user.updated": ("修改用户", "User changed"),
    "user.reactivated": ("重新启用用户", "User reactivated"),
    "user.email_changed": ("更改邮箱", "E-mail changed"),
    "user.email_removed": ("删除邮箱", "E-mail removed"),
    "user.email_verified": ("验证邮箱", "E-mail verified"),
    "user.notification_preferences": ("更改消息设置", "Notification settings changed"),
    "user.password_changed": ("修改密码", "Password changed"),
    "user.password_reset": ("重置密码", "Password reset"),
    "user.password_reset_requested": ("申请重置密码", "Password reset asked for"),
    "user.unsubscribed": ("退订消息", "Unsubscribed"),
}

#: What an audit event is about (AuditEvent.object_type), as the audit log names it. (zh, en)
OBJECT_LABELS = {
    "api_token": ("接口令牌", "API token"),
    "application": ("融资申请", "Application"),
    "bank": ("银行", "Bank"),
    "park": ("园区", "Park"),
    "chamber": ("商会", "Chamber"),
    "batch": ("批次", "Batch"),
    "batch_member": ("批次成员", "Batch member"),
    "batch_filing": ("批次备案", "Batch filing"),
    "bench": ("性能测试", "Benchmark"),
    "complaint": ("诉求", "Complaint"),
    "consent": ("授权", "Consent"),
    "document": ("材料", "Document"),
    "data_import": ("公共数据导入", "Public data import"),
    "enterprise": ("企业", "Enterprise"),
    "holiday": ("节假日", "Holiday"),
    "invitation": ("邀请", "Invitation"),
    "job": ("后台任务", "Job"),
    "match": ("匹配结果", "Match"),
    "model_version": ("模型版本", "Model version"),
    "need": ("融资需求", "Need"),
    "need_claim": ("需求认领", "Claim of a need"),
    "outbox": ("待发消息", "Outgoing message"),
    "payout_batch": ("补贴拨付批次", "Payout batch"),
    "product": ("金融产品", "Product"),
    "product_draft": ("产品草稿", "Product draft"),
    "product_version": ("产品版本", "Product version"),
    "published_report": ("公开报告", "Public report"),
    "reference_rate": ("参考利率", "Reference rate"),
    "referral": ("推荐", "Referral"),
    "subsidy_entitlement": ("补贴资格", "Subsidy entitlement"),
    "user": ("用户", "User"),
}

#: Keys of an audit event's data, as the audit log's table names them (zh, en). A key that
#: is a field of the enterprise profile or the request is named by products/data/fields.yaml.
DATA_LABELS = {
    "about": ("事项", "About"),
    "after": ("修改后", "After"),
    "amount": ("金额", "Amount"),
    "annual_rate": ("年利率", "Yearly rate"),
    "application_id": ("申请编号", "Application"),
    "at": ("时间", "At"),
    "attempts": ("尝试次数", "Attempts"),
    "bank_id": ("银行编号", "Bank"),
    "baseline_check": ("基准对比", "Baseline check"),
    "batch_id": ("批次编号", "Batch"),
    "bads": ("坏样本数", "Bad outcomes"),
    "before": ("修改前", "Before"),
    "champion": ("原启用模型", "Champion"),
    "changed": ("修改项", "Changed"),
    "channel": ("渠道", "Channel"),
    "claim_due_at": ("认领时限", "Claim due"),
    "claim_id": ("认领编号", "Claim"),
    "code": ("代码", "Code"),
    "content_hash": ("内容指纹", "Content hash"),
    "day": ("日期", "Day"),
    "delta_auc": ("AUC 变化", "Change in AUC"),
    "description": ("说明", "Description"),
    "document_id": ("材料编号", "Document"),
    "drafted_by": ("起草人", "Drafted by"),
    "due_at": ("时限", "Due"),
    "duty": ("职责", "Duty"),
    "effective_on": ("生效日期", "Effective on"),
    "eligible": ("符合条件", "Eligible"),
    "email": ("邮箱", "E-mail"),
    "end": ("结束", "End"),
    "enterprise_id": ("企业编号", "Enterprise"),
    "error": ("错误", "Error"),
    "example": ("示例", "Example"),
    "exclusion": ("排除原因", "Exclusion"),
    "fields": ("字段", "Fields"),
    "from": ("从", "From"),
    "holdout_rows": ("留出样本数", "Held-out rows"),
    "is_workday": ("是否工作日", "Working day"),
    "job_id": ("任务编号", "Job"),
    "kind": ("类别", "Kind"),
    "label": ("名称", "Label"),
    "language": ("语言", "Language"),
    "level": ("级别", "Level"),
    "loan_outcome_id": ("放款结果编号", "Loan outcome"),
    "members": ("成员数", "Members"),
    "message": ("信息", "Message"),
    "name": ("名称", "Name"),
    "name_zh": ("中文名称", "Name (Chinese)"),
    "need_id": ("需求编号", "Need"),
    "note": ("备注", "Note"),
    "note_id": ("备注编号", "Note"),
    "number": ("编号", "Number"),
    "outbox_id": ("消息编号", "Message"),
    "overdue": ("已超时", "Overdue"),
    "packet_id": ("材料包编号", "Packet"),
    "packet_number": ("材料包编号", "Packet number"),
    "packet_sha256": ("材料包 SHA-256", "Packet SHA-256"),
    "passed": ("通过", "Passed"),
    "payout_id": ("拨付编号", "Payout"),
    "prefix": ("令牌前缀", "Token prefix"),
    "product": ("产品", "Product"),
    "product_version_id": ("产品版本编号", "Product version"),
    "publication_id": ("公示编号", "Publication"),
    "purpose": ("资金用途", "Purpose"),
    "purpose_note": ("用途说明", "Purpose note"),
    "quiet": ("免打扰", "Quiet hours"),
    "rated": ("已评价", "Rated"),
    "reason_code": ("原因代码", "Reason code"),
    "referral_id": ("推荐编号", "Referral"),
    "referral_ids": ("推荐编号", "Referrals"),
    "request_id": ("请求编号", "Request"),
    "return_request": ("补充材料要求", "Request for information"),
    "role": ("角色", "Role"),
    "rows": ("样本数", "Rows"),
    "sha256": ("SHA-256", "SHA-256"),
    "stamp": ("水印", "Stamp"),
    "stamped_sha256": ("加水印后 SHA-256", "Stamped SHA-256"),
    "stars": ("评分（星）", "Stars"),
    "start": ("开始", "Start"),
    "term_months": ("期限（月）", "Term (months)"),
    "theme": ("主题", "Theme"),
    "to": ("到", "To"),
    "user_id": ("用户编号", "User"),
    "username": ("用户名", "Username"),
    "version": ("版本", "Version"),
    "via": ("途径", "Via"),
    "what_if": ("发布影响测算", "What-if"),
}


def _english(locale: str | None) -> bool:
    from finportal.domain.states import current_locale

    return (locale or current_locale()).startswith("en")


def purpose_choices(locale: str | None = None) -> list[tuple[str, str]]:
    """Return (code, words) of every loan purpose, for a select box."""
    index = 1 if _english(locale) else 0
    return [(code, words[index]) for code, words in PURPOSES.items()]


def purpose_label(purpose: str | None, locale: str | None = None) -> str:
    """Word a stored purpose ('code' or 'code:note'; older rows hold free text)."""
    code, _, note = (purpose or "").partition(":")
    if not code:
        return "—"
    english = _english(locale)
    words = PURPOSES.get(code)
    label = words[1 if english else 0] if words else code
    if not note:
        return label
    return f"{label} ({note})" if english else f"{label}（{note}）"


def role_label(role: str, locale: str | None = None) -> str:
    """Name a role."""
    words = ROLE_TITLES.get(role)
    return words[1 if _english(locale) else 0] if words else role


def scope_label(key: str, locale: str | None = None) -> str:
    """Word one consent scope key."""
    words = SCOPES.get(key)
    return words[1 if _english(locale) else 0] if words else key


def scope_text(scope: Iterable[str] | None, locale: str | None = None) -> str:
    """Word a consent's scope keys, one clause per key."""
    joiner = "; " if _english(locale) else "；"
    return joiner.join(scope_label(s, locale) for s in scope or []) or "—"


def action_label(
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    locale: str | None = None,
) -> str:
    """Name an audit action: a workflow step by its machine, others by :data:`ACTION_LABELS`."""
    from finportal.domain.states import MACHINES, current_locale

    english = (locale or current_locale()).startswith("en")
    if action in ACTION_LABELS:
        zh, en = ACTION_LABELS[action]
        return en if english else zh
    kind, _, target = action.partition(".")
    machine = MACHINES.get(kind)
    if machine is not None and target in {s.value for s in machine.states}:
        return machine.verb(from_state, target, "en" if english else "zh_CN")
    return action


def object_label(object_type: str | None, locale: str | None = None) -> str:
    """Name what an audit event is about (its object type)."""
    words = OBJECT_LABELS.get(object_type or "")
    if words is None:
        return object_type or "—"
    return words[1 if _english(locale) else 0]


def data_label(key: str, locale: str | None = None) -> str:
    """Name a key of an audit event's data: :data:`DATA_LABELS`, else the field definition."""
    english = _english(locale)
    words = DATA_LABELS.get(key)
    if words is not None:
        return words[1 if english else 0]
    from products.fields import field_specs

    spec = field_specs().get(key)
    if spec is not None:
        return spec.label_en if english else spec.label_zh
    return key
