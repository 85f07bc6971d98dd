"""The member card: what it shows, how many queries it costs, and its one-time QR code."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from loyalty.errors import InvalidInput
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from members.qr import (
    MemberCodeRefused,
    member_code_issue,
    member_code_resolve,
    member_codes_purge,
)
from members.qr_models import CODE_TTL, MemberCode
from shops.models import SeasonalBackground, Shop, Tier
from tests.factories import MemberFactory, SeasonalBackgroundFactory
from tests.line_fixtures import NOK, SOMCHAI
from tests.members.pages.conftest import branch_of, register, tiers_for

pytestmark = pytest.mark.django_db

CARD = reverse("member:card", kwargs={"shop_slug": "cafe"})
CODE = reverse("member:card_code", kwargs={"shop_slug": "cafe"})
NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)  # 10:00 in Bangkok


def _earn(member, amount, key, *, branch=None):
    return ledger.points_earn(
        shop=member.shop,
        member=member,
        amount=amount,
        branch=branch,
        idempotency_key=key,
        actor=Actor.system(channel="store"),
    )


def _shown_code(html: str) -> str:
    match = re.search(r"data-qr-code[^>]*>(\d{4} \d{4})<", html)
    assert match, "no code on the card"
    return match.group(1).replace(" ", "")


@time_machine.travel(NOW, tick=False)
def test_card_shows_name_balance_expiring_batches_and_a_qr_code(client, fake_line, line_shop):
    member = register(client, fake_line, line_shop, SOMCHAI)
    with time_machine.travel(dt.datetime(2026, 1, 15, 5, tzinfo=dt.UTC), tick=False):
        _earn(member, "2500", "jan")  # 100 points, expire 31 Jan 2027 (12 months)

    response = client.get(CARD)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Somchai Jaidee" in html
    assert response.context["card"].balance == 150
    assert 'data-testid="balance">150<' in html
    # batches: 100 from January → end of January 2027; 50 welcome today → end of November 2027
    batches = [(b.expires_on, b.points) for b in response.context["card"].expiring]
    assert batches == [(dt.date(2027, 1, 31), 100), (dt.date(2027, 11, 30), 50)]
    assert "31 ม.ค. 2570" in html  # Buddhist Era, the shop's choice
    assert "<svg" in html and 'class="member-qr-svg"' in html
    code = _shown_code(html)
    assert MemberCode.objects.get(code=code).member == member


@time_machine.travel(NOW, tick=False)
def test_card_dates_in_common_era_when_the_shop_says_so(client, fake_line, line_shop):
    Shop.objects.filter(pk=line_shop.pk).update(use_buddhist_era=False)
    register(client, fake_line, line_shop, SOMCHAI)

    html = client.get(CARD).content.decode()

    assert "30 พ.ย. 2027" in html


@time_machine.travel(NOW, tick=False)
def test_points_expiring_within_a_month_are_highlighted(client, fake_line, line_shop):
    member = register(client, fake_line, line_shop, SOMCHAI)  # 50 points until 30 Nov 2027
    ledger.points_credit(
        member=member,
        kind="activity",
        points=30,
        idempotency_key="survey-1",
        actor=Actor.system(),
        expires_on=dt.date(2026, 12, 10),
    )

    card = client.get(CARD).context["card"]

    assert [(b.expires_on, b.points, b.soon) for b in card.expiring] == [
        (dt.date(2026, 12, 10), 30, True),
        (dt.date(2027, 11, 30), 50, False),
    ]


@time_machine.travel(NOW, tick=False)
def test_tier_progress_says_what_is_needed_for_the_next_and_to_keep(client, fake_line, line_shop):
    silver, gold = tiers_for(line_shop)
    member = register(client, fake_line, line_shop, SOMCHAI)
    Member.objects.filter(pk=member.pk).update(tier=silver)

    response = client.get(CARD)

    progress = response.context["card"].progress
    assert progress.current == silver and progress.next == gold
    assert progress.points_to_next == 1000 - 50
    html = response.content.decode()
    assert "950" in html and "Gold" in html
    assert 'data-testid="tier-name">Silver<' in html


@time_machine.travel(NOW, tick=False)
def test_card_background_is_the_season_then_the_tier_then_the_shop(client, fake_line, line_shop):
    silver, _gold = tiers_for(line_shop)
    member = register(client, fake_line, line_shop, SOMCHAI)
    Member.objects.filter(pk=member.pk).update(tier=silver)
    assert client.get(CARD).context["card"].background_url == ""

    silver.card_background = SeasonalBackgroundFactory.build(shop=line_shop).image
    silver.save()
    assert client.get(CARD).context["card"].background_url == silver.card_background.url

    SeasonalBackgroundFactory(
        shop=line_shop, starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 11, 30)
    )
    SeasonalBackgroundFactory(  # over: not shown
        shop=line_shop, starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2026, 4, 30)
    )
    season = SeasonalBackground.objects.get(starts_on=dt.date(2026, 11, 1))
    assert client.get(CARD).context["card"].background_url == season.image.url


def test_rewards_link_is_disabled_until_the_rewards_pages_exist(client, fake_line, line_shop):
    from members.pages.selectors import rewards_url

    register(client, fake_line, line_shop, SOMCHAI)
    html = client.get(CARD).content.decode()

    if rewards_url(line_shop) is None:
        assert 'data-testid="rewards-link"' in html and "aria-disabled" in html
    else:  # the rewards issue has landed: the card links to it
        assert f'href="{rewards_url(line_shop)}"' in html


# --- queries ---------------------------------------------------------------------------------------


def _history(member, entries: int) -> None:
    branch = branch_of(member.shop)
    for n in range(entries):
        with time_machine.travel(NOW - dt.timedelta(days=3 * n), tick=False):
            _earn(member, "100", f"h-{member.pk}-{n}", branch=branch)


def _card_queries(client, member, django_assert_num_queries, *, queries: int) -> list[str]:
    from django.db import connection

    # SQLite probes once per connection whether it has JSON (a JSONField exists since the LINE
    # webhook's events): a feature check, not a query of the card.
    assert connection.features.supports_json_field is not None
    with django_assert_num_queries(queries) as captured:
        response = client.get(CARD)
    assert response.status_code == 200
    card = response.context["card"]
    assert response.context["member"] == member
    assert card.progress.enabled and card.progress.current and card.progress.next
    assert card.expiring
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db(transaction=True)
def test_card_makes_at_most_4_queries_whatever_the_history(
    client, fake_line, line_shop, django_assert_num_queries
):
    """The card's budget (members/pages/selectors.py): 1. the session; 2. the member with its
    shop, tier, next tier, seasonal background, current QR code, phone claim and the points
    earned in the tier window; 3. the open points by expiry date; 4. the INSERT of a new QR code
    (only when none of the last minute is unused: a reload within the minute writes nothing).

    Transactional, as in production: the request runs in autocommit, not inside a test's
    transaction (whose savepoints would be counted as queries)."""
    from django.test import Client

    # given a shop with tiers and a season, and two members on a tier with a next tier, one with
    # a long history, one with a pending phone claim
    silver, _gold = tiers_for(line_shop)
    SeasonalBackgroundFactory(
        shop=line_shop, starts_on=dt.date(2020, 1, 1), ends_on=dt.date(2099, 12, 31)
    )
    short = register(client, fake_line, line_shop, SOMCHAI)
    other = Client()
    long = register(other, fake_line, line_shop, NOK, phone="0899999999")
    Member.objects.filter(pk__in=[short.pk, long.pk]).update(tier=silver)
    _history(short, 1)
    _history(long, 120)

    # (SQLite probes its JSON support with a query the first time a process needs it: done here,
    # so that running this test alone counts the card's queries only)
    from django.db import connection

    assert connection.features.supports_json_field is not None
    assert connection.features.has_json_object_function is not None

    # when each opens the card (a new QR code), then reloads it within the minute
    first_short = _card_queries(client, short, django_assert_num_queries, queries=4)
    first_long = _card_queries(other, long, django_assert_num_queries, queries=4)
    reload_short = _card_queries(client, short, django_assert_num_queries, queries=3)
    reload_long = _card_queries(other, long, django_assert_num_queries, queries=3)

    # then the queries are the same whatever the history: session, member, lots (+ the code)
    for first, reload in ((first_short, reload_short), (first_long, reload_long)):
        assert "django_session" in first[0] and "django_session" in reload[0]
        assert "members_member" in first[1] and "members_ledgerentry" in first[1]
        assert "members_pointlot" in first[2]
        assert first[3].startswith("INSERT") and "members_membercode" in first[3]
        assert "members_member" in reload[1] and "members_pointlot" in reload[2]


def _progress_both_ways(member, today):
    """The card's tier progress (from the member row) and the ledger's own ``tier_progress``."""
    from members.ledger.selectors import tier_progress
    from members.pages.selectors import card_tier_progress, for_card

    loaded = for_card(Member.objects.select_related("shop", "tier").filter(pk=member.pk)).get()
    return card_tier_progress(loaded, today=today), tier_progress(
        Member.objects.select_related("shop", "tier").get(pk=member.pk), today=today
    )


def _same(card, ledger) -> None:
    assert card.enabled == ledger.enabled
    assert card.current == ledger.current and card.next == ledger.next
    if card.next is not None:
        assert (card.next.name, card.next.colour, card.next.threshold) == (
            ledger.next.name,
            ledger.next.colour,
            ledger.next.threshold,
        )
    assert card.earned == ledger.earned
    assert card.points_to_next == ledger.points_to_next
    assert card.points_to_keep == ledger.points_to_keep
    assert card.window_start == ledger.window_start and card.keep_by == ledger.keep_by
    assert card.percent_to_next == ledger.percent_to_next


@pytest.mark.parametrize("window", ["lifetime", "calendar_year", "rolling_12"])
@pytest.mark.parametrize("cycle", ["monthly", "yearly"])
def test_the_cards_tier_progress_agrees_with_the_ledgers_rule(line_shop, window, cycle):
    """The card reads the points earned in the tier window and the next tier from the member's
    row (one query less each); the ledger's ``tier_progress`` is the rule, and they agree: every
    kind of window, entries just outside it, a reversal, no tier, a manual floor, tiers off."""
    from members.ledger.models import LedgerEntry

    silver, gold = tiers_for(line_shop)
    platinum = Tier.objects.create(shop=line_shop, name="Platinum", threshold=5000)
    Shop.objects.filter(pk=line_shop.pk).update(tier_window=window, tier_cycle=cycle)
    member = MemberFactory(shop=line_shop, tier=None)
    moments = [
        dt.datetime(2024, 6, 1, 5, tzinfo=dt.UTC),  # outside every window but lifetime
        dt.datetime(2025, 11, 23, 18, tzinfo=dt.UTC),  # 24 Nov 2025 01:00 Bangkok: rolling edge
        dt.datetime(2025, 12, 31, 16, 59, tzinfo=dt.UTC),  # 23:59 on 31 Dec in Bangkok
        dt.datetime(2026, 1, 1, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 23, 17, 30, tzinfo=dt.UTC),  # 00:30 on 24 Nov in Bangkok
    ]
    for n, moment in enumerate(moments):
        with time_machine.travel(moment, tick=False):
            _earn(member, str(2500 * (n + 1)), f"agree-{n}")
    with time_machine.travel(NOW, tick=False):
        reversed_earn = LedgerEntry.objects.filter(member=member, kind="earn").latest("id")
        ledger.entry_reverse(
            entry=reversed_earn,
            note="returned",
            idempotency_key="agree-reverse",
            actor=Actor.system(),
        )
        ledger.points_credit(
            member=member,
            kind="activity",
            points=7,
            idempotency_key="agree-a",
            actor=Actor.system(),
        )
    today = dt.date(2026, 11, 24)

    with time_machine.travel(NOW, tick=False):
        for tier, floor in (
            (None, None),
            (silver, None),
            (gold, None),
            (gold, gold),
            (platinum, None),
        ):
            Member.objects.filter(pk=member.pk).update(tier=tier, manual_tier=floor)
            _same(*_progress_both_ways(member, today))
        Shop.objects.filter(pk=line_shop.pk).update(tiers_enabled=False)
        card, rule = _progress_both_ways(member, today)
        assert not card.enabled and not rule.enabled
        Shop.objects.filter(pk=line_shop.pk).update(tiers_enabled=True)
        Tier.objects.filter(shop=line_shop).delete()
        card, rule = _progress_both_ways(member, today)
        assert not card.enabled and not rule.enabled


# --- the QR code -----------------------------------------------------------------------------------


def test_a_reload_within_the_minute_shows_the_same_code_then_a_new_one(member_client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = _shown_code(member_client.get(CARD).content.decode())
    with time_machine.travel(start + dt.timedelta(seconds=40), tick=False):
        again = member_client.get(CARD)
        assert _shown_code(again.content.decode()) == first
        assert 'data-refresh-seconds="20"' in again.content.decode()
    with time_machine.travel(start + dt.timedelta(seconds=61), tick=False):
        later = _shown_code(member_client.get(CARD).content.decode())

    assert later != first
    assert MemberCode.objects.filter(member=member_client.member).count() == 2


def test_a_used_code_is_never_shown_again(member_client, line_shop):
    first = _shown_code(member_client.get(CARD).content.decode())
    member_code_resolve(shop=line_shop, code=first)

    assert _shown_code(member_client.get(CARD).content.decode()) != first


def test_the_refresh_always_issues_a_new_code(member_client):
    first = _shown_code(member_client.get(CARD).content.decode())

    refreshed = member_client.post(CODE).json()

    assert refreshed["code"] != first and len(refreshed["code"]) == 8
    assert refreshed["grouped"] == f"{refreshed['code'][:4]} {refreshed['code'][4:]}"
    assert refreshed["svg"].startswith("<svg") and refreshed["refresh_in"] == 60
    assert MemberCode.objects.filter(member=member_client.member).count() == 2
    # and the card, reloaded now, shows the refreshed code
    assert _shown_code(member_client.get(CARD).content.decode()) == refreshed["code"]


def test_the_refresh_needs_a_signed_in_member(client, fake_line, line_shop):
    response = client.post(CODE)

    assert response.status_code == 302
    assert not MemberCode.objects.exists()


def test_the_refresh_is_a_post_with_csrf(member_client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.cookies = member_client.cookies

    assert member_client.get(CODE).status_code == 405
    assert strict.post(CODE).status_code == 403


@pytest.mark.usefixtures("english")
def test_cashier_resolves_a_code_once(line_shop):
    member = MemberFactory(shop=line_shop)
    code = member_code_issue(member=member)

    assert member_code_resolve(shop=line_shop, code=f"{code.code[:4]} {code.code[4:]}") == member
    with pytest.raises(MemberCodeRefused) as refused:
        member_code_resolve(shop=line_shop, code=code.code)
    assert refused.value.code == "member_code_used"
    assert "already been used" in str(refused.value)


def test_an_expired_code_is_refused(line_shop):
    member = MemberFactory(shop=line_shop)
    code = member_code_issue(member=member)

    with pytest.raises(MemberCodeRefused) as refused:
        member_code_resolve(shop=line_shop, code=code.code, now=timezone.now() + CODE_TTL)
    assert refused.value.code == "member_code_expired"
    assert MemberCode.objects.get(pk=code.pk).used_at is None


def test_a_code_still_works_a_little_after_the_card_refreshed(line_shop):
    member = MemberFactory(shop=line_shop)
    code = member_code_issue(member=member)
    member_code_issue(member=member)  # the card refreshed after a minute

    later = timezone.now() + dt.timedelta(seconds=90)
    assert member_code_resolve(shop=line_shop, code=code.code, now=later) == member


def test_another_shops_code_is_unknown_here(line_shop, other_shop):
    code = member_code_issue(member=MemberFactory(shop=other_shop))

    with pytest.raises(MemberCodeRefused) as refused:
        member_code_resolve(shop=line_shop, code=code.code)
    assert refused.value.code == "member_code_unknown"
    assert MemberCode.objects.get(pk=code.pk).used_at is None


@pytest.mark.parametrize("typed", ["1234", "abcd efgh", "123456789", ""])
def test_a_code_that_is_not_8_digits_is_refused_clearly(line_shop, typed):
    with pytest.raises(InvalidInput):
        member_code_resolve(shop=line_shop, code=typed)


def test_thai_digits_are_read(line_shop):
    member = MemberFactory(shop=line_shop)
    code = member_code_issue(member=member)
    thai = code.code.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))

    assert member_code_resolve(shop=line_shop, code=thai) == member


def test_a_member_who_is_no_longer_registered_cannot_be_resolved_or_get_a_code(line_shop):
    member = MemberFactory(shop=line_shop)
    code = member_code_issue(member=member)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)

    with pytest.raises(MemberCodeRefused):
        member_code_resolve(shop=line_shop, code=code.code)
    member.refresh_from_db()
    with pytest.raises(MemberCodeRefused):
        member_code_issue(member=member)


def test_old_codes_are_purged_after_a_day(line_shop):
    member = MemberFactory(shop=line_shop)
    old = member_code_issue(member=member, now=timezone.now() - dt.timedelta(days=2))
    fresh = member_code_issue(member=member)

    assert member_codes_purge() == 1
    assert list(MemberCode.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert old.pk != fresh.pk


def test_codes_are_unique_per_shop_in_the_database(line_shop, other_shop):
    from django.db import IntegrityError, transaction

    code = member_code_issue(member=MemberFactory(shop=line_shop))
    same_elsewhere = MemberCode.objects.create(
        shop=other_shop,
        member=MemberFactory(shop=other_shop),
        code=code.code,
        expires_at=code.expires_at,
    )
    assert same_elsewhere.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberCode.objects.create(
            shop=line_shop, member=code.member, code=code.code, expires_at=code.expires_at
        )


def test_the_replayed_card_query_reads_what_for_card_reads(line_shop):
    """``members.pages.card_query`` runs ``for_card``'s SQL compiled once with each view's own
    parameters: for two members, fresh and stale QR codes, and the open points by expiry date."""
    from members.pages import card_query
    from members.pages.selectors import for_card, points_by_expiry_query

    tiers_for(line_shop)
    line_shop.refresh_from_db()
    first, second = MemberFactory(shop=line_shop), MemberFactory(shop=line_shop)
    with time_machine.travel(NOW - dt.timedelta(days=40), tick=False):
        _earn(first, "2500", "old")
    with time_machine.travel(NOW, tick=False):
        _earn(first, "300", "new")
        _earn(second, "26000", "big")
        code = member_code_issue(member=second)
    fields = ["pk", "balance", "tier_id", "season_image", "card_code", "card_code_at"]
    fields += ["claim_phone", "claim_status", "next_tier", "tier_earned"]
    card_query._compiled.clear()
    for now in (NOW, NOW + dt.timedelta(seconds=30), NOW + dt.timedelta(minutes=2)):
        for member in (first, second):
            base = Member.objects.filter(shop=line_shop, phone=member.phone).select_related(
                "shop", "tier"
            )
            replay = card_query.card_members(base, now=now)
            assert isinstance(replay, card_query.CardMembers)
            got, want = replay.first(), for_card(base, now=now).first()
            assert [getattr(got, f) for f in fields] == [getattr(want, f) for f in fields]
            assert got.shop == want.shop and got.tier == want.tier
            assert got.shop.name == line_shop.name and got.tier.name == want.tier.name
            today = timezone.localdate(now)
            rows = [
                (r["expires_on"], r["points"], r["pending"])
                for r in points_by_expiry_query(member.pk, today=today)
            ]
            assert card_query.points_by_expiry_rows(member, today=today) == rows
            assert rows
    shown = card_query.card_members(
        Member.objects.filter(pk=second.pk).select_related("shop", "tier"),
        now=NOW + dt.timedelta(seconds=30),
    ).first()
    assert shown.card_code == code.code
    none = card_query.card_members(Member.objects.filter(pk=-1).select_related("shop", "tier"))
    assert none.first() is None


def test_a_member_query_the_replay_cannot_key_takes_the_orm(line_shop):
    from members.pages import card_query

    member = MemberFactory(shop=line_shop)
    for members in (
        Member.objects.all(),  # no WHERE clause
        Member.objects.filter(pk__in=[]),  # nothing can match
        Member.objects.filter(pk=member.pk).only("pk"),  # deferred fields
    ):
        found = card_query.card_members(members).first()
        assert not isinstance(found, card_query.CardMembers)
        assert found is None or found.pk == member.pk
