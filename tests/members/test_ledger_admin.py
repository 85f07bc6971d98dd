"""The ledger in the back office: read-only lists, the points panel, Adjust and Reverse views,
API keys shown once."""

import re
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from members.ledger import services
from members.ledger.actors import Actor
from members.ledger.models import EntryKind, LedgerEntry
from shops.apikeys import api_key_authenticate
from shops.models import ApiKey
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich_member(shop):
    member = MemberFactory(shop=shop, first_name="Somchai")
    services.points_earn(
        shop=shop, member=member, amount="1000", idempotency_key="seed", actor=Actor.system()
    )
    return member


def test_member_page_shows_balance_lots_and_history(owner_client, rich_member):
    response = owner_client.get(reverse("admin:members_member_change", args=[rich_member.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="points-panel"' in html
    assert response.context["points_summary"].balance == 40
    assert len(response.context["points_entries"]) == 1


def test_adjust_points_records_who_and_why(owner_client, owner, rich_member):
    url = reverse("admin:members_member_adjust_points", args=[rich_member.pk])
    key = str(uuid.uuid4())
    response = owner_client.post(
        url, {"points": "-15", "note": "wrong receipt", "idempotency_key": key}
    )
    assert response.status_code == 302
    # The same form posted twice (a double click) records once.
    owner_client.post(url, {"points": "-15", "note": "wrong receipt", "idempotency_key": key})
    entry = LedgerEntry.objects.get(kind=EntryKind.ADJUST)
    assert (entry.points, entry.note, entry.created_by, entry.channel) == (
        -15,
        "wrong receipt",
        owner,
        "admin",
    )
    rich_member.refresh_from_db()
    assert rich_member.balance == 25


def test_adjust_refusal_is_shown_on_the_form_and_changes_nothing(owner_client, rich_member):
    url = reverse("admin:members_member_adjust_points", args=[rich_member.pk])
    response = owner_client.post(
        url, {"points": "-500", "note": "x", "idempotency_key": str(uuid.uuid4())}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not LedgerEntry.objects.filter(kind=EntryKind.ADJUST).exists()
    response = owner_client.post(
        url, {"points": "0", "note": "x", "idempotency_key": str(uuid.uuid4())}
    )
    assert "points" in response.context["form"].errors


def test_reverse_from_the_member_page(owner_client, rich_member):
    entry = LedgerEntry.objects.get(member=rich_member)
    url = reverse("admin:members_member_reverse_entry", args=[rich_member.pk, entry.public_id])
    response = owner_client.post(url, {"note": "refund", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 302
    reversal = LedgerEntry.objects.get(kind=EntryKind.REVERSAL)
    assert reversal.reversal_of == entry and reversal.note == "refund"
    # Reversing it again is refused on the form.
    response = owner_client.post(url, {"note": "again", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 200 and response.context["form"].non_field_errors()


def test_another_shops_member_cannot_be_adjusted(owner_client, other_shop):
    stranger = MemberFactory(shop=other_shop)
    url = reverse("admin:members_member_adjust_points", args=[stranger.pk])
    response = owner_client.post(
        url, {"points": "5", "note": "x", "idempotency_key": str(uuid.uuid4())}
    )
    assert response.status_code in (302, 404)
    assert not LedgerEntry.objects.exists()


def test_ledger_is_read_only_in_admin(owner_client, rich_member):
    entry = LedgerEntry.objects.get()
    assert owner_client.get(reverse("admin:members_ledgerentry_add")).status_code == 403
    response = owner_client.post(
        reverse("admin:members_ledgerentry_change", args=[entry.pk]), {"points": "999"}
    )
    assert response.status_code == 403
    assert (
        owner_client.get(reverse("admin:members_ledgerentry_delete", args=[entry.pk])).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.points == 40


def test_api_key_is_shown_once_and_works(owner_client, shop):
    response = owner_client.post(reverse("admin:shops_apikey_add"), {"name": "Web shop"})
    raw = response.context["raw_key"]
    assert raw in response.content.decode()
    key = ApiKey.objects.get(shop=shop)
    assert raw not in (key.key_hash, key.prefix)
    assert api_key_authenticate(raw) == key
    page = owner_client.get(reverse("admin:shops_apikey_change", args=[key.pk])).content.decode()
    assert raw not in page


def test_managers_cannot_see_api_keys(manager_client):
    assert manager_client.get(reverse("admin:shops_apikey_changelist")).status_code == 403


def test_create_api_key_command_prints_the_key_alone(shop):
    out = StringIO()
    call_command("create_api_key", "--shop", shop.slug, "--name", "POS", stdout=out)
    raw = out.getvalue().strip()
    assert re.fullmatch(r"lk_[0-9a-f]{10}_[A-Za-z0-9_-]+", raw)
    assert api_key_authenticate(raw).shop == shop
