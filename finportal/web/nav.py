"""Navigation per role and labels shown in the layout."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_babel import LazyString, gettext, lazy_gettext
from flask_login import current_user

from finportal import page_cache
from finportal.domain.permissions import SUPERVISING_DUTIES
from finportal.models import ROLES
from finportal.services.labels import ROLE_TITLES, role_label

#: Each role's name in the user's language (read when shown; one table: services.labels).
ROLE_LABELS = {role: LazyString(role_label, role) for role in ROLE_TITLES}

#: (endpoint, label) per role; entries whose endpoint does not exist are skipped.
NAV: dict[str, list[tuple[str, Any]]] = {
    "sme": [
        ("sme.home", lazy_gettext("首页")),
        ("sme.profile", lazy_gettext("企业信息")),
        ("sme.matches", lazy_gettext("匹配产品")),
        ("catalogue.index", lazy_gettext("产品目录")),  # issue 16: the public catalogue
        ("sme.applications", lazy_gettext("我的申请")),
        ("sme.new_application", lazy_gettext("申请融资")),
        ("sme.needs_list", lazy_gettext("融资需求")),  # demand board (issue 15)
        ("sme.loans", lazy_gettext("我的贷款")),  # issue 13: maturities and renewals
        ("sme.document_list", lazy_gettext("企业材料")),  # issue 14
        ("sme.consent_list", lazy_gettext("授权管理")),
        ("sme.data_authorisations", lazy_gettext("数据核查授权")),  # issue 14
        ("sme.subsidies", lazy_gettext("我的补贴")),  # issue 13
        ("sme.notifications", lazy_gettext("消息")),
        ("sme.verification", lazy_gettext("企业认证")),
        ("sme.colleagues", lazy_gettext("同事账户")),
        ("complaints.home", lazy_gettext("意见与投诉")),  # issue 15
    ],
    "advisor": [
        ("advisor.home", lazy_gettext("待办队列")),
        ("advisor.batches", lazy_gettext("批次")),
        ("advisor.needs_escalated", lazy_gettext("待跟进需求")),  # demand board (issue 15)
        ("advisor.maturities", lazy_gettext("贷款到期")),  # issue 13: reminders and renewals
        ("advisor.verifications", lazy_gettext("企业认证")),
        ("advisor.dashboard", lazy_gettext("数据看板")),
        ("advisor.subsidies", lazy_gettext("补贴兑付")),  # issue 13
        # issue 15: complaints, and the supervisors' board and reports (DUTY_ENDPOINTS)
        ("advisor.complaints_list", lazy_gettext("诉求办理")),
        ("advisor.assignment_board", lazy_gettext("交办与预警")),
        ("advisor.reports", lazy_gettext("评价晾晒")),
        ("complaints.home", lazy_gettext("意见与投诉")),
    ],
    "recommender": [
        ("recommender.home", lazy_gettext("会员企业")),
        ("complaints.home", lazy_gettext("意见与投诉")),  # issue 15
    ],
    "bank": [
        ("bank.home", lazy_gettext("推荐收件箱")),
        ("bank.batches", lazy_gettext("批次")),
        ("bank.needs_board", lazy_gettext("融资需求")),  # demand board (issue 15)
        ("complaints.home", lazy_gettext("意见与投诉")),  # issue 15
    ],
    "admin": [
        ("admin.home", lazy_gettext("概览")),
        ("admin.products", lazy_gettext("金融产品")),
        ("admin.rates", lazy_gettext("LPR")),
        ("admin.holidays", lazy_gettext("节假日")),
        ("admin.models", lazy_gettext("评分模型")),
        ("admin.users", lazy_gettext("用户")),
        ("admin.organisations", lazy_gettext("机构")),
        ("admin.api_tokens", lazy_gettext("API 令牌")),
        ("admin.audit", lazy_gettext("审计日志")),
        ("admin.jobs_list", lazy_gettext("后台任务")),
        ("admin.public_data", lazy_gettext("公共数据导入")),  # issue 14
        ("admin.outbox_list", lazy_gettext("消息外发")),  # issue 15
    ],
}

assert set(NAV) == set(ROLES)

#: Menu entries only advisors of a duty open (issue 15: supervisors and the head).
DUTY_ENDPOINTS = {
    "advisor.assignment_board": SUPERVISING_DUTIES,
    "advisor.reports": SUPERVISING_DUTIES,
}


def menu(role: str, duty: str | None, endpoints: Any) -> list[tuple[str, Any]]:
    """Return the menu of a role (and duty): entries whose endpoint exists and is theirs."""
    return [
        (endpoint, label)
        for endpoint, label in NAV.get(role, [])
        if endpoint in endpoints
        and (endpoint not in DUTY_ENDPOINTS or duty in DUTY_ENDPOINTS[endpoint])
    ]


def _sme_state() -> dict[str, Any]:
    """Return the signed-in SME's unread count and open asks, read once per request."""
    # Cached on the request (not ``g``: an app context may outlive several requests).
    cache = request.environ
    if "finportal.sme_menu" not in cache:
        from finportal.extensions import db
        from finportal.services import asks, notifications

        enterprise_id = current_user.enterprise_id
        cache["finportal.sme_menu"] = {
            "unread": notifications.unread_count(
                db.session, enterprise_id=enterprise_id, user_id=current_user.id
            ),
            "asks": asks.open_asks(db.session, enterprise_id),
        }
    state: dict[str, Any] = cache["finportal.sme_menu"]
    return state


#: The menu entries that show a count, per role: endpoint -> the count's key in the state.
BADGES = {"sme": {"sme.notifications": "unread", "sme.applications": "asks"}}


def menu_badge(endpoint: str) -> int:
    """Return the count shown beside a menu entry (unread messages, open asks), 0 for none."""
    if not current_user.is_authenticated:
        return 0
    key = BADGES.get(current_user.role, {}).get(endpoint)
    if key is None:
        return 0
    value = _sme_state()[key]
    return len(value) if isinstance(value, list) else int(value)


def sme_unread() -> int:
    """Return the signed-in SME's unread messages (the menu's count, read once per request)."""
    return int(_sme_state()["unread"])


def sme_asks() -> list[Any]:
    """Return what the centre or a bank asked the signed-in SME to supply (待您补充)."""
    if not current_user.is_authenticated or current_user.role != "sme":
        return []
    asks: list[Any] = _sme_state()["asks"]
    return asks


def who() -> str:
    """Return the signed-in user's label in the top bar (its name and role)."""
    return str(
        gettext(
            "%(name)s（%(role)s）",
            name=current_user.display_name,
            role=role_label(current_user.role),
        )
    )


def init_app(app: Flask) -> None:
    """Expose ``nav_items``, ``role_label``, ``menu_badge`` and ``sme_asks`` to templates;
    the user's label is the page cache's slot ``who`` (the same page serves every advisor)."""
    page_cache.SLOTS["who"] = who

    @app.context_processor
    def _nav() -> dict[str, object]:
        def nav_items(role: str) -> list[tuple[str, Any]]:
            duty = getattr(current_user, "duty", None)
            return menu(role, duty, current_app.view_functions)

        return {
            "nav_items": nav_items,
            "role_label": role_label,
            "menu_badge": menu_badge,
            "sme_asks": sme_asks,
        }
