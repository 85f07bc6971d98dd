"""Every answer under /api/v1/ is JSON in the documented envelope: malformed ids and unknown paths
are 404 JSON, a method the schema does not list is 405 JSON with an ``Allow`` header (before the
idempotency middleware asks for a key), and Django's own error pages become JSON too."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from loyalty.models import IdempotencyRecord
from shops.apikeys import api_key_create
from tests.factories import MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    return ShopFactory()


@pytest.fixture
def api(shop) -> Client:
    _key, raw = api_key_create(shop=shop, name="envelope")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def envelope(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/not-a-uuid",
        "/api/v1/members/123/entries",
        "/api/v1/points/xyz/reverse/extra",
        "/api/v1/no-such-thing",
        "/api/v1/",
    ],
)
def test_a_malformed_id_or_an_unknown_path_is_a_json_404(api, path):
    assert envelope(api.get(path), 404)["code"] == "not_found"


def test_an_unknown_member_with_a_good_uuid_is_still_the_endpoints_404(api):
    assert envelope(api.get(f"/api/v1/members/{uuid.uuid4()}"), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("post", "/api/v1/members/{id}", "GET"),
        ("delete", "/api/v1/members", "GET, POST"),
        ("put", "/api/v1/members/{id}/entries", "GET"),
        ("get", "/api/v1/points/earn", "POST"),
        ("patch", "/api/v1/rewards", "GET"),
        ("options", "/api/v1/redemptions", "POST"),
        ("head", "/api/v1/points/adjust", "POST"),
    ],
)
def test_a_method_the_schema_does_not_list_is_405_with_allow(api, shop, method, path, allow):
    member = MemberFactory(shop=shop)
    path = path.format(id=member.public_id)

    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    if method in ("get", "head"):
        response = getattr(api, method)(path, **key)
    else:
        response = getattr(api, method)(path, "{}", content_type="application/json", **key)

    assert response.status_code == 405, response.content
    assert response["Allow"] == allow
    if method != "head":
        assert envelope(response, 405)["code"] == "method_not_allowed"
    # refused before the idempotency middleware: no key was claimed for it
    assert not IdempotencyRecord.objects.exists()


def test_a_post_to_a_get_only_path_without_idempotency_key_is_405_not_400(api, shop):
    member = MemberFactory(shop=shop)

    response = api.post(f"/api/v1/members/{member.public_id}", "{}", "application/json")

    assert envelope(response, 405)["code"] == "method_not_allowed"


def test_a_malformed_id_in_a_post_path_is_404_before_the_idempotency_key(api):
    response = api.post("/api/v1/points/not-a-uuid/reverse", "{}", "application/json")

    assert envelope(response, 404)["code"] == "not_found"
    assert not IdempotencyRecord.objects.exists()


def test_djangos_own_error_pages_are_json_too(api, settings):
    # a body above Django's upload limit is refused by Django itself (400), not by an endpoint
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"phone": "0812345678", "first_name": "x" * 500})

    response = api.post(
        "/api/v1/members", body, "application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )

    assert envelope(response, 400)["code"] == "bad_request"


def test_errors_are_in_english_by_default_and_in_thai_when_asked(api):
    english = envelope(api.delete("/api/v1/members"), 405)["message"]
    thai = envelope(api.delete("/api/v1/members", HTTP_ACCEPT_LANGUAGE="th"), 405)["message"]

    assert "not allowed" in english
    assert thai != english
    assert "ไม่" in thai


def test_the_schema_and_the_reference_page_are_still_served(client):
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
    assert client.get("/api/v1/docs").status_code == 200
    assert envelope(client.post("/api/v1/openapi.json"), 405)["code"] == "method_not_allowed"


def test_pages_outside_the_api_keep_djangos_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
