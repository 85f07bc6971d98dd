"""The back office's results page of a broadcast: the numbers of a real send, shop-scoped (another
shop's broadcast is a 404), and a page for a broadcast that has not started. The URL is the one
``admin_urls.urlpatterns_for`` gives the broadcast admin."""

from __future__ import annotations

import pytest
from django.utils import translation

from campaigns.broadcasts.models import BroadcastRecipient
from campaigns.broadcasts.reach import broadcast_estimate
from campaigns.broadcasts.services import broadcast_confirm, broadcast_save, broadcast_send
from members.line.models import LineFriend
from tests.campaigns.broadcasts.conftest import everyone, friend

pytestmark = pytest.mark.django_db


def sent_broadcast(shop, *, holdout_percent=0):
    for n in range(6):
        friend(shop, f"U{shop.pk:04d}{n:028x}")
    friend(shop, f"U{shop.pk:04d}{'b' * 28}", state=LineFriend.State.BLOCKED)
    broadcast = broadcast_save(
        shop=shop,
        name="Songkran",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": "สวัสดี"}],
        holdout_percent=holdout_percent,
    )
    estimate = broadcast_estimate(broadcast)
    broadcast_confirm(broadcast=broadcast, recipients=estimate.line)
    broadcast_send(broadcast.pk)
    return broadcast


def url(broadcast):
    return f"/admin/campaigns/broadcast/{broadcast.pk}/results/"


def test_the_results_page_shows_the_numbers_of_the_send(owner_client, shop):
    broadcast = sent_broadcast(shop, holdout_percent=30)
    held = BroadcastRecipient.objects.filter(state="holdout").count()

    with translation.override("en"):
        response = owner_client.get(url(broadcast), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    page = response.content.decode()
    results = response.context["results"]
    assert (results.audience, results.holdout, results.skipped) == (7, held, 1)
    assert 'data-testid="count-audience">7<' in page
    assert f'data-testid="count-holdout">{held}<' in page
    assert f'data-testid="count-pending">{6 - held}<' in page  # the outbox has not sent yet
    assert 'data-reason="blocked"' in page
    assert 'data-testid="still-sending"' in page
    assert 'data-testid="holdout-members"' in page
    assert 'data-testid="window-open"' in page


def test_another_shops_broadcast_is_a_404(owner_client, other_shop):
    theirs = sent_broadcast(other_shop)
    assert owner_client.get(url(theirs)).status_code == 404
    assert owner_client.get("/admin/campaigns/broadcast/999999/results/").status_code == 404


def test_a_broadcast_not_started_says_so(owner_client, shop):
    broadcast = broadcast_save(
        shop=shop,
        name="Draft",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": "สวัสดี"}],
    )
    response = owner_client.get(url(broadcast))
    assert response.status_code == 200
    assert 'data-testid="not-started"' in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client, shop):
    broadcast = sent_broadcast(shop)
    response = client.get(url(broadcast))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
