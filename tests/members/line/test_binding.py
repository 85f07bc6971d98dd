"""Binding a member to a LINE user: one rule (``bound_at``), one record and one signal (after
commit) per change, by every path: the service, the Open API, sign-up, the admin (in
test_binding_admin.py) and LINE's account link (test_account_link.py)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import translation

from members.line.binding import BindingRefused, member_bind, member_binding_changed, member_unbind
from members.line.models import BindingRecord, LineFriend
from members.models import Member
from shops.apikeys import api_key_create
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

LINE_A = "U" + "a" * 32
LINE_B = "U" + "b" * 32


@pytest.fixture
def changes():
    """The member_binding_changed signals sent, as dicts."""
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        kwargs.pop("signal", None)
        seen.append(kwargs)

    member_binding_changed.connect(receiver, dispatch_uid="test-binding-changes")
    yield seen
    member_binding_changed.disconnect(dispatch_uid="test-binding-changes")


def bind(member, line_user_id=LINE_A, via=BindingRecord.Via.ADMIN, **kwargs):
    return member_bind(member=member, line_user_id=line_user_id, via=via, actor="test", **kwargs)


# --- the service ---------------------------------------------------------------------------------


def test_binding_sets_bound_at_records_once_and_signals_after_commit(
    shop, changes, django_capture_on_commit_callbacks
):
    member = MemberFactory(shop=shop, customer_id="C-1")
    assert not member.is_bound  # a Customer ID alone is not a binding

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = bind(member)
        assert changes == []  # nothing before the commit

    member.refresh_from_db()
    assert result.changed and member.is_bound and member.line_user_id == LINE_A
    assert len(callbacks) == 1
    assert changes == [
        {
            "member_id": member.pk,
            "shop_id": shop.pk,
            "bound": True,
            "line_user_id": LINE_A,
            "via": "admin",
        }
    ]
    record = BindingRecord.objects.get()
    assert (record.action, record.via, record.line_user_id, record.customer_id) == (
        "bound",
        "admin",
        LINE_A,
        "C-1",
    )
    assert Member.objects.filter(shop=shop, bound_at__isnull=False).get() == member


def test_binding_the_same_id_again_is_a_no_op(shop, changes, django_capture_on_commit_callbacks):
    member = MemberFactory(shop=shop)
    bind(member)
    with django_capture_on_commit_callbacks(execute=True):
        again = bind(member)
    assert not again.changed
    assert BindingRecord.objects.count() == 1
    assert changes == []


def test_a_rolled_back_binding_sends_no_signal(shop, changes, django_capture_on_commit_callbacks):
    member = MemberFactory(shop=shop)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        bind(member)
        raise RuntimeError("the caller's transaction fails")
    assert changes == []
    assert not BindingRecord.objects.exists()
    assert not Member.objects.get(pk=member.pk).is_bound


def test_unbinding_clears_bound_at_records_and_signals(
    shop, changes, django_capture_on_commit_callbacks
):
    member = MemberFactory(shop=shop, customer_id="C-1")
    bind(member)
    with django_capture_on_commit_callbacks(execute=True):
        result = member_unbind(member=member, via=BindingRecord.Via.API, actor="API key: pos")
        member_unbind(member=member, via=BindingRecord.Via.API, actor="API key: pos")  # no-op
    member.refresh_from_db()
    assert result.changed and not member.is_bound and member.line_user_id is None
    assert member.customer_id == "C-1"  # the shop's own id stays
    assert [c["bound"] for c in changes] == [False]
    latest = BindingRecord.objects.first()
    assert (latest.action, latest.via, latest.actor) == ("unbound", "api", "API key: pos")
    assert BindingRecord.objects.count() == 2


def test_a_line_id_of_another_member_is_refused_with_a_translated_message(shop):
    bind(MemberFactory(shop=shop))
    other = MemberFactory(shop=shop)
    with translation.override("en"), pytest.raises(BindingRefused) as refused:
        bind(other)
    assert refused.value.code == "identifier_taken"
    assert str(refused.value) == "Another member of this shop is bound to this LINE account."
    with translation.override("th"), pytest.raises(BindingRefused) as in_thai:
        bind(other)
    assert str(in_thai.value) == "บัญชี LINE นี้ผูกกับสมาชิกรายอื่นของร้านแล้ว"
    assert BindingRecord.objects.count() == 1


def test_the_same_line_id_in_another_shop_is_another_binding(shop, other_shop):
    bind(MemberFactory(shop=shop))
    assert bind(MemberFactory(shop=other_shop)).changed


@pytest.mark.parametrize("bad", ["", "U123", "u" + "a" * 32, "U" + "A" * 32, "U" + "a" * 33])
def test_a_malformed_line_id_is_refused(shop, bad):
    from loyalty.errors import InvalidInput

    with pytest.raises(InvalidInput):
        bind(MemberFactory(shop=shop), line_user_id=bad)


@pytest.mark.parametrize("status", [Member.Status.ERASED, Member.Status.MERGED])
def test_an_erased_or_merged_member_cannot_be_bound(shop, status):
    with pytest.raises(BindingRefused) as refused:
        bind(MemberFactory(shop=shop, status=status))
    assert refused.value.code in ("member_erased", "member_merged")


def test_a_member_bound_to_another_line_account_must_be_unbound_first(shop):
    member = MemberFactory(shop=shop)
    bind(member)
    with pytest.raises(BindingRefused) as refused:
        bind(member, line_user_id=LINE_B)
    assert refused.value.code == "already_bound"


def test_the_line_friend_follows_the_binding(shop):
    friend = LineFriend.objects.create(shop=shop, line_user_id=LINE_A, state="friend")
    member = MemberFactory(shop=shop)
    bind(member)
    assert LineFriend.objects.get(pk=friend.pk).member == member
    member_unbind(member=member, via="admin", actor="test")
    assert LineFriend.objects.get(pk=friend.pk).member is None


def test_erasing_a_member_unbinds_and_blanks_its_records(shop):
    from members.signup.services import member_erase

    member = MemberFactory(shop=shop, customer_id="C-9")
    bind(member)
    member_erase(member=member)
    member.refresh_from_db()
    assert member.bound_at is None and member.line_user_id is None
    record = BindingRecord.objects.get()
    assert (record.line_user_id, record.customer_id, record.action) == ("", "", "bound")


def test_sign_up_binds_and_is_recorded_via_signup(shop):
    from members.signup.services import member_register

    registration = member_register(
        shop=shop,
        line_user_id=LINE_A,
        first_name="Nok",
        last_name="Dee",
        phone="0812345678",
        birthday=dt.date(1990, 1, 1),
        accepted_terms=True,
    )
    assert registration.member.is_bound
    record = BindingRecord.objects.get()
    assert (record.via, record.actor, record.member) == ("signup", "member", registration.member)


# --- the Open API --------------------------------------------------------------------------------


class Api:
    def __init__(self, shop, name="pos"):
        _key, raw = api_key_create(shop=shop, name=name)
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

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

    def delete(self, path):
        return self.client.delete(f"/api/v1{path}", **self.headers)


@pytest.fixture
def api(shop):
    return Api(shop)


def test_api_create_member_with_a_line_id_records_a_binding_via_api(api, shop):
    r = api.post("/members", {"phone": "0812345678", "customer_id": "C-1", "line_user_id": LINE_A})
    assert r.status_code == 201, r.content
    assert r.json()["bound"] is True
    record = BindingRecord.objects.get()
    assert (record.via, record.actor, record.customer_id) == ("api", "API key: pos", "C-1")


def test_api_binds_by_member_id_customer_id_or_phone(api, shop):
    member = MemberFactory(shop=shop, phone="+66812345678", customer_id="C-1")

    by_id = api.post("/bindings", {"line_user_id": LINE_A, "member_id": str(member.public_id)})
    assert by_id.status_code == 201, by_id.content
    assert by_id.json()["member"]["id"] == str(member.public_id)
    assert by_id.json()["member"]["bound"] is True
    again = api.post("/bindings", {"line_user_id": LINE_A, "customer_id": "C-1"})
    assert again.status_code == 200  # already so: nothing recorded
    assert BindingRecord.objects.count() == 1

    by_phone = api.post("/bindings", {"line_user_id": LINE_B, "phone": "089-999-9999"})
    assert by_phone.status_code == 201
    assert by_phone.json()["member_created"] is True
    assert by_phone.json()["member"]["status"] == "pending"


def test_api_binding_an_unknown_customer_id_creates_a_pending_member(api, shop):
    r = api.post("/bindings", {"line_user_id": LINE_A, "customer_id": "C-NEW"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["member_created"] is True
    member = Member.objects.get(shop=shop, customer_id="C-NEW")
    assert member.status == Member.Status.PENDING and member.line_user_id == LINE_A


def test_api_get_and_delete_a_binding(api, shop):
    member = MemberFactory(shop=shop)
    assert api.get(f"/bindings/{LINE_A}").status_code == 404
    assert api.delete(f"/bindings/{LINE_A}").status_code == 404
    bind(member)

    got = api.get(f"/bindings/{LINE_A}")
    assert got.status_code == 200
    assert got.json()["member"]["id"] == str(member.public_id)

    assert api.delete(f"/bindings/{LINE_A}").status_code == 204
    assert not Member.objects.get(pk=member.pk).is_bound
    assert BindingRecord.objects.first().via == "api"
    assert api.delete(f"/bindings/{LINE_A}").status_code == 404


def test_api_refusals_are_the_usual_envelope(api, shop):
    bind(MemberFactory(shop=shop))
    other = MemberFactory(shop=shop)
    taken = api.post("/bindings", {"line_user_id": LINE_A, "member_id": str(other.public_id)})
    assert taken.status_code == 422
    assert taken.json()["error"]["code"] == "identifier_taken"
    bad = api.post("/bindings", {"line_user_id": "nope", "member_id": str(other.public_id)})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_line_user_id"
    missing = api.post("/bindings", {"line_user_id": LINE_B})
    assert missing.status_code == 400
    unknown = api.post("/bindings", {"line_user_id": LINE_B, "member_id": str(uuid.uuid4())})
    assert unknown.status_code == 404


def test_a_key_of_another_shop_cannot_see_bind_or_unbind(shop, other_shop):
    member = MemberFactory(shop=shop)
    bind(member)
    theirs = Api(other_shop, name="b")

    assert theirs.get(f"/bindings/{LINE_A}").status_code == 404
    assert theirs.delete(f"/bindings/{LINE_A}").status_code == 404
    r = theirs.post("/bindings", {"line_user_id": LINE_B, "member_id": str(member.public_id)})
    assert r.status_code == 404
    member.refresh_from_db()
    assert member.line_user_id == LINE_A
    assert BindingRecord.objects.count() == 1


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_binds_of_one_line_id_to_two_members_one_wins(shop):
    from tests.concurrency import run_concurrently

    for _round in range(5):
        members = [MemberFactory(shop=shop), MemberFactory(shop=shop)]
        line_user_id = "U" + uuid.uuid4().hex

        results = run_concurrently(
            lambda i, ms=members, lid=line_user_id: bind(ms[i], line_user_id=lid), 2
        )

        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], BindingRefused)
        assert Member.objects.filter(shop=shop, line_user_id=line_user_id).count() == 1
        records = BindingRecord.objects.filter(line_user_id=line_user_id)
        assert [r.member_id for r in records] == [won[0].member.pk]
        bound = Member.objects.get(shop=shop, line_user_id=line_user_id)
        assert bound.bound_at is not None and bound.pk == won[0].member.pk
