"""``points_credit_many``: for each credit exactly what ``points_credit`` does (replays, refusals,
debt, expiry, tier upgrades), and the ledger's invariants under concurrent writers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from loyalty.idempotency import fingerprint
from members.ledger import services
from members.ledger.actors import Actor
from members.ledger.bulk import Credit, points_credit_many
from members.ledger.errors import (
    IdempotencyMismatch,
    InvalidAmount,
    MemberNotActive,
    TooManyPoints,
)
from members.ledger.models import EntryKind, LedgerEntry, PointLot
from members.models import Member
from tests.concurrency import run_concurrently
from tests.factories import BranchFactory, MemberFactory, ShopFactory, TagFactory, TierFactory
from tests.members.conftest import assert_invariants

SYSTEM = Actor.system(channel="import")


def credit_many(shop, credits, **kwargs):
    return points_credit_many(
        shop=shop, credits=credits, kind=EntryKind.IMPORT, actor=SYSTEM, **kwargs
    )


@pytest.mark.django_db
class TestSameRulesAsPointsCredit:
    @pytest.fixture
    def shop(self):
        return ShopFactory(expiry_mode="never", tiers_enabled=False)

    def test_each_credit_is_an_entry_and_a_lot_and_the_balance(self, shop):
        a, b = MemberFactory(shop=shop), MemberFactory(shop=shop)
        result = credit_many(
            shop,
            [Credit(a.pk, 100, "k-a"), Credit(b.pk, 5, "k-b"), Credit(a.pk, 20, "k-a2")],
            note="opening",
        )
        assert set(result.credited) == {"k-a", "k-b", "k-a2"}
        a.refresh_from_db()
        assert a.balance == 120
        entries = LedgerEntry.objects.filter(member=a).order_by("id")
        assert [(e.points, e.balance_after, e.kind, e.channel) for e in entries] == [
            (100, 100, "import", "import"),
            (20, 120, "import", "import"),
        ]
        assert [lot.remaining for lot in PointLot.objects.filter(member=a).order_by("id")] == [
            100,
            20,
        ]
        assert_invariants(shop.pk)

    def test_a_key_seen_before_replays_and_another_content_is_refused(self, shop):
        a, b = MemberFactory(shop=shop), MemberFactory(shop=shop)
        credit_many(shop, [Credit(a.pk, 100, "k-a")])
        result = credit_many(
            shop, [Credit(a.pk, 100, "k-a"), Credit(a.pk, 99, "k-a"), Credit(b.pk, 1, "k-b")]
        )
        assert list(result.replayed) == ["k-a"]
        assert isinstance(result.refused["k-a"], IdempotencyMismatch)
        assert list(result.credited) == ["k-b"]
        a.refresh_from_db()
        assert a.balance == 100

    def test_a_key_twice_in_one_batch_is_credited_once(self, shop):
        a = MemberFactory(shop=shop)
        result = credit_many(shop, [Credit(a.pk, 10, "twice"), Credit(a.pk, 10, "twice")])
        assert list(result.credited) == ["twice"]
        assert LedgerEntry.objects.filter(member=a).count() == 1

    def test_keys_are_shared_with_points_credit(self, shop):
        a = MemberFactory(shop=shop)
        services.points_credit(
            member=a, kind=EntryKind.IMPORT, points=30, idempotency_key="one", actor=SYSTEM
        )
        assert list(credit_many(shop, [Credit(a.pk, 30, "one")]).replayed) == ["one"]
        credit_many(shop, [Credit(a.pk, 40, "two")])
        _entry, replayed = services.points_credit(
            member=a, kind=EntryKind.IMPORT, points=40, idempotency_key="two", actor=SYSTEM
        )
        assert replayed
        a.refresh_from_db()
        assert a.balance == 70

    def test_debt_is_paid_first(self, shop):
        a = MemberFactory(shop=shop)
        earned, _ = services.points_credit(
            member=a, kind=EntryKind.ACTIVITY, points=50, idempotency_key="e", actor=SYSTEM
        )
        services.points_spend(member=a, points=50, idempotency_key="s", actor=SYSTEM)
        services.entry_reverse(entry=earned, note="refund", idempotency_key="r", actor=SYSTEM)
        a.refresh_from_db()
        assert (a.balance, a.debt) == (-50, 50)
        credit_many(shop, [Credit(a.pk, 80, "import")])
        a.refresh_from_db()
        assert (a.balance, a.debt) == (30, 0)
        lot = PointLot.objects.get(entry__idempotency_key="import")
        assert (lot.points, lot.remaining, lot.debt_paid) == (80, 30, 50)
        assert_invariants(shop.pk)

    def test_blocked_and_other_shops_members_and_bad_points_are_refused_alone(self, shop):
        ok = MemberFactory(shop=shop)
        blocked = MemberFactory(shop=shop, status=Member.Status.BLOCKED)
        theirs = MemberFactory(shop=ShopFactory())
        result = credit_many(
            shop,
            [
                Credit(blocked.pk, 10, "blocked"),
                Credit(theirs.pk, 10, "theirs"),
                Credit(ok.pk, 0, "zero"),
                Credit(ok.pk, 10**9, "huge"),
                Credit(ok.pk, 10, "ok"),
            ],
        )
        assert list(result.credited) == ["ok"]
        assert isinstance(result.refused["blocked"], MemberNotActive)
        assert isinstance(result.refused["theirs"], MemberNotActive)
        assert isinstance(result.refused["zero"], InvalidAmount)
        assert isinstance(result.refused["huge"], TooManyPoints)
        theirs.refresh_from_db()
        assert theirs.balance == 0

    @time_machine.travel(dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.UTC), tick=False)
    def test_expiry_by_the_shops_policy_from_the_bangkok_date(self):
        # 00:30 on 1 April in Bangkok: earned in April, year-end policy → 31 December 2026
        shop = ShopFactory(expiry_mode="year_end", tiers_enabled=False)
        a = MemberFactory(shop=shop)
        credit_many(shop, [Credit(a.pk, 10, "k")])
        lot = PointLot.objects.get()
        assert (lot.earned_on, lot.expires_on) == (dt.date(2026, 4, 1), dt.date(2026, 12, 31))

    def test_tiers_go_up_like_points_credit_and_never_down(self):
        shop = ShopFactory(expiry_mode="never", tiers_enabled=True, tier_window="lifetime")
        silver = TierFactory(shop=shop, threshold=100)
        gold = TierFactory(shop=shop, threshold=1000)
        up = MemberFactory(shop=shop)
        floor = MemberFactory(shop=shop, manual_tier=gold)
        stays = MemberFactory(shop=shop, tier=gold)  # set by hand above what it earned
        twin_shop = ShopFactory(expiry_mode="never", tiers_enabled=True, tier_window="lifetime")
        credit_many(
            shop, [Credit(up.pk, 150, "u"), Credit(floor.pk, 5, "f"), Credit(stays.pk, 5, "s")]
        )
        for member in (up, floor, stays):
            member.refresh_from_db()
        assert (up.tier, floor.tier, stays.tier) == (silver, gold, gold)
        # the same credit through points_credit gives the same tier
        twin_silver = TierFactory(shop=twin_shop, threshold=100)
        TierFactory(shop=twin_shop, threshold=1000)
        twin = MemberFactory(shop=twin_shop)
        services.points_credit(
            member=twin, kind=EntryKind.IMPORT, points=150, idempotency_key="u", actor=SYSTEM
        )
        twin.refresh_from_db()
        assert twin.tier == twin_silver


# --- concurrency (PostgreSQL row locks; SQLite serialises writers) ------------------------------


def threads_for(n: int) -> int:
    return n if connection.vendor == "postgresql" else min(n, 6)


@pytest.mark.django_db(transaction=True)
def test_bulk_credits_racing_spends_credits_and_reversals_keep_the_invariants():
    shop = ShopFactory(thb_per_point=Decimal("1.00"), expiry_mode="never", tiers_enabled=False)
    members = [MemberFactory(shop=shop) for _ in range(8)]
    for m in members:
        services.points_adjust(
            member=m, points=100, note="seed", idempotency_key=f"seed-{m.pk}", actor=SYSTEM
        )
    n = threads_for(12)

    def work(i: int):
        if i % 3 == 0:
            # an import chunk crediting every member, newest first (the service sorts the locks)
            return credit_many(
                shop, [Credit(m.pk, 7, f"bulk-{i}-{m.pk}") for m in reversed(members)]
            )
        member = members[i % len(members)]
        if i % 3 == 1:
            return services.points_spend(
                member=member, points=30, idempotency_key=f"spend-{i}", actor=SYSTEM
            )
        entry, _ = services.points_credit(
            member=member,
            kind=EntryKind.ACTIVITY,
            points=11,
            idempotency_key=f"act-{i}",
            actor=SYSTEM,
        )
        return services.entry_reverse(
            entry=entry, note="undo", idempotency_key=f"rev-{i}", actor=SYSTEM
        )

    results = run_concurrently(work, n)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert LedgerEntry.objects.filter(kind=EntryKind.IMPORT).count() == len(range(0, n, 3)) * 8
    assert_invariants(shop.pk)


@pytest.mark.django_db(transaction=True)
def test_the_same_bulk_sent_by_several_workers_at_once_credits_once():
    shop = ShopFactory(expiry_mode="never", tiers_enabled=False)
    members = [MemberFactory(shop=shop) for _ in range(5)]
    credits = [Credit(m.pk, 10, f"import:same:{m.pk}") for m in members]
    results = run_concurrently(lambda i: credit_many(shop, credits), threads_for(6))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r.credited) for r in results) == 5
    assert sum(len(r.replayed) for r in results) == 5 * (len(results) - 1)
    assert sorted(Member.objects.values_list("balance", flat=True)) == [10] * 5
    assert_invariants(shop.pk)


# --- set-based writes ---------------------------------------------------------------------------

TRICKY = [
    "plain",
    'with "quotes"',
    "back\\slash",
    "{braces}, commas",
    "NULL",
    " spaced ",
    "",
    "ไทย ☕",
]


@pytest.mark.django_db
class TestSetBasedWrites:
    @pytest.fixture
    def shop(self):
        return ShopFactory(expiry_mode="never", tiers_enabled=False)

    def test_insert_rows_gives_each_row_what_model_would(self, shop):
        from loyalty.bulk import insert_rows

        before = timezone.now()
        rows = [
            (f"+6689{i:07d}", TRICKY[i % len(TRICKY)], dt.date(1990, 1, 1 + i % 28))
            for i in range(30)
        ]
        returned = insert_rows(
            Member,
            ["phone", "first_name", "birthday"],
            rows,
            same={"shop_id": shop.pk, "status": Member.Status.PENDING},
            returning=("phone", "id"),
        )
        ids = dict(returned)
        assert sorted(ids) == sorted(r[0] for r in rows)
        members = {m.phone: m for m in Member.objects.filter(shop=shop)}
        for phone, first_name, birthday in rows:
            m = members[phone]
            assert (m.pk, m.first_name, m.birthday, m.status) == (
                ids[phone],
                first_name,
                birthday,
                "pending",
            )
            assert (m.balance, m.debt, m.last_name, m.tier_id, m.customer_id) == (
                0,
                0,
                "",
                None,
                None,
            )
            assert m.created_at >= before and m.updated_at >= before
        assert len({m.public_id for m in members.values()}) == 30  # a new UUID per row

    def test_insert_rows_in_several_statements_and_conflicts(self, shop, monkeypatch):
        from django.db import IntegrityError, transaction

        from loyalty import bulk

        monkeypatch.setattr(bulk, "_ARRAY_ROWS", 7)
        members = [MemberFactory(shop=shop) for _ in range(3)]
        through = Member.tags.through
        tags = [TagFactory(shop=shop) for _ in range(5)]
        links = [(m.pk, t.pk) for m in members for t in tags]
        assert (
            len(bulk.insert_rows(through, ["member_id", "tag_id"], links, returning=("id",))) == 15
        )
        # the same links again are skipped with ignore_conflicts, refused without
        assert (
            bulk.insert_rows(
                through,
                ["member_id", "tag_id"],
                links[:4],
                ignore_conflicts=True,
                returning=("id",),
            )
            == []
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            bulk.insert_rows(through, ["member_id", "tag_id"], links[:1])
        assert through.objects.filter(member__shop=shop).count() == 15

    def test_update_rows_sets_each_rows_values(self, shop, monkeypatch):
        from loyalty import bulk

        monkeypatch.setattr(bulk, "_ARRAY_ROWS", 4)
        members = [MemberFactory(shop=shop, note="old") for _ in range(10)]
        untouched = MemberFactory(shop=shop, note="old")
        now = timezone.now()
        changed = bulk.update_rows(
            Member,
            ["note", "birthday", "tier_id"],
            [
                (m.pk, TRICKY[i % len(TRICKY)], None if i % 2 else dt.date(2000, 1, 2), None)
                for i, m in enumerate(members)
            ],
            same={"updated_at": now},
        )
        assert changed == 10
        for i, m in enumerate(members):
            m.refresh_from_db()
            assert (m.note, m.birthday, m.updated_at) == (
                TRICKY[i % len(TRICKY)],
                None if i % 2 else dt.date(2000, 1, 2),
                now,
            )
        untouched.refresh_from_db()
        assert untouched.note == "old"
        assert bulk.update_rows(Member, ["note"], []) == 0


# --- new members with their opening points ------------------------------------------------------


def _ledger_of(shop) -> list[tuple]:
    """Everything a credit leaves, per member phone, without ids and times."""
    members = {m.pk: m for m in Member.objects.filter(shop=shop).select_related("tier")}
    out = []
    for m in sorted(members.values(), key=lambda m: m.phone):
        entries = [
            (
                e.kind,
                e.points,
                e.balance_after,
                e.idempotency_key,
                e.channel,
                e.note,
                e.reference,
                e.branch_id is not None,
                e.actor_kind,
                e.fingerprint
                == fingerprint(op="credit", kind=e.kind, member=m.pk, points=e.points),
            )
            for e in LedgerEntry.objects.filter(member=m).order_by("id")
        ]
        lots = [
            (
                lot.points,
                lot.remaining,
                lot.debt_paid,
                lot.earned_on,
                lot.available_on,
                lot.expires_on,
            )
            for lot in PointLot.objects.filter(member=m).order_by("id")
        ]
        out.append(
            (
                m.phone,
                m.status,
                m.balance,
                m.debt,
                m.tier.name if m.tier else None,
                m.tier_changed_at is not None,
                m.first_name,
                entries,
                lots,
            )
        )
    return out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tiers_enabled", "window", "expiry"),
    [
        (True, "lifetime", "never"),
        (True, "calendar_year", "months_after"),
        (True, "rolling_12", "year_end"),
        (False, "lifetime", "never"),
    ],
)
@time_machine.travel(dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.UTC), tick=False)
def test_new_members_with_opening_points_end_as_created_then_credited(
    tiers_enabled, window, expiry
):
    from loyalty.bulk import insert_rows
    from members.ledger.bulk import OpeningCredit, members_create_with_credits

    def shop_with_tiers():
        shop = ShopFactory(
            expiry_mode=expiry, expiry_months=3, tiers_enabled=tiers_enabled, tier_window=window
        )
        tiers = {
            name: TierFactory(shop=shop, name=name, threshold=t)
            for name, t in (("Base", 0), ("Silver", 100), ("Gold", 1000))
        }
        return shop, tiers

    rows = [
        # phone, first name, tier given in the file, status, points (None: no credit)
        ("+66810000001", "a", None, "pending", 150),
        ("+66810000002", "b", "Gold", "pending", 150),  # given above what the points reach
        ("+66810000003", "c", "Base", "pending", 5000),  # given below
        ("+66810000004", "d", None, "pending", None),
        ("+66810000005", "e", None, "pending", 0),  # refused: not above 0
        ("+66810000006", "f", None, "blocked", 10),  # refused: blocked
        ("+66810000007", "g", None, "pending", 10**9),  # refused: too many
        ("+66810000008", "h", None, "pending", 7),  # its key was used before: refused
        ("+66810000009", "i", None, "pending", 7),  # the same key as the row above
    ]
    results = []
    for way in ("created then credited", "created with credits"):
        shop, tiers = shop_with_tiers()
        branch = BranchFactory(shop=shop)
        old = MemberFactory(shop=shop, phone="+66899999999", first_name="old")
        services.points_credit(
            member=old, kind=EntryKind.IMPORT, points=3, idempotency_key="k8", actor=SYSTEM
        )
        fields = ["phone", "first_name", "tier_id", "status"]
        values = [(p, n, tiers[t].pk if t else None, s) for p, n, t, s, _pts in rows]
        keys = ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k8"]
        created_at = timezone.now()
        same = {"shop_id": shop.pk, "created_at": created_at}
        if way == "created then credited":
            # A member is created with the tier no points are needed for (``tier_start``), then
            # credited.
            def start(t):
                return t or "Base" if tiers_enabled else t

            created = [
                (
                    p,
                    n,
                    tiers[start(t)].pk if start(t) else None,
                    s,
                    created_at if start(t) != t else None,
                )
                for p, n, t, s, _pts in rows
            ]
            ids = dict(
                insert_rows(
                    Member,
                    [*fields, "tier_changed_at"],
                    created,
                    same=same,
                    returning=("phone", "id"),
                )
            )
            result = credit_many(
                shop,
                [
                    Credit(ids[p], pts, k, "ref")
                    for (p, _n, _t, _s, pts), k in zip(rows, keys, strict=True)
                    if pts is not None
                ],
                note="opening",
                branch=branch,
            )
        else:
            _ids, result = members_create_with_credits(
                shop=shop,
                fields=fields,
                rows=values,
                same=same,
                credits=[
                    None if pts is None else OpeningCredit(pts, k, "ref")
                    for (_p, _n, _t, _s, pts), k in zip(rows, keys, strict=True)
                ],
                kind=EntryKind.IMPORT,
                actor=SYSTEM,
                note="opening",
                branch=branch,
            )
        results.append(
            (
                _ledger_of(shop),
                sorted(result.credited),
                sorted((k, type(e).__name__) for k, e in result.refused.items()),
                sorted(result.replayed),
            )
        )
        assert_invariants(shop.pk)
    for then, now in zip(results[0][0], results[1][0], strict=True):
        assert then == now
    assert results[0][1:] == results[1][1:]
    ledger, credited, refused, _replayed = results[1]
    assert credited == ["k1", "k2", "k3"]
    assert refused == [
        ("k5", "InvalidAmount"),
        ("k6", "MemberNotActive"),
        ("k7", "TooManyPoints"),
        ("k8", "IdempotencyMismatch"),
    ]
    if tiers_enabled:
        # d has no credit: the base tier all the same, from the start
        assert [row[4] for row in ledger[:4]] == ["Silver", "Gold", "Gold", "Base"]
