"""Chinese labels of stored codes, one table each, for every page and the packet.

Loan purposes (the SME form's choices), consent scopes, and audit actions as the
histories of applications name them.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Loan purposes: the SME form's choices; Application.purpose holds the key.
PURPOSES = {
    "working_capital": "流动资金周转",
    "equipment": "购置设备",
    "research": "研发投入",
    "renewal": "贷款续贷/转贷",
    "esop": "员工持股",
    "other": "其他",
}

#: What a consent lets the bank see, in plain words (Consent.scope holds the keys).
SCOPE_LABELS = {
    "profile": "企业基本信息：名称、统一社会信用代码、成立日期、行业、从业人数、园区与商会",
    "financials": "经营与财务数据：营业收入、资产负债、利润、纳税及纳税信用等级、社保人数",
    "credit_record": "融资与信用记录：现有贷款、逾期、诉讼、被执行、行政处罚、信用修复",
    "score": "本平台的信用评分、等级及主要影响因素，以及本次申请的金额、期限和用途",
}
#: The scope every consent is given with.
DEFAULT_SCOPE = list(SCOPE_LABELS)

#: Audit actions as every history (the SME's timeline, the advisor's review) names them.
ACTION_LABELS = {
    "application.created": "创建申请",
    "application.draft": "保存草稿",
    "application.submitted": "提交申请",
    "application.screened": "自动初筛完成",
    "application.in_review": "服务中心受理",
    "application.returned": "退回补充材料",
    "application.rejected": "未通过",
    "application.referred": "推荐给银行",
    "application.withdrawn": "企业撤回",
    "application.closed": "办结",
    "application.rated": "企业评价",
    "application.note_added": "添加备注",
    "match.overridden": "调整匹配结果",
    "consent.granted": "授权银行查看",
    "consent.withdrawn": "撤回授权",
    "referral.sent": "发出推荐",
    "referral.packet_rendered": "生成推荐材料包",
    "referral.packet_refused": "拒绝提供材料包（授权已撤回）",
    "referral.viewed": "银行查看",
    "referral.opened": "银行再次查看",
    "referral.packet_downloaded": "银行下载材料包",
    "referral.info_requested": "银行要求补充材料",
    "referral.approved": "银行同意",
    "referral.declined": "银行拒绝",
    "referral.disbursed": "银行放款",
    "referral.repaid": "贷款结清",
    "referral.overdue_90": "逾期90天以上",
    "referral.defaulted": "贷款违约",
    "referral.withdrawn": "推荐随申请撤回",
}


def purpose_label(purpose: str | None) -> str:
    """Word a stored purpose ('code' or 'code:note'; older rows hold free text) in Chinese."""
    code, _, note = (purpose or "").partition(":")
    if not code:
        return "—"
    label = PURPOSES.get(code, code)
    return f"{label}（{note}）" if note else label


def scope_text(scope: Iterable[str] | None) -> str:
    """Word a consent's scope keys in Chinese, one clause per key."""
    return "；".join(SCOPE_LABELS.get(s, s) for s in scope or []) or "—"


def action_label(action: str) -> str:
    """Return the Chinese name of an audit action (the code itself only if unknown)."""
    return ACTION_LABELS.get(action, action)
