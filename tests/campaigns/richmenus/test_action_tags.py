"""Action tags on rich-menu areas: a bound member who taps a tagged area gets its tags, through
the tracked redirect (links) or the postback event (postbacks); taps are counted per area; a
token that is not ours is a 404, a visitor we do not know is just sent on; and one shop's token
never tags anyone in another shop."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

from campaigns.richmenus import actiontags, services
from campaigns.richmenus.models import RichMenuArea
from members.line import router
from members.line.binding import member_bind
from members.line.models import BindingRecord, WebhookEvent
from members.line.services import webhook_events_process, webhook_events_store
from shops.models import ShopLineChannel
from tests.campaigns.richmenus.conftest import make_menu
from tests.factories import MemberFactory, ShopFactory, TagFactory
from tests.line_fixtures import (
    LOGIN_CHANNEL_ID,
    LOGIN_CHANNEL_SECRET,
    MESSAGING_ACCESS_TOKEN,
    NOK,
    SOMCHAI,
)
from tests.members.line import payloads

pytestmark = pytest.mark.django_db

OTHER_LOGIN_ID = "1650000088"
OTHER_LOGIN_SECRET = "other-login-secret-for-tags-0123456"


def sign_in(client, fake_line, shop, user_id=SOMCHAI):
    """Sign in to the shop's member pages as LIFF does (the ID token LINE minted)."""
    channel = ShopLineChannel.objects.get(shop=shop)
    token = fake_line.mint_id_token(channel_id=channel.login_channel_id, user_id=user_id)
    response = client.post(
        reverse("member:liff", kwargs={"shop_slug": shop.slug}), {"id_token": token}
    )
    assert response.status_code == 200, response.content


def with_login(shop, channel_id=LOGIN_CHANNEL_ID, secret=LOGIN_CHANNEL_SECRET):
    channel, _ = ShopLineChannel.objects.get_or_create(shop=shop)
    channel.login_channel_id, channel.login_channel_secret = channel_id, secret
    channel.save()
    return shop


def bound_member(shop, line_user_id=SOMCHAI):
    member = MemberFactory(shop=shop)
    member_bind(member=member, line_user_id=line_user_id, via=BindingRecord.Via.ADMIN, actor="t")
    return member


def tagged_area(shop, *, action, value="", tags=("promo",)):
    menu = make_menu(shop, layout=2)
    area = menu.areas.get(index=1)
    area.action, area.value = action, value
    area.save()
    area.tags.set([TagFactory(shop=shop, name=name) for name in tags])
    return area


def tap_url(area) -> str:
    return reverse("richmenu-tap", kwargs={"token": actiontags.area_token(area)})


def tag_names(member) -> set[str]:
    return set(member.tags.values_list("name", flat=True))


# --- links: the tracked redirect ----------------------------------------------------------------


def test_publishing_sends_a_tagged_link_through_the_tracked_redirect(
    line_shop, fake_line, settings
):
    settings.SITE_URL = "https://shop.example"
    area = tagged_area(line_shop, action="url", value="https://shop.example/promo")
    menu = area.menu

    services.rich_menu_publish(menu_id=menu.pk)

    menu.refresh_from_db()
    api = MessagingApi(
        ApiClient(
            Configuration(host=settings.LINE_API_BASE_URL, access_token=MESSAGING_ACCESS_TOKEN)
        )
    )
    uris = [a.action.uri for a in api.get_rich_menu(menu.line_rich_menu_id).areas]
    # area 1 (tagged) is tracked, area 2 (rewards, no tags) is the direct page
    assert uris == [
        "https://shop.example" + tap_url(area),
        f"https://shop.example/m/{line_shop.slug}/rewards/",
    ]


def test_a_signed_in_member_who_taps_gets_the_tags_once_and_each_tap_is_counted(
    client, line_shop, fake_line
):
    # given a member bound to Somchai, signed in to the member pages
    with_login(line_shop)
    member = bound_member(line_shop)
    area = tagged_area(line_shop, action="url", value="https://shop.example/promo", tags=["a", "b"])
    sign_in(client, fake_line, line_shop)

    # when they tap twice
    first = client.get(tap_url(area))
    second = client.get(tap_url(area))

    # then they are sent on, tagged once, and both taps count
    assert first.status_code == second.status_code == 302
    assert first["Location"] == "https://shop.example/promo"
    assert tag_names(member) == {"a", "b"}
    assert member.tags.count() == 2
    area.refresh_from_db()
    assert area.tap_count == 2


def test_a_member_page_area_redirects_to_the_shops_page(client, line_shop, fake_line):
    area = tagged_area(line_shop, action="card")
    response = client.get(tap_url(area))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/m/{line_shop.slug}/card/")


def test_a_visitor_we_do_not_know_is_sent_on_untagged(client, line_shop, fake_line):
    member = bound_member(line_shop)
    area = tagged_area(line_shop, action="url", value="https://shop.example/promo")

    response = client.get(tap_url(area))

    assert response.status_code == 302 and response["Location"] == "https://shop.example/promo"
    assert tag_names(member) == set()
    area.refresh_from_db()
    assert area.tap_count == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: (
            token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        ),  # altered signature
        lambda token: "9" + token,  # another shop id, same signature
        lambda token: token.split(":")[0],  # unsigned
        lambda token: "nonsense",
    ],
)
def test_a_token_that_is_not_ours_is_a_404(client, line_shop, mangle):
    area = tagged_area(line_shop, action="url", value="https://shop.example/promo")
    token = mangle(actiontags.area_token(area))
    response = client.get(reverse("richmenu-tap", kwargs={"token": token}))
    assert response.status_code == 404
    area.refresh_from_db()
    assert area.tap_count == 0


def test_an_area_that_no_longer_opens_a_link_is_a_404(client, line_shop):
    area = tagged_area(line_shop, action="url", value="https://shop.example/promo")
    url = tap_url(area)
    RichMenuArea.objects.filter(pk=area.pk).update(action="message", value="hi")
    assert client.get(url).status_code == 404
    RichMenuArea.objects.filter(pk=area.pk).delete()
    assert client.get(url).status_code == 404


def test_a_token_of_shop_a_never_tags_in_shop_b(client, line_shop, fake_line):
    # given Somchai is a bound member of both shops, signed in to shop B's pages only
    fake_line.add_channel(channel_id=OTHER_LOGIN_ID, channel_secret=OTHER_LOGIN_SECRET)
    shop_b = with_login(ShopFactory(slug="shop-b-tags"), OTHER_LOGIN_ID, OTHER_LOGIN_SECRET)
    member_a, member_b = bound_member(line_shop), bound_member(shop_b)
    area_a = tagged_area(line_shop, action="url", value="https://shop.example/promo")
    sign_in(client, fake_line, shop_b)

    # when the browser opens shop A's tracked link
    response = client.get(tap_url(area_a))

    # then nobody is tagged: the browser is not signed in to shop A
    assert response.status_code == 302
    assert tag_names(member_a) == set() and tag_names(member_b) == set()


# --- postbacks ----------------------------------------------------------------------------------


def deliver(shop, *events):
    ids = webhook_events_store(shop_id=shop.pk, events=list(events))
    webhook_events_process(shop_id=shop.pk, event_ids=ids)
    return list(WebhookEvent.objects.filter(pk__in=ids).values_list("outcome", flat=True))


def test_the_postback_handler_is_registered():
    assert actiontags.handle_postback in router.handlers_for("postback")


def test_a_tagged_postback_area_sends_signed_data_and_tags_the_bound_member(line_shop, fake_line):
    member = bound_member(line_shop)
    area = tagged_area(line_shop, action="postback", value="promo=1")
    request = services.rich_menu_request(area.menu, (2500, 843))
    data = request.areas[0].action.data
    assert data == actiontags.postback_data(area) and data.startswith("rmtap:")
    assert len(data) <= 300  # LINE's limit for postback data

    outcomes = deliver(
        line_shop, payloads.postback(user_id=SOMCHAI, at_ms=int(time.time() * 1000), data=data)
    )
    assert outcomes == ["processed"]
    deliver(
        line_shop, payloads.postback(user_id=SOMCHAI, at_ms=int(time.time() * 1000) + 1, data=data)
    )

    assert tag_names(member) == {"promo"}
    area.refresh_from_db()
    assert area.tap_count == 2


def test_a_postback_from_a_friend_not_bound_is_counted_only(line_shop, fake_line):
    member = bound_member(line_shop, SOMCHAI)
    area = tagged_area(line_shop, action="postback", value="promo=1")
    data = actiontags.postback_data(area)

    deliver(line_shop, payloads.postback(user_id=NOK, at_ms=int(time.time() * 1000), data=data))

    assert tag_names(member) == set()
    area.refresh_from_db()
    assert area.tap_count == 1


def test_shop_a_postback_data_in_shop_b_webhook_tags_nobody(line_shop, fake_line):
    shop_b = ShopFactory(slug="shop-b-pb")
    member_b = bound_member(shop_b, SOMCHAI)
    area_a = tagged_area(line_shop, action="postback", value="promo=1")
    data = actiontags.postback_data(area_a)

    outcomes = deliver(
        shop_b, payloads.postback(user_id=SOMCHAI, at_ms=int(time.time() * 1000), data=data)
    )

    assert tag_names(member_b) == set()
    area_a.refresh_from_db()
    assert area_a.tap_count == 0
    assert outcomes == ["unhandled"]


def test_other_postback_data_is_left_to_other_handlers(line_shop, fake_line):
    bound_member(line_shop)
    outcomes = deliver(
        line_shop,
        payloads.postback(user_id=SOMCHAI, at_ms=int(time.time() * 1000), data="survey=3"),
    )
    assert outcomes == ["unhandled"]


def test_the_editor_shows_each_areas_tap_count(owner_client, shop):
    area = tagged_area(shop, action="url", value="https://shop.example/promo")
    RichMenuArea.objects.filter(pk=area.pk).update(tap_count=37)
    page = owner_client.get(reverse("admin:campaigns_richmenu_change", args=[area.menu_id]))
    assert ">37<" in page.content.decode().replace(" ", "").replace("\n", "")
