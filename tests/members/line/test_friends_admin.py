"""The LINE friends page: counts and lists of the user's own shop only; the webhook URL shown on
the LINE settings page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.line.models import LineFriend
from shops.models import ShopLineChannel
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def make_friends(shop, *, friends: int, blocked: int, bound: int, prefix: str):
    rows = []
    for n in range(friends + blocked):
        member = MemberFactory(shop=shop, line_user_id=f"U{prefix}{n:031d}") if n < bound else None
        rows.append(
            LineFriend.objects.create(
                shop=shop,
                line_user_id=f"U{prefix}{n:031d}",
                state=LineFriend.State.FRIEND if n < friends else LineFriend.State.BLOCKED,
                member=member,
            )
        )
    return rows


def test_counts_and_list_are_the_shops_own(owner_client, shop, other_shop):
    make_friends(shop, friends=3, blocked=2, bound=1, prefix="a")
    make_friends(other_shop, friends=7, blocked=1, bound=5, prefix="b")

    response = owner_client.get(reverse("admin:members_linefriend_changelist"))

    assert response.status_code == 200
    assert response.context["friend_counts"] == {
        "friends": 3,
        "blocked": 2,
        "bound": 1,
        "unbound": 4,
    }
    assert response.context["cl"].result_count == 5


@pytest.mark.parametrize(
    ("query", "expected"),
    [("state=friend", 3), ("state=blocked", 2), ("bound=yes", 1), ("bound=no", 4)],
)
def test_filters(owner_client, shop, other_shop, query, expected):
    make_friends(shop, friends=3, blocked=2, bound=1, prefix="a")
    make_friends(other_shop, friends=7, blocked=1, bound=5, prefix="b")
    response = owner_client.get(reverse("admin:members_linefriend_changelist") + "?" + query)
    assert response.context["cl"].result_count == expected


def test_friends_are_read_only(owner_client, shop):
    (row,) = make_friends(shop, friends=1, blocked=0, bound=0, prefix="c")
    assert owner_client.get(reverse("admin:members_linefriend_add")).status_code == 403
    response = owner_client.post(
        reverse("admin:members_linefriend_change", args=[row.pk]), {"state": "blocked"}
    )
    assert response.status_code == 403
    assert LineFriend.objects.get(pk=row.pk).state == LineFriend.State.FRIEND


def test_the_line_settings_page_shows_the_webhook_url(owner_client, shop):
    channel = ShopLineChannel.objects.create(shop=shop)
    response = owner_client.get(reverse("admin:shops_shoplinechannel_change", args=[channel.pk]))
    assert f"/line/webhook/{shop.slug}/" in response.content.decode()


def test_the_messaging_secret_is_write_only(owner_client, shop):
    channel = ShopLineChannel.objects.create(
        shop=shop, messaging_channel_id="1650000002", messaging_channel_secret="s3cret-messaging-x1"
    )
    url = reverse("admin:shops_shoplinechannel_change", args=[channel.pk])
    page = owner_client.get(url).content.decode()
    assert "s3cret-messaging" not in page
    # an empty field keeps the saved secret
    response = owner_client.post(
        url,
        {
            "login_channel_id": "",
            "login_channel_secret": "",
            "liff_id": "",
            "messaging_channel_id": "1650000002",
            "messaging_channel_secret": "",
            "messaging_access_token": "",
            "assertion_kid": "",
            "assertion_private_key": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ShopLineChannel.objects.get().messaging_channel_secret == "s3cret-messaging-x1"
