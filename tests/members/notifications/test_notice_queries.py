"""What a notice costs on the hot earn path (the Open API's earn, pinned at ten statements in
tests/members/test_api.py): nothing for a member without a LINE account or with the kind off, and
for a member with one only the notice's own rows."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from loyalty.outbox.models import OutboxMessage
from members.notifications.models import NoticeKind
from members.notifications.selectors import shop_notices
from members.notifications.services import notification_setting_save
from shops.apikeys import api_key_create
from tests.factories import MemberFactory
from tests.members.notifications.conftest import NOK, PLOY

pytestmark = pytest.mark.django_db(transaction=True)
API_EARN_BUDGET = 10  # tests/members/test_api.py::test_a_fresh_api_earn_runs_at_most_ten_statements


def api_earn(shop, member) -> list[str]:
    _key, raw = api_key_create(shop=shop, name="pinned")
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    # (the key's last-use time is written at most once per LAST_USED_GRANULARITY)
    assert client.get(f"/api/v1/members/{member.public_id}", **headers).status_code == 200
    # (a warm process: the shop's notice settings are in the cache)
    shop_notices(member.shop)
    body = json.dumps({"member_id": str(member.public_id), "amount": "250.00"})
    with CaptureQueriesContext(connection) as statements:
        response = client.post(
            "/api/v1/points/earn",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            **headers,
        )
    assert response.status_code == 201, response.content
    return [q["sql"] for q in statements.captured_queries]


def test_a_member_without_line_pays_nothing_for_notices(nshop):
    member = MemberFactory(shop=nshop, tier=nshop.tiers.get(name="Silver"))

    sent = api_earn(nshop, member)

    assert len(sent) <= API_EARN_BUDGET, "\n".join(sent)
    assert not OutboxMessage.objects.exists()


def test_a_kind_turned_off_pays_nothing_for_notices(nshop):
    notification_setting_save(
        shop=nshop, kind=NoticeKind.EARNED, enabled=False, text_th="", text_en=""
    )
    member = MemberFactory(shop=nshop, line_user_id=PLOY, tier=nshop.tiers.get(name="Silver"))

    sent = api_earn(nshop, member)

    assert len(sent) <= API_EARN_BUDGET, "\n".join(sent)
    assert not OutboxMessage.objects.exists()


def test_a_member_with_line_pays_only_for_the_notice_itself(nshop):
    member = MemberFactory(shop=nshop, line_user_id=NOK, tier=nshop.tiers.get(name="Silver"))

    sent = api_earn(nshop, member)

    # + whether the member blocked the OA (LineFriend), + the outbox's own enqueue
    # (loyalty.outbox.services: its dedupe read, then its insert inside a savepoint: SAVEPOINT,
    # INSERT, RELEASE), + after the COMMIT the sender's task on django-q2's ORM broker (none on
    # Redis). Six statements, one of them after the response's transaction.
    assert len(sent) <= API_EARN_BUDGET + 6, "\n".join(sent)
    assert OutboxMessage.objects.get().source == "notify:earned"
