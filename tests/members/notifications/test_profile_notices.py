"""The member's switch for LINE news on the profile page: off keeps only confirmations; the
switch changes only the signed-in member's own setting."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from loyalty.outbox.models import OutboxMessage
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.models import Member
from tests.line_fixtures import NOK, SOMCHAI

pytestmark = pytest.mark.django_db


def url(name: str, shop) -> str:
    return reverse(f"member:{name}", kwargs={"shop_slug": shop.slug})


def test_the_member_turns_news_off_and_gets_only_confirmations(member_client, line_shop):
    member = member_client.member
    page = member_client.get(url("profile", line_shop)).content.decode()
    assert 'data-testid="notices-off"' in page

    response = member_client.post(url("notices", line_shop), {"notices": ""})
    member_client.post(url("notices", line_shop), {"notices": ""})  # twice: the same

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.notices_opt_out is True
    page = member_client.get(url("profile", line_shop)).content.decode()
    assert 'data-testid="notices-on"' in page
    assert "ยืนยัน" in page  # Thai by default: only confirmations

    OutboxMessage.objects.all().delete()
    line_shop.tiers.create(name="Gold", threshold=1)
    ledger.points_earn(
        shop=line_shop,
        amount="250",
        idempotency_key=str(uuid.uuid4()),
        actor=Actor.system(),
        member=member,
    )
    assert [r.source for r in OutboxMessage.objects.all()] == ["notify:earned"]

    member_client.post(url("notices", line_shop), {"notices": "on"})
    member.refresh_from_db()
    assert member.notices_opt_out is False


def test_the_switch_changes_only_the_signed_in_member(member_client, line_shop):
    other = Member.objects.create(shop=line_shop, line_user_id=NOK, status="registered")

    member_client.post(url("notices", line_shop), {"notices": ""})

    other.refresh_from_db()
    assert other.notices_opt_out is False
    assert Member.objects.get(line_user_id=SOMCHAI).notices_opt_out is True


def test_the_switch_needs_a_signed_in_member(client, line_shop):
    response = client.post(url("notices", line_shop), {"notices": ""})

    assert response.status_code in (302, 401, 403)
    assert not Member.objects.filter(notices_opt_out=True).exists()
