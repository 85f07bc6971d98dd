"""Redemptions and deliveries to Excel from the back office: what the filtered list shows, the
selected rows, only the shop's own, formula-looking text kept as text, Thai headers in Thai."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from rewards.models import Delivery, Redemption
from tests.factories import FACTORIES

pytestmark = pytest.mark.django_db

RedemptionFactory = FACTORIES[Redemption]
DeliveryFactory = FACTORIES[Delivery]


def sheet_of(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return sheet, list(sheet.iter_rows(values_only=True))


def test_redemptions_export_what_the_filtered_list_shows_of_the_own_shop_only(
    owner_client, shop, other_shop, english
):
    latte = RedemptionFactory(shop, name="=HYPERLINK(1)", reward_name="Latte")
    RedemptionFactory(shop, name="Nok", reward_name="Cake")
    RedemptionFactory(other_shop, name="SHOP-B-SECRET", reward_name="Latte")
    url = reverse("admin:rewards_redemption_export_xlsx")

    sheet, rows = sheet_of(owner_client.get(url, {"q": "Latte"}))
    assert rows[0][:6] == ("time", "phone", "member", "reward", "kind", "points")
    assert len(rows) == 2
    assert rows[1][3] == "Latte" and rows[1][5] == latte.points
    assert rows[1][-1] == str(latte.public_id)
    # A member named like a formula is written as text.
    assert rows[1][2].startswith("=HYPERLINK") and sheet.cell(row=2, column=3).data_type == "s"

    _sheet, everything = sheet_of(owner_client.get(url))
    assert sorted(r[3] for r in everything[1:]) == ["Cake", "Latte"]
    assert not any("SHOP-B-SECRET" in str(cell) for row in everything for cell in row)


def test_redemptions_selected_rows_action(owner_client, shop, english):
    keep = RedemptionFactory(shop, reward_name="Kept")
    RedemptionFactory(shop, reward_name="Left out")
    response = owner_client.post(
        reverse("admin:rewards_redemption_changelist"),
        {"action": "export_selected_xlsx", "_selected_action": [keep.pk]},
    )
    _sheet, rows = sheet_of(response)
    assert [r[3] for r in rows[1:]] == ["Kept"]


def test_another_shops_redemption_cannot_be_exported_by_selecting_it(
    owner_client, shop, other_shop
):
    theirs = RedemptionFactory(other_shop, reward_name="Theirs")
    response = owner_client.post(
        reverse("admin:rewards_redemption_changelist"),
        {"action": "export_selected_xlsx", "_selected_action": [theirs.pk]},
    )
    # The selection is looked up in the shop's own list, where it is not: only the header.
    _sheet, rows = sheet_of(response)
    assert len(rows) == 1
    assert not any("Theirs" in str(cell) for cell in rows[0])


def test_deliveries_export_as_filtered_with_the_address(owner_client, shop, other_shop, english):
    first = DeliveryFactory(shop)
    second = DeliveryFactory(shop)
    DeliveryFactory(other_shop)
    Delivery.objects.filter(pk=second.pk).update(status=Delivery.Status.PREPARING)
    url = reverse("admin:rewards_delivery_export_xlsx")

    _sheet, rows = sheet_of(owner_client.get(url, {"status__exact": "pending"}))
    assert rows[0][:6] == ("requested", "reward", "recipient", "phone", "address", "postcode")
    assert len(rows) == 2
    assert rows[1][2:6] == ("Somchai", "081-234-5678", "1 Road", "10110")
    assert rows[1][-1] == str(first.member.public_id)

    _sheet, both = sheet_of(owner_client.get(url))
    assert len(both) == 3  # the header and this shop's two, not the other shop's


def test_headers_are_thai_for_a_thai_owner(owner_client, shop):
    RedemptionFactory(shop)
    _sheet, rows = sheet_of(owner_client.get(reverse("admin:rewards_redemption_export_xlsx")))
    assert rows[0][3] == "ของรางวัล"
