"""Rich-menu aliases (tabs): the fake LINE's alias endpoints answer as LINE does, publishing a menu
creates or moves its alias, "switch to another menu" areas become LINE's richmenuswitch actions,
and a switch to an alias LINE does not have yet is refused before anything is sent."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from django.utils import translation
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    UpdateRichMenuAliasRequest,
)

from campaigns.richmenus import services
from campaigns.richmenus.models import RichMenu, RichMenuArea, RichMenuLink
from loyalty.line import messaging as line
from members.line.binding import member_bind
from members.line.models import BindingRecord, WebhookEvent
from members.line.services import webhook_events_process, webhook_events_store
from tests.campaigns.richmenus.conftest import make_menu
from tests.factories import MemberFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, MESSAGING_CHANNEL_ID, NOK, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db

Action = RichMenuArea.Action


@pytest.fixture
def line_api(fake_line, settings):
    configuration = Configuration(
        host=settings.LINE_API_BASE_URL, access_token=MESSAGING_ACCESS_TOKEN
    )
    return MessagingApi(ApiClient(configuration))


def tab(shop, name, alias, *, switch_to=()):
    """A menu with the alias ``alias`` whose last areas switch to ``switch_to``'s aliases."""
    menu = make_menu(shop, name=name, layout=2 + len(switch_to))
    RichMenu.objects.filter(pk=menu.pk).update(alias_id=alias)
    for offset, target in enumerate(switch_to):
        RichMenuArea.objects.filter(menu=menu, index=3 + offset).update(
            action=Action.SWITCH, value=target
        )
    return RichMenu.objects.get(pk=menu.pk)


def bind(member, line_user_id):
    member_bind(member=member, line_user_id=line_user_id, via=BindingRecord.Via.ADMIN, actor="t")


def error(exc: ApiException) -> tuple[int, str]:
    return exc.status, json.loads(exc.body)["message"]


# --- the fake LINE's alias endpoints, through line-bot-sdk ----------------------------------------


def test_the_fake_line_keeps_aliases_per_channel_as_line_does(line_shop, fake_line, line_api):
    first = make_menu(line_shop, name="a")
    second = make_menu(line_shop, name="b")
    services.rich_menu_publish(menu_id=first.pk)
    services.rich_menu_publish(menu_id=second.pk)
    first_id = RichMenu.objects.get(pk=first.pk).line_rich_menu_id
    second_id = RichMenu.objects.get(pk=second.pk).line_rich_menu_id

    line_api.create_rich_menu_alias(
        CreateRichMenuAliasRequest(rich_menu_alias_id="tab-a", rich_menu_id=first_id)
    )
    got = line_api.get_rich_menu_alias("tab-a")
    assert (got.rich_menu_alias_id, got.rich_menu_id) == ("tab-a", first_id)

    # a taken alias id, or an unknown menu: 400
    with pytest.raises(ApiException) as taken:
        line_api.create_rich_menu_alias(
            CreateRichMenuAliasRequest(rich_menu_alias_id="tab-a", rich_menu_id=second_id)
        )
    assert error(taken.value) == (400, "conflict richmenu alias id")
    assert line.is_alias_conflict(taken.value)
    with pytest.raises(ApiException) as unknown_menu:
        line_api.create_rich_menu_alias(
            CreateRichMenuAliasRequest(
                rich_menu_alias_id="tab-b", rich_menu_id="richmenu-" + "0" * 32
            )
        )
    assert error(unknown_menu.value) == (400, "richmenu not found")
    assert not line.is_alias_conflict(unknown_menu.value)

    # update moves the alias; the list shows it
    line_api.update_rich_menu_alias("tab-a", UpdateRichMenuAliasRequest(rich_menu_id=second_id))
    assert [
        (a.rich_menu_alias_id, a.rich_menu_id) for a in line_api.get_rich_menu_alias_list().aliases
    ] == [("tab-a", second_id)]
    assert fake_line.rich_menu_by_alias("tab-a", MESSAGING_CHANNEL_ID)["richMenuId"] == second_id

    # an unknown alias: 404 to get, update and delete
    for call in (
        lambda: line_api.get_rich_menu_alias("nope"),
        lambda: line_api.update_rich_menu_alias(
            "nope", UpdateRichMenuAliasRequest(rich_menu_id=first_id)
        ),
        lambda: line_api.delete_rich_menu_alias("nope"),
    ):
        with pytest.raises(ApiException) as missing:
            call()
        assert error(missing.value) == (404, "richmenu alias not found")

    line_api.delete_rich_menu_alias("tab-a")
    assert line_api.get_rich_menu_alias_list().aliases == []
    assert fake_line.rich_menu_by_alias("tab-a", MESSAGING_CHANNEL_ID) is None


def test_the_fake_line_refuses_an_alias_id_line_would_refuse(line_shop, fake_line, settings):
    menu = make_menu(line_shop)
    services.rich_menu_publish(menu_id=menu.pk)
    rich_menu_id = RichMenu.objects.get(pk=menu.pk).line_rich_menu_id
    http = urllib3.PoolManager()
    for alias in ("Tab-A", "x" * 33, "tab a", ""):
        response = http.request(
            "POST",
            f"{settings.LINE_API_BASE_URL}/v2/bot/richmenu/alias",
            body=json.dumps({"richMenuAliasId": alias, "richMenuId": rich_menu_id}),
            headers={
                "Authorization": f"Bearer {MESSAGING_ACCESS_TOKEN}",
                "Content-Type": "application/json",
            },
        )
        assert response.status == 400, alias
        assert json.loads(response.data)["details"][0]["property"] == "richMenuAliasId"


# --- publishing menus with aliases ------------------------------------------------------------


def test_publishing_creates_the_alias_and_publishing_again_moves_it_before_deleting(
    line_shop, fake_line, line_api
):
    # given a menu with the alias "points"
    menu = tab(line_shop, "points", "points")

    # when published: LINE has the alias, opening the menu
    services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    assert menu.line_alias_id == "points"
    assert line_api.get_rich_menu_alias("points").rich_menu_id == menu.line_rich_menu_id
    first_id = menu.line_rich_menu_id

    # when published again: the alias moves to the new menu, then the old menu goes
    calls = len(fake_line.requests)
    services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    assert menu.line_rich_menu_id != first_id
    assert line_api.get_rich_menu_alias("points").rich_menu_id == menu.line_rich_menu_id
    steps = [
        (r["method"], r["path"])
        for r in fake_line.requests[calls:]
        if ("alias" in r["path"] and r["method"] == "POST") or r["method"] == "DELETE"
    ]
    assert steps == [
        ("POST", "/v2/bot/richmenu/alias/points"),
        ("DELETE", f"/v2/bot/richmenu/{first_id}"),
    ]

    # when renamed and published: the new alias is made, the old one deleted
    RichMenu.objects.filter(pk=menu.pk).update(alias_id="rewards")
    services.rich_menu_publish(menu_id=menu.pk)
    menu.refresh_from_db()
    assert [a.rich_menu_alias_id for a in line_api.get_rich_menu_alias_list().aliases] == [
        "rewards"
    ]
    assert menu.line_alias_id == "rewards"


def test_an_alias_line_has_already_is_taken_over_on_publish(line_shop, fake_line, line_api):
    # given LINE has the alias "points" (made by someone else) on an older menu
    old = make_menu(line_shop, name="old")
    services.rich_menu_publish(menu_id=old.pk)
    old_id = RichMenu.objects.get(pk=old.pk).line_rich_menu_id
    line.create_rich_menu_alias(
        channel_access_token=MESSAGING_ACCESS_TOKEN, alias_id="points", rich_menu_id=old_id
    )
    menu = tab(line_shop, "points", "points")

    services.rich_menu_publish(menu_id=menu.pk)

    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.PUBLISHED
    assert line_api.get_rich_menu_alias("points").rich_menu_id == menu.line_rich_menu_id


def test_deleting_a_menu_deletes_its_alias(line_shop, fake_line, line_api):
    menu = tab(line_shop, "points", "points")
    services.rich_menu_publish(menu_id=menu.pk)
    services.rich_menu_delete(menu_id=menu.pk)
    assert line_api.get_rich_menu_alias_list().aliases == []


# --- switch areas ------------------------------------------------------------------------------


def test_a_switch_area_becomes_a_richmenuswitch_and_opens_the_other_tab(
    line_shop, fake_line, line_api
):
    # given a bound member's menu with a tab switching to a menu nobody gets but as a tab
    bind(MemberFactory(shop=line_shop), NOK)
    rewards = tab(line_shop, "rewards", "rewards")
    RichMenu.objects.filter(pk=rewards.pk).update(audience=RichMenu.Audience.TAB, priority=0)
    services.rich_menu_publish(menu_id=rewards.pk)
    assert fake_line.rich_menu_for_user(NOK, MESSAGING_CHANNEL_ID) is None  # a tab only
    points = tab(line_shop, "points", "points", switch_to=["rewards", "points"])
    RichMenu.objects.filter(pk=points.pk).update(audience=RichMenu.Audience.BOUND, priority=10)
    services.rich_menu_publish(menu_id=points.pk)
    points.refresh_from_db()

    # then LINE has richmenuswitch actions naming the aliases
    areas = line_api.get_rich_menu(points.line_rich_menu_id).areas
    switch = areas[2].action
    assert (switch.type, switch.rich_menu_alias_id, switch.data) == (
        "richmenuswitch",
        "rewards",
        "richmenu-switch:rewards",
    )
    assert areas[3].action.rich_menu_alias_id == "points"

    # and the fake chat's helpers see the member's menu, and what a tap on the tab opens
    shown = fake_line.rich_menu_for_user(NOK, MESSAGING_CHANNEL_ID)
    assert shown["richMenuId"] == points.line_rich_menu_id
    assert shown["areas"][2]["action"]["richMenuAliasId"] == "rewards"
    assert fake_line.switch_rich_menu(NOK, "rewards", MESSAGING_CHANNEL_ID) is True
    assert fake_line.rich_menu_for_user(NOK, MESSAGING_CHANNEL_ID)["richMenuId"] == (
        RichMenu.objects.get(pk=rewards.pk).line_rich_menu_id
    )
    assert fake_line.switch_rich_menu(NOK, "nope", MESSAGING_CHANNEL_ID) is False
    # a tab-only menu is nobody's menu and not the default
    assert fake_line.rich_menu_for_user(SOMCHAI, MESSAGING_CHANNEL_ID) is None


def test_the_fake_chat_helpers_answer_none_without_menus(fake_line):
    assert fake_line.rich_menu_for_user(SOMCHAI) is None
    assert fake_line.rich_menu_by_alias("points") is None


def test_a_switch_to_an_alias_line_does_not_have_is_refused_with_a_clear_message(
    line_shop, fake_line, english
):
    # given a tab switching to "rewards", whose menu is saved but not published
    tab(line_shop, "rewards", "rewards")
    points = tab(line_shop, "points", "points", switch_to=["rewards"])
    before = len(fake_line.requests)

    # when published: refused, recorded, and nothing sent to LINE
    with pytest.raises(services.RichMenuRefused) as refused:
        services.rich_menu_publish(menu_id=points.pk)
    message = "Publish the menus these areas switch to first: rewards."
    assert str(refused.value) == message
    points.refresh_from_db()
    assert (points.sync_state, points.line_error) == (RichMenu.SyncState.FAILED, message)
    assert len(fake_line.requests) == before


def test_the_refusal_is_in_thai_for_a_thai_shop(line_shop, fake_line, settings):
    tab(line_shop, "rewards", "rewards")
    points = tab(line_shop, "points", "points", switch_to=["rewards"])
    with translation.override("th"), pytest.raises(services.RichMenuRefused) as refused:
        services.rich_menu_publish(menu_id=points.pk)
    assert "rewards" in str(refused.value)
    assert "Publish the menus" not in str(refused.value)


def test_a_tab_tap_reported_by_line_is_recorded_as_the_users_menu(line_shop, fake_line):
    # given NOK on the bound menu, which has a tab to "rewards"
    bind(MemberFactory(shop=line_shop), NOK)
    rewards = tab(line_shop, "rewards", "rewards")
    RichMenu.objects.filter(pk=rewards.pk).update(audience=RichMenu.Audience.TAB, priority=0)
    services.rich_menu_publish(menu_id=rewards.pk)
    points = tab(line_shop, "points", "points", switch_to=["rewards"])
    RichMenu.objects.filter(pk=points.pk).update(audience=RichMenu.Audience.BOUND, priority=10)
    services.rich_menu_publish(menu_id=points.pk)
    rewards_id = RichMenu.objects.get(pk=rewards.pk).line_rich_menu_id
    points_id = RichMenu.objects.get(pk=points.pk).line_rich_menu_id

    # when NOK taps the tab: LINE switches the menu and posts back what it opened
    assert fake_line.switch_rich_menu(NOK, "rewards", MESSAGING_CHANNEL_ID)

    def postback(data, params, at_ms):
        event = payloads.postback(user_id=NOK, at_ms=at_ms, data=data)
        event["postback"]["params"] = params
        ids = webhook_events_store(shop_id=line_shop.pk, events=[event])
        webhook_events_process(shop_id=line_shop.pk, event_ids=ids)
        return WebhookEvent.objects.get(pk=ids[0])

    now = int(time.time() * 1000)
    done = postback(
        "richmenu-switch:rewards", {"newRichMenuAliasId": "rewards", "status": "SUCCESS"}, now
    )

    # then the record says what LINE shows
    assert done.outcome == WebhookEvent.Outcome.PROCESSED
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == rewards_id
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK) == rewards_id

    # a failed switch changes nothing, and the next audience relink brings NOK back to his menu
    failed = postback(
        "richmenu-switch:points",
        {"newRichMenuAliasId": "points", "status": "RICHMENU_ALIAS_ID_NOTFOUND"},
        now + 1,
    )
    assert failed.outcome == WebhookEvent.Outcome.PROCESSED
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == rewards_id
    assert services.rich_menu_link_user(shop_id=line_shop.pk, line_user_id=NOK) is True
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK) == points_id
    # other postbacks are not taken
    other = postback("action=card", {}, now + 2)
    assert other.outcome == WebhookEvent.Outcome.UNHANDLED


def test_an_alias_deleted_at_line_meanwhile_is_made_again_on_publish(
    line_shop, fake_line, line_api
):
    menu = tab(line_shop, "points", "points")
    services.rich_menu_publish(menu_id=menu.pk)
    line_api.delete_rich_menu_alias("points")  # by hand, in LINE's tools

    services.rich_menu_publish(menu_id=menu.pk)

    menu.refresh_from_db()
    assert menu.sync_state == RichMenu.SyncState.PUBLISHED
    assert line_api.get_rich_menu_alias("points").rich_menu_id == menu.line_rich_menu_id
