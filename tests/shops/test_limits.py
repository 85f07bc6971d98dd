"""Per-shop limits and range checks, through the real admin forms as the shop owner.

Each refusal must show a clear message and leave the database as it was.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from loyalty.errors import LimitReached
from shops import services
from shops.models import Branch, ContactChannel, Shop, Tag, Tier
from tests.admin_forms import admin_change_data, errors_text, inline_prefix
from tests.factories import BranchFactory, ContactChannelFactory, TagFactory, TierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _tier_post(name: str, threshold: int) -> dict:
    return {
        "name": name,
        "threshold": str(threshold),
        "earn_multiplier": "1.00",
        "benefits": "",
        "colour": "#9CA3AF",
    }


def _shop_change_page(client, shop):
    response = client.get(reverse("admin:shops_shop_change", args=[shop.pk]))
    assert response.status_code == 200
    return response


def _post_channels(client, shop, channels: list[tuple[str, str]], **shop_changes):
    """Post the shop change form with exactly ``channels`` in the contact-channel inline
    (existing rows kept in order, the rest added as new rows)."""
    page = _shop_change_page(client, shop)
    data = admin_change_data(page)
    data.update(shop_changes)
    prefix = inline_prefix(page, ContactChannel)
    initial = int(data[f"{prefix}-INITIAL_FORMS"])
    for i, (kind, value) in enumerate(channels[initial:], start=initial):
        data[f"{prefix}-{i}-kind"] = kind
        data[f"{prefix}-{i}-value"] = value
        data[f"{prefix}-{i}-order"] = str(i)
    data[f"{prefix}-TOTAL_FORMS"] = str(max(len(channels), initial))
    return client.post(reverse("admin:shops_shop_change", args=[shop.pk]), data)


# --- tiers ------------------------------------------------------------------------------------


def test_sixth_tier_is_refused_with_a_message_and_nothing_saved(owner_client, shop):
    # given five tiers, the default limit
    for i in range(5):
        TierFactory(shop=shop, name=f"T{i}", threshold=i * 100)

    # when the owner adds a sixth through the admin
    response = owner_client.post(reverse("admin:shops_tier_add"), _tier_post("Diamond", 9000))

    # then the form is shown again with the limit, and the shop still has five tiers
    assert response.status_code == 200
    assert "at most 5 tiers" in errors_text(response)
    assert "A shop can have at most 5 tiers." in response.content.decode()
    assert Tier.objects.filter(shop=shop).count() == 5
    assert not Tier.objects.filter(name="Diamond").exists()


def test_fifth_tier_is_still_accepted(owner_client, shop):
    for i in range(4):
        TierFactory(shop=shop, name=f"T{i}", threshold=i * 100)

    response = owner_client.post(reverse("admin:shops_tier_add"), _tier_post("Diamond", 9000))

    assert response.status_code == 302, errors_text(response)
    assert Tier.objects.filter(shop=shop).count() == 5


def test_other_shops_tiers_do_not_count_towards_the_limit(owner_client, shop, other_shop):
    for i in range(5):
        TierFactory(shop=other_shop, threshold=i * 100)

    response = owner_client.post(reverse("admin:shops_tier_add"), _tier_post("Gold", 1000))

    assert response.status_code == 302, errors_text(response)
    assert Tier.objects.get(name="Gold").shop == shop


def test_tier_limit_is_a_setting(owner_client, shop, settings):
    # given the limit lowered to 2 and two tiers
    settings.LOYALTY_MAX_TIERS = 2
    TierFactory(shop=shop, name="Silver", threshold=0)
    TierFactory(shop=shop, name="Gold", threshold=1000)

    # when a third is added
    response = owner_client.post(reverse("admin:shops_tier_add"), _tier_post("Platinum", 5000))

    # then it is refused with the new limit in the message
    assert "at most 2 tiers" in errors_text(response)
    assert Tier.objects.filter(shop=shop).count() == 2


def test_raising_the_tier_limit_allows_a_sixth(owner_client, shop, settings):
    settings.LOYALTY_MAX_TIERS = 6
    for i in range(5):
        TierFactory(shop=shop, threshold=i * 100)

    response = owner_client.post(reverse("admin:shops_tier_add"), _tier_post("Diamond", 9000))

    assert response.status_code == 302, errors_text(response)
    assert Tier.objects.filter(shop=shop).count() == 6


def test_shop_row_save_refuses_the_sixth_tier_with_limit_reached(shop):
    for i in range(5):
        TierFactory(shop=shop, threshold=i * 100)

    with pytest.raises(LimitReached) as excinfo:
        services.shop_row_save(row=Tier(shop=shop, name="Diamond", threshold=9000))

    assert excinfo.value.code == "limit_reached"
    assert "at most 5 tiers" in str(excinfo.value)
    assert Tier.objects.filter(shop=shop).count() == 5


def test_shop_row_save_lets_other_validation_errors_through_unchanged(shop):
    from django.core.exceptions import ValidationError

    TierFactory(shop=shop, name="Gold", threshold=1000)

    with pytest.raises(ValidationError) as excinfo:
        services.shop_row_save(row=Tier(shop=shop, name="Gold", threshold=2000))

    assert not isinstance(excinfo.value, LimitReached)
    assert "Another tier already has this name." in excinfo.value.messages


def test_editing_a_tier_when_at_the_limit_is_allowed(owner_client, shop):
    tiers = [TierFactory(shop=shop, name=f"T{i}", threshold=i * 100) for i in range(5)]

    response = owner_client.post(
        reverse("admin:shops_tier_change", args=[tiers[0].pk]), _tier_post("Entry", 0)
    )

    assert response.status_code == 302, errors_text(response)
    tiers[0].refresh_from_db()
    assert tiers[0].name == "Entry"


def test_limit_refused_under_the_lock_is_shown_as_a_message_not_a_500(owner_client, shop):
    """The form allowed the row, but the service (under the shop's lock) found the limit reached,
    as when two owners add the last allowed tier at the same moment."""
    from unittest import mock

    def refuse(*, row, actor=None):
        raise LimitReached("A shop can have at most 5 tiers.")

    with mock.patch.object(services, "shop_row_save", side_effect=refuse):
        response = owner_client.post(
            reverse("admin:shops_tier_add"), _tier_post("Gold", 1000), follow=True
        )

    assert response.status_code == 200
    assert "at most 5 tiers" in response.content.decode()
    assert not Tier.objects.filter(name="Gold").exists()


# --- tags -------------------------------------------------------------------------------------


def test_eleventh_tag_is_refused_with_a_message_and_nothing_saved(owner_client, shop):
    for i in range(10):
        TagFactory(shop=shop, name=f"tag-{i}")

    response = owner_client.post(
        reverse("admin:shops_tag_add"), {"name": "one-too-many", "colour": "#6B7280"}
    )

    assert response.status_code == 200
    assert "at most 10 tags" in errors_text(response)
    assert "A shop can have at most 10 tags." in response.content.decode()
    assert Tag.objects.filter(shop=shop).count() == 10


def test_tag_limit_is_a_setting(owner_client, shop, settings):
    settings.LOYALTY_MAX_TAGS = 1
    TagFactory(shop=shop, name="VIP")

    response = owner_client.post(
        reverse("admin:shops_tag_add"), {"name": "New", "colour": "#6B7280"}
    )

    assert "at most 1 tags" in errors_text(response)
    assert Tag.objects.filter(shop=shop).count() == 1


def test_duplicate_tag_name_is_refused(owner_client, shop):
    TagFactory(shop=shop, name="VIP")

    response = owner_client.post(
        reverse("admin:shops_tag_add"), {"name": " VIP ", "colour": "#6B7280"}
    )

    assert "A tag with this name already exists." in errors_text(response)
    assert Tag.objects.filter(shop=shop).count() == 1


# --- contact channels -------------------------------------------------------------------------


def _eleven_channels(shop) -> list[tuple[str, str]]:
    channels = [("website", f"https://branch{i}.example.com") for i in range(11)]
    for i, (kind, value) in enumerate(channels):
        ContactChannelFactory(shop=shop, kind=kind, value=value, order=i)
    return channels


def test_twelfth_contact_channel_is_refused_with_a_message_and_nothing_saved(owner_client, shop):
    # given eleven channels
    channels = _eleven_channels(shop)

    # when the owner submits the shop form with a twelfth row in the inline
    response = _post_channels(
        owner_client, shop, [*channels, ("facebook", "https://facebook.com/x")], name="Renamed"
    )

    # then the page says why, and neither the channel nor the rest of the form was saved
    assert response.status_code == 200
    assert "at most 11 contact channels" in errors_text(response)
    assert "A shop can list at most 11 contact channels." in response.content.decode()
    assert ContactChannel.objects.filter(shop=shop).count() == 11
    shop.refresh_from_db()
    assert shop.name == "Shop A"


def test_eleventh_contact_channel_is_accepted(owner_client, shop):
    channels = [("website", f"https://branch{i}.example.com") for i in range(10)]
    for i, (kind, value) in enumerate(channels):
        ContactChannelFactory(shop=shop, kind=kind, value=value, order=i)

    response = _post_channels(owner_client, shop, [*channels, ("phone", "081-234-5678")])

    assert response.status_code == 302, errors_text(response)
    assert ContactChannel.objects.filter(shop=shop).count() == 11
    # stored normalised, as the validators promise
    assert ContactChannel.objects.filter(shop=shop, kind="phone", value="+66812345678").exists()


def test_replacing_a_channel_when_at_the_limit_is_allowed(owner_client, shop):
    """Deleting one row and adding another in the same save keeps the count at the limit."""
    channels = _eleven_channels(shop)
    page = _shop_change_page(owner_client, shop)
    data = admin_change_data(page)
    prefix = inline_prefix(page, ContactChannel)
    data[f"{prefix}-0-DELETE"] = "on"
    data[f"{prefix}-11-kind"] = "line"
    data[f"{prefix}-11-value"] = "@cafearoi"
    data[f"{prefix}-11-order"] = "11"
    data[f"{prefix}-TOTAL_FORMS"] = str(len(channels) + 1)

    response = owner_client.post(reverse("admin:shops_shop_change", args=[shop.pk]), data)

    assert response.status_code == 302, errors_text(response)
    values = set(ContactChannel.objects.filter(shop=shop).values_list("value", flat=True))
    assert len(values) == 11
    assert "@cafearoi" in values
    assert channels[0][1] not in values


def test_contact_channel_limit_is_a_setting(owner_client, shop, settings):
    settings.LOYALTY_MAX_CONTACT_CHANNELS = 2
    channels = [("website", "https://a.example.com"), ("website", "https://b.example.com")]
    for i, (kind, value) in enumerate(channels):
        ContactChannelFactory(shop=shop, kind=kind, value=value, order=i)

    response = _post_channels(owner_client, shop, [*channels, ("line", "@third")])

    assert "at most 2 contact channels" in errors_text(response)
    assert ContactChannel.objects.filter(shop=shop).count() == 2


def test_contact_channel_limit_holds_in_the_service_too(shop):
    """The admin's formset check is for the message; the service checks again under the lock."""
    channels = [
        ContactChannel(shop=shop, kind="website", value=f"https://s{i}.example.com")
        for i in range(12)
    ]

    with pytest.raises(LimitReached):
        services.contact_channels_set(shop=shop, save=channels, delete=[])

    assert ContactChannel.objects.filter(shop=shop).count() == 0


def test_invalid_contact_channel_shows_the_field_error(owner_client, shop):
    response = _post_channels(owner_client, shop, [("lazada", "https://shopee.co.th/cafearoi")])

    assert response.status_code == 200
    assert "This link should point to lazada.co.th." in errors_text(response)
    assert ContactChannel.objects.filter(shop=shop).count() == 0


# --- expiry -----------------------------------------------------------------------------------


def test_expiry_of_thirty_months_is_refused_with_a_message_and_nothing_saved(owner_client, shop):
    page = _shop_change_page(owner_client, shop)
    data = admin_change_data(page)
    data.update(expiry_mode="months_after", expiry_months="30", name="Renamed")

    response = owner_client.post(reverse("admin:shops_shop_change", args=[shop.pk]), data)

    assert response.status_code == 200
    message = response.context["adminform"].form.errors["expiry_months"][0]
    assert message == "Ensure this value is less than or equal to 24."
    assert message in response.content.decode()
    shop.refresh_from_db()
    assert (shop.expiry_months, shop.name) == (12, "Shop A")


def test_expiry_of_twenty_four_months_is_accepted(owner_client, shop):
    page = _shop_change_page(owner_client, shop)
    data = admin_change_data(page)
    data.update(expiry_mode="months_after", expiry_months="24")

    response = owner_client.post(reverse("admin:shops_shop_change", args=[shop.pk]), data)

    assert response.status_code == 302, errors_text(response)
    shop.refresh_from_db()
    assert (shop.expiry_mode, shop.expiry_months) == ("months_after", 24)


def test_database_refuses_an_expiry_beyond_twenty_four_months(shop):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Shop.objects.filter(pk=shop.pk).update(expiry_months=30)


# --- branches ---------------------------------------------------------------------------------


def _branch_post(code: str, name: str = "Siam") -> dict:
    return {"name": name, "code": code, "address": "", "phone": "", "is_active": "on"}


def test_duplicate_branch_code_is_refused_with_a_message_and_nothing_saved(owner_client, shop):
    BranchFactory(shop=shop, code="BKK01", name="Siam")

    response = owner_client.post(reverse("admin:shops_branch_add"), _branch_post("BKK01", "Ari"))

    assert response.status_code == 200
    assert "Another branch of your shop already uses this code." in errors_text(response)
    assert "Another branch of your shop already uses this code." in response.content.decode()
    assert Branch.objects.filter(shop=shop).count() == 1


def test_branch_code_typed_in_lower_case_is_stored_in_capitals(owner_client, shop):
    response = owner_client.post(reverse("admin:shops_branch_add"), _branch_post(" bkk01 "))

    assert response.status_code == 302, errors_text(response)
    assert Branch.objects.get(shop=shop).code == "BKK01"


def test_duplicate_branch_code_in_lower_case_is_still_a_duplicate(owner_client, shop):
    BranchFactory(shop=shop, code="BKK01")

    response = owner_client.post(reverse("admin:shops_branch_add"), _branch_post("bkk01", "Ari"))

    assert "Another branch of your shop already uses this code." in errors_text(response)
    assert Branch.objects.filter(shop=shop).count() == 1


def test_the_same_branch_code_in_another_shop_is_fine(owner_client, shop, other_shop):
    BranchFactory(shop=other_shop, code="BKK01")

    response = owner_client.post(reverse("admin:shops_branch_add"), _branch_post("BKK01"))

    assert response.status_code == 302, errors_text(response)
    assert Branch.objects.get(shop=shop).code == "BKK01"


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_admins_adding_tiers_never_pass_the_limit(shop):
    """Eight people add a tier at the same moment to a shop with three: exactly two get in."""
    from tests.concurrency import run_concurrently

    for i in range(3):
        TierFactory(shop=shop, name=f"T{i}", threshold=i * 100)

    results = run_concurrently(
        lambda i: services.shop_row_save(
            row=Tier(shop_id=shop.pk, name=f"New {i}", threshold=10_000 + i)
        ),
        8,
    )

    outcomes = sorted(type(r).__name__ for r in results)
    assert outcomes == ["LimitReached"] * 6 + ["Tier"] * 2, results
    assert Tier.objects.filter(shop=shop).count() == 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_channel_saves_never_pass_the_limit(shop):
    from tests.concurrency import run_concurrently

    for i in range(10):
        ContactChannelFactory(shop=shop, value=f"https://c{i}.example.com")

    results = run_concurrently(
        lambda i: services.contact_channels_set(
            shop=shop,
            save=[ContactChannel(kind="website", value=f"https://new{i}.example.com")],
            delete=[],
        ),
        6,
    )

    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, LimitReached) for r in results if isinstance(r, Exception))
    assert ContactChannel.objects.filter(shop=shop).count() == 11
