"""A recipient row is the member's: it moves on a phone-claim merge (one per broadcast), shows in
"download my data" and loses its copied LINE ID and phone when the account is erased."""

from __future__ import annotations

import pytest
from django.db import transaction

from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from members.models import Member
from members.pages.export import member_data
from members.phone_claims.merge import member_merge_pending
from members.signup.services import member_erase
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
R = BroadcastRecipient


def test_a_merge_keeps_one_row_per_broadcast_the_proving_members_own(shop):
    pending = MemberFactory(shop=shop, status=Member.Status.PENDING)
    target = MemberFactory(shop=shop, phone=None)
    both, only_pending = (Broadcast.objects.create(shop=shop, name=n) for n in ("A", "B"))
    R.objects.create(broadcast=both, member=pending, channel="sms", phone=pending.phone)
    R.objects.create(broadcast=both, member=target, channel="line")
    R.objects.create(broadcast=only_pending, member=pending, channel="sms", phone=pending.phone)
    phone = pending.phone

    with transaction.atomic():
        member_merge_pending(pending=pending, target=target, phone=phone)

    assert set(R.objects.values_list("broadcast__name", "member_id", "channel")) == {
        ("A", target.pk, "line"),
        ("B", target.pk, "sms"),
    }


def test_the_export_lists_broadcasts_and_erasure_blanks_the_copied_ids(shop):
    member = MemberFactory(shop=shop, line_user_id="U" + "1" * 32)
    broadcast = Broadcast.objects.create(shop=shop, name="Songkran")
    R.objects.create(
        broadcast=broadcast, member=member, channel="line", line_user_id=member.line_user_id
    )

    assert [row["broadcast"] for row in member_data(member)["broadcasts"]] == ["Songkran"]
    member_erase(member=member)

    assert R.objects.values_list("line_user_id", "phone").get() == ("", "")
