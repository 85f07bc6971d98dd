"""The Open API and the back office refuse the characters typed text may not contain
(``loyalty.text``), with a message that says which character and where, and store nothing."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from members.signup.models import SignupChoice, SignupQuestion
from shops.apikeys import api_key_create
from tests.admin_forms import admin_change_data, errors_text, inline_prefix
from tests.factories import MemberFactory, SignupQuestionFactory
from tests.members.test_api import Api

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def api(shop):
    return Api(api_key_create(shop=shop, name="text")[1])


# --- the Open API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("first_name", "Som\x07chai", "an invisible control character (U+0007) at position 4"),
        ("last_name", "Jai\uffffdee", "a code that is not a character (U+FFFF) at position 4"),
        ("last_name", "Jai\ufdd0dee", "a code that is not a character (U+FDD0) at position 4"),
        ("customer_id", "C-1\x00", "an invisible control character (U+0000) at position 4"),
        ("first_name", "Som\nchai", "a line break (U+000A) at position 4"),
        ("first_name", "Som\x85chai", "an invisible control character (U+0085) at position 4"),
    ],
)
def test_api_refuses_a_member_with_a_refused_character(api, shop, field, value, what):
    body = {"phone": "0812345678", "first_name": "Somchai", field: value}

    response = api.post("/members", body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"] == f"Invalid input: {field}: The text contains {what}; remove it."
    assert error["details"][0]["field"] == field
    assert not Member.objects.filter(shop=shop).exists()


def test_api_refuses_a_lone_surrogate_without_a_server_error(api, shop):
    body = '{"phone": "0812345678", "first_name": "So\\ud800m"}'
    response = api.client.post(
        "/api/v1/members",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="surrogate",
        **api.headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "first_name"
    assert not Member.objects.filter(shop=shop).exists()


def test_api_adjust_note_may_have_lines_but_no_control_character(api, shop):
    member = MemberFactory(shop=shop)
    body = {"member_id": str(member.public_id), "points": 5}

    refused = api.post("/points/adjust", {**body, "note": "goodwill\x1b"})
    accepted = api.post("/points/adjust", {**body, "note": "goodwill\r\nsee ticket 12"})

    assert refused.status_code == 400
    assert (
        "note: The text contains an invisible control character (U+001B)"
        in (refused.json()["error"]["message"])
    )
    assert accepted.status_code == 201
    assert LedgerEntry.objects.get(kind=EntryKind.ADJUST).note == "goodwill\r\nsee ticket 12"


def test_api_refuses_a_refused_character_in_an_order_item(api, shop):
    body = {
        "phone": "0812345678",
        "amount": "100",
        "items": [{"name": "Latte\x7f", "price": "100"}],
    }
    response = api.post("/points/earn", body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "items.0.name"
    assert "(U+007F)" in response.json()["error"]["message"]
    assert not LedgerEntry.objects.exists()


def test_api_names_are_trimmed_of_zero_width_characters_at_the_ends(api, shop):
    response = api.post("/members", {"phone": "0812345678", "first_name": "\u200bสม\u200bชาย "})
    assert response.status_code == 201
    assert response.json()["first_name"] == "สม\u200bชาย"


# --- the back office ------------------------------------------------------------------------------


def test_admin_member_form_refuses_uffff_in_the_name_and_a_control_character_in_the_note(
    owner_client, shop
):
    member = MemberFactory(shop=shop, first_name="Somchai", note="")
    url = reverse("admin:members_member_change", args=[member.pk])
    data = admin_change_data(owner_client.get(url))
    data.update(first_name="Som\uffffchai", note="line one\nline\x0btwo")

    response = owner_client.post(url, data)

    assert response.status_code == 200
    errors = errors_text(response)
    assert "“First name” contains a code that is not a character (U+FFFF) at position 4" in errors
    assert "“Note” contains an invisible control character (U+000B) at position 14" in errors
    member.refresh_from_db()
    assert (member.first_name, member.note) == ("Somchai", "")


def test_admin_inline_refuses_a_control_character_in_a_choice(owner_client, shop):
    question = SignupQuestionFactory(shop=shop, label="Drink", kind=SignupQuestion.Kind.SINGLE)
    url = reverse("admin:members_signupquestion_change", args=[question.pk])
    page = owner_client.get(url)
    data = admin_change_data(page)
    prefix = inline_prefix(page, SignupChoice)
    data[f"{prefix}-TOTAL_FORMS"] = "2"
    data.update({f"{prefix}-0-label": "Latte\x07", f"{prefix}-0-order": "0"})
    data.update({f"{prefix}-1-label": "Mocha", f"{prefix}-1-order": "1"})

    response = owner_client.post(url, data)

    assert "contains an invisible control character (U+0007) at position 6" in errors_text(response)
    assert not SignupChoice.objects.exists()


def test_admin_adjust_points_refuses_a_control_character_in_the_reason(owner_client, shop):
    member = MemberFactory(shop=shop)
    url = reverse("admin:members_member_adjust_points", args=[member.pk])

    response = owner_client.post(
        url, {"points": "10", "note": "bonus\x07", "idempotency_key": str(uuid.uuid4())}
    )

    assert response.status_code == 200
    assert "“reason” contains an invisible control character (U+0007)" in str(
        response.context["form"].errors["note"]
    )
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("param", ["customer_id", "line_user_id", "phone"])
def test_api_member_lookup_refuses_a_nul_in_the_query_instead_of_a_server_error(api, param):
    # PostgreSQL cannot even compare text with a NUL in it: found by Schemathesis as a 500.
    response = api.get(f"/members?{param}=C-1%00x")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
