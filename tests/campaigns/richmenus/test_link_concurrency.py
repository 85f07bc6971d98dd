"""Two audience changes of one LINE user at once (a tier upgrade and an unbind, each relinking
the user in its own task) end with LINE showing the menu of the audience they leave behind."""

from __future__ import annotations

import pytest

from campaigns.richmenus import services
from campaigns.richmenus.models import RichMenu, RichMenuLink
from members.line.binding import member_bind, member_unbind
from members.line.models import BindingRecord
from members.models import Member
from tests.campaigns.richmenus.conftest import make_menu
from tests.concurrency import run_concurrently
from tests.factories import MemberFactory, TierFactory
from tests.line_fixtures import MESSAGING_CHANNEL_ID, NOK

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("round_", range(3))
def test_a_tier_upgrade_and_an_unbind_at_once_leave_the_default_menu(
    round_, line_shop, fake_line, q_sync
):
    # given a member bound to NOK, on the bound-members menu, with a Gold menu published too
    gold = TierFactory(shop=line_shop, name="Gold")
    member = MemberFactory(shop=line_shop)
    member_bind(member=member, line_user_id=NOK, via=BindingRecord.Via.ADMIN, actor="t")
    default = make_menu(line_shop, name="all")
    bound = make_menu(line_shop, name="bound", audience=RichMenu.Audience.BOUND)
    tier_menu = make_menu(line_shop, name="gold", audience=RichMenu.Audience.TIER, tier=gold)
    for menu in (default, bound, tier_menu):
        services.rich_menu_publish(menu_id=menu.pk)
    default.refresh_from_db()
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id != ""

    # when the member reaches Gold while the shop unbinds them
    def change(i: int) -> None:
        fresh = Member.objects.get(pk=member.pk)
        if i == 0:
            fresh.tier = gold
            fresh.save(update_fields=["tier", "tier_changed_at", "updated_at"])
        else:
            member_unbind(member=fresh, via=BindingRecord.Via.ADMIN, actor="t")

    results = run_concurrently(change, 2)

    # then they are unbound, so LINE shows them the default menu, and the record agrees
    assert results == [None, None]
    assert Member.objects.get(pk=member.pk).bound_at is None
    assert fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK) == (
        default.line_rich_menu_id
    )
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == ""


def test_many_audience_changes_at_once_end_on_the_menu_of_the_final_audience(
    line_shop, fake_line, q_sync
):
    # given a member bound to NOK and menus for bound members, Gold and Silver
    gold = TierFactory(shop=line_shop, name="Gold")
    silver = TierFactory(shop=line_shop, name="Silver")
    member = MemberFactory(shop=line_shop)
    member_bind(member=member, line_user_id=NOK, via=BindingRecord.Via.ADMIN, actor="t")
    menus = [
        make_menu(line_shop, name="bound", audience=RichMenu.Audience.BOUND),
        make_menu(line_shop, name="gold", audience=RichMenu.Audience.TIER, tier=gold),
        make_menu(line_shop, name="silver", audience=RichMenu.Audience.TIER, tier=silver),
    ]
    for menu in menus:
        services.rich_menu_publish(menu_id=menu.pk)
    ids = {m.name: RichMenu.objects.get(pk=m.pk).line_rich_menu_id for m in menus}

    # when six changes of tier and binding race, five times over
    def change(i: int) -> None:
        fresh = Member.objects.get(pk=member.pk)
        if i % 3 == 2:
            if fresh.bound_at:
                member_unbind(member=fresh, via=BindingRecord.Via.ADMIN, actor="t")
            else:
                member_bind(member=fresh, line_user_id=NOK, via=BindingRecord.Via.ADMIN, actor="t")
        else:
            fresh.tier = gold if i % 3 == 0 else silver
            fresh.save(update_fields=["tier", "tier_changed_at", "updated_at"])

    for _round in range(5):
        assert run_concurrently(change, 6) == [None] * 6

        # then LINE shows the menu of the audience the member is left with
        final = Member.objects.get(pk=member.pk)
        expected = (
            None
            if final.bound_at is None
            else ids["gold"]
            if final.tier_id == gold.pk
            else ids["silver"]
        )
        shown = fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=NOK)
        assert shown == expected
