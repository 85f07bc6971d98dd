"""The demo's rich menus and keyword replies (seed_demo, rundemo): three menus drawn with Pillow
(not bound, bound, Gold), published to the demo's fake LINE so that each test user sees theirs in
their fake chat, keyword rules and the greeting; seeding twice changes nothing."""

from __future__ import annotations

import io
import re

import pytest
import requests
from django.core.management import call_command
from PIL import Image

from campaigns.autoreplies.models import Greeting, KeywordRule
from campaigns.richmenus.layout import image_content_type
from campaigns.richmenus.models import RichMenu
from loyalty.line.fake import (
    DEMO_ACCESS_TOKEN,
    DEMO_CHANNEL_ID,
    DEMO_CHANNEL_SECRET,
    DEMO_GOLD_USER,
    DEMO_MEMBER_USER,
)
from loyalty.management.commands._demo_richmenus import demo_rich_menus_publish
from loyalty.management.commands.seed_demo import DEMO_SLUG
from members.line.models import LineFriend
from members.models import Member
from shops.models import Shop
from tests.line_fixtures import NOK, PLOY, SOMCHAI

MALI = DEMO_MEMBER_USER["user_id"]
GOLD = DEMO_GOLD_USER["user_id"]


@pytest.fixture
def demo_line(fake_line, settings):
    """The fake LINE as `manage.py fake_line` runs it for the demo."""
    settings.SITE_URL = "http://127.0.0.1:8000"
    fake_line.add_channel(
        DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET, access_token=DEMO_ACCESS_TOKEN, name="คาเฟ่อร่อย"
    )
    fake_line.add_user(**DEMO_MEMBER_USER)
    fake_line.add_user(**DEMO_GOLD_USER)
    return fake_line


def seed() -> Shop:
    call_command("seed_demo", stdout=io.StringIO())
    return Shop.objects.get(slug=DEMO_SLUG)


def menu_ids(shop: Shop) -> dict[str, str]:
    published = RichMenu.objects.filter(shop=shop, sync_state=RichMenu.SyncState.PUBLISHED)
    return dict(published.values_list("audience", "line_rich_menu_id"))


def rich_menu_creates(fake_line) -> int:
    return sum(
        1 for r in fake_line.requests if r["method"] == "POST" and r["path"] == "/v2/bot/richmenu"
    )


def chat(fake_line, user_id: str) -> str:
    url = f"{fake_line.base_url}/__fake__/chat/{user_id}?channel={DEMO_CHANNEL_ID}"
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    return response.text


@pytest.mark.django_db
def test_seed_demo_publishes_three_menus_and_each_test_user_sees_their_audiences(demo_line):
    # given the demo seeded with its fake LINE running, then seeded again
    shop = seed()
    ids = menu_ids(shop)
    creates = rich_menu_creates(demo_line)
    seed()

    # then three menus are published, once: the second seed made no menu at LINE
    menus = {m.audience: m for m in RichMenu.objects.filter(shop=shop).select_related("tier")}
    assert set(menus) == {"unbound", "bound", "tier"}
    assert {m.sync_state for m in menus.values()} == {RichMenu.SyncState.PUBLISHED}
    assert menus["tier"].tier.name == "Gold"
    assert menu_ids(shop) == ids and creates == 3 == rich_menu_creates(demo_line)
    # and Mali (bound, not Gold) has the members' menu, the Gold member the Gold one, the
    # friends not bound the other; Ploy blocked the OA and has none of her own
    gold_member = Member.objects.get(shop=shop, line_user_id=GOLD)
    assert gold_member.tier.name == "Gold" and gold_member.bound_at is not None
    assert Member.objects.get(shop=shop, line_user_id=MALI).tier.name != "Gold"
    seen = {
        user: demo_line.rich_menu_of(channel_id=DEMO_CHANNEL_ID, user_id=user)
        for user in (MALI, GOLD, NOK, SOMCHAI, PLOY)
    }
    assert seen == {
        MALI: ids["bound"],
        GOLD: ids["tier"],
        NOK: ids["unbound"],
        SOMCHAI: ids["unbound"],
        PLOY: None,
    }
    assert LineFriend.objects.get(shop=shop, line_user_id=GOLD).state == "friend"
    # and the keyword rules and the greeting are there once
    assert KeywordRule.objects.filter(shop=shop).count() == 4
    assert KeywordRule.objects.filter(shop=shop, is_default=True).count() == 1
    assert Greeting.objects.get(shop=shop).new_unbound


@pytest.mark.django_db
def test_the_demo_menus_pictures_are_what_line_takes_and_their_areas_open_the_member_pages(
    demo_line,
):
    shop = seed()
    for menu in RichMenu.objects.filter(shop=shop):
        with menu.image.open("rb") as file:
            content_type, _size = image_content_type(file)  # LINE's sizes, ≤ 1 MB, PNG
        assert content_type == "image/png"
        assert menu.areas.count() == menu.layout

    # Mali's chat draws the members' menu: six areas, the card and rewards pages of this shop,
    # and "โปรโมชั่น" sent as her message
    page = chat(demo_line, MALI)
    assert 'data-type="uri"' in page
    links = re.findall(r'<a class="area" data-area="(\d)"[^>]* href="([^"]+)"', page)
    site = f"http://127.0.0.1:8000/m/{DEMO_SLUG}"
    assert links == [
        ("1", f"{site}/card/"),
        ("2", f"{site}/rewards/"),
        ("3", f"{site}/history/"),
        ("4", f"{site}/rewards/coupons/"),
    ]
    assert '<input type="hidden" name="text" value="โปรโมชั่น">' in page
    assert '<summary class="chatbar">เมนูสมาชิก</summary>' in page
    # Nok's the sign-up menu, the Gold member's the Gold one
    assert '<summary class="chatbar">สมัครสมาชิก</summary>' in chat(demo_line, NOK)
    assert f"/m/{DEMO_SLUG}/signup/" in chat(demo_line, NOK)
    assert '<summary class="chatbar">สมาชิก Gold</summary>' in chat(demo_line, GOLD)
    # and the picture the page shows is the one uploaded
    bound = RichMenu.objects.get(shop=shop, audience="bound")
    image = requests.get(
        f"{demo_line.base_url}/__fake__/richmenu/{bound.line_rich_menu_id}.img", timeout=5
    )
    assert image.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (1200, 810)


@pytest.mark.django_db
def test_seeding_before_the_fake_line_runs_leaves_drafts_that_a_restarted_line_gets(
    demo_line, settings
):
    # given `make run`: seed_demo runs before the fake LINE answers (here: nothing listens)
    fake_url = demo_line.base_url
    settings.LINE_API_BASE_URL = settings.LINE_API_DATA_BASE_URL = "http://127.0.0.1:9"
    shop = seed()
    assert set(RichMenu.objects.filter(shop=shop).values_list("sync_state", flat=True)) == {
        RichMenu.SyncState.DRAFT
    }
    assert rich_menu_creates(demo_line) == 0

    # when rundemo's fake LINE answers, the menus are published to it
    settings.LINE_API_BASE_URL = settings.LINE_API_DATA_BASE_URL = fake_url
    assert demo_rich_menus_publish(shop=shop, line_restarted=True).startswith("Rich menus: 3")
    first = menu_ids(shop)
    assert demo_line.rich_menu_of(channel_id=DEMO_CHANNEL_ID, user_id=MALI) == first["bound"]

    # and the next `make run` (a new, empty fake LINE) publishes them again, under new ids,
    # but not a draft the owner is still working on
    draft = RichMenu.objects.get(shop=shop, audience="unbound")
    draft.pk, draft.name, draft.line_rich_menu_id = None, "ร่างของเจ้าของร้าน", ""
    draft.sync_state = RichMenu.SyncState.DRAFT
    draft.save()
    demo_line.reset()
    assert demo_line.rich_menu_of(channel_id=DEMO_CHANNEL_ID, user_id=MALI) is None
    demo_rich_menus_publish(shop=shop, line_restarted=True)
    again = menu_ids(shop)
    assert set(again.values()).isdisjoint(first.values())
    assert demo_line.rich_menu_of(channel_id=DEMO_CHANNEL_ID, user_id=MALI) == again["bound"]
    assert demo_line.rich_menu_of(channel_id=DEMO_CHANNEL_ID, user_id=GOLD) == again["tier"]
    draft.refresh_from_db()
    assert (draft.sync_state, draft.line_rich_menu_id) == (RichMenu.SyncState.DRAFT, "")
