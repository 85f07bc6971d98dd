"""The rich-menu editor's custom rectangles: the pure checks (inside the picture, at least a pixel,
no overlaps, at most 20), the admin form refusing what LINE or a thumb could not use with a
message saying which area, publishing the rectangles to LINE, and the preview drawing them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

from campaigns.richmenus import services
from campaigns.richmenus.layout import CUSTOM, MAX_AREAS, Rect, area_rects, custom_rect_errors
from campaigns.richmenus.models import RichMenu, RichMenuArea
from tests.campaigns.richmenus.conftest import make_menu, picture
from tests.factories import TagFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN

ADD = reverse("admin:campaigns_richmenu_add")


# --- the pure rules ------------------------------------------------------------------------------


def test_custom_rectangles_inside_the_picture_and_apart_pass():
    areas = [(1, Rect(0, 0, 1250, 843)), (2, Rect(1250, 0, 1250, 843))]  # touching edges
    assert custom_rect_errors(areas, width=2500, height=843) == []
    assert area_rects(width=2500, height=843, areas=CUSTOM, custom=[r for _n, r in areas]) == [
        Rect(0, 0, 1250, 843),
        Rect(1250, 0, 1250, 843),
    ]


@pytest.mark.parametrize(
    ("areas", "expected"),
    [
        ([(1, Rect(2000, 0, 501, 100))], "Area 1 (x 2000, y 0, 501×100) runs outside"),
        ([(1, Rect(0, 800, 100, 44))], "runs outside the 2500×843 picture"),
        ([(1, Rect(0, 0, 0, 100))], "Area 1: the width and height must be at least 1 pixel"),
        ([(1, None)], "Area 1: give its x, y, width and height"),
        ([(1, Rect(0, 0, 100, 100)), (3, Rect(99, 99, 10, 10))], "Area 1 and area 3 overlap"),
        ([], "Add at least one area"),
        (
            [(n, Rect(n * 100, 0, 100, 100)) for n in range(1, MAX_AREAS + 2)][: MAX_AREAS + 1],
            "at most 20 areas; this one has 21",
        ),
    ],
)
def test_custom_rectangles_line_or_a_thumb_could_not_use_are_refused(english, areas, expected):
    errors = custom_rect_errors(areas, width=2500, height=843)
    assert any(expected in error for error in errors), errors


# --- the admin form ------------------------------------------------------------------------------


def form_data(*, rows, layout=CUSTOM, image=True, **fields):
    data = {
        "name": "Tabs",
        "chat_bar_text": "เมนู",
        "layout": str(layout),
        "audience": "default",
        "tier": "",
        "areas-TOTAL_FORMS": str(len(rows)),
        "areas-INITIAL_FORMS": "0",
        "areas-MIN_NUM_FORMS": "0",
        "areas-MAX_NUM_FORMS": str(MAX_AREAS),
        **fields,
    }
    if image:
        data["image"] = SimpleUploadedFile("m.png", picture((2500, 843)), content_type="image/png")
    for i, row in enumerate(rows):
        row = {"index": i + 1, "action": "card", "value": "", **row}
        for key, value in row.items():
            if key == "tags":
                data[f"areas-{i}-tags"] = [str(t) for t in value]
            elif value is not None:
                data[f"areas-{i}-{key}"] = str(value)
    return data


def rect(x, y, w, h):
    return {"x": x, "y": y, "width": w, "height": h}


@pytest.mark.django_db
def test_an_owner_saves_a_custom_layout_with_its_rectangles(owner_client, shop):
    rows = [rect(0, 0, 1800, 843), {**rect(1800, 0, 700, 421), "action": "rewards"}]
    response = owner_client.post(ADD, form_data(rows=rows))
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    menu = RichMenu.objects.get()
    assert menu.layout == CUSTOM
    assert [a.rect for a in menu.areas.all()] == [Rect(0, 0, 1800, 843), Rect(1800, 0, 700, 421)]
    # the saved preview draws the two rectangles where they are
    html = owner_client.get(reverse("admin:campaigns_richmenu_change", args=[menu.pk])).content
    html = html.decode()
    assert '<rect x="0" y="0" width="1800" height="843"' in html
    assert '<rect x="1800" y="0" width="700" height="421"' in html
    assert "js/richmenu-editor.js" in html and "data-rich-menu-live" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([rect(0, 0, 1300, 843), rect(1250, 0, 1250, 843)], "Area 1 and area 2 overlap"),
        ([rect(0, 0, 2600, 843)], "runs outside the 2500×843 picture"),
        ([{"x": 0, "y": 0}], "give the area&#x27;s x, y, width and height"),
    ],
)
def test_the_editor_refuses_overlapping_or_outside_rectangles_with_the_reason(
    owner_client, english, rows, message
):
    response = owner_client.post(ADD, form_data(rows=rows))
    assert response.status_code == 200
    assert message.lower() in response.content.decode().lower()
    assert not RichMenu.objects.exists()


@pytest.mark.django_db
def test_a_grid_layout_keeps_no_rectangles(owner_client, shop):
    rows = [rect(0, 0, 10, 10), rect(10, 0, 10, 10)]
    response = owner_client.post(ADD, form_data(rows=rows, layout=2))
    assert response.status_code == 302
    assert [a.rect for a in RichMenuArea.objects.order_by("index")] == [None, None]


@pytest.mark.django_db
def test_more_than_twenty_areas_are_refused(owner_client, english):
    rows = [rect(n * 100, 0, 100, 100) for n in range(MAX_AREAS + 1)]
    data = form_data(rows=rows)
    data["areas-MAX_NUM_FORMS"] = str(MAX_AREAS + 1)  # a tampered form
    response = owner_client.post(ADD, data)
    assert response.status_code == 200
    assert "at most 20 areas; this one has 21" in response.content.decode()
    assert not RichMenu.objects.exists()


# --- publishing ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_publishing_a_custom_layout_sends_its_rectangles_to_line(line_shop, fake_line, settings):
    menu = make_menu(line_shop, layout=2)
    menu.layout = CUSTOM
    menu.save()
    for area, bounds in zip(
        menu.areas.all(), [(0, 0, 2000, 843), (2000, 400, 500, 443)], strict=True
    ):
        area.x, area.y, area.width, area.height = bounds
        area.save()

    services.rich_menu_publish(menu_id=menu.pk)

    menu.refresh_from_db()
    api = MessagingApi(
        ApiClient(
            Configuration(host=settings.LINE_API_BASE_URL, access_token=MESSAGING_ACCESS_TOKEN)
        )
    )
    at_line = api.get_rich_menu(menu.line_rich_menu_id)
    assert [(a.bounds.x, a.bounds.y, a.bounds.width, a.bounds.height) for a in at_line.areas] == [
        (0, 0, 2000, 843),
        (2000, 400, 500, 443),
    ]


@pytest.mark.django_db
def test_publishing_refuses_overlapping_rectangles_saved_outside_the_editor(line_shop, fake_line):
    menu = make_menu(line_shop, layout=2)
    RichMenu.objects.filter(pk=menu.pk).update(layout=CUSTOM)
    RichMenuArea.objects.filter(menu=menu).update(x=0, y=0, width=100, height=100)

    with pytest.raises(services.RichMenuRefused, match=r"overlap|ทับ"):
        services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.FAILED and not menu.line_rich_menu_id


# --- tags in the editor --------------------------------------------------------------------------


@pytest.mark.django_db
def test_action_tags_are_saved_and_refused_on_a_message_area(owner_client, shop, english):
    promo = TagFactory(shop=shop, name="promo")
    rows = [{**rect(0, 0, 100, 100), "tags": [promo.pk]}]
    assert owner_client.post(ADD, form_data(rows=rows)).status_code == 302
    assert list(RichMenuArea.objects.get().tags.all()) == [promo]

    rows = [{**rect(0, 0, 100, 100), "action": "message", "value": "hi", "tags": [promo.pk]}]
    response = owner_client.post(ADD, form_data(rows=rows, name="Second"))
    assert response.status_code == 200
    assert "Action tags work on member pages" in response.content.decode()


@pytest.mark.django_db
def test_the_editor_offers_and_takes_only_the_shops_own_tags(owner_client, shop, other_shop):
    TagFactory(shop=shop, name="own-tag")
    foreign = TagFactory(shop=other_shop, name="FOREIGN-TAG")
    page = owner_client.get(ADD).content.decode()
    assert "own-tag" in page and "FOREIGN-TAG" not in page

    rows = [{**rect(0, 0, 100, 100), "tags": [foreign.pk]}]
    response = owner_client.post(ADD, form_data(rows=rows))
    assert response.status_code == 200
    assert not RichMenuArea.objects.exists()
