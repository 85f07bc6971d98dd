"""Tenant isolation in the back office, for every registered admin model.

A manager of shop A must not see, open, change, delete, choose or autocomplete anything of shop B.
The test walks ``admin.site._registry``, so a model registered later is covered automatically; a
shop-owned model without a factory in ``tests.factories.FACTORIES`` fails the test on purpose.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from shops.models import Shop, User
from shops.tenancy import shop_field_of
from tests.factories import FACTORIES, UserFactory

MARKER = "SHOP-B-SECRET"


def _admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _make_for_shop(model, shop):
    factory = FACTORIES.get(model)
    assert factory is not None, (
        f"{model.__name__} is registered in the admin and shop-owned but has no factory in "
        "tests/factories.py FACTORIES; add one so tenant isolation is tested for it."
    )
    if model is Shop:
        return shop
    kwargs = {"shop": shop}
    name_field = next(
        (f.name for f in model._meta.fields if f.name in ("name", "username", "first_name")),
        None,
    )
    if name_field:
        kwargs[name_field] = f"{MARKER}-{model.__name__.lower()}"
    return factory(**kwargs)


def registered_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.fixture
def b_objects(other_shop):
    return {
        model: _make_for_shop(model, other_shop)
        for model in registered_models()
        if model is Shop or shop_field_of(model) is not None
    }


@pytest.fixture(params=["manager", "owner"])
def shop_a_admin(request, shop):
    """Each test runs as a manager and as an owner (owners see more: staff, API keys)."""
    return UserFactory(username=f"{request.param}-of-a", shop=shop, role=request.param)


@pytest.mark.django_db
@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_admin_of_shop_a_never_reaches_shop_b(model, client, shop, shop_a_admin, b_objects):
    manager = shop_a_admin
    client.force_login(manager)
    obj = b_objects.get(model)

    if obj is None:
        # Not shop-owned (job queue, sign-in lock-outs): platform operators only.
        response = client.get(_admin_url(model, "changelist"))
        assert response.status_code == 403, model
        return

    # The list: B's row is absent and B's names appear nowhere (filters, columns).
    response = client.get(_admin_url(model, "changelist"), follow=True)
    if response.status_code == 403:
        # This role may not see the model at all (e.g. a manager and API keys): nor B's object.
        assert client.get(_admin_url(model, "change", obj.pk)).status_code in (302, 403, 404)
        return
    assert response.status_code == 200
    if "cl" in response.context:
        assert obj.pk not in {row.pk for row in response.context["cl"].result_list}
    assert MARKER not in response.content.decode()

    # The object's own pages: change, delete and history say "does not exist".
    for view in ("change", "delete", "history"):
        response = client.get(_admin_url(model, view, obj.pk))
        assert response.status_code in (302, 403, 404), (model, view)
        if response.status_code == 302:
            assert response["Location"] == reverse("admin:index")

    # A POST to B's change page changes nothing.
    before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    client.post(_admin_url(model, "change", obj.pk), {"name": "hijacked"})
    obj.refresh_from_db()
    assert {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} == before

    # The add form offers only A's objects in every foreign-key and many-to-many choice.
    model_admin = admin.site._registry[model]
    if model_admin.has_add_permission(_request_for(manager)):
        response = client.get(_admin_url(model, "add"))
        assert response.status_code == 200
        assert MARKER not in response.content.decode()
        form = response.context["adminform"].form
        for name, field in form.fields.items():
            queryset = getattr(field, "queryset", None)
            if queryset is not None:
                assert not any(_belongs_to(o, b_objects) for o in queryset), (model, name)


@pytest.mark.django_db
@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_autocomplete_never_returns_shop_b(model, client, shop, shop_a_admin, b_objects):
    """Every autocomplete that points at a shop-owned model answers with A's rows only."""
    client.force_login(shop_a_admin)
    for field in model._meta.get_fields():
        if not (field.is_relation and field.concrete and field.related_model):
            continue
        target = field.related_model
        target_admin = admin.site._registry.get(target)
        if target_admin is None or not target_admin.search_fields:
            continue
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": field.name,
                "term": "",
            },
        )
        if response.status_code in (403, 404):
            continue
        ids = {item["id"] for item in response.json()["results"]}
        b_obj = b_objects.get(target)
        if b_obj is not None:
            assert str(b_obj.pk) not in ids, (model, field.name)


@pytest.mark.django_db
def test_platform_operator_sees_both_shops(client, shop, other_shop, operator, b_objects):
    client.force_login(operator)
    for model, obj in b_objects.items():
        # An import job's change page forwards to its own preview page; follow it there.
        response = client.get(_admin_url(model, "change", obj.pk), follow=True)
        assert response.status_code == 200, model
        ids = {str(obj.pk), str(getattr(obj, "public_id", obj.pk))}
        for url, _status in response.redirect_chain:
            assert any(i in url.split("/") for i in ids), (model, url)


@pytest.mark.django_db
def test_cashier_has_no_back_office(client, cashier):
    client.force_login(cashier)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def _belongs_to(obj: models.Model, b_objects: dict) -> bool:
    if isinstance(obj, Shop):
        return obj.pk == b_objects[Shop].pk
    return getattr(obj, "shop_id", None) == b_objects[Shop].pk


@pytest.mark.django_db
def test_every_shop_owned_model_has_a_factory():
    missing = [
        m.__name__
        for m in registered_models()
        if (m is Shop or shop_field_of(m) is not None) and m not in FACTORIES
    ]
    assert missing == []


@pytest.mark.django_db
def test_manager_cannot_edit_owner_account(client, shop, manager):
    owner = UserFactory(shop=shop, role=User.Role.OWNER, username="the-owner")
    client.force_login(manager)
    response = client.get(_admin_url(User, "change", owner.pk))
    # Viewable (to know who the owner is), but not changeable: the form is read-only.
    assert response.status_code == 200
    client.post(_admin_url(User, "change", owner.pk), {"username": "taken-over", "role": "cashier"})
    owner.refresh_from_db()
    assert owner.username == "the-owner"
