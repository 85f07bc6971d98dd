"""Member pages refuse the characters typed text may not contain (``loyalty.text``), saying which
and where, and clean the LINE display name that LINE gives (it is not typed into our forms)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.models import Member
from tests.factories import SignupQuestionFactory
from tests.members.pages.conftest import branch_of, liff_sign_in, register, signup_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

SIGNUP = reverse("member:signup", kwargs={"shop_slug": "cafe"})
PROFILE = reverse("member:profile", kwargs={"shop_slug": "cafe"})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "first_name",
            "Som\x07chai",
            "“First name” contains an invisible control character (U+0007) at position 4",
        ),
        (
            "last_name",
            "Jai\uffffdee",
            "“Last name” contains a code that is not a character (U+FFFF) at position 4",
        ),
        ("last_name", "Jai\x1fdee", "(U+001F) at position 4"),
    ],
)
def test_sign_up_refuses_a_control_character_or_uffff_and_registers_no_one(
    client, fake_line, line_shop, field, value, message
):
    liff_sign_in(client, fake_line, line_shop)

    response = client.post(SIGNUP, signup_data(**{field: value}, branch=branch_of(line_shop).pk))

    assert response.status_code in (200, 400)
    assert message in str(response.context["form"].errors[field])
    assert not Member.objects.filter(shop=line_shop).exists()


def test_sign_up_refuses_a_control_character_in_the_shops_own_question(
    client, fake_line, line_shop
):
    question = SignupQuestionFactory(shop=line_shop, label="Favourite drink", kind="text")
    liff_sign_in(client, fake_line, line_shop)

    response = client.post(
        SIGNUP,
        signup_data(**{f"q_{question.pk}": "latte\x08"}, branch=branch_of(line_shop).pk),
    )

    assert "“Favourite drink” contains an invisible control character (U+0008)" in str(
        response.context["form"].errors[f"q_{question.pk}"]
    )
    assert not Member.objects.filter(shop=line_shop).exists()


def test_profile_refuses_a_control_character_and_keeps_the_name(member_client):
    response = member_client.post(
        PROFILE,
        {
            "first_name": "Somchai",
            "last_name": "Rak\x1bthai",
            "phone": "0812345678",
            "birthday": "1992-03-15",
        },
    )

    assert "“Last name” contains an invisible control character (U+001B) at position 4" in str(
        response.context["form"].errors["last_name"]
    )
    assert Member.objects.get(pk=member_client.member.pk).last_name == "Jaidee"


def test_zero_width_characters_at_the_ends_of_a_name_are_trimmed(client, fake_line, line_shop):
    member = register(
        client, fake_line, line_shop, first_name="\u200bสมชาย\u200b", last_name="ใจ\u200bดี\ufeff"
    )

    assert (member.first_name, member.last_name) == ("สมชาย", "ใจ\u200bดี")


def test_a_line_display_name_with_control_characters_is_cleaned_when_stored(
    client, fake_line, line_shop
):
    # LINE lets people pick odd names; it is LINE's name for them, so it is cleaned, not refused.
    user = fake_line.add_user("Nok\x07 🌸\uffff\nBKK")

    member = register(client, fake_line, line_shop, user_id=user.user_id)

    assert member.line_display_name == "Nok 🌸 BKK"
