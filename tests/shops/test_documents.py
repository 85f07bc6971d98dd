"""Terms of service and privacy policy: published as versions, never edited or deleted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shops import services
from shops.models import PolicyDocument
from tests.admin_forms import errors_text
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

ADD_URL = "admin:shops_policydocument_add"


def publish(client, kind="privacy", title="Privacy policy", body="We keep your data safe."):
    return client.post(reverse(ADD_URL), {"kind": kind, "title": title, "body": body})


def test_publishing_a_new_privacy_version_keeps_the_old_one(owner_client, shop, owner):
    # given version 1
    assert publish(owner_client, body="Version one.").status_code == 302

    # when the owner publishes a change
    response = publish(owner_client, body="Version two.")

    # then both versions exist, numbered 1 and 2, with their own text
    assert response.status_code == 302, errors_text(response)
    versions = list(
        PolicyDocument.objects.filter(shop=shop, kind="privacy")
        .order_by("version")
        .values_list("version", "body")
    )
    assert versions == [(1, "Version one."), (2, "Version two.")]


def test_publishing_records_who_and_when(owner_client, shop, owner):
    publish(owner_client)

    document = PolicyDocument.objects.get(shop=shop)
    assert document.published_by == owner
    assert document.published_at is not None


def test_versions_are_numbered_per_shop_and_kind(owner_client, shop, other_shop):
    services.policy_document_publish(shop=other_shop, kind="privacy", title="B", body="B1")
    services.policy_document_publish(shop=other_shop, kind="privacy", title="B", body="B2")

    publish(owner_client, kind="privacy")
    publish(owner_client, kind="terms", title="Terms")
    publish(owner_client, kind="terms", title="Terms")

    mine = sorted(PolicyDocument.objects.filter(shop=shop).values_list("kind", "version"))
    assert mine == [("privacy", 1), ("terms", 1), ("terms", 2)]
    theirs = sorted(
        PolicyDocument.objects.filter(shop=other_shop).values_list("version", flat=True)
    )
    assert theirs == [1, 2]


def test_a_manager_can_publish_and_is_recorded(manager_client, shop, manager):
    response = publish(manager_client)

    assert response.status_code == 302, errors_text(response)
    assert PolicyDocument.objects.get(shop=shop).published_by == manager


def test_the_add_form_starts_from_the_current_version(owner_client, shop):
    services.policy_document_publish(
        shop=shop, kind="privacy", title="Current", body="Current text"
    )

    response = owner_client.get(reverse(ADD_URL), {"kind": "privacy"})

    form = response.context["adminform"].form
    assert form.initial["title"] == "Current"
    assert form.initial["body"] == "Current text"


def test_the_add_form_cannot_set_the_version_or_the_author(owner_client, shop, other_shop):
    someone = UserFactory(shop=other_shop)
    owner_client.post(
        reverse(ADD_URL),
        {
            "kind": "privacy",
            "title": "P",
            "body": "B",
            "version": "99",
            "published_by": str(someone.pk),
            "shop": str(other_shop.pk),
        },
    )

    document = PolicyDocument.objects.get()
    assert (document.shop, document.version) == (shop, 1)
    assert document.published_by.username == "owner-a"


def test_documents_cannot_be_edited_in_admin(owner_client, shop):
    document = services.policy_document_publish(shop=shop, kind="privacy", title="T", body="Old")

    page = owner_client.get(reverse("admin:shops_policydocument_change", args=[document.pk]))
    owner_client.post(
        reverse("admin:shops_policydocument_change", args=[document.pk]),
        {"kind": "privacy", "title": "T", "body": "Rewritten history"},
    )

    # the page is read-only (no form fields to change), and the text is unchanged
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="body"' not in page.content.decode()
    document.refresh_from_db()
    assert document.body == "Old"
    assert PolicyDocument.objects.count() == 1


def test_documents_cannot_be_deleted_in_admin(owner_client, shop):
    document = services.policy_document_publish(shop=shop, kind="privacy", title="T", body="B")

    page = owner_client.get(reverse("admin:shops_policydocument_delete", args=[document.pk]))
    owner_client.post(
        reverse("admin:shops_policydocument_delete", args=[document.pk]), {"post": "yes"}
    )

    assert page.status_code == 403
    assert PolicyDocument.objects.filter(pk=document.pk).exists()


def test_documents_cannot_be_deleted_with_the_bulk_action(owner_client, shop):
    document = services.policy_document_publish(shop=shop, kind="privacy", title="T", body="B")

    owner_client.post(
        reverse("admin:shops_policydocument_changelist"),
        {"action": "delete_selected", "_selected_action": [str(document.pk)], "post": "yes"},
    )

    assert PolicyDocument.objects.filter(pk=document.pk).exists()


def test_publishing_requires_a_title_and_text(owner_client, shop):
    response = publish(owner_client, title="", body="")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"title", "body"}
    assert not PolicyDocument.objects.exists()


def test_current_document_is_the_latest_version(shop):
    services.policy_document_publish(shop=shop, kind="terms", title="T", body="1")
    latest = services.policy_document_publish(shop=shop, kind="terms", title="T", body="2")

    assert services.current_document(shop=shop, kind="terms") == latest
    assert services.current_document(shop=shop, kind="privacy") is None
