"""The OpenAPI document is valid, and real responses match the schemas it declares."""

import json
import uuid

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from members.ledger.actors import Actor
from rewards import services as rewards
from shops.apikeys import api_key_create
from tests.factories import BranchFactory, MemberFactory, RewardFactory, ShopFactory
from tests.members.test_api import Api
from tests.rewards.conftest import give

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json()


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def _validator(spec, path, method, status):
    operation = spec["paths"][path][method]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    # Resolve "#/components/schemas/..." against the whole document.
    root = {**schema, "components": spec["components"]}
    return Draft202012Validator(root)


def test_responses_match_their_declared_schemas(spec):
    shop = ShopFactory(expiry_mode="months_after", expiry_months=6)
    BranchFactory(shop=shop, code="B1")
    api = Api(api_key_create(shop=shop, name="contract")[1])
    member = give(MemberFactory(shop=shop), 500)
    reward = RewardFactory(shop=shop, points_cost=10)
    rewards.reward_redeem(member=member, reward=reward, idempotency_key="c", actor=Actor.member())
    calls = [
        ("post", "/members", "/api/v1/members", {"phone": "0899999999"}, 201),
        ("get", f"/members/{member.public_id}", "/api/v1/members/{member_id}", None, 200),
        (
            "get",
            f"/members/{member.public_id}/entries",
            "/api/v1/members/{member_id}/entries",
            None,
            200,
        ),
        (
            "post",
            "/points/earn",
            "/api/v1/points/earn",
            {"member_id": str(member.public_id), "amount": "100.00", "branch_code": "B1"},
            201,
        ),
        (
            "post",
            "/points/adjust",
            "/api/v1/points/adjust",
            {"member_id": str(member.public_id), "points": 3, "note": "x"},
            201,
        ),
        ("get", "/rewards", "/api/v1/rewards", None, 200),
        (
            "post",
            "/redemptions",
            "/api/v1/redemptions",
            {"member_id": str(member.public_id), "reward_id": str(reward.public_id)},
            201,
        ),
        (
            "get",
            f"/members/{member.public_id}/coupons",
            "/api/v1/members/{member_id}/coupons",
            None,
            200,
        ),
        ("post", "/points/earn", "/api/v1/points/earn", {"phone": "1", "amount": "1"}, 400),
        ("get", f"/members/{uuid.uuid4()}", "/api/v1/members/{member_id}", None, 404),
        (
            "post",
            "/points/adjust",
            "/api/v1/points/adjust",
            {"member_id": str(member.public_id), "points": -99999, "note": "x"},
            422,
        ),
    ]
    # The check itself can fail: a body of the wrong shape is reported.
    assert list(_validator(spec, "/api/v1/points/earn", "post", 201).iter_errors({"points": "x"}))
    for method, path, template, body, status in calls:
        response = api.get(path) if method == "get" else api.post(path, body)
        assert response.status_code == status, (path, response.content)
        errors = list(
            _validator(spec, template, method, status).iter_errors(json.loads(response.content))
        )
        assert errors == [], (path, [e.message for e in errors])
