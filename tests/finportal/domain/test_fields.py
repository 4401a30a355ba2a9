"""Every field of the one definition reaches every place the profile shows or takes it.

Adding a field is its entry in products/data/fields.yaml, the model column and a migration
(docs/DEVELOPING.md); these tests fail when some place still lists fields by hand.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from finportal.domain import fields as profile_fields
from finportal.services import packet_context, profile_excel, profile_form, profiles
from finportal.services.review_actions import RETURN_FIELDS

pytestmark = pytest.mark.db

EDITABLE = profile_fields.names(edit="sme")


def test_the_form_schema_and_values_have_every_editable_field(create_enterprise):
    schema_fields = set(profile_form.ProfileSchema().fields)
    assert set(EDITABLE) <= schema_fields
    values = profile_form.form_values(create_enterprise())
    assert set(EDITABLE) <= set(values)


def test_the_excel_template_has_a_row_per_editable_field(db_session, create_enterprise):
    enterprise = create_enterprise(street="qibao")
    book = load_workbook(io.BytesIO(profile_excel.excel_template(db_session, enterprise.id)))
    codes = [row[0].value for row in book[profile_excel.IMPORT_SHEET].iter_rows(min_row=2)]
    assert codes == list(EDITABLE)
    values = {
        row[0].value: row[3].value for row in book[profile_excel.IMPORT_SHEET].iter_rows(min_row=2)
    }
    assert values["street"] == "七宝镇"


def test_packets_show_every_field_the_definition_marks(create_enterprise):
    enterprise = create_enterprise(street="xinzhuang")
    rows = packet_context.profile_rows(profiles.enterprise_profile(enterprise), date(2026, 11, 1))
    for spec in profile_fields.fields().values():
        assert (spec.label_zh in rows) == spec.packet, spec.name
    assert rows["所在街道/镇"] == "莘庄镇"


def test_the_return_list_and_the_snapshot_follow_the_definition(create_enterprise):
    assert {n for n in RETURN_FIELDS if n in profile_fields.fields()} == set(
        profile_fields.names(ask=True)
    )
    frozen = profiles.freeze(create_enterprise(street="pujiang"))
    assert set(frozen["profile"]) == set(profile_fields.fields())
    assert profiles.thaw(frozen)["street"] == "pujiang"


def test_the_street_is_chosen_on_the_profile_page_and_saved(client, login, db_session, create_user):
    user = create_user("sme")
    login(user)
    page = client.get("/sme/profile")
    assert 'name="street"' in page.text and "江川路街道" in page.text
    form = profile_form.form_values(user.enterprise)
    form["street"] = "huacao"
    client.post("/sme/profile", data=form)
    db_session.expire_all()
    assert user.enterprise.street == "huacao"
    form["street"] = "not_a_street"
    refused = client.post("/sme/profile", data=form)
    assert refused.status_code == 422
