"""SMS in the back office (each shop sees only its own) and in a member's personal data."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings
from campaigns.sms.services import sms_enqueue, sms_opt_out
from members.models import Member
from members.pages.export import member_data
from members.phone_claims.merge import member_merge_pending
from members.signup.services import member_erase
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_the_settings_page_opens_the_shops_one_row_and_shows_this_months_use(
    owner_client, shop, other_shop
):
    SmsSettings.objects.create(shop=other_shop, sender_name="OTHER", monthly_budget=5)

    response = owner_client.get(reverse("admin:campaigns_smssettings_changelist"))
    assert response.status_code == 302
    assert response.url == reverse("admin:campaigns_smssettings_add")
    response = owner_client.post(
        reverse("admin:campaigns_smssettings_add"),
        {"sender_name": "CAFEAROI", "monthly_budget": "500"},
    )
    assert response.status_code == 302, response.content
    row = SmsSettings.objects.get(shop=shop)
    assert (row.sender_name, row.monthly_budget) == ("CAFEAROI", 500)
    page = owner_client.get(reverse("admin:campaigns_smssettings_change", args=[row.pk]))
    assert "0 จาก 500" in page.text
    assert "OTHER" not in page.text
    theirs = SmsSettings.objects.get(shop=other_shop)
    assert (
        owner_client.get(
            reverse("admin:campaigns_smssettings_change", args=[theirs.pk])
        ).status_code
        == 302  # "does not exist": back to the list
    )


def test_a_bad_sender_name_is_a_form_error(owner_client, shop):
    response = owner_client.post(
        reverse("admin:campaigns_smssettings_add"),
        {"sender_name": "ร้านกาแฟ", "monthly_budget": "5"},
    )
    assert response.status_code == 200
    assert not SmsSettings.objects.exists()


def test_staff_add_an_opt_out_by_phone_typed_any_way_and_search_finds_it(
    owner_client, shop, other_shop, owner
):
    sms_opt_out(shop=other_shop, phone="0899999999", how="link")

    response = owner_client.post(
        reverse("admin:campaigns_smsoptout_add"), {"phone": "081-234-5678"}
    )

    assert response.status_code == 302, response.content
    row = SmsOptOut.objects.get(shop=shop)
    assert (row.phone, row.how, row.created_by) == ("+66812345678", "staff", owner)
    listing = owner_client.get(reverse("admin:campaigns_smsoptout_changelist"), {"q": "0812345678"})
    assert "081-234-5678" in listing.text and "089-999-9999" not in listing.text
    again = owner_client.post(reverse("admin:campaigns_smsoptout_add"), {"phone": "0812345678"})
    assert again.status_code == 200  # already opted out: said on the form
    assert SmsOptOut.objects.filter(shop=shop).count() == 1


def test_the_messages_list_is_read_only_and_the_shops_own(owner_client, shop, other_shop):
    mine = MemberFactory(shop=shop)
    theirs = MemberFactory(shop=other_shop, phone="+66899999999")
    sms_enqueue(shop=shop, phone=mine.phone, text="Mine", source="t", member_id=mine.pk)
    sms_enqueue(shop=other_shop, phone=theirs.phone, text="Theirs", source="t")

    listing = owner_client.get(reverse("admin:campaigns_smsmessage_changelist"))

    assert listing.status_code == 200
    assert "089-999-9999" not in listing.text
    row = SmsMessage.objects.get(shop=shop)
    page = owner_client.get(reverse("admin:campaigns_smsmessage_change", args=[row.pk]))
    assert page.status_code == 200 and "Mine" in page.text
    assert owner_client.get(reverse("admin:campaigns_smsmessage_add")).status_code == 403


def test_a_merge_moves_the_pending_members_sms_to_the_proving_member(shop):
    pending = MemberFactory(shop=shop, status=Member.Status.PENDING)
    target = MemberFactory(shop=shop, phone=None)
    sms_enqueue(shop=shop, phone=pending.phone, text="Hi", source="t", member_id=pending.pk)

    with transaction.atomic():
        member_merge_pending(pending=pending, target=target, phone=pending.phone)

    assert SmsMessage.objects.get().member_id == target.pk


def test_the_export_lists_sms_and_opt_outs_and_erasure_blanks_them_but_keeps_the_opt_out(shop):
    member = MemberFactory(shop=shop)
    sent = sms_enqueue(
        shop=shop,
        phone=member.phone,
        text="Sale",
        source="t",
        member_id=member.pk,
        marketing=False,  # not skipped by the opt-out below: the erasure stops it
    )
    sms_opt_out(shop=shop, phone=member.phone, how="link")

    data = member_data(member)
    assert [row["text"] for row in data["sms"]] == ["Sale"]
    assert [row["phone"] for row in data["sms_opt_outs"]] == [member.phone]
    member_erase(member=member)

    sent.refresh_from_db()
    assert (sent.phone, sent.text, sent.state) == ("", "", "skipped")
    assert SmsOptOut.objects.filter(shop=shop).exists()  # the wish not to be sent SMS stays
