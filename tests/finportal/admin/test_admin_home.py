"""The admin's home page links every admin page and counts what they manage."""

from __future__ import annotations

from finportal.models import Job


def test_home_links_every_admin_page_and_warns_of_failed_jobs(
    client, db_session, create_user, create_bank, login, published_catalog
):
    login(create_user("admin"))
    create_bank()
    db_session.add(Job(id="failed-1", kind="notify_eligible", state="failed", args={}))
    db_session.commit()
    page = client.get("/admin/").text
    for path in ("products", "organisations", "users", "models", "rates", "holidays", "audit"):
        assert f'href="/admin/{path}"' in page
    assert 'href="/admin/api-tokens"' in page  # in the navigation
    assert "上架产品 13 个" in page
    assert "合作银行 1 家" in page
    assert "失败的后台任务：1 个" in page
