"""The LINE webhook events page: the shop's own events only, read-only, the raw event escaped,
linked from the sidebar beside LINE friends."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from members.line.models import WebhookEvent
from members.line.services import webhook_events_process, webhook_events_store
from tests.line_fixtures import NOK, SOMCHAI
from tests.members.line import payloads

pytestmark = pytest.mark.django_db

LIST = reverse("admin:members_webhookevent_changelist")


def deliver(shop, *events) -> list[int]:
    ids = webhook_events_store(shop_id=shop.pk, events=list(events))
    webhook_events_process(shop_id=shop.pk, event_ids=ids)
    return ids


def now_ms() -> int:
    return int(time.time() * 1000)


def test_the_list_is_the_shops_own_events(owner_client, shop, other_shop):
    deliver(shop, payloads.follow(user_id=SOMCHAI, at_ms=now_ms()))
    deliver(shop, payloads.text_message(user_id=SOMCHAI, at_ms=now_ms() + 1))
    [theirs] = deliver(other_shop, payloads.follow(user_id=NOK, at_ms=now_ms()))

    response = owner_client.get(LIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert NOK not in response.content.decode()
    # and another shop's event cannot be opened by its id
    other = owner_client.get(reverse("admin:members_webhookevent_change", args=[theirs]))
    assert other.status_code in (302, 404)
    assert NOK not in other.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"), [("outcome=processed", 1), ("outcome=unhandled", 1)]
)
def test_filter_by_outcome(owner_client, shop, query, expected):
    deliver(shop, payloads.follow(user_id=SOMCHAI, at_ms=now_ms()))
    deliver(shop, payloads.text_message(user_id=SOMCHAI, at_ms=now_ms() + 1))
    assert owner_client.get(LIST + "?" + query).context["cl"].result_count == expected


def test_an_event_page_shows_the_raw_event_escaped_and_nothing_can_be_changed(owner_client, shop):
    [pk] = deliver(
        shop, payloads.text_message(user_id=SOMCHAI, at_ms=now_ms(), text="<script>x</script>")
    )

    page = owner_client.get(reverse("admin:members_webhookevent_change", args=[pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in body and "<script>x</script>" not in body
    assert 'name="_save"' not in body
    assert owner_client.get(reverse("admin:members_webhookevent_add")).status_code == 403
    delete = reverse("admin:members_webhookevent_delete", args=[pk])
    assert owner_client.post(delete, {"post": "yes"}).status_code == 403
    assert WebhookEvent.objects.filter(pk=pk).exists()


@pytest.mark.parametrize("client_fixture", ["owner_client", "manager_client"])
def test_the_sidebar_links_friends_and_webhook_events_under_members(request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    response = client.get(reverse("admin:index"))
    [members] = [
        g for g in response.context["sidebar_navigation"] if g["items"][0]["icon"] == "group"
    ]
    links = {item["link"] for item in members["items"]}
    assert {reverse("admin:members_linefriend_changelist"), LIST} <= links
