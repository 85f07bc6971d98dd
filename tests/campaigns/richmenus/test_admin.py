"""The rich menus' back-office pages: the editor (upload, areas, preview), the list (sync state,
linked count), "Publish to LINE" and "Re-sync all", and another shop seeing none of it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.richmenus.models import RichMenu, RichMenuArea, RichMenuLink
from members.line.models import LineFriend
from tests.campaigns.richmenus.conftest import make_menu, picture
from tests.conftest import admin_messages
from tests.factories import UserFactory
from tests.line_fixtures import MESSAGING_CHANNEL_ID, NOK, SOMCHAI

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaigns_richmenu_changelist")
ADD = reverse("admin:campaigns_richmenu_add")


def form_data(*, image=None, areas=(), layout=2, **fields):
    data = {
        "name": "Members",
        "chat_bar_text": "เมนู",
        "layout": str(layout),
        "audience": "default",
        "tier": "",
        "areas-TOTAL_FORMS": str(len(areas)),
        "areas-INITIAL_FORMS": "0",
        "areas-MIN_NUM_FORMS": "0",
        "areas-MAX_NUM_FORMS": "6",
        **fields,
    }
    if image is not None:
        data["image"] = image
    for i, (action, value) in enumerate(areas):
        data.update({f"areas-{i}-index": str(i + 1), f"areas-{i}-action": action})
        data[f"areas-{i}-value"] = value
    return data


def test_an_owner_adds_a_menu_with_its_picture_and_areas(owner_client, shop):
    upload = SimpleUploadedFile("menu.png", picture((2500, 843)), content_type="image/png")
    response = owner_client.post(
        ADD,
        form_data(image=upload, areas=[("card", ""), ("url", "https://shop.example/")]),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    menu = RichMenu.objects.get()
    assert menu.shop == shop and menu.sync_state == RichMenu.SyncState.DRAFT
    assert (menu.image.width, menu.image.height) == (2500, 843)
    assert list(menu.areas.values_list("index", "action", "shop")) == [
        (1, "card", shop.pk),
        (2, "url", shop.pk),
    ]
    # the editor shows the picture with its two areas drawn
    page = owner_client.get(reverse("admin:campaigns_richmenu_change", args=[menu.pk]))
    html = page.content.decode()
    assert "data-rich-menu-preview" in html and html.count("<rect ") == 2


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (picture((1000, 500)), "1000×500"),
        (picture((2500, 843), "JPEG", noise=True), "1024 KB"),
        (b"not a picture at all", "JPEG"),
    ],
)
def test_the_editor_refuses_a_picture_line_would_refuse(owner_client, english, upload, error):
    response = owner_client.post(
        ADD, form_data(image=SimpleUploadedFile("menu.png", upload, content_type="image/png"))
    )
    assert response.status_code == 200
    assert error in str(response.context["adminform"].form.errors["image"])
    assert not RichMenu.objects.exists()


def test_an_area_with_a_web_address_needs_one(owner_client, english):
    upload = SimpleUploadedFile("menu.png", picture((800, 540)), content_type="image/png")
    response = owner_client.post(ADD, form_data(image=upload, areas=[("url", "")], layout=1))
    assert response.status_code == 200
    assert not RichMenu.objects.exists()


def test_publish_and_resync_from_the_list(owner_client, line_shop, fake_line, english):
    # given a menu for everyone and a friend of the OA
    LineFriend.objects.create(shop=line_shop, line_user_id=SOMCHAI, state="friend")
    menu = make_menu(line_shop)

    # when the owner publishes it, then re-syncs everyone (twice: safe to repeat)
    published = owner_client.post(
        CHANGELIST, {"action": "publish_menus", "_selected_action": [menu.pk]}, follow=True
    )
    for _ in range(2):
        resynced = owner_client.post(
            CHANGELIST, {"action": "resync_all", "_selected_action": [menu.pk]}, follow=True
        )

    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.PUBLISHED
    assert any("is published at LINE" in m for m in admin_messages(published))
    assert any("re-synced" in m for m in admin_messages(resynced))
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI) == (
        menu.line_rich_menu_id
    )
    assert RichMenuLink.objects.get(line_user_id=SOMCHAI).line_rich_menu_id == ""  # the default
    listing = owner_client.get(CHANGELIST).content.decode()
    assert "Published" in listing


def test_a_failed_publish_shows_lines_message(owner_client, shop, english, fake_line):
    # a shop without a Messaging API channel
    menu = make_menu(shop)
    response = owner_client.post(
        reverse("admin:campaigns_richmenu_publish_menu", args=[menu.pk]), follow=True
    )
    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.FAILED
    assert any("was not published" in m for m in admin_messages(response))


def test_the_list_counts_the_users_linked_to_each_menu(owner_client, shop, english):
    menu = make_menu(shop, audience=RichMenu.Audience.BOUND)
    RichMenu.objects.filter(pk=menu.pk).update(line_rich_menu_id="richmenu-" + "a" * 32)
    RichMenuLink.objects.create(
        shop=shop, line_user_id=NOK, line_rich_menu_id="richmenu-" + "a" * 32
    )
    RichMenuLink.objects.create(shop=shop, line_user_id=SOMCHAI, line_rich_menu_id="")
    response = owner_client.get(CHANGELIST)
    [row] = response.context["cl"].result_list
    assert row.linked_count == 1


def test_another_shops_owner_sees_and_changes_none_of_it(client, shop, other_shop):
    menu = make_menu(shop)
    other_owner = UserFactory(shop=other_shop, role="owner")
    client.force_login(other_owner)

    listing = client.get(CHANGELIST)
    change = client.get(reverse("admin:campaigns_richmenu_change", args=[menu.pk]))
    publish = client.post(reverse("admin:campaigns_richmenu_publish_menu", args=[menu.pk]))
    action = client.post(CHANGELIST, {"action": "publish_menus", "_selected_action": [menu.pk]})

    assert listing.status_code == 200 and list(listing.context["cl"].result_list) == []
    assert change.status_code == 302  # "does not exist", back to the index
    assert publish.status_code == 404
    assert action.status_code == 302
    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.DRAFT
    assert RichMenuArea.objects.filter(menu=menu).count() == 2


def test_deleting_from_the_admin_deletes_the_menu_at_line(owner_client, line_shop, fake_line):
    menu = make_menu(line_shop)
    owner_client.post(CHANGELIST, {"action": "publish_menus", "_selected_action": [menu.pk]})
    menu.refresh_from_db()
    response = owner_client.post(
        reverse("admin:campaigns_richmenu_delete", args=[menu.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not RichMenu.objects.exists()
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI) is None
