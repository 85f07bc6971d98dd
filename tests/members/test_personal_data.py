"""Every model that holds a member's data is in "download my data" and in erasure, or says why not
(``members.personal_data``): a new model with a key to Member cannot be forgotten."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from members import personal_data
from members.models import Member
from members.pages import export


def test_every_model_with_a_key_to_member_is_exported_and_erased_or_exempt_with_a_reason():
    gaps = personal_data.gaps()

    assert [str(gap) for gap in gaps] == []


def test_the_walk_finds_the_models_it_must():
    """The walk sees the models with a key to Member in every app, rewards' included."""
    labels = {m._meta.label for m in apps.get_models() if personal_data.keys_to_member(m)}

    assert {
        "members.LedgerEntry",
        "members.SignupAnswer",
        "members.PointsClaim",
        "rewards.Redemption",
        "rewards.Coupon",
        "rewards.Delivery",
        "rewards.SavedAddress",
        "rewards.SpotCode",
    } <= labels


@isolate_apps("members")
def test_a_new_model_with_a_key_to_member_is_reported_until_it_is_registered():
    class LoyaltyNote(models.Model):
        member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="+")
        text = models.TextField()

        class Meta:
            app_label = "members"

        def __str__(self) -> str:
            return self.text

    gaps = personal_data.gaps([LoyaltyNote])
    assert [(g.model, g.missing) for g in gaps] == [
        (LoyaltyNote, "export"),
        (LoyaltyNote, "erasure"),
    ]
    assert "members.LoyaltyNote (key to Member: member)" in str(gaps[0])

    personal_data.leave_out_of_export(LoyaltyNote, reason="test")
    personal_data.keep_on_erasure(LoyaltyNote, reason="test")
    try:
        assert personal_data.gaps([LoyaltyNote]) == []
    finally:
        personal_data._NOT_EXPORTED.pop(LoyaltyNote)
        personal_data._KEPT.pop(LoyaltyNote)


def test_a_model_without_a_key_to_member_is_not_asked_about():
    from shops.models import Branch

    assert personal_data.gaps([Branch]) == []


@pytest.mark.parametrize("section", export.sections(), ids=lambda s: s.name)
def test_every_section_names_the_models_it_exports(section):
    assert section.models
    for model in section.models:
        assert personal_data.keys_to_member(model) or model is Member, model


# --- what the members app's erasers do ------------------------------------------------------------


@pytest.mark.django_db
def test_erasure_takes_the_members_name_out_of_the_staff_log_and_the_admin_history():
    import uuid

    from django.contrib.admin.models import CHANGE, LogEntry
    from django.utils import translation

    from members.signup.services import member_erase
    from members.staff.services import staff_entry_void, staff_points_add
    from shops.models import User
    from shops.staffing.models import StaffAction
    from shops.staffing.services import staff_action_record
    from tests.factories import BranchFactory, MemberFactory, ShopFactory, UserFactory

    # given: a cashier looked Somchai up and added points, a manager voided them, the owner
    # edited him in the admin; and the same happened to Ploy
    shop = ShopFactory()
    branch = BranchFactory(shop=shop)
    cashier = UserFactory(shop=shop, role=User.Role.MANAGER, username="nok")
    cashier.branches.add(branch)
    somchai = MemberFactory(shop=shop, first_name="Somchai", last_name="Jaidee")
    ploy = MemberFactory(shop=shop, first_name="Ploy", last_name="Dee")
    for member in (somchai, ploy):
        staff_action_record(
            user=cashier, kind=StaffAction.Kind.FIND, branch=branch, obj=member, label=str(member)
        )
        earned = staff_points_add(
            user=cashier, branch=branch, amount="100", form_key=uuid.uuid4(), member=member
        )
        staff_entry_void(user=cashier, branch=branch, entry=earned.entry, reason="wrong amount")
        LogEntry.objects.log_actions(
            user_id=cashier.pk, queryset=[member], action_flag=CHANGE, single_object=True
        )
    assert StaffAction.objects.filter(object_repr__contains="Somchai").count() == 3

    # when
    with translation.override("en"):
        member_erase(member=somchai)

    # then: the rows stay (who did what, when), the name is gone; Ploy's rows are untouched
    assert StaffAction.objects.filter(object_repr__contains="Erased member").count() == 3
    assert not StaffAction.objects.filter(object_repr__contains="Somchai").exists()
    assert StaffAction.objects.filter(object_repr__contains="Ploy").count() == 3
    assert not LogEntry.objects.filter(object_repr__contains="Somchai").exists()
    assert LogEntry.objects.filter(object_repr__contains="Ploy").count() == 1
    assert LogEntry.objects.get(object_id=str(somchai.pk)).object_repr == (
        f"Erased member {str(somchai.public_id)[:8]}"
    )


def test_every_eraser_is_a_receiver_of_member_erased():
    from members.signup.services import member_erased

    uids = {key[0] for key, *_rest in member_erased.receivers}
    for model in personal_data.erasers():
        assert f"erase:{model._meta.label}" in uids, model
