"""Every kind of keyword reply sent through line-bot-sdk to the fake LINE platform and read back
from it: a picture (with its 240 px preview), a tappable picture (imagemap, served per width), the
member's points card (flex), replies per tier, the coupons built-in, and an expired reply token."""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from linebot.v3.messaging import ApiException
from PIL import Image

from campaigns.autoreplies.models import Greeting, KeywordRule, KeywordTierReply
from loyalty.line.messaging import reply_messages
from rewards.models import Coupon
from tests.campaigns.autoreplies.test_replies import bound_member, rule, say
from tests.factories import FACTORIES, TierFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, MESSAGING_CHANNEL_ID, NOK, SOMCHAI

pytestmark = pytest.mark.django_db

CouponFactory = FACTORIES[Coupon]

SITE = "https://loyalty.example"
BKK = ZoneInfo("Asia/Bangkok")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


def picture(width=2080, height=1040, fmt="PNG") -> ContentFile:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format=fmt)
    return ContentFile(out.getvalue(), name=f"menu.{fmt.lower()}")


def fetched(client, url: str) -> Image.Image:
    """GET one of our own absolute URLs as LINE would, and open the picture it answers."""
    assert url.startswith(SITE + "/")
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200, url
    assert response["Cache-Control"].startswith("public")
    return Image.open(io.BytesIO(response.content))


def test_picture_reply_sends_the_text_then_the_picture_with_a_small_preview(
    client, fake_line, line_shop
):
    menu = rule(line_shop, kind="image", image=picture(), reply_unbound="เมนูวันนี้")
    say(fake_line, line_shop, "เมนู")

    text, image = fake_line.messages_to(SOMCHAI)
    assert text == {"type": "text", "text": "เมนูวันนี้"}
    assert image["type"] == "image"
    assert image["originalContentUrl"] == SITE + menu.image.url
    assert fetched(client, image["previewImageUrl"]).size == (240, 120)
    menu.refresh_from_db()
    assert menu.sent_count == 1


def test_picture_reply_with_an_empty_text_sends_only_the_picture(fake_line, line_shop):
    rule(line_shop, kind="image", image=picture(), reply_unbound="")
    say(fake_line, line_shop, "เมนู")
    assert [m["type"] for m in fake_line.messages_to(SOMCHAI)] == ["image"]


def test_tappable_picture_is_an_imagemap_served_at_every_width_line_asks_for(
    client, fake_line, line_shop
):
    rule(
        line_shop,
        kind="imagemap",
        image=picture(2080, 1040),
        reply_unbound="",
        imagemap_areas="0, 0, 520, 520, https://shop.example/menu\n520, 0, 520, 520, คูปอง",
    )
    say(fake_line, line_shop, "เมนู")

    [imagemap] = fake_line.messages_to(SOMCHAI, "imagemap")
    assert imagemap["baseSize"] == {"width": 1040, "height": 520}
    assert imagemap["actions"] == [
        {
            "type": "uri",
            "linkUri": "https://shop.example/menu",
            "area": {"x": 0, "y": 0, "width": 520, "height": 520},
        },
        {
            "type": "message",
            "text": "คูปอง",
            "area": {"x": 520, "y": 0, "width": 520, "height": 520},
        },
    ]
    for width in (240, 300, 460, 700, 1040):
        assert fetched(client, f"{imagemap['baseUrl']}/{width}").size == (width, width // 2)


def test_the_fake_chat_draws_the_imagemap_with_its_areas(client, fake_line, line_shop):
    import requests

    rule(
        line_shop,
        kind="imagemap",
        image=picture(),
        reply_unbound="",
        imagemap_areas="0, 0, 520, 520, https://shop.example/menu\n520, 0, 520, 520, คูปอง",
    )
    say(fake_line, line_shop, "เมนู")
    page = requests.get(f"{fake_line.base_url}/__fake__/chat/{SOMCHAI}", timeout=5).text
    assert '<div class="bubble imagemap"' in page and "/700" in page
    assert 'href="https://shop.example/menu"' in page
    assert 'name="text" value="คูปอง"' in page


def test_points_card_for_a_member_shows_balance_tier_and_opens_the_card(fake_line, line_shop):
    gold = TierFactory(shop=line_shop, name="Gold")
    bound_member(line_shop, first_name="Nok", balance=1250, tier=gold)
    rule(line_shop, kind="card", reply_bound="")
    say(fake_line, line_shop, "เมนู")

    [card] = fake_line.messages_to(SOMCHAI)
    assert card["type"] == "flex" and "Nok" in card["altText"]
    texts = _texts(card["contents"])
    assert line_shop.name in texts and "Nok" in texts and "Gold" in texts
    assert any("1,250" in t for t in texts)
    [button] = card["contents"]["footer"]["contents"]
    assert button["action"]["uri"].endswith(f"/{line_shop.slug}/card/")


def test_points_card_for_a_friend_who_is_not_a_member_invites_to_sign_up(fake_line, line_shop):
    rule(line_shop, kind="card", reply_unbound="สมัครสมาชิกรับพอยท์")
    say(fake_line, line_shop, "เมนู")
    text, card = fake_line.messages_to(SOMCHAI)
    assert text["text"] == "สมัครสมาชิกรับพอยท์"
    [button] = card["contents"]["footer"]["contents"]
    assert button["action"]["uri"].endswith(f"/{line_shop.slug}/signup/")


def _texts(component) -> list[str]:
    if isinstance(component, dict):
        found = [component["text"]] if component.get("type") == "text" else []
        for value in component.values():
            found += _texts(value)
        return found
    if isinstance(component, list):
        return [t for item in component for t in _texts(item)]
    return []


def test_a_tier_reply_wins_over_the_members_reply_for_that_tier_only(fake_line, line_shop):
    gold, silver = TierFactory(shop=line_shop, name="Gold"), TierFactory(shop=line_shop)
    menu = rule(line_shop, reply_bound="สมาชิก {name}")
    KeywordTierReply.objects.create(rule=menu, tier=gold, text="Gold {name} ลด 20%")
    bound_member(line_shop, first_name="Som", tier=gold)
    bound_member(line_shop, user_id=NOK, first_name="Nok", tier=silver)

    say(fake_line, line_shop, "เมนู")
    say(fake_line, line_shop, "เมนู", user_id=NOK)

    assert fake_line.texts_to(SOMCHAI) == ["Gold Som ลด 20%"]
    assert fake_line.texts_to(NOK) == ["สมาชิก Nok"]


def test_an_expired_reply_token_sends_nothing(fake_line, line_shop):
    menu = rule(line_shop, kind="card")
    token = fake_line.issue_reply_token(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=True):
        from members.line.services import webhook_events_process, webhook_events_store
        from tests.members.line import payloads

        event = {
            **payloads.text_message(user_id=SOMCHAI, at_ms=int(time.time() * 1000), text="เมนู"),
            "replyToken": token,
        }
        ids = webhook_events_store(shop_id=line_shop.pk, events=[event])
        webhook_events_process(shop_id=line_shop.pk, event_ids=ids)
    assert fake_line.messages_to(SOMCHAI) == []
    menu.refresh_from_db()
    assert menu.sent_count == 0


@pytest.mark.parametrize(
    ("message", "property_"),
    [
        (
            {
                "type": "imagemap",
                "baseUrl": "https://x.example/i",
                "altText": "a",
                "baseSize": {"width": 1040, "height": 520},
                "actions": [
                    {
                        "type": "message",
                        "text": "x",
                        "area": {"x": 0, "y": 500, "width": 10, "height": 40},
                    }
                ],
            },
            "messages[0].actions[0].area",
        ),
        (
            {
                "type": "imagemap",
                "baseUrl": "https://x.example/i",
                "altText": "a",
                "baseSize": {"width": 700, "height": 520},
                "actions": [
                    {
                        "type": "uri",
                        "linkUri": "https://x.example",
                        "area": {"x": 0, "y": 0, "width": 10, "height": 10},
                    }
                ],
            },
            "messages[0].baseSize.width",
        ),
        (
            {
                "type": "flex",
                "altText": "a",
                "contents": {
                    "type": "bubble",
                    "body": {
                        "type": "box",
                        "layout": "vertical",
                        "contents": [{"type": "text", "text": ""}],
                    },
                },
            },
            "messages[0].contents.body.contents[0].text",
        ),
    ],
)
def test_the_fake_refuses_what_line_refuses(fake_line, message, property_):
    token = fake_line.issue_reply_token(channel_id=MESSAGING_CHANNEL_ID, user_id=SOMCHAI)
    with pytest.raises(ApiException) as refused:
        reply_messages(
            channel_access_token=MESSAGING_ACCESS_TOKEN, reply_token=token, messages=[message]
        )
    assert refused.value.status == 400
    assert property_ in str(refused.value.body)


def test_coupons_keyword_lists_usable_coupons_with_buddhist_era_dates(fake_line, line_shop):
    # given a coupon good until 31 Dec and one whose last day was 9 Dec (Bangkok)
    usable = CouponFactory(shop=line_shop, reward_name="ลาเต้เย็น")
    member = usable.member
    member.line_user_id, member.bound_at = SOMCHAI, timezone.now()
    member.save(update_fields=["line_user_id", "bound_at"])
    Coupon.objects.filter(pk=usable.pk).update(expires_on=dt.date(2026, 12, 31))
    ran_out = CouponFactory(shop=line_shop, reward_name="RAN-OUT")
    Coupon.objects.filter(pk=ran_out.pk).update(member=member, expires_on=dt.date(2026, 12, 9))
    # when the member types it at 00:30 on 10 Dec in Bangkok (still 9 Dec in UTC)
    with time_machine.travel(dt.datetime(2026, 12, 10, 0, 30, tzinfo=BKK), tick=True):
        say(fake_line, line_shop, "คู ปอง")
    # then only the usable one is listed, with its last day in Buddhist Era
    [reply] = fake_line.texts_to(SOMCHAI)
    assert "ลาเต้เย็น" in reply and "31 ธ.ค. 2569" in reply
    assert "RAN-OUT" not in reply
    assert reply.rstrip().endswith(f"/m/{line_shop.slug}/rewards/coupons/")


def test_coupons_keyword_leaves_out_used_and_expired_coupons(fake_line, line_shop):
    coupon = CouponFactory(shop=line_shop, reward_name="USED-ONE")
    member = coupon.member
    member.line_user_id, member.bound_at = SOMCHAI, timezone.now()
    member.save(update_fields=["line_user_id", "bound_at"])
    Coupon.objects.filter(pk=coupon.pk).update(status=Coupon.Status.USED)
    say(fake_line, line_shop, "coupons")
    [reply] = fake_line.texts_to(SOMCHAI)
    assert "USED-ONE" not in reply and f"/m/{line_shop.slug}/rewards/" in reply


def test_coupons_keyword_sends_a_stranger_to_sign_up(fake_line, line_shop):
    say(fake_line, line_shop, "คูปอง", user_id=NOK)
    [reply] = fake_line.texts_to(NOK)
    assert f"/{line_shop.slug}/signup/" in reply


def test_coupons_keyword_switched_off_is_left_to_the_rules(fake_line, line_shop):
    Greeting.objects.create(shop=line_shop, coupons_keyword=False)
    rule(line_shop, keywords="คูปอง", reply_unbound="rule")
    say(fake_line, line_shop, "คูปอง")
    assert fake_line.texts_to(SOMCHAI) == ["rule"]


def test_the_picture_view_serves_only_a_known_random_key_at_a_line_width(client, shop):
    menu = KeywordRule.objects.create(
        shop=shop, name="m", keywords="m", kind="image", image=picture()
    )
    url = reverse("autoreplies:image", kwargs={"key": menu.image_key, "width": 460})
    assert client.get(url).status_code == 200
    for key, width in ((uuid.uuid4(), 460), (menu.image_key, 461)):
        bad = reverse("autoreplies:image", kwargs={"key": key, "width": width})
        assert client.get(bad).status_code == 404
    assert client.get(f"/autoreply/{menu.pk}/460").status_code == 404
    assert "autoreplies/" in menu.image.name and str(menu.pk) != menu.image.name.rsplit("/")[-1]


def test_a_rule_without_a_picture_serves_nothing(client, shop):
    menu = KeywordRule.objects.create(shop=shop, name="m", keywords="m", kind="text")
    url = reverse("autoreplies:image", kwargs={"key": menu.image_key, "width": 240})
    assert client.get(url).status_code == 404


def test_areas_broken_outside_the_form_still_send_the_text(fake_line, line_shop, caplog):
    rule(line_shop, kind="imagemap", image=picture(), reply_unbound="เมนู", imagemap_areas="oops")
    stored = say(fake_line, line_shop, "เมนู")
    assert fake_line.messages_to(SOMCHAI) == [{"type": "text", "text": "เมนู"}]
    assert stored.outcome == stored.Outcome.PROCESSED
    assert "no tappable picture" in caplog.text
