"""The broadcasts Open API: a dry run counts without saving, a create confirms the count the
integrator saw (409 with the counts as they are now otherwise), bad input is a 400 naming each
field, list and read with results, and another shop's broadcasts, segments and rewards are out of
reach."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.services import broadcast_send
from members.line.models import LineFriend
from shops.apikeys import api_key_create
from tests.campaigns.broadcasts.conftest import everyone, friend
from tests.factories import RewardFactory

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, shop, language=None):
        _key, raw = api_key_create(shop=shop, name="crm")
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        if language:
            self.headers["HTTP_ACCEPT_LANGUAGE"] = language

    def get(self, path):
        return self.client.get(f"/api/v1{path}", **self.headers)

    def post(self, path, body):
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            **self.headers,
        )


def audience(shop, n=3):
    for i in range(n):
        friend(shop, f"U{shop.pk:04d}{i:028x}")
    friend(shop, f"U{shop.pk:04d}{'b' * 28}", state=LineFriend.State.BLOCKED)
    return everyone(shop)


def body(segment, **fields):
    return {
        "name": "Songkran promo",
        "segments": [str(segment.public_id)],
        "messages": [{"type": "text", "text": "สวัสดีคุณ{name}"}],
        **fields,
    }


def test_a_dry_run_counts_the_audience_and_saves_nothing(shop):
    segment = audience(shop)

    response = Api(shop).post("/broadcasts", body(segment, dry_run=True))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "dry_run": True,
        "counts": {
            "total": 4,
            "reachable": 3,
            "line": 3,
            "sms": 0,
            "holdout": 0,
            "not_sent": {"blocked": 1},
            "line_messages": 3,
        },
    }
    assert not Broadcast.objects.exists()


def test_a_create_with_a_stale_count_is_a_409_with_the_counts_now_and_saves_nothing(shop):
    segment = audience(shop)
    api = Api(shop)
    seen = api.post("/broadcasts", body(segment, dry_run=True)).json()["counts"]["reachable"]
    friend(shop, f"U{shop.pk:04d}{'c' * 28}")  # a new friend joins meanwhile

    stale = api.post("/broadcasts", body(segment, confirm_recipients=seen))

    assert stale.status_code == 409, stale.content
    error = stale.json()["error"]
    assert error["code"] == "count_changed"
    assert error["counts"]["reachable"] == seen + 1
    assert "now 4 members" in error["message"]
    assert not Broadcast.objects.exists()

    created = api.post("/broadcasts", body(segment, confirm_recipients=seen + 1))
    assert created.status_code == 201, created.content
    broadcast = Broadcast.objects.get()
    assert created.json()["id"] == str(broadcast.public_id)
    assert (broadcast.state, broadcast.confirmed_recipients) == ("scheduled", 4)


def test_with_a_hold_out_the_dry_runs_reachable_count_is_the_one_to_confirm(shop):
    segment = audience(shop, n=20)
    api = Api(shop)
    dry = api.post("/broadcasts", body(segment, holdout_percent=50, dry_run=True)).json()

    created = api.post(
        "/broadcasts",
        body(segment, holdout_percent=50, confirm_recipients=dry["counts"]["reachable"]),
    )

    assert created.status_code == 201, created.content
    broadcast = Broadcast.objects.get()
    assert broadcast.state == Broadcast.State.SCHEDULED
    assert 0 < broadcast.confirmed_recipients < 20


def test_bad_input_is_a_400_naming_each_field_and_saves_nothing(shop, other_shop):
    theirs = everyone(other_shop, name="Theirs")
    their_reward = RewardFactory(shop=other_shop)

    response = Api(shop, language="en").post(
        "/broadcasts",
        {
            "name": "x",
            "segments": [str(theirs.public_id)],
            "messages": [{"type": "text", "text": "{nope}"}],
            "coupon_reward": str(their_reward.public_id),
            "holdout_percent": 70,
            "confirm_recipients": 1,
        },
    )

    assert response.status_code == 400, response.content
    errors = response.json()["error"]["errors"]
    assert errors["segments"] == ["Some of the segments are not this shop's."]
    assert errors["messages"][0].startswith("Message 1: unknown placeholder {nope}")
    assert errors["coupon_reward"] == ["Choose one of the shop's rewards."]
    assert errors["holdout_percent"] == ["The hold-out share is from 0 to 50 %."]
    assert not Broadcast.objects.exists()


def test_errors_are_in_thai_when_asked(shop):
    response = Api(shop, language="th").post(
        "/broadcasts", body(everyone(shop), dry_run=True, attribution_days=0)
    )
    assert response.status_code == 400
    [message] = response.json()["error"]["errors"]["attribution_days"]
    assert message != "The results window is from 1 to 90 days."
    assert "90" in message


def test_a_create_without_a_count_or_a_dry_run_is_refused(shop):
    response = Api(shop, language="en").post("/broadcasts", body(audience(shop)))
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "confirm_recipients"


def test_list_filters_by_state_and_the_detail_shows_the_results(shop):
    segment = audience(shop)
    api = Api(shop)
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    api.post("/broadcasts", body(segment, name="Tomorrow", send_at=later, confirm_recipients=3))
    now = api.post("/broadcasts", body(segment, name="Now", confirm_recipients=3)).json()
    broadcast_send(Broadcast.objects.get(public_id=now["id"]).pk)  # the job (the outbox waits)

    listed = api.get("/broadcasts").json()["results"]
    assert [b["name"] for b in listed] == ["Now", "Tomorrow"]
    sent = api.get("/broadcasts?state=sent").json()["results"]
    assert [b["name"] for b in sent] == ["Now"]
    assert api.get("/broadcasts?state=nope").status_code == 400

    detail = api.get(f"/broadcasts/{now['id']}").json()
    assert detail["segments"] == [str(segment.public_id)]
    results = detail["results"]
    assert (results["audience"], results["targeted"], results["pending"]) == (4, 4, 3)
    assert results["skipped_by_reason"] == {"blocked": 1}
    assert results["window"]["holdout"] is None
    assert results["window"]["recipients"]["members"] == 3
    tomorrow = next(b for b in listed if b["name"] == "Tomorrow")
    assert api.get(f"/broadcasts/{tomorrow['id']}").json()["results"] is None


def test_another_shops_broadcasts_are_out_of_reach(shop, other_shop):
    theirs = Api(other_shop).post("/broadcasts", body(audience(other_shop), confirm_recipients=3))
    assert theirs.status_code == 201
    api = Api(shop)

    assert api.get("/broadcasts").json() == {"results": []}
    assert api.get(f"/broadcasts/{theirs.json()['id']}").status_code == 404
    assert api.get(f"/broadcasts/{uuid.uuid4()}").status_code == 404
    assert api.get("/broadcasts/not-a-uuid").status_code == 404
    assert not BroadcastRecipient.objects.exists()
