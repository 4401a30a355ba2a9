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

#: Audit actions that are not a state's step, as every history names them (zh, en).
#: A step of a workflow (``application.submitted``...) is named by its machine's table.
ACTION_LABELS = {
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
