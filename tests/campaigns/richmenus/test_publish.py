"""Publishing rich menus through line-bot-sdk to the fake LINE, and linking each LINE user to the
menu of their audience: on bind and unbind, on a tier change, and all at once (re-sync)."""

from __future__ import annotations

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

from campaigns.richmenus import services
from campaigns.richmenus.models import RichMenu, RichMenuLink
from members.line.binding import member_bind, member_unbind
from members.line.models import BindingRecord, LineFriend
from shops.models import ShopLineChannel
from tests.campaigns.richmenus.conftest import make_menu
from tests.factories import MemberFactory, TierFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, MESSAGING_CHANNEL_ID, NOK, PLOY, SOMCHAI

pytestmark = pytest.mark.django_db

Audience = RichMenu.Audience


@pytest.fixture
def line_api(fake_line, settings):
    configuration = Configuration(
        host=settings.LINE_API_BASE_URL, access_token=MESSAGING_ACCESS_TOKEN
    )
    return MessagingApi(ApiClient(configuration))


def friend(shop, line_user_id):
    return LineFriend.objects.create(
        shop=shop, line_user_id=line_user_id, state=LineFriend.State.FRIEND
    )


def bind(member, line_user_id):
    member_bind(member=member, line_user_id=line_user_id, via=BindingRecord.Via.ADMIN, actor="t")


def menu_of(fake_line, user_id):
    return fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=user_id)


def test_publishing_the_default_menu_creates_it_with_its_picture_and_makes_it_the_default(
    line_shop, fake_line, line_api, settings
):
    # given
    settings.SITE_URL = "https://shop.example"
    menu = make_menu(line_shop, layout=3)

    # when
    services.rich_menu_publish(menu_id=menu.pk)

    # then LINE has the menu, with its areas as the layout cuts the picture
    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.PUBLISHED and menu.line_error == ""
    at_line = line_api.get_rich_menu(menu.line_rich_menu_id)
    assert (at_line.size.width, at_line.size.height) == (2500, 843)
    assert at_line.chat_bar_text == "เมนู"
    assert [(a.bounds.x, a.bounds.width) for a in at_line.areas] == [
        (0, 833),
        (833, 833),
        (1666, 834),
    ]
    assert at_line.areas[0].action.uri == f"https://shop.example/m/{line_shop.slug}/card/"
    assert at_line.areas[1].action.uri == f"https://shop.example/m/{line_shop.slug}/rewards/"
    assert at_line.areas[2].action.text == "area 3"
    # its picture is there (LINE links no menu without one), and it is the default
    assert line_api.get_default_rich_menu_id().rich_menu_id == menu.line_rich_menu_id
    assert menu_of(fake_line, SOMCHAI) == menu.line_rich_menu_id


def test_publishing_again_replaces_the_line_menu_and_keeps_linked_users_on_a_menu(
    line_shop, fake_line, line_api
):
    # given a bound-members menu published, and a bound member linked to it
    bind(MemberFactory(shop=line_shop), NOK)
    menu = make_menu(line_shop, audience=Audience.BOUND)
    services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    first = menu.line_rich_menu_id
    assert menu_of(fake_line, NOK) == first

    # when it is published again
    services.rich_menu_publish(menu_id=menu.pk)

    # then the member is on the new menu and the old one is gone from LINE
    menu.refresh_from_db()
    assert menu.line_rich_menu_id != first
    assert menu_of(fake_line, NOK) == menu.line_rich_menu_id
    assert [m.rich_menu_id for m in line_api.get_rich_menu_list().richmenus] == [
        menu.line_rich_menu_id
    ]
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == menu.line_rich_menu_id


def test_a_refusal_by_line_is_recorded_with_lines_message(line_shop, fake_line):
    # given a channel access token LINE does not accept (revoked in the LINE console)
    ShopLineChannel.objects.filter(shop=line_shop).update(messaging_access_token="revoked")
    menu = make_menu(line_shop)

    with pytest.raises(services.RichMenuRefused):
        services.rich_menu_publish(menu_id=menu.pk)

    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.FAILED
    [refused] = fake_line.requests
    assert refused["status"] == 401
    assert menu.line_error and menu.line_error != "HTTP 401"  # LINE's own words
    assert menu.line_rich_menu_id == ""


def test_a_menu_with_an_area_without_action_is_not_sent(line_shop, fake_line, line_api):
    menu = make_menu(line_shop, layout=2)
    menu.areas.filter(index=2).delete()

    with pytest.raises(services.RichMenuRefused):
        services.rich_menu_publish(menu_id=menu.pk)

    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.FAILED and "2" in menu.line_error
    assert line_api.get_rich_menu_list().richmenus == []


def test_line_unreachable_is_recorded_as_failed(line_shop, unreachable_line):
    menu = make_menu(line_shop)
    with pytest.raises(services.RichMenuRefused):
        services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.FAILED and menu.line_error


def test_each_user_gets_the_most_specific_menu_of_their_audience(line_shop, fake_line):
    # given a friend not bound, a bound member, and a bound Gold member
    gold = TierFactory(shop=line_shop, name="Gold")
    friend(line_shop, SOMCHAI)
    bind(MemberFactory(shop=line_shop), NOK)
    bind(MemberFactory(shop=line_shop, tier=gold), PLOY)
    menus = {
        audience: make_menu(
            line_shop, name=audience, audience=audience, tier=gold if audience == "tier" else None
        )
        for audience in (Audience.DEFAULT, Audience.UNBOUND, Audience.BOUND, Audience.TIER)
    }

    # when each is published (each publish re-links everyone)
    for menu in menus.values():
        services.rich_menu_publish(menu_id=menu.pk)

    ids = {a: RichMenu.objects.get(pk=m.pk).line_rich_menu_id for a, m in menus.items()}
    assert menu_of(fake_line, SOMCHAI) == ids[Audience.UNBOUND]
    assert menu_of(fake_line, NOK) == ids[Audience.BOUND]
    assert menu_of(fake_line, PLOY) == ids[Audience.TIER]
    assert menu_of(fake_line, "U" + "9" * 32) == ids[Audience.DEFAULT]


def test_binding_and_unbinding_relinks_the_user(
    line_shop, fake_line, q_sync, django_capture_on_commit_callbacks
):
    # given a default and a bound-members menu, and a friend not bound yet
    friend(line_shop, NOK)
    default = make_menu(line_shop, name="all")
    bound = make_menu(line_shop, name="bound", audience=Audience.BOUND)
    services.rich_menu_publish(menu_id=default.pk)
    services.rich_menu_publish(menu_id=bound.pk)
    default.refresh_from_db()
    bound.refresh_from_db()
    member = MemberFactory(shop=line_shop)
    assert menu_of(fake_line, NOK) == default.line_rich_menu_id

    # when the member is bound to the friend's LINE id: the bound menu
    with django_capture_on_commit_callbacks(execute=True):
        bind(member, NOK)
    assert menu_of(fake_line, NOK) == bound.line_rich_menu_id

    # when unbound: their own menu is taken away, LINE shows the default
    member.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        member_unbind(member=member, via=BindingRecord.Via.ADMIN, actor="t")
    assert menu_of(fake_line, NOK) == default.line_rich_menu_id
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == ""


def test_a_tier_change_relinks_the_member_and_an_unchanged_menu_costs_no_call(
    line_shop, fake_line, q_sync, django_capture_on_commit_callbacks
):
    gold = TierFactory(shop=line_shop, name="Gold")
    member = MemberFactory(shop=line_shop)
    bind(member, PLOY)
    tier_menu = make_menu(line_shop, audience=Audience.TIER, tier=gold)
    services.rich_menu_publish(menu_id=tier_menu.pk)
    tier_menu.refresh_from_db()
    assert menu_of(fake_line, PLOY) is None

    # when the member reaches Gold (saved as the tier rules save it)
    member.refresh_from_db()
    member.tier = gold
    with django_capture_on_commit_callbacks(execute=True):
        member.save(update_fields=["tier", "tier_changed_at", "updated_at"])
    assert menu_of(fake_line, PLOY) == tier_menu.line_rich_menu_id

    # and a second save of the same tier does not call LINE again
    calls = len(fake_line.requests)
    assert services.rich_menu_link_user(shop_id=line_shop.pk, line_user_id=PLOY) is False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        member.save(update_fields=["tier", "tier_changed_at", "updated_at"])
    assert len(callbacks) == 1  # the task ran, and found nothing to change
    assert len(fake_line.requests) == calls


def test_resync_links_users_in_batches_of_500(line_shop, fake_line):
    # given 501 friends not bound and an unbound-friends menu
    LineFriend.objects.bulk_create(
        [
            LineFriend(shop=line_shop, line_user_id=f"U{n:032x}", state=LineFriend.State.FRIEND)
            for n in range(501)
        ]
    )
    menu = make_menu(line_shop, audience=Audience.UNBOUND)
    services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()

    # when re-synced again (safe to repeat)
    before = len(fake_line.requests)
    result = services.rich_menus_resync(shop_id=line_shop.pk)

    bulk = [r for r in fake_line.requests[before:] if r["path"] == "/v2/bot/richmenu/bulk/link"]
    assert len(bulk) == 2 and all(r["status"] == 202 for r in bulk)
    assert result == services.ResyncResult(linked=501, unlinked=0)
    assert menu_of(fake_line, f"U{500:032x}") == menu.line_rich_menu_id
    assert RichMenuLink.objects.filter(line_rich_menu_id=menu.line_rich_menu_id).count() == 501


def test_a_shop_without_a_messaging_channel_is_told_to_connect_one(shop, fake_line):
    menu = make_menu(shop)
    with pytest.raises(services.RichMenuRefused):
        services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.FAILED


def test_deleting_a_menu_deletes_it_at_line_and_moves_its_users_to_their_next_menu(
    line_shop, fake_line, line_api
):
    # given a member bound to NOK on the bound menu, and a default menu
    bind(MemberFactory(shop=line_shop), NOK)
    default = make_menu(line_shop, name="all")
    bound = make_menu(line_shop, name="bound", audience=Audience.BOUND)
    services.rich_menu_publish(menu_id=default.pk)
    services.rich_menu_publish(menu_id=bound.pk)
    bound.refresh_from_db()
    default.refresh_from_db()
    assert menu_of(fake_line, NOK) == bound.line_rich_menu_id

    # when the bound menu is deleted
    services.rich_menu_delete(menu_id=bound.pk)

    # then LINE no longer has it, and the member sees the default menu
    assert not RichMenu.objects.filter(pk=bound.pk).exists()
    assert [m.rich_menu_id for m in line_api.get_rich_menu_list().richmenus] == [
        default.line_rich_menu_id
    ]
    assert menu_of(fake_line, NOK) == default.line_rich_menu_id
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == ""


def test_a_published_menu_is_kept_when_line_cannot_be_reached_to_delete_it(
    line_shop, unreachable_line
):
    menu = make_menu(line_shop)
    RichMenu.objects.filter(pk=menu.pk).update(
        line_rich_menu_id="richmenu-" + "a" * 32, sync_state=RichMenu.SyncState.PUBLISHED
    )
    with pytest.raises(services.RichMenuRefused):
        services.rich_menu_delete(menu_id=menu.pk)
    assert RichMenu.objects.filter(pk=menu.pk).exists()
