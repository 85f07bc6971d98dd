"""Where each kind of a member's personal data goes when the member downloads their data or deletes
their account (PDPA): one registry, so a test can check that nothing is forgotten.

Every model with a foreign key or one-to-one field to ``members.Member`` must be

- **exported**: named in the ``models`` of a section of "download my data"
  (``members.pages.export.register_section``), or left out with a reason
  (``leave_out_of_export(Model, reason=...)``), e.g. a code that lives five minutes; and
- **erased**: have an eraser (``register_eraser(Model, erase)``), or be kept with a reason
  (``keep_on_erasure(Model, reason=...)``), e.g. a ledger row that holds only the member id.

``tests/members/test_personal_data.py`` walks every installed model and fails, naming the model,
when one is in neither list. An eraser is ``erase(member)``: it deletes or blanks that model's
personal data of ``member``. It is connected to ``members.signup.services.member_erased`` and so
runs inside the erasing transaction, after the member's own fields are blanked (``member.pk`` and
``member.public_id`` remain). It must be safe to run twice.

A new model that holds a member's data joins in its app's ``AppConfig.ready()`` (an app may use
this module of ``members``; ``members`` never imports the apps above it)::

    from members.pages.export import Column, register_section
    from members.personal_data import register_eraser

    register_section("sms_codes", collect, title=_("One-time codes"), columns=[...],
                     models=[OneTimeCode])
    register_eraser(OneTimeCode, lambda member: OneTimeCode.objects.filter(member=member).delete())

Personal data in rows that have no foreign key to Member (the staff activity log's labels, the
admin's history) is erased by erasers registered for those models too; the walk cannot find those,
so ``members.apps`` lists them by hand. Retention of each kind of personal data: docs/pdpa.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.db import models

_ERASERS: dict[type[models.Model], Callable[[Any], object]] = {}
_KEPT: dict[type[models.Model], str] = {}
_NOT_EXPORTED: dict[type[models.Model], str] = {}


def register_eraser(model: type[models.Model], erase: Callable[[Any], object]) -> None:
    """Erase ``model``'s personal data of a member when the member's account is erased: ``erase``
    is called with the member, inside the erasing transaction. Registering again replaces."""
    from members.models import Member
    from members.signup.services import member_erased

    def receiver(sender, member, **kwargs):
        erase(member)

    _ERASERS[model] = erase
    member_erased.connect(
        receiver, sender=Member, weak=False, dispatch_uid=f"erase:{model._meta.label}"
    )


def keep_on_erasure(model: type[models.Model], *, reason: str) -> None:
    """``model``'s rows stay as they are when a member is erased, because of ``reason`` (they must
    hold nothing personal but the member id)."""
    _KEPT[model] = reason


def leave_out_of_export(model: type[models.Model], *, reason: str) -> None:
    """``model``'s rows are not in "download my data", because of ``reason``."""
    _NOT_EXPORTED[model] = reason


def erasers() -> dict[type[models.Model], Callable[[Any], object]]:
    return dict(_ERASERS)


def kept_on_erasure() -> dict[type[models.Model], str]:
    return dict(_KEPT)


def not_exported() -> dict[type[models.Model], str]:
    return dict(_NOT_EXPORTED)


def keys_to_member(model: type[models.Model]) -> list[str]:
    """The names of ``model``'s foreign keys and one-to-one fields to Member."""
    from members.models import Member

    return [
        field.name
        for field in model._meta.get_fields()
        if field.is_relation
        and field.concrete
        and (field.many_to_one or field.one_to_one)
        and field.related_model is Member
    ]


@dataclass(frozen=True)
class Gap:
    model: type[models.Model]
    missing: str  # "export" or "erasure"

    def __str__(self) -> str:
        what = (
            "is neither in a my-data section (register_section(models=...)) nor left out with a "
            "reason (leave_out_of_export)"
            if self.missing == "export"
            else "has no eraser (register_eraser) and is not kept with a reason (keep_on_erasure)"
        )
        return f"{self.model._meta.label} (key to Member: {', '.join(keys_to_member(self.model))}) {what}"


def gaps(model_list: Iterable[type[models.Model]] | None = None) -> list[Gap]:
    """Models with a key to Member that "download my data" or erasure forget (all installed models
    unless ``model_list`` is given)."""
    from members.pages.export import exported_models

    exported = exported_models()
    found = []
    for model in django_apps.get_models() if model_list is None else model_list:
        if not keys_to_member(model):
            continue
        if model not in exported and model not in _NOT_EXPORTED:
            found.append(Gap(model, "export"))
        if model not in _ERASERS and model not in _KEPT:
            found.append(Gap(model, "erasure"))
    return found


# --- helpers for erasers --------------------------------------------------------------------------


def admin_history_relabel(
    model: type[models.Model], object_ids: Iterable[object], label: str
) -> int:
    """Replace the name the admin's history (``LogEntry.object_repr``, the object's ``str()`` when
    it was edited) shows for these rows of ``model``: it may be a member's name or address."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    ids = [str(i) for i in object_ids]
    if not ids:
        return 0
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    changed = 0
    for start in range(0, len(ids), 500):
        changed += LogEntry.objects.filter(
            content_type=content_type, object_id__in=ids[start : start + 500]
        ).update(object_repr=label[:200])
    return changed


def erased_member_label(member) -> str:
    """How logs name a member after erasure: no name, only the start of the public id."""
    from django.utils.translation import gettext as _

    return _("Erased member %(id)s") % {"id": str(member.public_id)[:8]}


# --- the members app's own entries ----------------------------------------------------------------


def _erase_answers(member) -> None:
    from members.signup.models import SignupAnswer

    SignupAnswer.objects.filter(member=member).delete()


def _erase_codes(member) -> None:
    from members.qr_models import MemberCode

    MemberCode.objects.filter(member=member).delete()


def _erase_staff_labels(member) -> None:
    """The staff activity log names the member in its labels ("Somchai J. +25"): keep the rows
    (who did what, when) but name the member by id only. Rows point at the member by
    ``detail["member"]``, by the member itself (a lookup) or by a ledger entry (a void)."""
    from django.db.models import Q

    from members.ledger.models import LedgerEntry
    from shops.staffing.models import StaffAction

    public_id = str(member.public_id)
    erased = erased_member_label(member)
    rows = StaffAction.objects.filter(shop_id=member.shop_id)
    to_relabel = list(
        rows.filter(
            Q(object_type="member", object_id=public_id) | Q(detail__member=public_id)
        ).only("pk", "detail")
    )
    entry_ids = [
        str(e)
        for e in LedgerEntry.objects.filter(member=member).values_list("public_id", flat=True)
    ]
    for start in range(0, len(entry_ids), 500):
        to_relabel += rows.filter(
            object_type="ledgerentry", object_id__in=entry_ids[start : start + 500]
        ).only("pk", "detail")
    for action in to_relabel:
        reward = (action.detail or {}).get("reward")
        action.object_repr = (f"{reward} · {erased}" if reward else erased)[:200]
    StaffAction.objects.bulk_update(to_relabel, ["object_repr"], batch_size=500)


def _erase_admin_history(member) -> None:
    from members.models import Member

    admin_history_relabel(Member, [member.pk], erased_member_label(member))


def register_members_own() -> None:
    """The members app's models in the registry (called by ``MembersConfig.ready``)."""
    from django.contrib.admin.models import LogEntry

    from members.ledger.models import LedgerEntry, PointLot, Purchase, PurchaseProduct
    from members.qr_models import MemberCode
    from members.signup.models import ConsentRecord, SignupAnswer
    from members.staff.models import PointsClaim
    from shops.staffing.models import StaffAction

    ledger_kept = (
        "the points ledger is immutable and must still add up (DESIGN.md): its rows keep the "
        "member id and nothing else about the person"
    )
    keep_on_erasure(LedgerEntry, reason=ledger_kept)
    keep_on_erasure(PointLot, reason=ledger_kept)
    keep_on_erasure(
        Purchase,
        reason="accounting: amount, receipt number, order id and items of a spend; no name, "
        "phone or address, only the member id",
    )
    keep_on_erasure(
        PurchaseProduct,
        reason="a copy of the kept purchases' product names and SKUs with the member id, for "
        "segments; nothing else about the person",
    )
    keep_on_erasure(
        ConsentRecord,
        reason="evidence of what was accepted or refused, which version, when and how (PDPA "
        "asks the shop to show consent); only the member id",
    )
    keep_on_erasure(
        PointsClaim,
        reason="a points QR code made by a cashier: amount, receipt number, branch and the id "
        "of the member who collected it; nothing else about the person",
    )
    register_eraser(SignupAnswer, _erase_answers)
    register_eraser(MemberCode, _erase_codes)
    register_eraser(StaffAction, _erase_staff_labels)
    register_eraser(LogEntry, _erase_admin_history)
    leave_out_of_export(
        MemberCode,
        reason="one-time QR codes that work for two minutes and are purged a day later",
    )
    leave_out_of_export(
        PurchaseProduct,
        reason="a copy of the purchases' items (SKU and name in capitals), which are exported",
    )
    leave_out_of_export(
        PointsClaim,
        reason="a collected points QR code is a purchase and a ledger entry, both exported",
    )
