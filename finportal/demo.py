"""Demo data: real public parks and chambers, fictional banks and enterprises, one user per role.

``flask --app wsgi demo`` creates or refreshes it idempotently: records are found by their
natural keys (code, USCC, username) and updated in place, never duplicated.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as stdnum_uscc

from finportal.domain import fields as profile_fields
from finportal.extensions import db
from finportal.models import (
    Bank,
    Chamber,
    Enterprise,
    Holiday,
    Membership,
    Park,
    ReferenceRate,
    User,
)
from finportal.services import reference_data
from finportal.services.accounts import hash_password, verify_password

DEFAULT_PASSWORD = "finportal-demo"  # noqa: S105 - the documented demo password
DEMO_ENTERPRISES = 220
MINHANG = "310112"

PARKS = [
    # (code, 中文, English, source)
    (
        "xinzhuang",
        "莘庄工业区",
        "Xinzhuang Industrial Zone",
        "闵行区营商环境行动方案（2025）通知抬头；shanghai.gov.cn",
    ),
    (
        "dalinghaowan",
        "大零号湾科技创新策源功能区",
        "Grand Zero Bay Innovation Zone",
        "闵行区营商环境行动方案（2025）二(一)",
    ),
    ("zizhu", "紫竹国家高新技术产业开发区", "Zizhu National High-tech Zone", "www.zizhupark.com"),
    (
        "minhang_etdz",
        "闵行经济技术开发区",
        "Minhang Economic and Technological Development Zone",
        "www.smudc.com",
    ),
    (
        "nanhongqiao_finance",
        "南虹桥国际金融园区",
        "South Hongqiao International Finance Park",
        "闵行区营商环境行动方案（2025）",
    ),
]
CHAMBERS = [
    (
        "minhang_gsl",
        "闵行区工商业联合会（总商会）",
        "Minhang Federation of Industry and Commerce",
        "www.shmh.gov.cn",
    ),
    (
        "demo_tech_chamber",
        "闵行区科技企业商会（演示）",
        "Minhang Tech Enterprise Chamber (demo)",
        "demo",
    ),
    ("demo_trade_chamber", "闵行区商贸流通商会（演示）", "Minhang Trade Chamber (demo)", "demo"),
]
BANKS = [
    ("demo_bank_a", "示范银行甲（演示）", "Demo Bank A (fictional)"),
    ("demo_bank_b", "示范银行乙（演示）", "Demo Bank B (fictional)"),
    ("demo_bank_c", "示范农商银行（演示）", "Demo Rural Commercial Bank (fictional)"),
]
LPR_1Y = [
    # 全国银行间同业拆借中心 公布的一年期 LPR
    (date(2024, 10, 21), Decimal("0.031000")),
    (date(2025, 5, 20), Decimal("0.030000")),
]

# (GB/T 4754 division, words used in names, typical staff range, revenue range in yuan)
INDUSTRIES = [
    ("39", "电子科技", (20, 600), (3_000_000, 400_000_000)),
    ("34", "精密机械", (20, 500), (3_000_000, 300_000_000)),
    ("35", "智能装备", (15, 400), (2_000_000, 250_000_000)),
    ("27", "生物医药", (10, 300), (1_000_000, 200_000_000)),
    ("26", "新材料", (20, 350), (3_000_000, 200_000_000)),
    ("65", "软件信息", (5, 300), (300_000, 120_000_000)),
    ("64", "网络科技", (5, 200), (300_000, 80_000_000)),
    ("73", "研发服务", (5, 150), (500_000, 50_000_000)),
    ("51", "贸易", (3, 120), (1_000_000, 300_000_000)),
    ("52", "商贸零售", (5, 150), (500_000, 100_000_000)),
    ("48", "建筑工程", (20, 500), (3_000_000, 300_000_000)),
    ("54", "物流运输", (10, 400), (1_000_000, 150_000_000)),
    ("62", "餐饮管理", (10, 200), (1_000_000, 40_000_000)),
    ("01", "农业发展", (5, 120), (500_000, 30_000_000)),
    ("72", "商务咨询", (3, 100), (200_000, 20_000_000)),
    ("70", "置业", (5, 80), (2_000_000, 200_000_000)),
    ("90", "文化娱乐", (5, 80), (500_000, 20_000_000)),
]
NAME_WORDS = [
    "明远",
    "嘉禾",
    "星澜",
    "瑞丰",
    "恒新",
    "博雅",
    "启航",
    "致远",
    "华晟",
    "安澜",
    "卓越",
    "汇智",
    "鼎信",
    "云帆",
    "凯拓",
    "聚源",
    "慧通",
    "长青",
    "锦程",
    "海岳",
    "清源",
    "弘毅",
    "德馨",
    "立信",
]


def _uscc(rng: random.Random, index: int, district: str = MINHANG) -> str:
    """Make a valid, clearly synthetic USCC (check character per GB 32100-2015)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + district + "DM" + f"{index:04d}" + "".join(rng.choice(alphabet) for _ in range(3))
    return body + stdnum_uscc.calc_check_digit(body)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, -3))).quantize(Decimal("0.01"))


#: Surnames and given names the demo firms' (fictional) legal representatives are made of.
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平", "刚")


#: Second characters of two-character given names (the scale data's firms beyond the 300th).
_GIVEN_FIRST = "建国志文晓海春秋丽玉俊佳子雨思婷嘉欣宇浩天博"


def _legal_representative(index: int) -> str:
    """Return a fictional name for the ``index``-th firm.

    The demo's firms (up to 300) get distinct one-character given names; the scale data's
    20,000 firms also draw two-character ones (20 × 23 × 15 = 6,900 names), so a name
    recurs a few times, as common names do in a district, instead of 70 times.
    """
    surname = _SURNAMES[index % len(_SURNAMES)]
    given = _GIVEN[(index // len(_SURNAMES)) % len(_GIVEN)]
    if index < len(_SURNAMES) * len(_GIVEN):
        return surname + given
    first = _GIVEN_FIRST[(index // (len(_SURNAMES) * len(_GIVEN))) % len(_GIVEN_FIRST)]
    return surname + first + given


def _profile(rng: random.Random, index: int, today: date) -> dict[str, object]:
    """Draw one consistent enterprise profile."""
    code, word, staff_range, revenue_range = INDUSTRIES[index % len(INDUSTRIES)]
    # Log-uniform sizes give a realistic spread of micro, small and medium firms.
    employees = int(round(staff_range[0] * (staff_range[1] / staff_range[0]) ** rng.random()))
    revenue = revenue_range[0] * (revenue_range[1] / revenue_range[0]) ** rng.random()
    growth = rng.gauss(0.08, 0.2)
    age_days = int(365 * (0.3 + 15 * rng.random() ** 1.5))
    assets = revenue * rng.uniform(0.5, 1.8)
    risky = rng.random() < 0.18
    debt_ratio = min(0.95, max(0.05, rng.gauss(0.62 if risky else 0.45, 0.15)))
    margin = rng.gauss(-0.02 if risky else 0.06, 0.06)
    tax_grade = rng.choices(
        "ABMCD", weights=[35, 40, 10, 10, 5] if not risky else [10, 30, 10, 30, 20]
    )[0]
    if age_days < 365:
        tax_grade = "M"
    is_tech = code in ("39", "35", "27", "26", "65", "64", "73")
    certifications = []
    if is_tech and rng.random() < 0.6:
        certifications.append("tech_sme")
    if is_tech and rng.random() < 0.35:
        certifications.append("high_tech")
    if code in ("39", "34", "35", "26", "27") and rng.random() < 0.2:
        certifications.append("specialized")
        if rng.random() < 0.25:
            certifications.append("little_giant")
    has_history = rng.random() < 0.65
    balance = revenue * rng.uniform(0.05, 0.4) if has_history and rng.random() < 0.8 else 0
    overdue = (
        rng.choices([0, 1, 2, 4], weights=[75, 12, 8, 5] if risky else [93, 5, 2, 0])[0]
        if has_history
        else 0
    )
    in_district = rng.random() < 0.92
    return {
        "name": f"上海{rng.choice(NAME_WORDS)}{word}有限公司（演示{index:03d}）",
        "uscc": _uscc(rng, index, MINHANG if in_district else "310115"),
        "registered_on": today - timedelta(days=age_days),
        "district_code": MINHANG if in_district else "310115",
        # The Minhang subdistrict or town, spread by index (no rng draw: the rest stays).
        "street": STREETS[index % len(STREETS)] if in_district else None,
        # A fictional legal representative, unique per firm, except that firms 2 and 3
        # share one (the consistency flags' related firms); no rng draw, so the rest stays.
        "legal_representative": _legal_representative(2 if index == 3 else index),
        "industry_code": code,
        "employees": employees,
        # 0-20 % of staff hired this year from the start-up loan's groups (no rng draw,
        # so the rest of the demo data stays as it was).
        "qualifying_new_hires": employees * (index % 5) * 5 // 100,
        "social_insured_employees": max(0, int(employees * rng.uniform(0.6, 1.0))),
        "revenue_last_year": _money(revenue),
        "revenue_prev_year": _money(revenue / (1 + growth)),
        "total_assets": _money(assets),
        "total_liabilities": _money(assets * debt_ratio),
        "net_profit_last_year": _money(revenue * margin),
        "tax_paid_last_year": _money(revenue * rng.uniform(0.01, 0.06)),
        "tax_credit_grade": tax_grade,
        "invention_patents": rng.choice([0, 0, 0, 1, 2, 5, 12]) if is_tech else 0,
        "utility_patents": rng.choice([0, 0, 1, 3, 8, 20]) if is_tech or code == "34" else 0,
        "trademarks": rng.choice([0, 0, 1, 2, 4]),
        "certifications": certifications,
        "existing_loan_balance": _money(balance),
        "has_bank_loan_history": has_history,
        "loan_maturing_within_days": rng.choice([None, None, 30, 60, 85, 200]) if balance else None,
        "overdue_count_24m": overdue,
        "max_overdue_days_24m": overdue * rng.choice([5, 15, 40]) if overdue else 0,
        "pending_lawsuits": rng.choices(
            [0, 1, 2], weights=[90, 8, 2] if not risky else [65, 25, 10]
        )[0],
        "enforcement_records": 1 if risky and rng.random() < 0.15 else 0,
        "admin_penalties_24m": rng.choices([0, 1], weights=[95, 5] if not risky else [75, 25])[0],
        "serious_bad_credit_24m": risky and rng.random() < 0.1,
        "credit_repair_completed": False,
    }


#: Minhang's subdistricts and towns (the profile field's values), for the demo firms.
STREETS = profile_fields.field("street").values or ()


def _upsert(
    session: Session, model: type, key: dict[str, object], values: dict[str, object]
) -> object:
    obj = session.scalar(select(model).filter_by(**key))
    if obj is None:
        obj = model(**key, **values)
        session.add(obj)
    else:
        for name, value in values.items():
            setattr(obj, name, value)
    return obj


def seed_reference(session: Session) -> None:
    """Parks, chambers, banks, LPR and holidays."""
    for code, zh, en, source in PARKS:
        _upsert(session, Park, {"code": code}, {"name_zh": zh, "name_en": en, "source": source})
    for code, zh, en, source in CHAMBERS:
        _upsert(session, Chamber, {"code": code}, {"name_zh": zh, "name_en": en, "source": source})
    for code, zh, en in BANKS:
        _upsert(session, Bank, {"code": code}, {"name_zh": zh, "name_en": en, "demo": True})
    for effective_on, rate in LPR_1Y:
        _upsert(
            session,
            ReferenceRate,
            {"kind": "lpr_1y", "effective_on": effective_on},
            {"annual_rate": rate, "source": "全国银行间同业拆借中心 贷款市场报价利率（LPR）公告"},
        )
    for day, name, is_workday in reference_data.official_days():
        _upsert(session, Holiday, {"day": day}, {"name": name, "is_workday": is_workday})
    session.flush()


def seed_enterprises(
    session: Session, count: int = DEMO_ENTERPRISES, today: date | None = None
) -> list[Enterprise]:
    """Fictional enterprises with consistent profiles, spread over parks and chambers."""
    today = today or date(2026, 11, 1)
    rng = random.Random(20250205)  # the plan's date: same data on every machine
    verified = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
    parks = session.scalars(select(Park).order_by(Park.id)).all()
    chambers = session.scalars(select(Chamber).order_by(Chamber.id)).all()
    enterprises = []
    for index in range(1, count + 1):
        profile = _profile(rng, index, today)
        uscc = str(profile.pop("uscc"))
        # The fictional firms count as checked by the centre, so their journeys can go on.
        enterprise = _upsert(
            session,
            Enterprise,
            {"uscc": uscc},
            {**profile, "demo": True, "verification_state": "verified", "verified_at": verified},
        )
        assert isinstance(enterprise, Enterprise)
        session.flush()
        wanted: set[tuple[str, int]] = set()
        if rng.random() < 0.55:
            wanted.add(("park", parks[index % len(parks)].id))
        if rng.random() < 0.35:
            wanted.add(("chamber", chambers[index % len(chambers)].id))
        existing = {
            ("park", m.park_id) if m.park_id else ("chamber", m.chamber_id)
            for m in enterprise.memberships
        }
        for kind, org_id in wanted - existing:
            enterprise.memberships.append(
                Membership(
                    park_id=org_id if kind == "park" else None,
                    chamber_id=org_id if kind == "chamber" else None,
                )
            )
        enterprises.append(enterprise)
    # One firm whose name holds a CJK Extension A character, to prove names print whole.
    enterprises[0].name = "上海㐀明精密机械有限公司（演示001）"
    session.flush()
    return enterprises


def seed_users(session: Session, password: str, enterprises: list[Enterprise]) -> dict[str, User]:
    """One user per role: demo-sme, demo-advisor, demo-recommender, demo-bank, demo-admin."""
    bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
    park = session.scalar(select(Park).where(Park.code == "xinzhuang"))
    # demo-sme runs a healthy tech firm in the district, so its journey shows matches.
    sme_enterprise = next(
        e
        for e in enterprises
        if e.industry_code in ("39", "65")
        and e.district_code == MINHANG
        and not e.serious_bad_credit_24m
        and e.tax_credit_grade in ("A", "B")
        and (e.overdue_count_24m or 0) == 0
        and "tech_sme" in e.certifications
    )
    specs = {
        "demo-sme": {
            "role": "sme",
            "display_name": sme_enterprise.name,
            "enterprise_id": sme_enterprise.id,
        },
        "demo-advisor": {"role": "advisor", "display_name": "王顾问（演示）"},
        "demo-recommender": {
            "role": "recommender",
            "display_name": "莘庄工业区推荐专员（演示）",
            "park_id": park.id if park else None,
        },
        "demo-bank": {
            "role": "bank",
            "display_name": "示范银行甲 客户经理（演示）",
            "bank_id": bank.id if bank else None,
        },
        "demo-admin": {"role": "admin", "display_name": "系统管理员（演示）"},
        # A second admin: a product draft is approved by an admin other than its drafter.
        "demo-admin2": {"role": "admin", "display_name": "复核管理员（演示）"},
    }
    users = {}
    for username, values in specs.items():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, password_hash=hash_password(password), **values)
            session.add(user)
        else:
            for name, value in values.items():
                setattr(user, name, value)
            if not verify_password(user.password_hash, password):
                user.password_hash = hash_password(password)
            user.active = True
        users[username] = user
    session.flush()
    return users


def load_demo(session: Session, password: str = DEFAULT_PASSWORD) -> dict[str, object]:
    """Create or refresh all demo data and commit."""
    seed_reference(session)
    enterprises = seed_enterprises(session)
    users = seed_users(session, password, enterprises)
    context: dict[str, object] = {"enterprises": enterprises, "users": users, "password": password}
    session.commit()
    from finportal.services import catalog, credit

    admin = users["demo-admin"]
    catalog.sync_catalog(session, actor_id=admin.id)
    credit.ensure_reference_model(session, actor_id=admin.id)
    from finportal.demo_steps import STEPS
    from finportal.services import audit

    # The steps backdate the histories they invent (demo_steps.timing.restage): their audit
    # events join the hash chain only once their times are final, oldest first.
    session.info[audit.DEFER_CHAIN] = True
    try:
        for _name, step in STEPS:
            step(session, context)
            session.commit()
    finally:
        session.info.pop(audit.DEFER_CHAIN, None)
        session.rollback()
        audit.chain_unchained(session)
    return context


@click.command("demo")
@click.option(
    "--password", default=DEFAULT_PASSWORD, show_default=True, help="Password of the demo users."
)
@with_appcontext
def demo_command(password: str) -> None:
    """Create or refresh the demo data (idempotent)."""
    context = load_demo(db.session, password)
    enterprises = context["enterprises"]
    assert isinstance(enterprises, list)
    click.echo(
        f"demo data ready: {len(enterprises)} enterprises; users demo-sme, demo-advisor, "
        "demo-recommender, demo-bank, demo-admin, demo-admin2, demo-supervisor, demo-head"
    )
