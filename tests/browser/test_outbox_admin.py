"""The LINE outbox in a real browser (Debian Chromium, desktop, Thai): a broadcast stopped by
LINE's monthly quota is said at the top of the outbox page; after the shop raises its plan the
owner selects it and chooses Retry, and the message goes out once.
Screenshots: test-artifacts/screenshots/test_<name>-<step>.png."""

from __future__ import annotations

import secrets

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from loyalty.outbox.models import OutboxMessage
from loyalty.outbox.services import outbox_enqueue
from loyalty.outbox.tasks import outbox_drain, outbox_send
from shops.models import ShopLineChannel, User
from tests.browser.conftest import shot
from tests.factories import DEFAULT_PASSWORD, ShopFactory, UserFactory
from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, fake_line

__all__ = ["fake_line"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_retries_a_broadcast_the_monthly_quota_stopped(desktop_page, fake_line):
    # given a broadcast to 30 friends that LINE's monthly quota stopped
    cache.clear()
    shop = ShopFactory(name="คาเฟ่อร่อย")
    ShopLineChannel.objects.create(shop=shop, messaging_access_token=MESSAGING_ACCESS_TOKEN)
    owner = UserFactory(username="owner", shop=shop, role=User.Role.OWNER)
    friends = ["U" + secrets.token_hex(16) for _ in range(30)]
    with transaction.atomic():
        [row] = outbox_enqueue(
            shop_id=shop.pk,
            to=[*friends, None],
            messages=[{"type": "text", "text": "โปรโมชั่นเดือนนี้"}],
            source="broadcast:ธันวาคม",
        )
    fake_line.set_quota(500, used=490)
    assert outbox_send(row.pk) == OutboxMessage.State.QUOTA

    # when the owner opens the outbox
    page = desktop_page
    page.goto("/admin/")
    page.fill("input[name=username]", owner.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-form", state="detached")
    page.goto(reverse("admin:loyalty_outboxmessage_changelist"))

    # then the page says the quota stopped it, in Thai
    warning = page.locator("[data-testid=outbox-quota-warning]")
    assert "โควตา" in warning.inner_text()
    assert "490" in page.inner_text("#result_list")
    shot(page, "01-quota-stopped")

    # when the shop has raised its plan and the owner retries the row
    fake_line.set_quota(None)
    cache.clear()
    page.check(f"input[name=_selected_action][value='{row.pk}']")
    page.select_option("select[name=action]", "retry")
    page.click("button[name=index]")
    page.wait_for_load_state("domcontentloaded")
    assert "ส่งใหม่" in page.inner_text("body")
    outbox_drain(seconds=10)  # the django-q2 worker's part
    page.reload()
    shot(page, "02-sent")

    # then it went out once, to the 30 friends, with the same retry key
    row.refresh_from_db()
    assert row.state == OutboxMessage.State.SENT and row.skipped_count == 1
    [entry] = fake_line.messages
    assert sorted(entry["to"]) == sorted(friends) and entry["retry_key"] == str(row.retry_key)
    assert page.locator("[data-testid=outbox-quota-warning]").count() == 0
