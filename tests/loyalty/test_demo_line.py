"""The demo's LINE Official Account (seed_demo): its channel is the fake LINE's demo channel, the
fake's users are its friends (one blocked, one bound to a member with points), and its outbox
messages go out through the real sender to the fake, where the bound member's chat shows them."""

from __future__ import annotations

import io

import pytest
import requests
from django.core.management import call_command

from loyalty.line.fake import (
    DEMO_ACCESS_TOKEN,
    DEMO_CHANNEL_ID,
    DEMO_CHANNEL_SECRET,
    DEMO_GOLD_USER,
    DEMO_MEMBER_USER,
)
from loyalty.management.commands.seed_demo import DEMO_SLUG
from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.tasks import outbox_drain
from members.line.models import LineFriend
from members.line.selectors import line_friend_counts
from members.models import Member
from shops.models import Shop, ShopLineChannel
from tests.line_fixtures import NOK, PLOY, SOMCHAI

MALI = DEMO_MEMBER_USER["user_id"]
GOLD = DEMO_GOLD_USER["user_id"]  # a Gold member's (the demo's Gold rich menu)


def seed() -> Shop:
    call_command("seed_demo", stdout=io.StringIO())
    return Shop.objects.get(slug=DEMO_SLUG)


@pytest.mark.django_db
def test_the_demo_oa_has_friends_one_blocked_one_bound_to_a_member_with_points():
    shop = seed()
    seed()  # idempotent: the same friends, binding and outbox rows

    channel = ShopLineChannel.objects.get(shop=shop)
    assert channel.messaging_channel_id == DEMO_CHANNEL_ID
    assert channel.messaging_channel_secret == DEMO_CHANNEL_SECRET
    assert channel.messaging_access_token == DEMO_ACCESS_TOKEN
    states = dict(LineFriend.objects.filter(shop=shop).values_list("line_user_id", "state"))
    assert states == {
        SOMCHAI: "friend",
        NOK: "friend",
        PLOY: "blocked",
        MALI: "friend",
        GOLD: "friend",
    }
    assert line_friend_counts(shop=shop) == {"friends": 4, "blocked": 1, "bound": 2, "unbound": 3}
    member = Member.objects.get(shop=shop, line_user_id=MALI)
    assert LineFriend.objects.get(shop=shop, line_user_id=MALI).member == member
    assert member.status == Member.Status.REGISTERED and member.balance > 0
    assert OutboxMessage.objects.filter(shop=shop, source__startswith="demo:").count() == 3


@pytest.mark.django_db
def test_seed_demo_fills_in_the_messaging_channel_of_a_demo_seeded_before_it():
    shop = seed()
    ShopLineChannel.objects.filter(shop=shop).update(
        messaging_channel_id="", messaging_channel_secret=""
    )
    seed()
    channel = ShopLineChannel.objects.get(shop=shop)
    assert (channel.messaging_channel_id, channel.login_channel_id) == (
        DEMO_CHANNEL_ID,
        DEMO_CHANNEL_ID,
    )


@pytest.mark.django_db
def test_the_demo_outbox_sends_to_the_fake_and_the_bound_members_chat_shows_it(fake_line):
    # given the fake LINE as `manage.py fake_line` runs it for the demo
    fake_line.add_channel(
        DEMO_CHANNEL_ID, DEMO_CHANNEL_SECRET, access_token=DEMO_ACCESS_TOKEN, name="คาเฟ่อร่อย"
    )
    fake_line.add_user(**DEMO_MEMBER_USER)
    shop = seed()

    # when the demo's job cluster drains the outbox
    outbox_drain(seconds=20)

    # then the welcome and the promotion went out, the push to a gone account failed with LINE's
    # message, and the blocked friend was skipped
    rows = {row.source: row for row in OutboxMessage.objects.filter(shop=shop)}
    assert rows["demo:welcome"].state == OutboxMessage.State.SENT
    assert rows["demo:promotion"].state == OutboxMessage.State.SENT
    assert rows["demo:promotion"].skipped_count == 1
    assert rows["demo:former-friend"].state == OutboxMessage.State.FAILED
    assert "Failed to send messages" in rows["demo:former-friend"].error

    # and Mali's chat shows the welcome with a link to the member pages, the card, the promotion
    def chat(user_id: str) -> str:
        url = f"{fake_line.base_url}/__fake__/chat/{user_id}?channel={DEMO_CHANNEL_ID}"
        return requests.get(url, timeout=5).text

    page = chat(MALI)
    assert f'href="http://127.0.0.1:8000/m/{DEMO_SLUG}/"' in page
    assert '<a class="btn" href="http://127.0.0.1:8000/m/cafe-aroi/"' in page
    assert "ซื้อครบ 200 บาท" in page
    assert "ซื้อครบ 200 บาท" in chat(NOK)
    assert "ซื้อครบ 200 บาท" not in chat(PLOY)
