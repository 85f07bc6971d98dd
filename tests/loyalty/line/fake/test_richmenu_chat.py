"""The fake LINE's rich menus as a user meets them: the picture uploaded is served back as LINE
serves it (``GET /v2/bot/richmenu/{id}/content`` on the data host, through line-bot-sdk), and the
fake chat draws the menu the user sees (their own, else the default) with LINE's taps: a link for
``uri``, the user's message for ``message``, signed postback events for ``postback`` and
``richmenuswitch``; end to end, a tap on a message area gets the shop's keyword reply."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import json
import re

import pytest
import requests
from django.core.files.base import ContentFile
from django.urls import reverse
from linebot.v3.messaging import ApiException
from PIL import Image

from loyalty.fake_http import FakeHTTPServer, Request, Response, json_response, routes
from loyalty.line.messaging import messaging_api_blob
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    NOK,
    SOMCHAI,
)

AUTH = {"Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}"}


def picture(size=(2500, 843), colour=(6, 199, 85)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def create_menu(fake_line, areas: list[dict], *, chat_bar="เมนู", image: bytes | None = None):
    """A menu made as line-bot-sdk makes one: the JSON body, then its picture."""
    body = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "menu",
        "chatBarText": chat_bar,
        "areas": areas,
    }
    created = requests.post(
        f"{fake_line.base_url}/v2/bot/richmenu", json=body, headers=AUTH, timeout=5
    )
    assert created.status_code == 200, created.text
    rich_menu_id = created.json()["richMenuId"]
    if image is not None:
        uploaded = requests.post(
            f"{fake_line.base_url}/v2/bot/richmenu/{rich_menu_id}/content",
            data=image,
            headers={**AUTH, "Content-Type": "image/png"},
            timeout=5,
        )
        assert uploaded.status_code == 200, uploaded.text
    return rich_menu_id


def area(x: int, width: int, action: dict, y: int = 0, height: int = 843) -> dict:
    return {"bounds": {"x": x, "y": y, "width": width, "height": height}, "action": action}


def chat(fake_line, user_id: str) -> str:
    response = requests.get(f"{fake_line.base_url}/__fake__/chat/{user_id}", timeout=5)
    assert response.status_code == 200
    return response.text


def area_forms(page: str) -> dict[str, dict[str, str]]:
    """Each area form of the page: its number → the fields it posts."""
    forms = {}
    for number, inner in re.findall(
        r'<form method="post" action="[^"]+" class="area" data-area="(\d+)"[^>]*>(.*?)</form>',
        page,
    ):
        forms[number] = {
            name: html.unescape(value)
            for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', inner)
        }
    return forms


def test_the_fake_serves_a_menus_picture_back_as_uploaded_through_line_bot_sdk(fake_line):
    # given a menu with its picture, and one without
    image = picture(colour=(200, 10, 10))
    with_picture = create_menu(fake_line, [], image=image)
    without = create_menu(fake_line, [])
    blob = messaging_api_blob(channel_access_token=MESSAGING_ACCESS_TOKEN)

    # then the SDK downloads the same bytes, with their type
    response = blob.get_rich_menu_image_with_http_info(with_picture)
    assert bytes(response.data) == image
    assert response.headers["Content-Type"] == "image/png"
    # and a menu without a picture, or another channel's token, gets LINE's 404 / 401
    with pytest.raises(ApiException) as missing:
        blob.get_rich_menu_image(without)
    assert missing.value.status == 404
    other = requests.get(
        f"{fake_line.base_url}/v2/bot/richmenu/{with_picture}/content",
        headers={"Authorization": "Bearer not-a-token"},
        timeout=5,
    )
    assert other.status_code == 401


def test_the_chat_draws_the_users_own_menu_else_the_default_with_each_areas_tap(fake_line):
    # given a default menu and Nok's own menu with a link, a message, a postback and a switch
    default = create_menu(
        fake_line,
        [area(0, 2500, {"type": "message", "text": "สวัสดี"})],
        chat_bar="ทุกคน",
        image=picture(),
    )
    own = create_menu(
        fake_line,
        [
            area(0, 625, {"type": "uri", "uri": "https://shop.example/m/card/"}),
            area(625, 625, {"type": "message", "text": "เวลาเปิด"}),
            area(1250, 625, {"type": "postback", "data": "tag=promo", "displayText": "โปร"}),
            area(
                1875,
                625,
                {"type": "richmenuswitch", "richMenuAliasId": "tab-b", "data": "tab=b"},
                y=421,
                height=422,
            ),
        ],
        chat_bar="สมาชิก",
        image=picture(colour=(0, 0, 200)),
    )
    requests.post(
        f"{fake_line.base_url}/v2/bot/user/all/richmenu/{default}", headers=AUTH, timeout=5
    )
    requests.post(f"{fake_line.base_url}/v2/bot/user/{NOK}/richmenu/{own}", headers=AUTH, timeout=5)

    # when Nok opens her chat
    page = chat(fake_line, NOK)

    # then her own menu is drawn: its picture, its chat bar, the areas where LINE puts them
    assert f'data-rich-menu-id="{own}"' in page
    assert f'<img src="/__fake__/richmenu/{own}.img"' in page
    assert '<summary class="chatbar">สมาชิก</summary>' in page
    assert (
        '<a class="area" data-area="1" data-type="uri" '
        'style="left:0.000%;top:0.000%;width:25.000%;height:100.000%"'
    ) in page
    assert 'href="https://shop.example/m/card/" target="_blank"' in page
    assert 'style="left:75.000%;top:49.941%;width:25.000%;height:50.059%"' in page
    assert area_forms(page) == {
        "2": {"action": "message", "text": "เวลาเปิด"},
        "3": {"action": "postback", "data": "tag=promo", "text": "โปร"},
        "4": {"action": "richmenuswitch", "data": "tab=b", "alias": "tab-b"},
    }
    # and the picture is the one uploaded
    shown = requests.get(f"{fake_line.base_url}/__fake__/richmenu/{own}.img", timeout=5)
    assert Image.open(io.BytesIO(shown.content)).getpixel((10, 10)) == (0, 0, 200)
    # and Somchai, with no menu of his own, sees the default one
    somchai = chat(fake_line, SOMCHAI)
    assert f'data-rich-menu-id="{default}"' in somchai
    assert area_forms(somchai) == {"1": {"action": "message", "text": "สวัสดี"}}


def test_the_chat_shows_no_menu_when_the_user_has_none_or_it_has_no_picture(fake_line):
    requests.post(
        f"{fake_line.base_url}/v2/bot/user/all/richmenu/"
        + create_menu(fake_line, [], image=picture()),
        headers=AUTH,
        timeout=5,
    )
    assert 'class="richmenu"' in chat(fake_line, NOK)
    fake_line.reset()
    assert 'class="richmenu"' not in chat(fake_line, NOK)


class RecordingShop(FakeHTTPServer):
    """A shop's webhook that checks LINE's signature and keeps the events."""

    ROUTES = routes(("POST", r"/line/webhook", "_receive"))
    label = "recording shop"

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def _receive(self, request: Request) -> Response:
        digest = hmac.new(MESSAGING_CHANNEL_SECRET.encode(), request.body, hashlib.sha256)
        if base64.b64encode(digest.digest()).decode() != request.headers["x-line-signature"]:
            return json_response(400, {})
        self.events.extend(json.loads(request.body)["events"])
        return json_response(200, {})


def test_a_tap_on_a_postback_or_switch_area_posts_lines_signed_postback_event(fake_line):
    shop = RecordingShop()
    shop.start()
    try:
        fake_line.add_channel(
            MESSAGING_CHANNEL_ID,
            MESSAGING_CHANNEL_SECRET,
            webhook_url=f"{shop.base_url}/line/webhook",
        )
        menu = create_menu(
            fake_line,
            [
                area(0, 1250, {"type": "postback", "data": "tag=promo", "displayText": "โปร"}),
                area(1250, 1250, {"type": "richmenuswitch", "richMenuAliasId": "b", "data": "t"}),
            ],
            image=picture(),
        )
        tab_b = create_menu(
            fake_line, [area(0, 2500, {"type": "message", "text": "B"})], image=picture()
        )
        created = requests.post(
            f"{fake_line.base_url}/v2/bot/richmenu/alias",
            json={"richMenuAliasId": "b", "richMenuId": tab_b},
            headers=AUTH,
            timeout=5,
        )
        assert created.status_code == 200, created.text
        requests.post(
            f"{fake_line.base_url}/v2/bot/user/{NOK}/richmenu/{menu}", headers=AUTH, timeout=5
        )
        forms = area_forms(chat(fake_line, NOK))

        # when Nok taps both areas (the forms post what the page holds)
        url = f"{fake_line.base_url}/__fake__/chat/{NOK}"
        for number in ("1", "2"):
            assert requests.post(url, data=forms[number], timeout=10).status_code == 200

        # then the shop got two signed postbacks; the switch carries the alias as LINE's does
        tap, switch = shop.events
        assert tap["type"] == switch["type"] == "postback"
        assert tap["source"] == {"type": "user", "userId": NOK} and tap["replyToken"]
        assert tap["postback"] == {"data": "tag=promo"}
        assert switch["postback"] == {
            "data": "t",
            "params": {"newRichMenuAliasId": "b", "status": "SUCCESS"},
        }
        # and the chat shows the postback's display text as Nok's message, and the switch
        page = chat(fake_line, NOK)
        assert '<div class="bubble text">โปร</div>' in page
        assert "You switched the menu tab <code>t</code>" in page
        # and LINE switched her menu to the alias's (the chat now draws tab B)
        assert fake_line.rich_menu_for_user(NOK, MESSAGING_CHANNEL_ID)["richMenuId"] == tab_b
    finally:
        shop.stop()


@pytest.mark.django_db(transaction=True)
def test_a_tap_on_a_message_area_gets_the_shops_keyword_reply_in_the_chat(
    fake_line, live_server, settings
):
    from campaigns.autoreplies.models import KeywordRule
    from campaigns.richmenus.models import RichMenu, RichMenuArea
    from campaigns.richmenus.services import rich_menu_publish
    from members.line.selectors import webhook_channels_forget
    from shops.models import ShopLineChannel
    from tests.factories import ShopFactory

    # given a shop on the fake LINE, its webhook live (tasks run at once), a keyword rule and
    # a default menu published with one message area
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.SITE_URL = live_server.url
    webhook_channels_forget()
    shop = ShopFactory(name="คาเฟ่อร่อย")
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )
    fake_line.add_channel(
        MESSAGING_CHANNEL_ID,
        MESSAGING_CHANNEL_SECRET,
        webhook_url=live_server.url + reverse("line-webhook", kwargs={"shop_slug": shop.slug}),
    )
    KeywordRule.objects.create(
        shop=shop, name="hours", keywords="เวลาเปิด", reply_unbound="เปิดทุกวัน 07:00–20:00 น. ค่ะ"
    )
    menu = RichMenu(shop=shop, name="ทุกคน", chat_bar_text="เมนู", layout=2)
    menu.image.save("menu.png", ContentFile(picture()), save=False)
    menu.save()
    RichMenuArea.objects.create(shop=shop, menu=menu, index=1, action="card")
    RichMenuArea.objects.create(shop=shop, menu=menu, index=2, action="message", value="เวลาเปิด")
    rich_menu_publish(menu_id=menu.pk)

    # when Nok opens her chat and taps the message area
    page = chat(fake_line, NOK)
    links = re.findall(r'<a class="area" data-area="1"[^>]* href="([^"]+)"', page)
    assert links == [f"{live_server.url}/m/{shop.slug}/card/"]
    form = area_forms(page)["2"]
    answer = requests.post(f"{fake_line.base_url}/__fake__/chat/{NOK}", data=form, timeout=20)

    # then her message went to the shop's webhook, and the keyword's reply is in her chat
    assert answer.status_code == 200
    assert "data-status='200'" in answer.text
    assert fake_line.texts_to(NOK) == ["เปิดทุกวัน 07:00–20:00 น. ค่ะ"]
    bubbles = re.findall(r'<div class="bubble text">(.*?)</div>', answer.text)
    assert bubbles == ["เวลาเปิด", "เปิดทุกวัน 07:00–20:00 น. ค่ะ"]
