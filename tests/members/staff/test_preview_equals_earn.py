"""The staff app's live preview and the earn write price a spend with the same function
(``ledger.points_quote``): whatever the shop's rate, minimum spend, most points per entry and the
member's tier multiplier, the preview shows exactly the points ``points_earn`` then credits, or the
same refusal."""

import itertools
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.errors import ApplicationError
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import LedgerEntry
from shops.models import Shop
from tests.factories import TierFactory

_keys = itertools.count()
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amount=money,
    thb_per_point=st.sampled_from([Decimal("0.03"), Decimal("1.00"), Decimal("25.00")]),
    min_spend=st.sampled_from([Decimal("0"), Decimal("100.00")]),
    cap=st.sampled_from([50, 100_000, 100_000_000]),
    multiplier=st.sampled_from([None, Decimal("1.00"), Decimal("1.50"), Decimal("3.00")]),
    tiers_enabled=st.booleans(),
)
def test_the_preview_shows_what_the_earn_credits(
    cashier_client, staff_shop, member, amount, thb_per_point, min_spend, cap, multiplier,
    tiers_enabled,
):  # fmt: skip
    # given a shop's pricing and a member in a tier (or none)
    Shop.objects.filter(pk=staff_shop.pk).update(
        thb_per_point=thb_per_point,
        min_spend=min_spend,
        max_points_per_entry=cap,
        tiers_enabled=tiers_enabled,
    )
    shop = Shop.objects.get(pk=staff_shop.pk)
    tier = None
    if multiplier is not None:
        tier = TierFactory(shop=shop, threshold=0, earn_multiplier=multiplier)
    member.tier = tier
    member.save(update_fields=["tier"])
    member.refresh_from_db()

    # when the cashier types the amount, then adds the points
    shown = cashier_client.get(
        reverse("staff:preview"), {"amount": str(amount), "member": str(member.public_id)}
    ).json()
    entries = LedgerEntry.objects.count()
    try:
        result = ledger.points_earn(
            shop=shop,
            member=member,
            amount=str(amount),
            idempotency_key=f"quote-{next(_keys)}",
            actor=Actor.system(channel="store"),
        )
    except ApplicationError as exc:
        refused = str(exc)
    else:
        refused = None

    # then the preview showed those points, or the same refusal
    if refused is None:
        assert shown["ok"] is True, shown
        assert shown["points"] == result.points == result.entry.points
        assert shown["multiplier"] == str(tier.earn_multiplier if tier and tiers_enabled else "1")
    else:
        assert shown == {"ok": False, "error": refused}
        assert LedgerEntry.objects.count() == entries
    if tier is not None:
        tier.delete()
