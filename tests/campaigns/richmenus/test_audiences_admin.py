"""The rich-menu editor's second-slice fields: the tag audience, the priority and the tab alias,
and "switch to another menu" areas; every bad input refused with a message, and nothing of
another shop can be picked (its tags) or switched to (its aliases)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.richmenus.models import RichMenu
from tests.campaigns.richmenus.conftest import make_menu, picture
from tests.campaigns.richmenus.test_admin import ADD, CHANGELIST, form_data
from tests.factories import TagFactory, TierFactory, UserFactory

pytestmark = pytest.mark.django_db


def upload():
    return SimpleUploadedFile("menu.png", picture((2500, 843)), content_type="image/png")


def post(client, **fields):
    fields.setdefault("tag", "")
    fields.setdefault("priority", "")
    fields.setdefault("alias_id", "")
    areas = fields.pop("areas", [("card", ""), ("rewards", "")])
    return client.post(ADD, form_data(image=upload(), areas=areas, **fields))


def errors(response) -> dict:
    assert response.status_code == 200, "the form was accepted"
    form_errors = dict(response.context["adminform"].form.errors)
    for formset in response.context["inline_admin_formsets"]:
        for form_errors_of_area in formset.formset.errors:
            form_errors.update({f"area {k}": v for k, v in form_errors_of_area.items()})
    return {k: " ".join(v) for k, v in form_errors.items()}


def test_an_owner_adds_a_tag_menu_with_its_usual_priority_and_an_alias(owner_client, shop):
    vip = TagFactory(shop=shop, name="VIP")
    response = post(owner_client, audience="tag", tag=str(vip.pk), alias_id="vip-tab_1")
    assert response.status_code == 302, errors(response)
    menu = RichMenu.objects.get()
    assert (menu.audience, menu.tag, menu.priority, menu.alias_id) == ("tag", vip, 20, "vip-tab_1")

    # the list shows the audience with the tag, the priority and the alias
    listing = owner_client.get(CHANGELIST)
    html = listing.content.decode()
    assert "VIP" in html and "vip-tab_1" in html
    assert "priority" in listing.context["cl"].list_display


def test_an_explicit_priority_is_kept(owner_client, shop):
    response = post(owner_client, audience="bound", priority="35")
    assert response.status_code == 302, errors(response)
    assert RichMenu.objects.get().priority == 35


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"audience": "tag"}, "tag", "Choose a tag for a tag menu"),
        ({"audience": "bound", "tag": "OWN"}, "tag", "Choose a tag for a tag menu"),
        ({"alias_id": "Tab A"}, "alias_id", "lowercase letters a-z"),
        ({"alias_id": "x" * 33}, "alias_id", "at most 32"),
        ({"priority": "-1"}, "priority", "greater than or equal to 0"),
        ({"audience": "tag", "tag": "OTHER"}, "tag", "Select a valid choice"),
        ({"audience": "tier", "tier": "OTHER_TIER"}, "tier", "Select a valid choice"),
    ],
)
def test_every_bad_input_is_refused_with_a_message(
    owner_client, shop, other_shop, english, fields, field, message
):
    own, other = TagFactory(shop=shop), TagFactory(shop=other_shop)
    other_tier = TierFactory(shop=other_shop)
    values = {"OWN": str(own.pk), "OTHER": str(other.pk), "OTHER_TIER": str(other_tier.pk)}
    fields = {k: values.get(v, v) for k, v in fields.items()}
    response = post(owner_client, **fields)
    assert message in errors(response).get(field, ""), errors(response)
    assert not RichMenu.objects.exists()


def test_an_alias_is_once_per_shop_but_another_shop_may_use_it(
    owner_client, shop, other_shop, english
):
    theirs = make_menu(other_shop)
    RichMenu.objects.filter(pk=theirs.pk).update(alias_id="points")
    first = post(owner_client, alias_id="points")
    assert first.status_code == 302, errors(first)
    second = post(owner_client, alias_id="points")
    assert "already uses this alias" in errors(second)["__all__"]
    assert RichMenu.objects.filter(shop=shop).count() == 1


def test_a_switch_area_opens_only_an_alias_of_the_same_shop(
    owner_client, shop, other_shop, english
):
    ours, theirs = make_menu(shop, name="ours"), make_menu(other_shop, name="theirs")
    RichMenu.objects.filter(pk=ours.pk).update(alias_id="rewards")
    RichMenu.objects.filter(pk=theirs.pk).update(alias_id="secret")

    refused = [
        post(owner_client, areas=[("card", ""), ("switch", alias)])
        for alias in ("secret", "missing", "")
    ]
    for response in refused:
        assert "another menu of this shop" in errors(response)["area value"]
    assert RichMenu.objects.filter(shop=shop).count() == 1

    # its own shop's alias, and the menu's own alias (the tab it is on), are accepted
    accepted = post(
        owner_client, alias_id="points", areas=[("switch", "rewards"), ("switch", "points")]
    )
    assert accepted.status_code == 302, errors(accepted)
    menu = RichMenu.objects.get(alias_id="points")
    assert list(menu.areas.values_list("action", "value")) == [
        ("switch", "rewards"),
        ("switch", "points"),
    ]


def test_another_shops_owner_cannot_pick_our_tag_nor_see_our_alias(client, shop, other_shop):
    vip = TagFactory(shop=shop, name="VIP-OF-A")
    menu = make_menu(shop)
    RichMenu.objects.filter(pk=menu.pk).update(alias_id="a-secret-tab")
    client.force_login(UserFactory(shop=other_shop, role="owner"))

    add_page = client.get(ADD).content.decode()
    listing = client.get(CHANGELIST).content.decode()

    assert "VIP-OF-A" not in add_page
    assert "a-secret-tab" not in listing
    response = post(client, audience="tag", tag=str(vip.pk))
    assert response.status_code == 200
    assert not RichMenu.objects.filter(shop=other_shop).exists()


def test_the_change_page_shows_the_new_fields(owner_client, shop):
    menu = make_menu(shop)
    html = owner_client.get(reverse("admin:campaigns_richmenu_change", args=[menu.pk])).content
    for name in (b'name="tag"', b'name="priority"', b'name="alias_id"'):
        assert name in html
