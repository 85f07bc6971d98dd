"""Tracked links of a broadcast: the URLs LINE receives, and the redirect that counts a member's
tap once and gives the link's tags once, learning the member from the shop's LINE sign-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from campaigns.broadcasts.reach import link_clicks, tracked_links
from campaigns.links.models import LinkClick, TrackedLink
from campaigns.links.services import link_click_record
from members.models import Member
from shops.models import ShopLineChannel
from tests.campaigns.links.conftest import MENU, PROMO, friend, sent, with_links
from tests.factories import MemberFactory, TagFactory, TrackedLinkFactory
from tests.line_fixtures import LOGIN_CHANNEL_ID, NOK, PLOY, SOMCHAI
from tests.members.pages.conftest import liff_sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _path(url: str) -> str:
    return urlsplit(url).path


def _links(broadcast) -> dict[str, TrackedLink]:
    return {link.key: link for link in TrackedLink.objects.filter(source=broadcast.source)}


def test_the_messages_line_receives_carry_the_tracked_urls(cafe, nok, fake_line, q_sync):
    # given a broadcast with a member-page button and a picture with a tagged and a plain area
    vip, songkran = TagFactory(shop=cafe, name="VIP"), TagFactory(shop=cafe, name="Songkran")

    # when it is sent
    broadcast = sent(cafe, with_links(cafe, vip=vip, songkran=songkran), recipients=1)

    # then the button and the tagged area open our redirect, the plain area its own link
    links = _links(broadcast)
    assert set(links) == {"0", "1.0"}
    assert links["0"].target.endswith(reverse("rewards:catalogue", kwargs={"shop_slug": "cafe"}))
    assert [t.name for t in links["0"].tags.all()] == ["VIP"]
    assert (links["1.0"].target, [t.name for t in links["1.0"].tags.all()]) == (
        PROMO,
        ["Songkran"],
    )
    [card] = fake_line.messages_to(NOK, "flex")
    button = card["contents"]["footer"]["contents"][0]["action"]["uri"]
    [imagemap] = fake_line.messages_to(NOK, "imagemap")
    areas = [action["linkUri"] for action in imagemap["actions"]]
    assert _path(button) == f"/r/{links['0'].token}"
    assert [_path(areas[0]), areas[1]] == [f"/r/{links['1.0'].token}", MENU]
    assert broadcast.link_urls == {"0": button, "1.0": areas[0]}
    assert len(links["0"].token) >= 20 and links["0"].token != links["1.0"].token


def test_making_the_links_again_gives_the_same_urls(cafe, nok, fake_line, q_sync):
    broadcast = sent(cafe, with_links(cafe), recipients=1)

    again = tracked_links(broadcast)

    assert again == broadcast.link_urls
    assert TrackedLink.objects.count() == 2


def test_a_signed_in_member_is_counted_once_and_tagged_once(client, cafe, nok, fake_line, q_sync):
    broadcast = sent(cafe, with_links(cafe), recipients=1)
    links = _links(broadcast)
    liff_sign_in(client, fake_line, cafe, NOK)
    url = _path(broadcast.link_urls["1.0"])

    first = client.get(url)

    assert (first.status_code, first["Location"]) == (302, PROMO)
    assert [t.name for t in nok.tags.all()] == ["Songkran"]
    assert link_clicks(broadcast) == {"0": 0, "1.0": 1}

    # the shop takes the tag off; tapping again neither counts nor tags again
    nok.tags.clear()
    second = client.get(url)

    assert (second.status_code, second["Location"]) == (302, PROMO)
    assert list(nok.tags.all()) == []
    assert LinkClick.objects.filter(link=links["1.0"], member=nok).count() == 1
    assert link_clicks(broadcast) == {"0": 0, "1.0": 1}


def test_a_signed_out_member_signs_in_with_line_and_lands_on_the_page(
    client, cafe, nok, fake_line, q_sync
):
    # given the button's tracked URL, opened in a browser not signed in to the shop
    broadcast = sent(cafe, with_links(cafe), recipients=1)
    link = _links(broadcast)["0"]
    tapped = client.get(_path(broadcast.link_urls["0"]))

    # then it goes to the shop's LINE sign-in, coming back to the redirect afterwards
    back = f"/m/cafe/r/{link.token}"
    assert tapped.status_code == 302
    assert tapped["Location"] == reverse("member:login", kwargs={"shop_slug": "cafe"}) + (
        f"?next=%2Fm%2Fcafe%2Fr%2F{link.token}"
    )
    assert not LinkClick.objects.exists()

    # when the member signs in through LINE Login (the fake platform's authorize page)
    start = client.get(tapped["Location"] + "&start=1")
    authorize = requests.get(
        start["Location"] + f"&auto_user={NOK}", allow_redirects=False, timeout=5
    )
    callback = urlsplit(authorize.headers["Location"])
    signed_in = client.get(callback.path, {k: v[0] for k, v in parse_qs(callback.query).items()})
    assert (signed_in.status_code, signed_in["Location"]) == (302, back)
    landed = client.get(back)

    # then the tap is counted, the tag given, and the member lands on the page
    assert (landed.status_code, landed["Location"]) == (302, link.target)
    assert link_clicks(broadcast)["0"] == 1
    assert [t.name for t in Member.objects.get(pk=nok.pk).tags.all()] == ["VIP"]
    assert client.get(_path(link.target)).status_code == 200


def test_signed_in_with_line_but_not_a_member_opens_the_link_uncounted(client, cafe, fake_line):
    link = TrackedLinkFactory(shop=cafe, target=PROMO)
    liff_sign_in(client, fake_line, cafe, PLOY)  # a LINE user with no member record

    response = client.get(f"/r/{link.token}")

    assert (response.status_code, response["Location"]) == (302, PROMO)
    assert not LinkClick.objects.exists()


def test_a_shop_without_line_sign_in_opens_the_link_uncounted(client, db):
    link = TrackedLinkFactory(target=PROMO)

    response = client.get(f"/r/{link.token}")

    assert (response.status_code, response["Location"]) == (302, PROMO)
    assert not LinkClick.objects.exists()


# --- other shops -----------------------------------------------------------------------------------


def test_a_sign_in_to_another_shop_counts_nothing_and_asks_for_this_shops(
    client, cafe, other_cafe, fake_line
):
    # given a browser signed in to shop B as its member, with the same LINE user in shop A
    friend(other_cafe, SOMCHAI)
    a_member = friend(cafe, SOMCHAI)
    link = TrackedLinkFactory(shop=cafe, target=PROMO)
    link.tags.add(TagFactory(shop=cafe))
    liff_sign_in(client, fake_line, other_cafe, SOMCHAI)

    # when shop A's link is tapped
    response = client.get(f"/r/{link.token}")

    # then it asks for shop A's sign-in; nobody is counted or tagged
    assert response.status_code == 302
    assert response["Location"].startswith("/m/cafe/login/")
    assert not LinkClick.objects.exists()
    assert not a_member.tags.exists()


def test_a_token_under_another_shops_address_is_not_found(client, cafe, other_cafe, fake_line):
    nok = friend(cafe, NOK)
    link = TrackedLinkFactory(shop=cafe, target=PROMO)
    liff_sign_in(client, fake_line, cafe, NOK)

    response = client.get(f"/m/shop-b/r/{link.token}")

    assert response.status_code == 404
    assert PROMO not in response.content.decode()
    assert not LinkClick.objects.filter(member=nok).exists()


def test_a_member_of_another_shop_is_never_counted_by_the_service(cafe, other_cafe):
    link = TrackedLinkFactory(shop=cafe)
    link.tags.add(TagFactory(shop=cafe))
    stranger = MemberFactory(shop=other_cafe)

    assert link_click_record(link=link, member=stranger) is False
    assert not LinkClick.objects.exists() and not stranger.tags.exists()


def test_an_unknown_token_is_a_not_found_page_in_thai(client, db):
    response = client.get("/r/not-a-token")

    assert response.status_code == 404
    assert "ลิงก์นี้ใช้ไม่ได้" in response.content.decode()


def test_an_unknown_token_is_a_not_found_page_in_english(client, db, english):
    response = client.get("/r/" + "x" * 22)

    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_a_closed_shops_link_is_not_found(client, cafe):
    link = TrackedLinkFactory(shop=cafe, target=PROMO)
    cafe.is_active = False
    cafe.save(update_fields=["is_active"])

    assert client.get(f"/r/{link.token}").status_code == 404


def test_a_repeated_tap_by_a_signed_in_member_is_six_queries(
    client, cafe, nok, fake_line, django_assert_num_queries
):
    link = TrackedLinkFactory(shop=cafe, target=PROMO)
    link.tags.add(TagFactory(shop=cafe))
    liff_sign_in(client, fake_line, cafe, NOK)
    client.get(f"/r/{link.token}")

    # the session, the link and its shop, the member, the click; the tags are not read again
    with django_assert_num_queries(6):
        response = client.get(f"/r/{link.token}")

    assert response.status_code == 302


def test_links_never_carry_another_shops_tags(cafe, other_cafe):
    from campaigns.links.services import LinkSpec, tracked_links_make

    theirs = TagFactory(shop=other_cafe)
    ours = TagFactory(shop=cafe)

    links = tracked_links_make(
        shop=cafe, source="broadcast:x", links=[LinkSpec("0", PROMO, [theirs.pk, ours.pk])]
    )

    assert list(links["0"].tags.all()) == [ours]


def test_inside_the_line_app_liff_signs_the_member_in_and_comes_back(client, cafe, nok, fake_line):
    # given a shop with a LIFF app, and a link tapped in the LINE app's browser
    ShopLineChannel.objects.filter(shop=cafe).update(liff_id="1650000001-AbCdEfGh")
    link = TrackedLinkFactory(shop=cafe, target=PROMO)
    in_line = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone) Line/14.0.0"}
    back = f"/m/cafe/r/{link.token}"

    login = client.get(client.get(f"/r/{link.token}", **in_line)["Location"], **in_line)

    # then the LIFF page signs in, and sends the member back to the redirect
    assert login.status_code == 200
    assert login.context["next"] == back
    token = fake_line.mint_id_token(channel_id=LOGIN_CHANNEL_ID, user_id=NOK)
    signed_in = client.post(
        reverse("member:liff", kwargs={"shop_slug": "cafe"}), {"id_token": token, "next": back}
    )
    assert signed_in.json()["next"] == back
    assert client.get(back, **in_line)["Location"] == PROMO
    assert LinkClick.objects.filter(link=link, member=nok).count() == 1
