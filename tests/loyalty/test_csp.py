"""Content-Security-Policy: every kind of page sends the header, every inline script carries the
request's nonce, and the policy allows what the pages need (LINE's hosts, the back office's
Alpine.js) and no more."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from rewards import services as rewards
from shops.models import User
from tests.factories import RewardFactory, UserFactory
from tests.members.pages.conftest import fake_line, line_shop, member_client
from tests.rewards.conftest import give

__all__ = ["fake_line", "line_shop", "member_client"]
pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
# Data blocks the browser never runs (json_script, the API reference's settings).
DATA_TYPES = ("application/json", "application/ld+json", "text/template")


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def nonce_of(response) -> str | None:
    for source in policy(response).get("script-src", []):
        match = re.fullmatch(r"'nonce-([^']+)'", source)
        if match:
            return match.group(1)
    return None


def scripts_without_nonce(response) -> list[str]:
    """The inline <script> tags of a page that would not run under its policy."""
    nonce = nonce_of(response)
    bad = []
    for attributes in SCRIPT.findall(response.content.decode()):
        if re.search(r"\bsrc=", attributes):
            continue
        kind = re.search(r'\btype="([^"]+)"', attributes)
        if kind and kind.group(1).lower() in DATA_TYPES:
            continue
        given = re.search(r'\bnonce="([^"]*)"', attributes)
        if nonce is None or given is None or given.group(1) != nonce:
            bad.append(f"<script{attributes}>")
    return bad


@pytest.fixture
def signed_in_staff(line_shop):
    cashier = UserFactory(username="nok", shop=line_shop, role=User.Role.CASHIER)
    branch = line_shop.branches.first()
    cashier.branches.add(branch)
    client = Client()
    client.force_login(cashier)
    client.post(reverse("staff:branch"), {"branch": branch.pk})
    return client


@pytest.fixture
def owner_of_line_shop(line_shop):
    owner = UserFactory(username="owner-csp", shop=line_shop, role=User.Role.OWNER)
    client = Client()
    client.force_login(owner)
    return client


def member_pages(member_client, line_shop) -> list[str]:
    """The member's pages, with the rewards pages that have inline scripts among them."""
    member = give(member_client.member, 500)
    slug = line_shop.slug
    code_reward = RewardFactory(
        shop=line_shop, kind="custom_code", platform="Shopee", points_cost=10
    )
    rewards.reward_codes_add(reward=code_reward, codes=["SHP-1"])
    counter = RewardFactory(shop=line_shop, points_cost=10, spot_redemption=True)
    plain = RewardFactory(shop=line_shop, points_cost=10)
    redemption = rewards.reward_redeem(
        member=member, reward=code_reward, idempotency_key="csp", actor=_member_actor()
    )[0]
    member_client.post(reverse("rewards:counter", args=[slug, counter.public_id]))
    return [
        reverse("member:card", args=[slug]),
        reverse("member:history", args=[slug]),
        reverse("member:profile", args=[slug]),
        reverse("rewards:catalogue", args=[slug]),
        reverse("rewards:detail", args=[slug, code_reward.public_id]),
        reverse("rewards:redeem", args=[slug, plain.public_id]),
        reverse("rewards:coupon", args=[slug, redemption.public_id]),
        reverse("rewards:counter", args=[slug, counter.public_id]),
    ]


def _member_actor():
    from members.ledger.actors import Actor

    return Actor.member()


def test_every_kind_of_page_sends_the_policy(
    member_client, line_shop, signed_in_staff, owner_of_line_shop
):
    client = Client()
    pages = {
        "landing": client.get("/"),
        "admin sign-in": client.get("/admin/login/"),
        "admin": owner_of_line_shop.get("/admin/"),
        "staff sign-in": Client().get(reverse("staff:login")),
        "staff": signed_in_staff.get(reverse("staff:home")),
        "member sign-in": Client().get(reverse("member:login", args=[line_shop.slug])),
        "member card": member_client.get(reverse("member:card", args=[line_shop.slug])),
        "API reference": client.get("/api/v1/docs"),
        "API answer": client.get("/api/v1/members"),
        "not found": client.get("/no-such-page/"),
    }
    for name, response in pages.items():
        assert response.status_code in (200, 401, 404), (name, response.status_code)
        directives = policy(response)
        assert directives["default-src"] == ["'self'"], name
        assert directives["frame-ancestors"] == ["'none'"], name
        assert directives["object-src"] == ["'none'"], name
        assert "'unsafe-inline'" not in directives["script-src"], name


def test_inline_scripts_carry_the_nonce_on_every_page(
    member_client, line_shop, signed_in_staff, owner_of_line_shop
):
    paths = member_pages(member_client, line_shop)
    responses = [(p, member_client.get(p)) for p in paths]
    responses += [
        (p, signed_in_staff.get(p))
        for p in (reverse("staff:home"), reverse("staff:today"), reverse("staff:coupon"))
    ]
    responses += [
        (p, owner_of_line_shop.get(p))
        for p in (
            "/admin/",
            reverse("admin:members_member_changelist"),
            reverse("admin:members_member_add"),
            reverse("admin:rewards_reward_changelist"),
            reverse("admin:rewards_reward_add"),
        )
    ]
    responses.append(("/", Client().get("/")))
    inline_seen = 0
    for path, response in responses:
        assert response.status_code == 200, (path, response.status_code)
        assert scripts_without_nonce(response) == [], path
        inline_seen += response.content.decode().count(f'nonce="{nonce_of(response)}"')
    # the pages with inline scripts (copy button, counter countdown, once-only forms) were seen
    assert inline_seen >= 3


def test_the_scan_catches_a_script_without_the_nonce(client):
    response = client.get("/")
    response.content = response.content.replace(b"</body>", b"<script>alert(1)</script></body>")

    assert scripts_without_nonce(response) == ["<script>"]


def test_only_the_back_office_may_evaluate_strings(owner_of_line_shop, member_client, line_shop):
    admin = policy(owner_of_line_shop.get("/admin/"))
    member = policy(member_client.get(reverse("member:card", args=[line_shop.slug])))

    assert "'unsafe-eval'" in admin["script-src"]  # django-unfold's Alpine.js
    assert "'unsafe-eval'" not in member["script-src"]


def test_line_hosts_are_allowed_where_the_pages_need_them(client, settings):
    settings.LINE_API_BASE_URL = "https://api.line.me"
    settings.LINE_ACCESS_BASE_URL = "https://access.line.me"
    settings.LINE_LIFF_SDK_URL = "https://static.line-scdn.net/liff/edge/2/sdk.js"

    directives = policy(client.get("/"))

    assert "https://static.line-scdn.net" in directives["script-src"]  # the LIFF SDK
    assert "https://api.line.me" in directives["connect-src"]
    assert "https://profile.line-scdn.net" in directives["img-src"]  # LINE profile pictures
    assert "https://access.line.me" in directives["form-action"]  # LINE Login after a form


def test_the_fake_line_server_is_allowed_in_the_demo_and_tests(client, settings, fake_line):
    origin = fake_line.base_url.rstrip("/")
    settings.LINE_API_BASE_URL = origin

    directives = policy(client.get("/"))

    assert origin in directives["img-src"]  # the fake LINE users' pictures
    assert origin in directives["connect-src"]
