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
