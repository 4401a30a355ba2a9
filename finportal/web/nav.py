"""Navigation per role and labels shown in the layout."""

from __future__ import annotations

from flask import Flask, current_app

from finportal.models import ROLES

ROLE_LABELS = {
    "sme": "企业用户",
    "advisor": "普惠金融顾问",
    "recommender": "园区/商会",
    "bank": "合作银行",
    "admin": "管理员",
}

#: (endpoint, label) per role; entries whose endpoint does not exist are skipped.
NAV: dict[str, list[tuple[str, str]]] = {
    "sme": [
        ("sme.home", "首页"),
        ("sme.profile", "企业信息"),
        ("sme.matches", "匹配产品"),
        ("sme.applications", "我的申请"),
        ("sme.new_application", "申请融资"),
        ("sme.notifications", "消息"),
    ],
    "advisor": [
        ("advisor.home", "待办队列"),
        ("advisor.batches", "批次"),
        ("advisor.dashboard", "数据看板"),
    ],
    "recommender": [("recommender.home", "会员企业")],
    "bank": [("bank.home", "推荐收件箱"), ("bank.batches", "批次")],
    "admin": [
        ("admin.home", "概览"),
        ("admin.products", "金融产品"),
        ("admin.rates", "LPR"),
        ("admin.holidays", "节假日"),
        ("admin.models", "评分模型"),
        ("admin.users", "用户"),
        ("admin.organisations", "机构"),
        ("admin.api_tokens", "API 令牌"),
        ("admin.audit", "审计日志"),
    ],
}

assert set(NAV) == set(ROLES)


def init_app(app: Flask) -> None:
    """Expose ``nav_items`` and ``role_label`` to templates."""

    @app.context_processor
    def _nav() -> dict[str, object]:
        def nav_items(role: str) -> list[tuple[str, str]]:
            views = current_app.view_functions
            return [(endpoint, label) for endpoint, label in NAV.get(role, []) if endpoint in views]

        return {"nav_items": nav_items, "role_label": lambda role: ROLE_LABELS.get(role, role)}
