"""Binding in the back office: "Bind LINE account" (typed, or one of the shop's unbound friends)
and "Unbind LINE account" (with a confirmation) on the member page, recorded with the admin user;
the binding records page; another shop's members and records out of reach."""

from __future__ import annotations

import pytest
from django.urls import reverse

from members.line.binding import member_bind
from members.line.models import BindingRecord, LineFriend
from members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

LINE_A = "U" + "a" * 32
LINE_B = "U" + "b" * 32


def bind_url(member):
    return reverse("admin:members_member_bind_line", args=[member.pk])


def unbind_url(member):
    return reverse("admin:members_member_unbind_line", args=[member.pk])


def test_bind_a_typed_line_id_from_the_member_page(owner_client, shop):
    member = MemberFactory(shop=shop)
    page = owner_client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert bind_url(member) in page.content.decode()

    response = owner_client.post(bind_url(member), {"line_user_id": LINE_A})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.line_user_id == LINE_A and member.is_bound
    record = BindingRecord.objects.get()
    assert (record.via, record.actor) == ("admin", "admin: owner-a")
    page = owner_client.get(reverse("admin:members_member_change", args=[member.pk]))
    assert 'data-testid="binding-records"' in page.content.decode()


def test_bind_one_of_the_shops_unbound_friends(owner_client, shop, other_shop):
    friend = LineFriend.objects.create(shop=shop, line_user_id=LINE_A, state="friend")
    theirs = LineFriend.objects.create(shop=other_shop, line_user_id=LINE_B, state="friend")
    member = MemberFactory(shop=shop)

    form = owner_client.get(bind_url(member)).content.decode()
    assert LINE_A in form and LINE_B not in form  # only the shop's own friends to choose from

    refused = owner_client.post(bind_url(member), {"friend": theirs.pk})
    assert refused.status_code == 200 and not Member.objects.get(pk=member.pk).is_bound

    owner_client.post(bind_url(member), {"friend": friend.pk})
    assert Member.objects.get(pk=member.pk).line_user_id == LINE_A
    assert LineFriend.objects.get(pk=friend.pk).member_id == member.pk


def test_a_line_id_of_another_member_is_shown_as_an_error(owner_client, shop):
    member_bind(member=MemberFactory(shop=shop), line_user_id=LINE_A, via="api", actor="k")
    member = MemberFactory(shop=shop)

    response = owner_client.post(bind_url(member), {"line_user_id": LINE_A})

    assert response.status_code == 200
    # the admin speaks the shop's Thai
    assert "บัญชี LINE นี้ผูกกับสมาชิกรายอื่นของร้านแล้ว" in response.content.decode()
    assert BindingRecord.objects.count() == 1


def test_unbind_asks_first_then_unbinds_and_records(owner_client, shop):
    member = MemberFactory(shop=shop)
    member_bind(member=member, line_user_id=LINE_A, via="api", actor="k")

    confirm = owner_client.get(unbind_url(member))
    assert confirm.status_code == 200
    assert Member.objects.get(pk=member.pk).is_bound  # a GET changes nothing

    owner_client.post(unbind_url(member))

    member.refresh_from_db()
    assert not member.is_bound and member.line_user_id is None
    latest = BindingRecord.objects.first()
    assert (latest.action, latest.via, latest.actor) == ("unbound", "admin", "admin: owner-a")


def test_another_shops_member_cannot_be_bound_or_unbound(owner_client, other_shop):
    theirs = MemberFactory(shop=other_shop)
    member_bind(member=theirs, line_user_id=LINE_A, via="api", actor="k")

    assert owner_client.post(bind_url(theirs), {"line_user_id": LINE_B}).status_code == 404
    assert owner_client.post(unbind_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.line_user_id == LINE_A
    assert BindingRecord.objects.count() == 1


def test_binding_records_page_lists_the_shops_own_and_filters(owner_client, shop, other_shop):
    member_bind(member=MemberFactory(shop=shop), line_user_id=LINE_A, via="api", actor="k")
    member_bind(member=MemberFactory(shop=other_shop), line_user_id=LINE_B, via="api", actor="k")
    url = reverse("admin:members_bindingrecord_changelist")

    page = owner_client.get(url)
    assert page.status_code == 200
    listed = {r.line_user_id for r in page.context["cl"].result_list}
    assert listed == {LINE_A}
    assert owner_client.get(url, {"via__exact": "admin"}).context["cl"].result_count == 0
    theirs = BindingRecord.objects.get(line_user_id=LINE_B)
    change = reverse("admin:members_bindingrecord_change", args=[theirs.pk])
    assert owner_client.get(change).status_code in (302, 404)
