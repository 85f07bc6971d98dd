"""Rich-menu audiences of the second slice: members with a tag, an explicit priority deciding
which menu wins, and the relink of a LINE user when they get or lose a tag (from either side of
the many-to-many) or follow the account again; all through line-bot-sdk against the fake LINE."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ

from campaigns.richmenus import selectors, services
from campaigns.richmenus.models import RichMenu, RichMenuLink
from campaigns.richmenus.selectors import UserAudience
from campaigns.richmenus.tasks import SYNC_USER_TASK
from members.line.binding import member_bind
from members.line.models import BindingRecord, LineFriend
from members.line.services import webhook_events_process, webhook_events_store
from tests.campaigns.richmenus.conftest import make_menu
from tests.factories import MemberFactory, TagFactory, TierFactory
from tests.line_fixtures import MESSAGING_CHANNEL_ID, NOK, PLOY, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db

Audience = RichMenu.Audience


def menu_of(fake_line, user_id):
    return fake_line.rich_menu_of(channel_id=MESSAGING_CHANNEL_ID, user_id=user_id)


def bind(member, line_user_id):
    member_bind(member=member, line_user_id=line_user_id, via=BindingRecord.Via.ADMIN, actor="t")


def published(shop, name, audience=Audience.DEFAULT, **kw) -> RichMenu:
    priority = kw.pop("priority", None)
    menu = make_menu(shop, name=name, audience=audience, tier=kw.pop("tier", None))
    if kw or priority is not None:
        RichMenu.objects.filter(pk=menu.pk).update(
            **kw, **({"priority": priority} if priority is not None else {})
        )
    services.rich_menu_publish(menu_id=menu.pk)
    return RichMenu.objects.get(pk=menu.pk)


def tag_menu(shop, tag, name="promo", **kw) -> RichMenu:
    menu = make_menu(shop, name=name)
    RichMenu.objects.filter(pk=menu.pk).update(audience=Audience.TAG, tag=tag, priority=20, **kw)
    services.rich_menu_publish(menu_id=menu.pk)
    return RichMenu.objects.get(pk=menu.pk)


def queued_users() -> list[str]:
    """The LINE users the relink tasks waiting in django-q2's queue are for."""
    return sorted(q.task["args"][1] for q in OrmQ.objects.all() if q.task["func"] == SYNC_USER_TASK)


# --- priority --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "priority"),
    [
        (Audience.TIER, 30),
        (Audience.TAG, 20),
        (Audience.BOUND, 10),
        (Audience.UNBOUND, 10),
        (Audience.DEFAULT, 0),
    ],
)
def test_a_menu_without_a_priority_gets_its_audiences_usual_one(shop, audience, priority):
    tier = TierFactory(shop=shop) if audience == Audience.TIER else None
    tag = TagFactory(shop=shop) if audience == Audience.TAG else None
    menu = RichMenu(shop=shop, name="m", chat_bar_text="m", audience=audience, tier=tier, tag=tag)
    menu.image = "richmenus/x.png"
    menu.full_clean(exclude=["image"])
    menu.save()
    assert RichMenu.objects.get(pk=menu.pk).priority == priority


def test_menu_for_takes_the_highest_priority_then_the_latest_published(shop):
    gold, vip = TierFactory(shop=shop), TagFactory(shop=shop)
    now = timezone.now()

    def menu(pk, audience, priority, minutes_ago, **kw):
        return RichMenu(
            pk=pk,
            shop=shop,
            audience=audience,
            priority=priority,
            line_rich_menu_id=f"m{pk}",
            published_at=now - dt.timedelta(minutes=minutes_ago),
            **kw,
        )

    bound = menu(1, Audience.BOUND, 10, 5)
    tier = menu(2, Audience.TIER, 30, 5, tier=gold)
    tag = menu(3, Audience.TAG, 20, 5, tag=vip)
    member = UserAudience(bound=True, tier_id=gold.pk, tag_ids=frozenset({vip.pk}))
    # the usual order: tier beats tag beats bound
    assert selectors.menu_for([tier, tag, bound], member) == "m2"
    assert selectors.menu_for([tag, bound], UserAudience(bound=True)) == "m1"
    assert selectors.menu_for([tier, tag, bound], UserAudience(bound=False)) == ""
    # tiers and tags belong to members: a user who is not bound matches neither
    not_bound = UserAudience(bound=False, tier_id=gold.pk, tag_ids=frozenset({vip.pk}))
    assert selectors.menu_for([tier, tag], not_bound) == ""


def test_an_explicit_priority_beats_the_usual_order_and_a_tie_goes_to_the_latest(
    line_shop, fake_line
):
    # given a Gold member tagged VIP, with a tier menu and a tag menu raised above it
    gold, vip = TierFactory(shop=line_shop, name="Gold"), TagFactory(shop=line_shop, name="VIP")
    member = MemberFactory(shop=line_shop, tier=gold)
    member.tags.add(vip)
    bind(member, NOK)
    tier = published(line_shop, "gold", Audience.TIER, tier=gold)
    assert menu_of(fake_line, NOK) == tier.line_rich_menu_id
    tag = tag_menu(line_shop, vip)
    assert menu_of(fake_line, NOK) == tier.line_rich_menu_id  # 30 beats 20
    RichMenu.objects.filter(pk=tag.pk).update(priority=40)
    services.rich_menus_resync(shop_id=line_shop.pk)
    assert menu_of(fake_line, NOK) == tag.line_rich_menu_id  # 40 beats 30

    # when the tier menu is raised to the same priority and published after the tag menu
    RichMenu.objects.filter(pk=tier.pk).update(priority=40)
    services.rich_menu_publish(menu_id=tier.pk)

    # then the tie goes to the latest published
    assert menu_of(fake_line, NOK) == RichMenu.objects.get(pk=tier.pk).line_rich_menu_id
    assert [m.name for m in selectors.published_menus(line_shop.pk)] == ["gold", "promo"]


def test_a_default_menu_of_the_highest_priority_takes_everyone_to_the_default(line_shop, fake_line):
    bind(MemberFactory(shop=line_shop), NOK)
    bound = published(line_shop, "bound", Audience.BOUND)
    assert menu_of(fake_line, NOK) == bound.line_rich_menu_id
    default = published(line_shop, "all", priority=50)
    assert menu_of(fake_line, NOK) == default.line_rich_menu_id
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == ""


# --- tag audience and the queries behind it ---------------------------------------------------


def test_tagged_members_get_the_tag_menu_and_others_do_not(line_shop, fake_line):
    vip, other = TagFactory(shop=line_shop, name="VIP"), TagFactory(shop=line_shop)
    tagged, untagged = MemberFactory(shop=line_shop), MemberFactory(shop=line_shop)
    tagged.tags.add(vip, other)
    untagged.tags.add(other)
    bind(tagged, NOK)
    bind(untagged, PLOY)
    LineFriend.objects.create(shop=line_shop, line_user_id=SOMCHAI, state=LineFriend.State.FRIEND)
    bound = published(line_shop, "bound", Audience.BOUND)
    vip_menu = tag_menu(line_shop, vip)
    assert menu_of(fake_line, NOK) == vip_menu.line_rich_menu_id
    assert menu_of(fake_line, PLOY) == bound.line_rich_menu_id
    assert menu_of(fake_line, SOMCHAI) is None


def test_the_audiences_of_all_users_cost_three_queries_whatever_their_number(
    line_shop, django_assert_num_queries
):
    tags = [TagFactory(shop=line_shop) for _ in range(3)]
    tier = TierFactory(shop=line_shop)
    expected = {}
    for i in range(12):
        member = MemberFactory(shop=line_shop, tier=tier if i % 2 else None)
        member.tags.add(*tags[: i % 4])
        user_id = f"U{i:032x}"
        bind(member, user_id)
        expected[user_id] = UserAudience(
            bound=True,
            tier_id=tier.pk if i % 2 else None,
            tag_ids=frozenset(t.pk for t in tags[: i % 4]),
        )
    LineFriend.objects.create(shop=line_shop, line_user_id=SOMCHAI, state=LineFriend.State.FRIEND)
    expected[SOMCHAI] = UserAudience(bound=False)
    # another shop's tagged member is no user of this one
    MemberFactory(line_user_id=PLOY, bound_at=timezone.now()).tags.add(TagFactory())

    with django_assert_num_queries(3):
        users = selectors.shop_line_users(line_shop.pk)
    assert users == expected
    with django_assert_num_queries(2):
        assert (
            selectors.user_audience(line_shop.pk, "U" + "0" * 31 + "3")
            == expected["U" + "0" * 31 + "3"]
        )


# --- relink when tags change --------------------------------------------------------------------


@pytest.fixture
def vip_setup(line_shop, fake_line, q_sync):
    vip = TagFactory(shop=line_shop, name="VIP")
    member = MemberFactory(shop=line_shop)
    bind(member, NOK)
    bound = published(line_shop, "bound", Audience.BOUND)
    vip_menu = tag_menu(line_shop, vip)
    assert menu_of(fake_line, NOK) == bound.line_rich_menu_id
    return member, vip, bound.line_rich_menu_id, vip_menu.line_rich_menu_id


def test_adding_and_removing_a_tag_on_the_member_relinks_them(
    vip_setup, fake_line, django_capture_on_commit_callbacks
):
    member, vip, bound_id, vip_id = vip_setup
    with django_capture_on_commit_callbacks(execute=True):
        member.tags.add(vip)
    assert menu_of(fake_line, NOK) == vip_id
    with django_capture_on_commit_callbacks(execute=True):
        member.tags.remove(vip)
    assert menu_of(fake_line, NOK) == bound_id
    with django_capture_on_commit_callbacks(execute=True):
        member.tags.add(vip)
    assert menu_of(fake_line, NOK) == vip_id
    with django_capture_on_commit_callbacks(execute=True):
        member.tags.clear()
    assert menu_of(fake_line, NOK) == bound_id
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == bound_id


def test_adding_and_removing_members_on_the_tag_relinks_them(
    vip_setup, line_shop, fake_line, django_capture_on_commit_callbacks
):
    member, vip, bound_id, vip_id = vip_setup
    second = MemberFactory(shop=line_shop)
    bind(second, PLOY)
    with django_capture_on_commit_callbacks(execute=True):
        vip.members.add(member, second)
    assert (menu_of(fake_line, NOK), menu_of(fake_line, PLOY)) == (vip_id, vip_id)
    with django_capture_on_commit_callbacks(execute=True):
        vip.members.remove(second)
    assert (menu_of(fake_line, NOK), menu_of(fake_line, PLOY)) == (vip_id, bound_id)
    with django_capture_on_commit_callbacks(execute=True):
        vip.members.clear()
    assert (menu_of(fake_line, NOK), menu_of(fake_line, PLOY)) == (bound_id, bound_id)


def test_a_rolled_back_tag_change_links_nothing(
    vip_setup, fake_line, django_capture_on_commit_callbacks
):
    member, vip, bound_id, _vip_id = vip_setup
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                member.tags.add(vip)
                raise RuntimeError("the form failed")
        except RuntimeError:
            pass
    assert menu_of(fake_line, NOK) == bound_id
    assert not member.tags.exists()


def test_tag_changes_cost_nothing_without_a_published_tag_menu(
    line_shop, fake_line, django_capture_on_commit_callbacks
):
    # given a bound member and only a bound-members menu (tasks queued, not run)
    vip = TagFactory(shop=line_shop)
    member = MemberFactory(shop=line_shop)
    bind(member, NOK)
    published(line_shop, "bound", Audience.BOUND)
    OrmQ.objects.all().delete()

    # when tags change
    with django_capture_on_commit_callbacks(execute=True):
        member.tags.add(vip)
        vip.members.remove(member)

    # then no relink is queued
    assert queued_users() == []


def test_many_changes_in_one_transaction_queue_each_user_once(
    line_shop, fake_line, django_capture_on_commit_callbacks
):
    # given tier and tag menus, two bound members and one that is not bound
    gold, vip, new = (
        TierFactory(shop=line_shop),
        TagFactory(shop=line_shop),
        TagFactory(shop=line_shop),
    )
    published(line_shop, "gold", Audience.TIER, tier=gold)
    tag_menu(line_shop, vip)
    nok, ploy, unbound = (MemberFactory(shop=line_shop) for _ in range(3))
    bind(nok, NOK)
    bind(ploy, PLOY)
    OrmQ.objects.all().delete()

    # when one transaction changes NOK's tier and tags several times, and tags the others
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        nok.tags.add(vip, new)
        nok.tier = gold
        nok.save(update_fields=["tier"])
        nok.tags.remove(new)
        vip.members.add(ploy, unbound)
        vip.members.remove(nok)

    # then each bound user is queued once (the member without LINE not at all)
    assert queued_users() == sorted([NOK, PLOY])


# --- follow again ------------------------------------------------------------------------------


@pytest.fixture
def follow(django_capture_on_commit_callbacks):
    """A follow (``unblocked`` None: an unfollow) stored and processed as the webhook task does,
    with what it leaves to do after commit done."""

    def send(shop, user_id, *, unblocked=False, at_ms=None):
        with django_capture_on_commit_callbacks(execute=True):
            _follow(shop, user_id, unblocked=unblocked, at_ms=at_ms)

    return send


def _follow(shop, user_id, *, unblocked=False, at_ms=None):
    at_ms = at_ms or int(time.time() * 1000)
    event = (
        payloads.follow(user_id=user_id, at_ms=at_ms, unblocked=unblocked)
        if unblocked is not None
        else payloads.unfollow(user_id=user_id, at_ms=at_ms)
    )
    ids = webhook_events_store(shop_id=shop.pk, events=[event])
    webhook_events_process(shop_id=shop.pk, event_ids=ids)


def test_a_new_friend_gets_the_unbound_menu_when_they_follow(line_shop, fake_line, q_sync, follow):
    unbound = published(line_shop, "guests", Audience.UNBOUND)
    assert menu_of(fake_line, SOMCHAI) is None
    follow(line_shop, SOMCHAI)
    assert menu_of(fake_line, SOMCHAI) == unbound.line_rich_menu_id
    assert RichMenuLink.objects.get(line_user_id=SOMCHAI).line_rich_menu_id == (
        unbound.line_rich_menu_id
    )


def test_following_again_relinks_only_when_the_audience_changed_meanwhile(
    vip_setup, line_shop, fake_line, follow
):
    member, vip, bound_id, vip_id = vip_setup
    base = int(time.time() * 1000)
    follow(line_shop, NOK, at_ms=base - 5000)

    # when NOK blocks the account and unblocks it, nothing changed meanwhile: no LINE call
    follow(line_shop, NOK, unblocked=None, at_ms=base - 4000)
    calls = len(fake_line.requests)
    follow(line_shop, NOK, unblocked=True, at_ms=base - 3000)
    assert [r["path"] for r in fake_line.requests[calls:] if "richmenu" in r["path"]] == []
    assert menu_of(fake_line, NOK) == bound_id

    # when their menu at LINE went stale while they had the account blocked (a tag given by a
    # bulk SQL insert, which sends no signal), following again relinks them
    follow(line_shop, NOK, unblocked=None, at_ms=base - 2000)
    type(member).tags.through.objects.bulk_create(
        [type(member).tags.through(member_id=member.pk, tag_id=vip.pk)]
    )
    assert menu_of(fake_line, NOK) == bound_id
    follow(line_shop, NOK, unblocked=True, at_ms=base - 1000)
    assert menu_of(fake_line, NOK) == vip_id
    assert RichMenuLink.objects.get(line_user_id=NOK).line_rich_menu_id == vip_id


# --- tiers changed in bulk (the nightly evaluation) ------------------------------------------------


def test_a_bulk_tier_change_relinks_only_the_users_whose_menu_moved(line_shop, fake_line, q_sync):
    # given a gold tier menu, a bound gold member on it and a bound silver member on the bound menu
    from members.ledger.jobs import tiers_evaluated
    from members.models import Member

    silver, gold = TierFactory(shop=line_shop), TierFactory(shop=line_shop)
    published(line_shop, "bound", Audience.BOUND)
    gold_menu = published(line_shop, "gold", Audience.TIER, tier=gold)
    rich = MemberFactory(shop=line_shop, tier=gold)
    plain = MemberFactory(shop=line_shop, tier=silver)
    bind(rich, SOMCHAI)
    bind(plain, NOK)
    bind(MemberFactory(shop=line_shop, tier=silver), PLOY)  # stays on the bound menu
    services.rich_menus_resync(shop_id=line_shop.pk)
    assert menu_of(fake_line, SOMCHAI) == gold_menu.line_rich_menu_id
    calls_before = len(fake_line.requests)

    # when the evaluation swaps their tiers with SQL (no saves) and says so
    Member.objects.filter(pk=rich.pk).update(tier=silver)
    Member.objects.filter(pk=plain.pk).update(tier=gold)
    tiers_evaluated.send(sender=None, shop_id=line_shop.pk, changed=2)

    # then each is on their new audience's menu, and LINE was asked about those two only
    bound_menu = RichMenu.objects.get(shop=line_shop, name="bound")
    assert menu_of(fake_line, NOK) == gold_menu.line_rich_menu_id
    assert menu_of(fake_line, SOMCHAI) == bound_menu.line_rich_menu_id
    link_calls = [r for r in fake_line.requests[calls_before:] if "richmenu" in r["path"]]
    asked = sorted(u for r in link_calls for u in json.loads(r["body"])["userIds"])
    assert asked == sorted([SOMCHAI, NOK])
    assert RichMenuLink.objects.get(shop=line_shop, line_user_id=NOK).line_rich_menu_id == (
        gold_menu.line_rich_menu_id
    )
