"""The back office side of the member pages: sign-up questions (at most 15), LINE settings with a
write-only secret, the rich-menu links, consent records."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from loyalty.line.fake import DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET
from members.signup.models import SignupChoice, SignupQuestion
from shops.models import Shop, ShopLineChannel, Tag
from tests.admin_forms import admin_change_data
from tests.factories import ShopLineChannelFactory, SignupQuestionFactory, TagFactory

# These tests read the English messages; Thai (the default) has its own tests.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ADD_QUESTION = reverse("admin:members_signupquestion_add")


def _question_form(client):
    response = client.get(ADD_QUESTION)
    assert response.status_code == 200
    return admin_change_data(response)


def test_owner_adds_a_choice_question_whose_choice_attaches_a_tag(owner_client, shop, other_shop):
    tag = TagFactory(shop=shop, name="Office")
    data = _question_form(owner_client)
    data.update(
        {
            "label": "Occupation",
            "kind": "single",
            "required": "on",
            "order": "1",
            "is_active": "on",
            "choices-TOTAL_FORMS": "2",
            "choices-0-label": "Office worker",
            "choices-0-tag": str(tag.pk),
            "choices-0-order": "0",
            "choices-1-label": "Student",
            "choices-1-order": "1",
        }
    )

    response = owner_client.post(ADD_QUESTION, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    question = SignupQuestion.objects.get(shop=shop)
    assert question.required and question.kind == "single"
    assert [(c.label, c.tag_id, c.shop_id) for c in question.choices.all()] == [
        ("Office worker", tag.pk, shop.pk),
        ("Student", None, shop.pk),
    ]


def test_a_choice_question_needs_two_choices(owner_client, shop):
    data = _question_form(owner_client)
    data.update({"label": "Pick", "kind": "multiple", "order": "0", "is_active": "on"})

    response = owner_client.post(ADD_QUESTION, data)

    assert response.status_code == 200
    assert not SignupQuestion.objects.exists()
    assert "at least 2 choices" in response.content.decode()


def test_the_sixteenth_custom_question_is_refused_in_the_admin(owner_client, shop, settings):
    assert settings.LOYALTY_MAX_SIGNUP_QUESTIONS == 15
    for n in range(15):
        SignupQuestionFactory(shop=shop, label=f"Q{n}")
    data = _question_form(owner_client)
    data.update({"label": "One too many", "kind": "text", "order": "0", "is_active": "on"})

    response = owner_client.post(ADD_QUESTION, data)

    assert response.status_code == 200
    assert "at most 15 questions" in response.content.decode()
    assert SignupQuestion.objects.filter(shop=shop).count() == 15
    assert not SignupQuestion.objects.filter(label="One too many").exists()


def test_the_question_limit_is_per_shop(owner_client, shop, other_shop):
    for n in range(15):
        SignupQuestionFactory(shop=other_shop, label=f"Q{n}")
    data = _question_form(owner_client)
    data.update({"label": "Mine", "kind": "text", "order": "0", "is_active": "on"})

    assert owner_client.post(ADD_QUESTION, data).status_code == 302


def test_the_limit_holds_in_the_service_too(shop):
    """Under the shop's lock, for any caller (two owners adding the 15th at once)."""
    from loyalty.errors import LimitReached
    from shops.services import shop_row_save

    for n in range(15):
        SignupQuestionFactory(shop=shop, label=f"Q{n}")
    with pytest.raises(LimitReached):
        shop_row_save(row=SignupQuestion(shop=shop, label="16th", kind="text"))


def test_a_choice_cannot_attach_another_shops_tag(shop, other_shop):
    from django.core.exceptions import ValidationError

    question = SignupQuestionFactory(shop=shop, kind="single")
    choice = SignupChoice(
        shop=shop, question=question, label="x", tag=Tag.objects.create(shop=other_shop, name="B")
    )
    with pytest.raises(ValidationError):
        choice.full_clean()


# --- LINE settings ---------------------------------------------------------------------------------


def test_owner_connects_line_and_the_secret_is_write_only(owner_client, shop):
    listing = owner_client.get(reverse("admin:shops_shoplinechannel_changelist"))
    assert listing["Location"] == reverse("admin:shops_shoplinechannel_add")
    data = admin_change_data(owner_client.get(listing["Location"]))
    data.update(
        {
            "login_channel_id": "1657000000",
            "login_channel_secret": "top-secret-0123456789abcdef",
            "liff_id": "1657000000-AbCdEfGh",
        }
    )
    response = owner_client.post(reverse("admin:shops_shoplinechannel_add"), data)
    assert response.status_code == 302
    channel = ShopLineChannel.objects.get(shop=shop)
    assert channel.login_channel_secret == "top-secret-0123456789abcdef"

    # The change page never shows the secret, and saving with the field empty keeps it.
    page = owner_client.get(reverse("admin:shops_shoplinechannel_change", args=[channel.pk]))
    html = page.content.decode()
    assert "top-secret-0123456789abcdef" not in html
    assert "…cdef" in html
    data = admin_change_data(page)
    data["login_channel_secret"] = ""
    data["liff_id"] = "1657000000-NewLiff1"
    response = owner_client.post(
        reverse("admin:shops_shoplinechannel_change", args=[channel.pk]), data
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.login_channel_secret == "top-secret-0123456789abcdef"
    assert channel.liff_id == "1657000000-NewLiff1"


def test_a_liff_id_of_another_channel_is_refused(owner_client, shop):
    data = admin_change_data(owner_client.get(reverse("admin:shops_shoplinechannel_add")))
    data.update(
        {
            "login_channel_id": "1657000000",
            "login_channel_secret": "top-secret-0123456789abcdef",
            "liff_id": "1999999999-AbCdEfGh",
        }
    )

    response = owner_client.post(reverse("admin:shops_shoplinechannel_add"), data)

    assert response.status_code == 200
    assert not ShopLineChannel.objects.exists()


def test_the_admin_shows_the_rich_menu_links_and_line_urls(owner_client, shop):
    channel = ShopLineChannelFactory(shop=shop)

    response = owner_client.get(reverse("admin:shops_shoplinechannel_change", args=[channel.pk]))

    html = response.content.decode()
    base = "http://testserver/m/shop-a/"
    for path in ("card/", "signup/", "history/"):
        assert f"{base}{path}" in html
    assert f"{base}login/callback/" in html
    assert 'data-testid="liff-endpoint">http://testserver/m/shop-a/<' in html


def test_with_a_liff_app_the_rich_menu_links_open_in_liff(owner_client, shop):
    channel = ShopLineChannelFactory(shop=shop, login_channel_id="1657000000")
    channel.liff_id = "1657000000-AbCdEfGh"
    channel.save()

    response = owner_client.get(reverse("admin:shops_shoplinechannel_change", args=[channel.pk]))

    assert "https://liff.line.me/1657000000-AbCdEfGh/card" in response.content.decode()


def test_the_demo_shop_gets_the_fake_lines_demo_channel(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - idempotent

    channel = ShopLineChannel.objects.get(shop=Shop.objects.get(slug="cafe-aroi"))
    assert (channel.login_channel_id, channel.login_channel_secret) == (
        DEMO_CHANNEL_ID,
        DEMO_CHANNEL_SECRET,
    )
    assert SignupQuestion.objects.filter(shop=channel.shop).count() == 2


def test_consent_records_are_read_only_in_the_admin(owner_client, shop):
    from tests.factories import ConsentRecordFactory

    record = ConsentRecordFactory(shop=shop)
    url = reverse("admin:members_consentrecord_change", args=[record.pk])
    response = owner_client.get(url)
    assert response.status_code == 200
    owner_client.post(url, {"granted": ""})
    record.refresh_from_db()
    assert record.granted is True
    assert owner_client.get(reverse("admin:members_consentrecord_add")).status_code == 403
