"""Navigation per role and labels shown in the layout."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from finportal.models import ROLES

ROLE_LABELS = {
    "sme": _l("企业用户"),
    "advisor": _l("普惠金融顾问"),
    "recommender": _l("园区/商会"),
    "bank": _l("合作银行"),
    "admin": _l("管理员"),
}

#: (endpoint, label) per role; entries whose endpoint does not exist are skipped.
NAV: dict[str, list[tuple[str, Any]]] = {
    "sme": [
        ("sme.home", _l("首页")),
        ("sme.profile", _l("企业信息")),
        ("sme.matches", _l("匹配产品")),
        ("sme.applications", _l("我的申请")),
        ("sme.new_application", _l("申请融资")),
        ("sme.notifications", _l("消息")),
    ],
    "advisor": [
        ("advisor.home", _l("待办队列")),
        ("advisor.batches", _l("批次")),
        ("advisor.dashboard", _l("数据看板")),
    ],
    "recommender": [("recommender.home", _l("会员企业"))],
    "bank": [("bank.home", _l("推荐收件箱")), ("bank.batches", _l("批次"))],
    "admin": [
        ("admin.home", _l("概览")),
        ("admin.products", _l("金融产品")),
        ("admin.rates", _l("LPR")),
        ("admin.holidays", _l("节假日")),
        ("admin.models", _l("评分模型")),
        ("admin.users", _l("用户")),
        ("admin.organisations", _l("机构")),
        ("admin.api_tokens", _l("API 令牌")),
        ("admin.audit", _l("审计日志")),
    ],
}

assert set(NAV) == set(ROLES)


def init_app(app: Flask) -> None:
    """Expose ``nav_items`` and ``role_label`` to templates."""

    @app.context_processor
    def _nav() -> dict[str, object]:
        def nav_items(role: str) -> list[tuple[str, Any]]:
            views = current_app.view_functions
            return [(endpoint, label) for endpoint, label in NAV.get(role, []) if endpoint in views]

        return {"nav_items": nav_items, "role_label": lambda role: ROLE_LABELS.get(role, role)}
