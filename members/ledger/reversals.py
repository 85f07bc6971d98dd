"""Reversals: an entry (``entry_reverse``) or a purchase's credit (``purchase_reverse``) undone by
a new, opposite entry; ``reverse_refusal`` says why one cannot be.

- a credit: its lot loses what is left of it; what was already spent becomes debt, paid first by
  the next credits; a tier reached thanks to it is re-evaluated (``tiers.tier_undo_upgrade``).
- a debit: the points go back to exactly the lots they came from (its allocations); points whose
  lot has expired meanwhile expire again at once (``core.expire_lots_now``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from loyalty.idempotency import clean_key, fingerprint
from members.ledger import owners
from members.ledger.actors import Actor
from members.ledger.core import expire_lots_now, local_today, replay_entry
from members.ledger.errors import CannotReverse, EntryOwned, MemberNotActive
from members.ledger.locks import lock_member
from members.ledger.models import EntryKind, LedgerEntry, LotAllocation, PointLot, Purchase
from members.ledger.tiers import tier_undo_upgrade
from members.ledger.visits import bought_forget, visit_refresh
from members.models import Member


def reverse_refusal(entry: LedgerEntry, *, as_owner: str | None = None) -> CannotReverse | None:
    """Why ``entry`` cannot be reversed, or None: a reversal or an expiry; an entry already
    reversed; an entry that belongs to a higher layer's record (a redemption: see
    ``members.ledger.owners``), unless the caller is that owner (``as_owner`` its kind), whose
    service undoes the rest of it too. ``entry_reverse`` asks again under the member's lock; the
    back office asks before it shows the form."""
    if entry.kind == EntryKind.REVERSAL:
        return CannotReverse(_("A reversal cannot be reversed; make an adjustment instead."))
    if entry.kind == EntryKind.EXPIRE:
        return CannotReverse(_("Expired points cannot be reversed; make an adjustment instead."))
    owner = owners.entry_owner(entry.pk)
    if as_owner is not None and (owner is None or owner.kind != as_owner):
        raise ValueError(f"entry {entry.pk} does not belong to a {as_owner}")
    if LedgerEntry.objects.filter(reversal_of=entry).exists():
        if owner is not None:
            return CannotReverse(
                _("This entry has already been reversed (it belongs to %(owner)s).")
                % {"owner": owner.label}
            )
        return CannotReverse(_("This entry has already been reversed."))
    if owner is not None and owner.kind != as_owner:
        return EntryOwned(
            _("These points belong to %(owner)s and cannot be reversed on their own. %(undo)s")
            % {"owner": owner.label, "undo": owner.undo},
            owner=owner,
        )
    return None


@transaction.atomic
def entry_reverse(
    *,
    entry: LedgerEntry,
    note: str,
    idempotency_key: str,
    actor: Actor,
    as_owner: str | None = None,
) -> tuple[LedgerEntry, bool]:
    """Reverse one entry with a new, opposite entry.

    - a credit: its lot loses what is left of it; what was already spent becomes debt, paid first
      by the next credits. A tier reached thanks to it is re-evaluated. Its purchase is marked
      reversed.
    - a debit (reward, adjustment): the points go back to exactly the lots they came from; points
      whose lot has expired meanwhile expire again at once.
    A reversal, an expiry, or an entry already reversed cannot be reversed. Neither can an entry
    that belongs to a higher layer (a redemption's debit): only its owner's service reverses it,
    passing ``as_owner`` (``rewards.services.redemption_cancel``, which also cancels the coupon or
    delivery and returns the stock), so the points never come back while the reward stays taken.
    """
    key = clean_key(idempotency_key)
    note = (note or "").strip()
    print_ = fingerprint(op="reverse", entry=entry.pk)
    replay = replay_entry(entry.shop_id, key, print_)
    if replay is not None:
        return replay, True
    member = lock_member(entry.member_id)
    replay = replay_entry(entry.shop_id, key, print_)
    if replay is not None:
        return replay, True
    entry = LedgerEntry.objects.select_related("purchase").get(pk=entry.pk)
    refusal = reverse_refusal(entry, as_owner=as_owner)
    if refusal is not None:
        raise refusal
    if member.status == Member.Status.ERASED:
        raise MemberNotActive(_("This member is deleted; points cannot change."))

    if entry.points > 0:
        reversal = _reverse_credit(member, entry, key=key, print_=print_, actor=actor, note=note)
        if entry.purchase_id:
            Purchase.objects.filter(pk=entry.purchase_id).update(status=Purchase.Status.REVERSED)
            visit_refresh(member)  # the reversed purchase may have been the last visit
            bought_forget(entry.purchase_id)
        tier_undo_upgrade(member, entry)
    else:
        reversal = _reverse_debit(member, entry, key=key, print_=print_, actor=actor, note=note)
    return reversal, False


def _reverse_credit(member, entry, *, key, print_, actor, note) -> LedgerEntry:
    lot = PointLot.objects.get(entry=entry)
    # Points of this lot that expired are gone already; the reversal takes back the rest: what is
    # left of the lot, and as debt what was spent or paid to earlier debt.
    expired = (
        LotAllocation.objects.filter(lot=lot, debit__kind=EntryKind.EXPIRE).aggregate(
            total=Sum("points")
        )["total"]
        or 0
    )
    amount = entry.points - expired
    if amount <= 0:
        raise CannotReverse(
            _("All points of this entry have expired; there is nothing to reverse.")
        )
    take = lot.remaining
    shortfall = amount - take
    member.balance -= amount
    member.debt += shortfall
    reversal = LedgerEntry.objects.create(
        shop=member.shop,
        member=member,
        kind=EntryKind.REVERSAL,
        points=-amount,
        balance_after=member.balance,
        idempotency_key=key,
        fingerprint=print_,
        branch=entry.branch,
        channel=actor.channel,
        note=note[:500],
        reversal_of=entry,
        purchase=entry.purchase,
        reference=entry.reference,
        **actor.entry_fields(),
    )
    if take:
        LotAllocation.objects.create(debit=reversal, lot=lot, points=take)
        lot.remaining = 0
        lot.save(update_fields=["remaining"])
    member.save(update_fields=["balance", "debt", "updated_at"])
    return reversal


def _reverse_debit(member, entry, *, key, print_, actor, note) -> LedgerEntry:
    allocations = list(entry.allocations.select_related("lot"))
    restored = sum(a.points for a in allocations)
    # An adjustment's allocations cover all of it; a reversal-of-credit is refused above.
    member.balance += restored
    reversal = LedgerEntry.objects.create(
        shop=member.shop,
        member=member,
        kind=EntryKind.REVERSAL,
        points=restored,
        balance_after=member.balance,
        idempotency_key=key,
        fingerprint=print_,
        branch=entry.branch,
        channel=actor.channel,
        note=note[:500],
        reversal_of=entry,
        reference=entry.reference,
        **actor.entry_fields(),
    )
    lots = []
    for allocation in allocations:
        lot = allocation.lot
        lot.remaining += allocation.points
        lots.append(lot)
    PointLot.objects.bulk_update(lots, ["remaining"])
    member.save(update_fields=["balance", "updated_at"])
    today = local_today()
    expired = [lot for lot in lots if lot.expires_on is not None and lot.expires_on < today]
    if expired:
        expire_lots_now(member, expired, key=f"{key}:expired")
    return reversal


def purchase_reverse(
    *, purchase: Purchase, note: str, idempotency_key: str, actor: Actor
) -> tuple[LedgerEntry, bool]:
    """Reverse a purchase (refund or void): reverses the credit it earned."""
    entry = (
        LedgerEntry.objects.filter(purchase=purchase, points__gt=0, reversal_of__isnull=True)
        .order_by("id")
        .first()
    )
    if entry is None:
        raise CannotReverse(_("This purchase earned no points."))
    return entry_reverse(entry=entry, note=note, idempotency_key=idempotency_key, actor=actor)
