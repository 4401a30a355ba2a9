"""Fixtures of the SME journey: two SMEs of different enterprises, banks, ready catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from tests.finportal.sme.helpers import form_data


@pytest.fixture
def sme(create_user: Any) -> Any:
    """A signed-up SME user with a healthy district tech firm."""
    return create_user("sme")


@pytest.fixture
def other_sme(create_user: Any) -> Any:
    """An SME user of another enterprise."""
    return create_user("sme")


@pytest.fixture
def banks(create_bank: Any) -> list[Any]:
    """Two partner banks."""
    return [create_bank(), create_bank()]


@pytest.fixture
def ready(published_catalog: Any, champion_model: Any) -> None:
    """The catalogue is published and a credit model is active."""


@pytest.fixture
def request_ctx(app: Any) -> Any:
    """A request context, for services that enqueue jobs (jobs run eagerly in tests)."""
    with app.test_request_context():
        yield


@pytest.fixture
def submit(db_session: Any, banks: list[Any], request_ctx: Any) -> Any:
    """Factory: create and submit an application of a user's enterprise (screened at once)."""
    from finportal.services import applications

    def make(user: Any, **overrides: Any) -> Any:
        application, _job = applications.create_application(
            db_session,
            actor_id=user.id,
            enterprise_id=user.enterprise_id,
            data=form_data(banks, **overrides),
        )
        db_session.refresh(application)
        return application

    return make


@pytest.fixture
def returned(db_session: Any, submit: Any, ready: Any) -> Any:
    """Factory: a screened application taken by an advisor and returned for information."""
    from finportal.services.lifecycle import transition

    def make(user: Any, fields: list[str] | None = None, **overrides: Any) -> Any:
        application = submit(user, **overrides)
        assert application.state == "screened"
        transition(db_session, application, "in_review", by="advisor", actor_id=None)
        application.return_request = {
            "message": "请补充上年纳税总额和纳税信用等级。",
            "fields": fields if fields is not None else ["tax_paid_last_year", "tax_credit_grade"],
        }
        transition(
            db_session,
            application,
            "returned",
            by="advisor",
            actor_id=None,
            reason="请补充纳税信息",
        )
        db_session.commit()
        return application

    return make
