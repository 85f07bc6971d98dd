"""The shop's LINE notifications in the back office: every kind listed with a preview, texts edited
and checked, and another shop's settings neither seen nor changed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from members.notifications.models import NoticeKind, NotificationSetting
from members.notifications.selectors import shop_notices
from tests.conftest import admin_messages
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
LIST = "admin:members_notificationsetting_changelist"


def change_url(setting):
    return reverse("admin:members_notificationsetting_change", args=[setting.pk])


def test_the_page_lists_every_kind_with_a_thai_and_english_preview(owner_client, shop):
    page = owner_client.get(reverse(LIST)).content.decode()

    assert NotificationSetting.objects.filter(shop=shop).count() == len(NoticeKind.values)
    for kind in NoticeKind:
        assert str(kind.label) in page
    assert "คุณสมชาย ได้รับ 50 พอยท์ ยอดพอยท์คงเหลือ 1,250 พอยท์" in page
    assert "Somchai, you earned 50 points. Your balance is 1,250 points." in page
    assert f"/m/{shop.slug}/history/" in page


def test_the_owner_edits_a_text_and_members_get_it_from_then_on(owner_client, shop):
    owner_client.get(reverse(LIST))
    earned = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.EARNED)
    shop_notices(shop)  # cached before the edit

    response = owner_client.post(
        change_url(earned),
        {"enabled": "on", "text_th": "รับ {points} พอยท์", "text_en": ""},
    )

    assert response.status_code == 302, admin_messages(response)
    earned.refresh_from_db()
    assert (earned.text_th, earned.text_en) == ("รับ {points} พอยท์", "")
    assert shop_notices(shop)[NoticeKind.EARNED].text("th") == "รับ {points} พอยท์"
    page = owner_client.get(change_url(earned)).content.decode()
    assert 'data-testid="preview-th"' in page and "รับ 50 พอยท์" in page


def test_an_unknown_placeholder_is_a_form_error_naming_it(owner_client, shop):
    owner_client.get(reverse(LIST))
    shipped = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.SHIPPED)

    response = owner_client.post(
        change_url(shipped), {"enabled": "on", "text_th": "", "text_en": "Sent {trackng"}
    )
    assert response.status_code == 200
    assert "has no partner" in response.content.decode()

    response = owner_client.post(
        change_url(shipped), {"enabled": "on", "text_th": "", "text_en": "Sent {trackng}"}
    )
    page = response.content.decode()
    assert "Unknown placeholder {trackng}" in page and "{tracking}" in page
    shipped.refresh_from_db()
    assert shipped.text_en == ""


def test_the_form_error_is_in_thai_for_a_thai_owner(owner_client, shop):
    owner_client.get(reverse(LIST))
    earned = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.EARNED)

    with translation.override("th"):
        response = owner_client.post(
            change_url(earned),
            {"enabled": "on", "text_th": "{pointz}", "text_en": ""},
            HTTP_ACCEPT_LANGUAGE="th",
        )

    page = response.content.decode()
    assert "{pointz}" in page and "Unknown placeholder" not in page


def test_only_the_expiring_notice_has_days_before(owner_client, shop):
    owner_client.get(reverse(LIST))
    expiring = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.EXPIRING)
    earned = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.EARNED)

    assert 'name="days_before"' in owner_client.get(change_url(expiring)).content.decode()
    assert 'name="days_before"' not in owner_client.get(change_url(earned)).content.decode()

    owner_client.post(
        change_url(expiring), {"enabled": "", "text_th": "", "text_en": "", "days_before": "14"}
    )
    expiring.refresh_from_db()
    assert (expiring.enabled, expiring.days_before) == (False, 14)


def test_another_shop_never_sees_or_changes_this_shops_notifications(
    owner_client, shop, other_shop, client
):
    owner_client.get(reverse(LIST))
    earned = NotificationSetting.objects.get(shop=shop, kind=NoticeKind.EARNED)
    other = UserFactory(username="owner-b", shop=other_shop, role="owner")
    client.force_login(other)

    listing = client.get(reverse(LIST)).content.decode()
    assert f"/notificationsetting/{earned.pk}/change/" not in listing
    assert client.get(change_url(earned)).status_code in (302, 404)
    client.post(change_url(earned), {"enabled": "", "text_th": "hacked", "text_en": ""})

    earned.refresh_from_db()
    assert (earned.enabled, earned.text_th) == (True, "")
    assert NotificationSetting.objects.filter(shop=other_shop).count() == len(NoticeKind.values)


def test_a_cashier_has_no_notifications_page(client, cashier):
    client.force_login(cashier)

    assert client.get(reverse(LIST)).status_code in (302, 403)


def test_the_member_page_in_the_back_office_shows_the_members_choice(owner_client, shop):
    from tests.factories import MemberFactory

    member = MemberFactory(shop=shop, notices_opt_out=True)

    page = owner_client.get(
        reverse("admin:members_member_change", args=[member.pk])
    ).content.decode()

    assert "turned off line news" in page.lower()
    assert 'name="notices_opt_out"' not in page  # the member's own choice: read-only here
