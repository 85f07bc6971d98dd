"""Merging a pending member into the member who proved its phone.

Everything that points at the pending member moves to the proving member: the ledger
(``members.ledger.merge``), and every other row with a foreign key to ``Member`` in any app
(coupons, redemptions, deliveries, consent records, answers...), found by walking the model
registry, so a table added later moves too without this module knowing it (members never imports
the apps above it). The few relations that need more than a move are listed here, each with why.
"""

from __future__ import annotations

from django.db import models

from members.ledger.merge import LEDGER_RELATIONS, ledger_merge
from members.models import Member
from members.signup.models import SignupAnswer

# Relations left where they are: the claim records are the history of the proof itself, the
# binding records the history of the pending record's own LINE bindings (a pending record that a
# claim may take has no LINE id, ``pending_for_phone``: a merge never moves a LINE binding).
KEPT = frozenset(
    {
        ("members.PhoneClaim", "member"),
        ("members.PhoneClaim", "pending"),
        ("members.BindingRecord", "member"),
    }
)
# The pending member's card QR codes live two minutes and belong to no one now, and so does an
# account-link nonce made for it (moved, it would bind a LINE user to the proving member): deleted.
# So are its RFM scores (one row per member): the purchases move, and the nightly refresh scores
# the proving member from all of them.
DELETED = frozenset(
    {
        ("members.MemberCode", "member"),
        ("members.AccountLinkNonce", "member"),
        ("campaigns.MemberRfm", "member"),
    }
)
# Rows unique per member and something else (a broadcast's recipient, a link's click): the pending
# member's row for something the proving member already has is dropped (the proving member's
# stands).
UNIQUE_PER = {
    ("campaigns.BroadcastRecipient", "member"): "broadcast",
    ("campaigns.LinkClick", "member"): "link",  # a click counts once per member
}
# An answer per question per member: the proving member's own answers win (they gave them last).
ANSWERS = ("members.SignupAnswer", "member")
TAGS = ("members.Member_tags", "member")


def member_foreign_keys() -> list[models.ForeignKey]:
    """Every foreign key to ``Member`` in the project (hidden ``related_name="+"`` ones too)."""
    return [
        rel.field
        for rel in Member._meta.get_fields(include_hidden=True)
        if rel.auto_created and rel.is_relation and not rel.concrete
    ]


def relation_key(field: models.ForeignKey) -> tuple[str, str]:
    return (field.model._meta.label, field.name)


def member_merge_pending(*, pending: Member, target: Member, phone: str) -> int:
    """Move everything of ``pending`` to ``target`` and give ``target`` the phone. Both rows are
    locked by the caller (Shop → Member, ascending id). Returns the points moved.

    ``target`` keeps its own details; the pending record's Customer ID, e-mail, gender and note
    fill the ones ``target`` lacks. The pending record is left with no phone, no personal data,
    no points and the status *merged*, so nothing finds it again and erasing ``target`` later
    erases the person's data in one place.
    """
    points = ledger_merge(source=pending, target=target)
    for field in member_foreign_keys():
        key = relation_key(field)
        if key in KEPT or key in LEDGER_RELATIONS:
            continue
        rows = field.model._base_manager.filter(**{field.name: pending})
        if key in DELETED:
            rows.delete()
            continue
        if key == ANSWERS:
            answered = SignupAnswer.objects.filter(member=target).values("question_id")
            rows.filter(question_id__in=answered).delete()
        elif key in UNIQUE_PER:
            other = UNIQUE_PER[key]
            have = field.model._base_manager.filter(**{field.name: target}).values(other)
            rows.filter(**{f"{other}__in": have}).delete()
        elif key == TAGS:
            # The through table is unique per (member, tag): add what is new, drop the rest.
            have = Member.tags.through.objects.filter(member=target).values("tag_id")
            rows.filter(tag_id__in=have).delete()
        rows.update(**{field.name: target})

    fill = {
        name: getattr(pending, name)
        for name in ("customer_id", "email", "gender", "note")
        if getattr(pending, name) and not getattr(target, name)
    }
    # The pending row lets go of its unique identifiers before the target takes them.
    for name in ("phone", "customer_id", "line_user_id", "birthday"):
        setattr(pending, name, None)
    for name in ("first_name", "last_name", "gender", "email", "line_display_name", "note"):
        setattr(pending, name, "")
    pending.status = Member.Status.MERGED
    pending.save()
    for name, value in fill.items():
        setattr(target, name, value)
    target.phone = phone
    target.save()
    return points
