"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pypdf import PdfReader

PASSWORD = "test-password-123"


@contextmanager
def undo_writes(connection: Any) -> Iterator[None]:
    """Run a block on the test's connection and undo its writes, leaving no savepoint behind.

    ``ROLLBACK TO SAVEPOINT`` keeps the savepoint (the SQL standard, PostgreSQL and SQLite
    alike), so a rolled-back ``begin_nested()`` per step would nest every later step one
    level deeper. On PostgreSQL each write then gives every level above it a transaction
    id, whose lock is held until the test's transaction ends: after some ten thousand
    steps the server answers "out of shared memory" (``max_locks_per_transaction``),
    which the generated-request test met as a failure nobody could reproduce. Releasing
    an outer savepoint after rolling back to the inner one removes both levels.
    """
    keep = connection.begin_nested()
    undo = connection.begin_nested()
    try:
        yield
    finally:
        if undo.is_active:
            undo.rollback()
        if keep.is_active:
            keep.commit()  # RELEASE: nothing is left in it but the undone level


def shared_dir() -> Path:
    """Return the folder with the public data and the policy text (``../shared``).

    It lives beside the project, never inside it. A clone elsewhere (CI clones into a
    temporary folder) finds it through ``FINPORTAL_SHARED_DIR`` or at ``/work/shared``.
    """
    candidates = [
        os.environ.get("FINPORTAL_SHARED_DIR", ""),
        str(Path(__file__).resolve().parents[1].parent / "shared"),
        "/work/shared",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return Path(candidates[1])


def make_uscc(seed: int, district: str = "310112") -> str:
    """Return a valid USCC for tests."""
    from stdnum.cn import uscc

    body = f"91{district}TD{seed:07d}"
    return body + uscc.calc_check_digit(body)


def healthy_firm(seed: int, **overrides: Any) -> dict[str, Any]:
    """Return the fields of a verified firm with a complete, healthy profile (``Enterprise``).

    Its USCC and default name come from ``seed``; ``overrides`` change any field.
    """
    values: dict[str, Any] = {
        "uscc": make_uscc(seed),
        "name": f"上海测试科技有限公司{seed}",
        "registered_on": date(2018, 3, 1),
        "district_code": "310112",
        "industry_code": "65",
        "employees": 60,
        "social_insured_employees": 55,
        "revenue_last_year": Decimal("30000000.00"),
        "revenue_prev_year": Decimal("25000000.00"),
        "total_assets": Decimal("20000000.00"),
        "total_liabilities": Decimal("8000000.00"),
        "net_profit_last_year": Decimal("2000000.00"),
        "tax_paid_last_year": Decimal("900000.00"),
        "tax_credit_grade": "A",
        "invention_patents": 3,
        "utility_patents": 5,
        "trademarks": 2,
        "certifications": ["tech_sme", "high_tech"],
        "existing_loan_balance": Decimal("0.00"),
        "has_bank_loan_history": False,
        "loan_maturing_within_days": None,
        "overdue_count_24m": 0,
        "max_overdue_days_24m": 0,
        "pending_lawsuits": 0,
        "enforcement_records": 0,
        "admin_penalties_24m": 0,
        "serious_bad_credit_24m": False,
        "credit_repair_completed": False,
        # Checked by the centre, like every firm that reaches advisors and banks.
        "verification_state": "verified",
    }
    values.update(overrides)
    return values


DEMO_SOURCE = "FinPortal demo value, to be confirmed by the centre against the district's own rules"


def _sourced(value: object, unit: str) -> dict[str, object]:
    return {"value": value, "unit": unit, "source": DEMO_SOURCE, "demo": True}


def simple_product(
    code: str,
    *,
    rate: str,
    repayment: str,
    name_zh: str | None = None,
    amount_max: int = 5_000_000,
    description_zh: str = "测试产品",
    **sections: object,
) -> dict[str, object]:
    """Return the content of a product with a fixed rate, open to any firm in Minhang.

    ``sections`` adds top-level catalogue sections (``guarantee``, ``fee_subsidy``...).
    """
    return {
        "code": code,
        "name_zh": name_zh or f"测试产品{code}",
        "name_en": f"Test product {code}",
        "description_zh": description_zh,
        "description_en": "A test product",
        "terms": {
            "amount_min": _sourced(100000, "yuan"),
            "amount_max": _sourced(amount_max, "yuan"),
            "term_min": _sourced(3, "months"),
            "term_max": _sourced(36, "months"),
            "repayment": {"method": repayment, "source": DEMO_SOURCE, "demo": True},
            "example_amount": _sourced(1000000, "yuan"),
            "example_term": _sourced(12, "months"),
        },
        "rate": {"base": "fixed", "fixed_rate": _sourced(rate, "per_year")},
        "conditions": [
            {
                "id": "in_district",
                "field": "in_district",
                "op": "true",
                "message_zh": "企业须在闵行区注册",
                "message_en": "Registered in Minhang",
                "source": DEMO_SOURCE,
                "demo": True,
            }
        ],
        **sections,
    }


def two_repayment_methods() -> tuple[dict[str, object], dict[str, object]]:
    """Return a 3.30 % bullet loan and a 3.40 % equal-instalment loan.

    For 200 万元 over 12 months the instalment loan costs less in total (its balance
    falls every month) but more per yuan-year: the effective annual cost ranks the
    bullet loan first, the total cost the other way round.
    """
    return (
        simple_product("cost_bullet", rate="0.033", repayment="interest_only_bullet"),
        simple_product("cost_instalment", rate="0.034", repayment="equal_instalment"),
    )


FORM_TOKEN = re.compile(r'(name="csrf_token" value="[^".]+)\.[^"]+"')


def token_times_left_out(page: str) -> str:
    """Return a page with each form token cut to its payload, the session's own token.

    A form token is signed with the second it was made in, so two renders of one page a second
    apart differ there and nowhere a reader sees."""
    return FORM_TOKEN.sub(r'\1"', page)


def pdf_text(pdf: bytes) -> str:
    """Extract the text of every page with pypdf."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squash(text: str) -> str:
    """Drop whitespace so text wrapped across lines compares equal."""
    return re.sub(r"\s+", "", text)


def embedded_font_names(pdf: bytes) -> set[str]:
    """Return the /BaseFont names of fonts embedded (with a font file) on any page."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for font in (fonts or {}).values():
            font = font.get_object()
            for target in [d.get_object() for d in font.get("/DescendantFonts") or []] or [font]:
                descriptor = target.get("/FontDescriptor")
                if descriptor is not None and any(
                    k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    names.add(str(font["/BaseFont"]))
    return names


def screened(
    session: Any,
    enterprise: Any,
    *,
    amount: str = "1000000",
    term_months: int = 12,
    purpose: str = "equipment",
) -> Any:
    """Create a submitted application and screen it (match and score), committed.

    It is submitted through the lifecycle, so it keeps the profile it was submitted with.
    """
    from finportal.models import Application, utcnow
    from finportal.services.lifecycle import transition
    from finportal.services.screening import screen_application

    application = Application(
        enterprise_id=enterprise.id,
        amount=Decimal(amount),
        term_months=term_months,
        purpose=purpose,
        state="draft",
    )
    session.add(application)
    session.flush()
    transition(session, application, "submitted", by="sme", actor_id=None, notify=False)
    application.submitted_at = utcnow()
    session.commit()
    screen_application(session, application_id=application.id)
    session.commit()
    return application


def served_app_config(instance: Path, name: str) -> dict[str, object]:
    """Return the configuration of a portal a browser test serves from a thread: its own
    SQLite database and folders in ``instance``, jobs in threads, no sign-in throttling."""
    return {
        "TESTING": False,
        "DATABASE_URL": f"sqlite:///{instance / f'{name}.db'}",
        "JOBS_MODE": "thread",
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "LOGIN_IP_RATE_LIMIT": "10000 per minute",
        "MODEL_DIR": str(instance / "models"),
        "PACKET_DIR": str(instance / "packets"),
        "DOCUMENT_DIR": str(instance / "documents"),
    }


def bank_approves(
    session: Any,
    loop: Any,
    *,
    term_months: int = 12,
    amount: str = "1000000",
    annual_rate: str = "0.0345",
) -> None:
    """The loop's bank approves its referral for ``term_months`` (``amount`` yuan)."""
    from finportal.services import bank_actions

    bank_actions.record_decision(
        session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="approved",
        approved_amount=Decimal(amount),
        annual_rate=Decimal(annual_rate),
        term_months=term_months,
    )


def bank_reports(
    session: Any, loop: Any, event: str, *, on: date | None = None, amount: str | None = None
) -> None:
    """The loop's bank records a loan event of its referral (``disbursed``, ``repaid``...),
    today unless ``on``."""
    from finportal.services import bank_actions
    from finportal.services.workdays import today_local

    bank_actions.record_outcome(
        session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        event=event,
        occurred_on=on or today_local(),
        **({"amount": Decimal(amount)} if amount is not None else {}),
    )


def without_snapshots(db_session: Any, model: Any) -> Iterator[None]:
    """Run a test with no stored snapshot of ``model`` (the dashboard's, the fairness monitor's),
    and leave none behind: the one snapshot rule (services/snapshots.py) then computes afresh."""
    from sqlalchemy import delete

    db_session.execute(delete(model))
    db_session.commit()
    yield
    db_session.execute(delete(model))
    db_session.commit()


def snapshots_kept(app: Any, setting: str, seconds: int) -> Iterator[None]:
    """Run a test with pages that read snapshots up to ``seconds`` old (as in production); the
    tests' own setting is 0 (computed on every request)."""
    app.config[setting] = seconds
    yield
    app.config[setting] = 0


#: A reload the reader forced (Ctrl+Shift+R): the page is rendered even where the page cache
#: keeps it (FINPORTAL_TEST_PAGE_CACHE=1), so its statements can be counted.
RELOAD = {"Cache-Control": "no-cache"}


#: The Redis databases of the tests that use the portal's one RQ queue ("finportal"): each its
#: own, so that a test's worker never takes another test's job, nor empties its queue, when
#: two such tests run at once (test workers, and the two steps of scripts/test.sh).
RQ_TEST_DATABASES = {"rq_worker_runs_a_job": 14, "sweep_takes_back_a_popped_job": 15}


def own_redis_database(url: str, use: str) -> str:
    """Return ``url`` (the test command's Redis) pointed at the database kept for ``use``."""
    return f"{url.rsplit('/', 1)[0]}/{RQ_TEST_DATABASES[use]}"
