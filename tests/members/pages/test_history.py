"""The history page: the ledger in a member's words, newest first, paginated, Thai dates."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import LedgerEntry
from members.pages.selectors import HISTORY_PAGE
from shops.models import Shop
from tests.line_fixtures import SOMCHAI
from tests.members.pages.conftest import branch_of, register

pytestmark = pytest.mark.django_db

HISTORY = reverse("member:history", kwargs={"shop_slug": "cafe"})
NOW = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.UTC)


@time_machine.travel(NOW, tick=False)
@pytest.mark.usefixtures("english")
def test_history_tells_each_entry_in_the_members_words(client, fake_line, line_shop):
    member = register(client, fake_line, line_shop, SOMCHAI)
    store = Actor.system(channel="store")
    earned = ledger.points_earn(
        shop=line_shop,
        member=member,
        amount="1250.00",
        branch=branch_of(line_shop),
        idempotency_key="buy-1",
        actor=store,
    )
    ledger.points_spend(
        member=member,
        points=30,
        idempotency_key="redeem-1",
        actor=store,
        note="Free latte",
        reference="Free latte",
    )
    ledger.purchase_reverse(
        purchase=earned.purchase, note="refund", idempotency_key="refund-1", actor=store
    )

    response = client.get(HISTORY)

    titles = [(line.title, line.detail, line.points) for line in response.context["lines"]]
    assert titles == [
        ("Purchase cancelled", "Siam", -50),
        ("Used for Free latte", "", -30),
        ("Purchase at Siam", "Spent 1,250.00 baht", 50),
        ("Welcome points", "Thank you for joining", 50),
    ]
    html = response.content.decode()
    assert ">+50<" in html and ">-30<" in html
    client.post(reverse("set_language"), {"language": "th", "next": HISTORY})  # the switch
    thai = client.get(HISTORY).content.decode()
    assert "24 พ.ย. 2569 10:00 น." in thai  # Bangkok time, Buddhist Era
    assert "ซื้อที่ Siam" in thai  # the titles are translated too


@time_machine.travel(NOW, tick=False)
def test_history_dates_in_common_era_when_the_shop_says_so(client, fake_line, line_shop):
    Shop.objects.filter(pk=line_shop.pk).update(use_buddhist_era=False)
    register(client, fake_line, line_shop, SOMCHAI)

    assert "24 พ.ย. 2026" in client.get(HISTORY).content.decode()


@pytest.mark.usefixtures("english")
def test_expired_points_say_so(client, fake_line, line_shop):
    from members.ledger.jobs import points_expire_due

    with time_machine.travel(dt.datetime(2025, 1, 10, 5, tzinfo=dt.UTC), tick=False):
        member = register(client, fake_line, line_shop, SOMCHAI)  # expire 31 Jan 2026
    with time_machine.travel(dt.datetime(2026, 2, 2, 5, tzinfo=dt.UTC), tick=False):
        points_expire_due()
        # the 2025 sign-in has long expired: sign in again
        from tests.members.pages.conftest import liff_sign_in

        liff_sign_in(client, fake_line, line_shop, SOMCHAI)
        lines = client.get(HISTORY).context["lines"]

    assert (lines[0].title, lines[0].points) == ("Points expired", -50)
    assert member.pk


def test_history_pages_go_back_in_time_without_sequential_ids(client, fake_line, line_shop):
    member = register(client, fake_line, line_shop, SOMCHAI)
    for n in range(HISTORY_PAGE + 5):
        ledger.points_adjust(
            member=member,
            points=1,
            note=f"bonus {n}",
            idempotency_key=f"adj-{n}",
            actor=Actor.system(),
        )

    first = client.get(HISTORY)
    assert len(first.context["lines"]) == HISTORY_PAGE
    cursor = first.context["next_cursor"]
    assert f"?before={cursor}" in first.content.decode()
    second = client.get(HISTORY, {"before": str(cursor)})

    seen = [line.entry.pk for line in first.context["lines"] + second.context["lines"]]
    assert seen == list(
        LedgerEntry.objects.filter(member=member).order_by("-id").values_list("pk", flat=True)
    )
    assert second.context["next_cursor"] is None


@pytest.mark.usefixtures("english")
def test_a_cursor_of_someone_elses_entry_shows_the_first_page(client, fake_line, line_shop):
    from tests.factories import MemberFactory

    register(client, fake_line, line_shop, SOMCHAI)
    stranger = MemberFactory(shop=line_shop)
    entry, _ = ledger.points_adjust(
        member=stranger, points=5, note="x", idempotency_key="s-1", actor=Actor.system()
    )

    response = client.get(HISTORY, {"before": str(entry.public_id)})

    assert [line.title for line in response.context["lines"]] == ["Welcome points"]
    assert client.get(HISTORY, {"before": "not-a-uuid"}).status_code == 200


@pytest.mark.usefixtures("english")
def test_an_empty_history_invites_to_collect(client, fake_line, line_shop):
    Shop.objects.filter(pk=line_shop.pk).update(welcome_points=0)
    register(client, fake_line, line_shop, SOMCHAI)

    response = client.get(HISTORY)

    assert response.context["lines"] == []
    assert b"No points yet" in response.content
