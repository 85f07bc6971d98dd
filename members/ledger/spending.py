"""Corrections by hand and spends of points: ``points_adjust`` adds or removes points with a
reason, ``points_spend`` takes points for a reward. Both lock the member first, replay a key seen
before (``core.replay_entry``) and write through ``core.credit`` / ``core.debit``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.idempotency import clean_key, fingerprint
from members.ledger.actors import Actor
from members.ledger.core import (
    check_points_cap,
    credit,
    debit,
    replay_entry,
    require_active,
)
from members.ledger.errors import InvalidAmount, MemberHasDebt
from members.ledger.locks import lock_member
from members.ledger.models import EntryKind, LedgerEntry
from members.models import Member
from shops.models import Branch


@transaction.atomic
def points_adjust(
    *, member: Member, points: int, note: str, idempotency_key: str, actor: Actor
) -> tuple[LedgerEntry, bool]:
    """Add or remove points by hand, with a reason. A removal draws on the member's lots (pending
    ones too, since it corrects a mistake) and is refused beyond what the member has; either way
    no more than the shop's most points per entry (``TooManyPoints``)."""
    key = clean_key(idempotency_key)
    note = (note or "").strip()
    if not note:
        raise InvalidAmount(_("Write why the points are adjusted."), field="note")
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidAmount(_("Enter a whole number of points other than 0."), field="points")
    print_ = fingerprint(op="adjust", member=member.pk, points=points, note=note)
    replay = replay_entry(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    check_points_cap(member.shop, points)
    member = lock_member(member.pk)
    require_active(member)
    replay = replay_entry(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    if points > 0:
        entry = credit(
            member,
            kind=EntryKind.ADJUST,
            points=points,
            key=key,
            print_=print_,
            actor=actor,
            note=note,
        )
    else:
        entry = debit(
            member,
            kind=EntryKind.ADJUST,
            points=-points,
            key=key,
            print_=print_,
            actor=actor,
            note=note,
            spendable_only=False,
        )
    return entry, False


@transaction.atomic
def points_spend(
    *,
    member: Member,
    points: int,
    idempotency_key: str,
    actor: Actor,
    note: str = "",
    reference: str = "",
    branch: Branch | None = None,
) -> tuple[LedgerEntry, bool]:
    """Spend points (a reward). Only spendable lots count (not pending, not expired); a member
    with debt cannot spend until it is paid off. Callers that also lock a reward must call this
    inside their own transaction after locking the member (lock order Member → Reward)."""
    key = clean_key(idempotency_key)
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidAmount(_("Points must be a whole number above 0."), field="points")
    print_ = fingerprint(op="spend", member=member.pk, points=points, reference=reference)
    replay = replay_entry(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    member = lock_member(member.pk)
    require_active(member)
    replay = replay_entry(member.shop_id, key, print_)
    if replay is not None:
        return replay, True
    if member.debt > 0:
        raise MemberHasDebt(
            _("This member owes %(debt)s points from a refund; new points pay it off first.")
            % {"debt": member.debt}
        )
    entry = debit(
        member,
        kind=EntryKind.REDEEM,
        points=points,
        key=key,
        print_=print_,
        actor=actor,
        note=note,
        reference=reference,
        branch=branch,
    )
    return entry, False
