"""A tag change and a tier change of one member at once (each relinking the user in its own task,
on PostgreSQL) end with LINE showing the menu of the audience the member is left with."""

from __future__ import annotations

import pytest
from django.db import transaction

from campaigns.richmenus import services
from campaigns.richmenus.models import RichMenu, RichMenuLink
from members.line.binding import member_bind
from members.line.models import BindingRecord
from members.models import Member
from tests.campaigns.richmenus.conftest import make_menu
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, TagFactory, TierFactory
from tests.line_fixtures import MESSAGING_CHANNEL_ID, NOK

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Audience = RichMenu.Audience


@pytest.mark.parametrize(
    ("start_tagged", "start_gold", "expected"),
    [
        # loses the VIP tag while reaching Gold: the Gold menu
        (True, False, "gold"),
        # gets the VIP tag while losing Gold: the VIP menu
        (False, True, "vip"),
    ],
)
@pytest.mark.parametrize("round_", range(3))
def test_a_tag_change_and_a_tier_change_at_once_end_on_the_final_audiences_menu(
    round_, start_tagged, start_gold, expected, line_shop, fake_line, q_sync
):
    # given a bound member, with menus for bound members, VIP-tagged members and Gold
    gold = TierFactory(shop=line_shop, name="Gold")
    vip = TagFactory(shop=line_shop, name="VIP")
    member = MemberFactory(shop=line_shop, tier=gold if start_gold else None)
    if start_tagged:
        member.tags.add(vip)
    member_bind(member=member, line_user_id=NOK, via=BindingRecord.Via.ADMIN, actor="t")
    menus = {
        "bound": make_menu(line_shop, name="bound", audience=Audience.BOUND),
        "gold": make_menu(line_shop, name="gold", audience=Audience.TIER, tier=gold),
        "vip": make_menu(line_shop, name="vip"),
    }
    RichMenu.objects.filter(pk=menus["vip"].pk).update(audience=Audience.TAG, tag=vip, priority=20)
    for menu in menus.values():
        services.rich_menu_publish(menu_id=menu.pk)
    ids = {name: RichMenu.objects.get(pk=m.pk).line_rich_menu_id for name, m in menus.items()}
    start = "gold" if start_gold else "vip"
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK) == ids[start]

    # when one thread changes the tag and another the tier, each in its own transaction
    def change(i: int) -> None:
        fresh = Member.objects.get(pk=member.pk)
        with transaction.atomic():
            if i == 0:
                if start_tagged:
                    fresh.tags.remove(vip)
                else:
                    fresh.tags.add(vip)
            else:
                fresh.tier = None if start_gold else gold
                fresh.save(update_fields=["tier", "tier_changed_at", "updated_at"])

    assert run_concurrently(change, 2) == [None, None]

    # then LINE shows the final audience's menu, and the record agrees
    final = Member.objects.get(pk=member.pk)
    assert (final.tier_id == gold.pk) == (not start_gold)
    assert final.tags.filter(pk=vip.pk).exists() == (not start_tagged)
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK) == ids[expected]
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == ids[expected]
