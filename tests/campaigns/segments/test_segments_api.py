"""The segments Open API: save a segment, list them, count one with its reach on LINE; bad
conditions are a 400 naming each problem, and another shop's segment or ids are never reachable."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.segments.conditions import parse_conditions
from campaigns.segments.models import Segment
from campaigns.segments.selectors import SegmentCount, segment_count
from members.line.models import LineFriend
from members.models import Member
from shops.apikeys import api_key_create
from tests.factories import MemberFactory, ShopFactory, TagFactory


class Api:
    def __init__(self, shop):
        _key, raw = api_key_create(shop=shop, name="crm")
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path):
        return self.client.get(f"/api/v1{path}", **self.headers)

    def post(self, path, body=None):
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body or {}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            **self.headers,
        )


def bound(shop, n, friend_state=None, **kwargs):
    line_user_id = f"U{shop.pk:04d}{n:028d}"
    member = MemberFactory(shop=shop, line_user_id=line_user_id, bound_at=timezone.now(), **kwargs)
    if friend_state:
        LineFriend.objects.create(shop=shop, line_user_id=line_user_id, state=friend_state)
    return member


@pytest.mark.django_db
def test_the_count_splits_the_segment_by_reach_on_line(django_assert_num_queries):
    shop = ShopFactory()
    vip = TagFactory(shop=shop, name="VIP")
    people = [
        bound(shop, 1, LineFriend.State.FRIEND),
        bound(shop, 2, LineFriend.State.FRIEND),
        bound(shop, 3, LineFriend.State.BLOCKED),
        bound(shop, 4),  # bound by the API, never added the OA
        MemberFactory(shop=shop),  # not bound
        MemberFactory(shop=shop, status=Member.Status.PENDING),
    ]
    for member in people:
        member.tags.add(vip)
    bound(shop, 5, LineFriend.State.FRIEND)  # a friend without the tag
    conditions = parse_conditions(shop.pk, [{"kind": "tags", "mode": "any", "tags": [vip.pk]}])

    with django_assert_num_queries(1):
        count = segment_count(shop.pk, conditions)

    assert count == SegmentCount(total=6, line=2, not_bound=2, blocked=1, not_friend=1)


@pytest.mark.django_db
def test_save_list_and_count_a_segment_through_the_api():
    shop = ShopFactory()
    vip = TagFactory(shop=shop)
    bound(shop, 1, LineFriend.State.FRIEND).tags.add(vip)
    MemberFactory(shop=shop).tags.add(vip)
    api = Api(shop)

    created = api.post(
        "/segments",
        {"name": " VIP ", "conditions": [{"kind": "tags", "mode": "any", "tags": [vip.pk]}]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "VIP"

    listed = api.get("/segments").json()
    assert [s["id"] for s in listed] == [body["id"]]

    counted = api.post(f"/segments/{body['id']}/count")
    assert counted.status_code == 200, counted.content
    assert counted.json() == {"total": 2, "line": 1, "not_bound": 1, "blocked": 0, "not_friend": 0}


@pytest.mark.django_db
def test_bad_conditions_are_a_400_naming_each_problem_and_nothing_is_saved():
    shop = ShopFactory()
    response = Api(shop).client.post(
        "/api/v1/segments",
        json.dumps(
            {
                "name": "bad",
                "conditions": [
                    {"kind": "birth_month", "months": [0]},
                    {"kind": "rfm", "groups": [{}]},
                ],
            }
        ),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        HTTP_ACCEPT_LANGUAGE="en",
        **Api(shop).headers,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "Condition 1: months are 1 to 12." in error["message"]
    assert "Condition 2: unknown RFM group." in error["message"]
    assert not Segment.objects.exists()


@pytest.mark.django_db
def test_a_name_used_twice_is_a_409():
    shop = ShopFactory()
    api = Api(shop)
    assert (
        api.post("/segments", {"name": "All", "conditions": [{"kind": "all"}]}).status_code == 201
    )
    again = api.post("/segments", {"name": "All", "conditions": [{"kind": "all"}]})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_name"


@pytest.mark.django_db
def test_another_shops_segments_and_tags_are_out_of_reach():
    shop, other = ShopFactory(), ShopFactory()
    theirs = Segment.objects.create(shop=other, name="Theirs", conditions=[{"kind": "all"}])
    their_tag = TagFactory(shop=other)
    api = Api(shop)

    assert api.get("/segments").json() == []
    assert api.post(f"/segments/{theirs.public_id}/count").status_code == 404
    refused = api.post(
        "/segments",
        {"name": "x", "conditions": [{"kind": "tags", "mode": "any", "tags": [their_tag.pk]}]},
    )
    assert refused.status_code == 400
