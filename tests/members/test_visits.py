"""Each member's last visit (``Member.last_visit_at`` / ``last_visit_branch``), kept by the ledger's
own writes: an earn, a reversal of the latest or an older purchase, a merge; and the set-based
refresh used after bulk writes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.earning import LineItem
from members.ledger.locks import lock_member
from members.ledger.merge import ledger_merge
from members.ledger.visits import visits_refresh
from members.models import Member, Purchase, PurchaseProduct
from tests.factories import BranchFactory, MemberFactory
from tests.members.conftest import assert_invariants

pytestmark = pytest.mark.django_db
STORE = Actor.system(channel="store")
DAY = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def earn(member, branch, days_later, key):
    with time_machine.travel(DAY + dt.timedelta(days=days_later), tick=False):
        return ledger.points_earn(
            shop=member.shop,
            member=member,
            amount="100",
            branch=branch,
            idempotency_key=key,
            actor=STORE,
        ).purchase


def visit(member):
    member.refresh_from_db()
    return member.last_visit_at, member.last_visit_branch_id


def test_an_earn_is_the_last_visit_and_a_reversal_goes_back_to_the_one_before(points_shop):
    siam, thonglor = BranchFactory(shop=points_shop), BranchFactory(shop=points_shop)
    member = MemberFactory(shop=points_shop)
    assert visit(member) == (None, None)

    first = earn(member, siam, 0, "a")
    assert visit(member) == (first.created_at, siam.pk)
    second = earn(member, thonglor, 3, "b")
    assert visit(member) == (second.created_at, thonglor.pk)

    ledger.purchase_reverse(purchase=first, note="", idempotency_key="r1", actor=STORE)
    assert visit(member) == (second.created_at, thonglor.pk)  # an older one: no change
    ledger.purchase_reverse(purchase=second, note="refund", idempotency_key="r2", actor=STORE)
    assert visit(member) == (None, None)  # nothing completed is left
    assert_invariants(points_shop.pk)


def test_a_merge_gives_the_account_the_later_of_both_visits(points_shop):
    siam, thonglor = BranchFactory(shop=points_shop), BranchFactory(shop=points_shop)
    account, pending = MemberFactory(shop=points_shop), MemberFactory(shop=points_shop)
    earn(account, siam, 0, "a")
    later = earn(pending, thonglor, 5, "b")

    with transaction.atomic():
        first, second = sorted([account.pk, pending.pk])
        locked = {pk: lock_member(pk) for pk in (first, second)}
        ledger_merge(source=locked[pending.pk], target=locked[account.pk])

    assert visit(account) == (later.created_at, thonglor.pk)
    assert visit(pending) == (None, None)
    assert_invariants(points_shop.pk)


def test_the_bulk_refresh_sets_every_members_latest_completed_purchase(points_shop):
    siam = BranchFactory(shop=points_shop)
    buyer, refunded, idle = (MemberFactory(shop=points_shop) for _ in range(3))
    at = earn(buyer, siam, 0, "a").created_at
    earn(buyer, None, 0, "b")  # same time: the higher id is the later one
    gone = earn(refunded, siam, 1, "c")
    Purchase.objects.filter(pk=gone.pk).update(status=Purchase.Status.REVERSED)
    Member.objects.filter(shop=points_shop).update(last_visit_at=None, last_visit_branch=None)
    Member.objects.filter(pk=idle.pk).update(last_visit_at=DAY, last_visit_branch=siam)

    assert visits_refresh(Member.objects.filter(shop=points_shop)) == 3

    assert visit(buyer) == (at, None)
    assert visit(refunded) == (None, None)
    assert visit(idle) == (None, None)
    assert_invariants(points_shop.pk)


def bought(member):
    return sorted(PurchaseProduct.objects.filter(member=member).values_list("key", flat=True))


def test_what_a_member_bought_follows_earns_reversals_and_merges(points_shop):
    siam = BranchFactory(shop=points_shop)
    account, pending = MemberFactory(shop=points_shop), MemberFactory(shop=points_shop)
    items = [
        LineItem(sku="lat-01", name="Iced latte", quantity=1, price=60),
        LineItem(sku="", name="ชาไทย", quantity=2, price=40),
        LineItem(sku="LAT-01", name="iced LATTE", quantity=1, price=60),  # the same product again
    ]
    with time_machine.travel(DAY, tick=False):
        tea = ledger.points_earn(
            shop=points_shop,
            member=pending,
            amount="160",
            branch=siam,
            items=items,
            idempotency_key="a",
            actor=STORE,
        ).purchase
        ledger.points_earn(
            shop=points_shop,
            member=account,
            amount="100",
            items=[items[1]],
            idempotency_key="b",
            actor=STORE,
        )
    assert bought(pending) == ["ICED LATTE", "LAT-01", "ชาไทย"]
    assert bought(account) == ["ชาไทย"]

    with transaction.atomic():
        first, second = sorted([account.pk, pending.pk])
        locked = {pk: lock_member(pk) for pk in (first, second)}
        ledger_merge(source=locked[pending.pk], target=locked[account.pk])
    assert bought(account) == ["ICED LATTE", "LAT-01", "ชาไทย", "ชาไทย"]
    assert bought(pending) == []

    ledger.purchase_reverse(purchase=tea, note="", idempotency_key="r", actor=STORE)
    assert bought(account) == ["ชาไทย"]
    assert_invariants(points_shop.pk)
