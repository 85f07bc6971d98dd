"""The outbox in the back office: a shop sees its own LINE messages, why one failed or stopped,
and can send a failed or quota-stopped one again (same retry key)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from loyalty.outbox.models import OutboxMessage
from shops.models import User
from tests.factories import OutboxMessageFactory, ShopFactory, UserFactory

State = OutboxMessage.State
LIST = "admin:loyalty_outboxmessage_changelist"


@pytest.fixture
def shop(db):
    return ShopFactory()


@pytest.fixture(params=[User.Role.OWNER, User.Role.MANAGER])
def signed_in(request, client, shop):
    user = UserFactory(username=f"{request.param}-x", shop=shop, role=request.param)
    client.force_login(user)
    return client


def test_a_shop_sees_its_own_outbox_with_states_errors_and_a_summary(signed_in, shop):
    OutboxMessageFactory(shop=shop, error="The property, 'to[0]', is invalid")
    OutboxMessageFactory(shop=shop, state=State.SENT, error="", sent_count=3)
    OutboxMessageFactory(shop=ShopFactory(), error="SHOP-B-ERROR")

    page = signed_in.get(reverse(LIST)).content.decode()

    assert "The property, &#x27;to[0]&#x27;, is invalid" in page
    assert "SHOP-B-ERROR" not in page
    assert 'data-testid="outbox-summary"' in page
    assert 'data-testid="outbox-quota-warning"' not in page


def test_a_quota_stop_is_said_on_the_outbox_page(signed_in, shop):
    OutboxMessageFactory(shop=shop, state=State.QUOTA, error="LINE's monthly message quota")

    page = signed_in.get(reverse(LIST)).content.decode()

    assert 'data-testid="outbox-quota-warning"' in page


def test_the_outbox_page_and_its_summary_are_in_thai(signed_in, shop):
    OutboxMessageFactory(shop=shop, state=State.QUOTA)

    with translation.override("th"):
        page = signed_in.get(reverse(LIST), HTTP_ACCEPT_LANGUAGE="th").content.decode()

    assert "โควตา" in page


def test_retry_sends_failed_and_stopped_rows_again_with_the_same_retry_key(
    signed_in, shop, django_capture_on_commit_callbacks
):
    failed = OutboxMessageFactory(shop=shop)
    stopped = OutboxMessageFactory(shop=shop, state=State.QUOTA)
    sent = OutboxMessageFactory(shop=shop, state=State.SENT, error="")
    keys = {row.pk: row.retry_key for row in (failed, stopped)}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_in.post(
            reverse(LIST),
            {"action": "retry", "_selected_action": [failed.pk, stopped.pk, sent.pk]},
            follow=True,
        )

    assert response.status_code == 200 and len(callbacks) == 1
    for row in (failed, stopped):
        row.refresh_from_db()
        assert (row.state, row.retry_key, row.error) == (State.PENDING, keys[row.pk], "")
    sent.refresh_from_db()
    assert sent.state == State.SENT


def test_the_outbox_is_read_only(signed_in, shop):
    row = OutboxMessageFactory(shop=shop)

    page = signed_in.get(reverse("admin:loyalty_outboxmessage_change", args=[row.pk]))

    assert page.status_code == 200
    assert signed_in.get(reverse("admin:loyalty_outboxmessage_add")).status_code == 403
    assert b'name="_save"' not in page.content


def test_the_sidebar_links_the_outbox_under_members(signed_in):
    response = signed_in.get(reverse("admin:index"))

    [members] = [
        g for g in response.context["sidebar_navigation"] if g["items"][0]["icon"] == "group"
    ]
    assert reverse(LIST) in {item["link"] for item in members["items"]}
