"""The form-based product editor: made from the catalogue's schema, checked by the same
validator (errors in Chinese beside the field), saved as a draft for a second admin."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from marshmallow import fields as mfields
from sqlalchemy import select

from finportal.models import Product, ProductDraft
from finportal.services import publishing
from products.schema import ProductSchema

pytestmark = pytest.mark.db


class _Form(HTMLParser):
    """The values a browser would post from the page's product form, and its error texts."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.inside = False
        self.select: str | None = None
        self.textarea: str | None = None
        self.errors: list[str] = []
        self._error = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "product-form":
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and name != "_action":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = a.get("value", "on")
            else:
                self.values[name] = a.get("value") or ""
        elif tag == "select":
            self.select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self.select and "selected" in a:
            self.values[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.values[name] = ""
        elif tag == "small" and "error-text" in (a.get("class") or ""):
            self._error = True
            self.errors.append(a.get("id", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "small":
            self._error = False

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea] += data
        if self._error:
            self.errors[-1] += "|" + data


def _read(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


def _post(client, url, values, action="save"):
    return client.post(url, data={**values, "_action": action})


@pytest.fixture
def admins(create_user, published_catalog):
    return create_user("admin"), create_user("admin")


def test_every_catalogue_product_comes_back_unchanged_through_the_page(
    client, db_session, admins, login
):
    """What the page shows of each product, posted back, is that product (nothing lost)."""
    login(admins[0])
    for product in db_session.scalars(select(Product).order_by(Product.code)):
        url = f"/admin/products/{product.code}/form"
        values = _read(client.get(url).text).values
        response = _post(client, url, values)
        # the validator accepts it, and finds it equal to the current version
        assert response.status_code == 422, product.code
        assert f"内容与当前第 {product.current_version.number} 版相同" in response.text


def test_a_changed_form_becomes_a_draft_a_second_admin_publishes(client, db_session, admins, login):
    maker, checker = admins
    login(maker)
    url = "/admin/products/ip_pledge/form"
    values = _read(client.get(url).text).values
    # amounts are typed in 万元: 1000 万元 is the 10,000,000 yuan of the catalogue
    assert values["terms.amount_max.value"] == "1000"
    values["terms.amount_max.value"] = "800"
    values["name_zh"] = "知识产权质押融资"
    values["note"] = "上限改为 800 万元"
    response = _post(client, url, values)
    assert response.status_code == 302, response.text
    draft = db_session.scalar(select(ProductDraft).where(ProductDraft.code == "ip_pledge"))
    assert draft.state == "pending" and draft.note == "上限改为 800 万元"
    assert draft.content["terms"]["amount_max"]["value"] == "8000000"
    assert draft.content["name_zh"] == "知识产权质押融资"
    publishing.approve(db_session, draft.id, actor_id=checker.id)
    product = db_session.scalar(select(Product).where(Product.code == "ip_pledge"))
    assert product.name_zh == "知识产权质押融资"
    assert product.current_version.content["terms"]["amount_max"]["value"] == "8000000"


def test_errors_are_in_chinese_beside_their_field_and_the_typing_is_kept(
    client, db_session, admins, login
):
    login(admins[0])
    url = "/admin/products/ip_pledge/form"
    values = _read(client.get(url).text).values
    values["terms.amount_min.value"] = "2000"  # 万元, above the 1000 万元 maximum
    values["rate.spread_bp.value"] = "六十"  # not a number
    values["conditions.1.op"] = "gte"  # in_district is a yes/no field
    values["conditions.1.value"] = "1"
    response = _post(client, url, values)
    assert response.status_code == 422
    page = _read(response.text)
    errors = {e.split("|", 1)[0]: e.split("|", 1)[1] for e in page.errors if "|" in e}
    assert "不能高于最高金额" in errors["f-terms-amount_min-error"]
    assert "数字" in errors["f-rate-spread_bp-value-error"]
    assert "比较方式 gte 不适用于字段 in_district" in errors["f-conditions-1-op-error"]
    # what was typed is still there
    assert page.values["rate.spread_bp.value"] == "六十"
    assert page.values["terms.amount_min.value"] == "2000"
    assert db_session.scalar(select(ProductDraft.id)) is None  # nothing half-saved


def test_the_page_reads_in_english(client, admins, login):
    login(admins[0])
    client.get("/lang/en")
    url = "/admin/products/ip_pledge/form"
    values = _read(client.get(url).text).values
    values["terms.term_min.value"] = "0"
    response = _post(client, url, values)
    assert response.status_code == 422
    assert "must be positive" in response.text and "Shortest term" in response.text


def test_conditions_are_added_and_removed_keeping_the_rest(client, admins, login):
    login(admins[0])
    url = "/admin/products/ip_pledge/form"
    values = _read(client.get(url).text).values
    rows = int(values["conditions.__n"])
    values["name_zh"] = "改过的名称"
    added = _read(_post(client, url, values, "add:conditions").text).values
    assert added["conditions.__n"] == str(rows + 1)
    assert added[f"conditions.{rows}.required"] == "1"  # a new condition is required
    assert added["name_zh"] == "改过的名称"
    # remove the first condition: the second moves up
    second_id = values["conditions.1.id"]
    removed = _read(_post(client, url, added, "remove:conditions:0").text).values
    assert removed["conditions.__n"] == str(rows)
    assert removed["conditions.0.id"] == second_id
    # an alternative inside a condition (any_of) can be added too
    more = _read(_post(client, url, removed, "add:conditions.0.any_of").text).values
    assert more["conditions.0.any_of.__n"] == "1"


def test_a_new_product_from_the_form(client, db_session, admins, login):
    login(admins[0])
    url = "/admin/products/new/form"
    values = _read(client.get("/admin/products/ip_pledge/form").text).values
    values["code"] = "ip_pledge"
    response = _post(client, url, values)
    assert response.status_code == 409 and "ip_pledge 已存在" in response.text
    values["code"] = "ip_pledge_two"
    response = _post(client, url, values)
    assert response.status_code == 302, response.text
    assert db_session.scalar(select(ProductDraft.code)) == "ip_pledge_two"


def _schema_paths(schema, prefix=""):
    for name, declared in schema.fields.items():
        path = f"{prefix}{name}"
        if isinstance(declared, mfields.Nested):
            yield path, True
            yield from _schema_paths(declared.schema, f"{path}.")
        elif isinstance(declared, mfields.List) and isinstance(declared.inner, mfields.Nested):
            yield path, True
        else:
            yield path, False


def test_the_form_is_the_schema(client, admins, login):
    """Each field of ProductSchema (groups and their fields) has its place on the new-product form."""
    login(admins[0])
    html = client.get("/admin/products/new/form").text
    ids = set(re.findall(r'id="(f-[^"]+)"', html))
    missing = []
    for path, _group in _schema_paths(ProductSchema()):
        if path.endswith(".unit") and path.count(".") == 2:
            continue  # a sourced number's unit is fixed by its place
        if "f-" + path.replace(".", "-") not in ids:
            missing.append(path)
    assert not missing, missing


@pytest.mark.parametrize("typed", ["1e30", "一千"])
def test_any_typing_gets_an_answer_beside_the_field(client, admins, login, typed):
    """Junk in a number field is refused beside it (422), never a server error."""
    login(admins[0])
    url = "/admin/products/ip_pledge/form"
    values = _read(client.get(url).text).values
    values["terms.amount_max.value"] = typed
    response = _post(client, url, values)
    assert response.status_code == 422
    page = _read(response.text)
    assert any(e.startswith("f-terms-amount_max") for e in page.errors), page.errors
    assert page.values["terms.amount_max.value"] == typed
