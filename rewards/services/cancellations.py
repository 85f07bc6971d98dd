"""Cancel a redemption: the one way its points come back (the ledger refuses to reverse a
redemption's debit for anyone else, ``members.ledger.owners``). Used by a manager in the back
office, the Open API, a cancelled delivery and the repair command for redemptions whose points were
given back on their own. Whether it still can be cancelled is ``rules.redemption_cancel_refusal``.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.locks import lock_member
from members.ledger.selectors import entry_is_reversed
from rewards.models import Coupon, Delivery, Redemption, Reward
from rewards.rules import REDEMPTION_OWNER, redemption_cancel_refusal


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, note: str, actor: Actor) -> Redemption:
    """Cancel a redemption (a manager, the Open API, or a cancelled delivery): the points go back
    to the very lots they came from, the stock is returned, the coupon or delivery is cancelled,
    and the member's per-member count drops (it counts completed redemptions only). A used coupon
    or a gift shipped or delivered cannot be cancelled. A pool code stays used: it was shown to the
    member. Cancelling twice returns the cancelled redemption. A gift of the shop (``gifts``: no
    points paid) gives back its stock and the member's turn, and no points.

    The redemption's debit belongs to it: the ledger refuses to reverse it for anyone else, and
    reverses it here (``as_owner``). A debit reversed on its own before that rule existed is not
    reversed again; the rest is cancelled."""
    lock_member(redemption.member_id)  # lock order: Member, then Reward
    redemption = Redemption.objects.select_for_update().get(pk=redemption.pk)
    if redemption.status == Redemption.Status.CANCELLED:
        return redemption
    # Locked before they are read: a cashier using the coupon (or handing the gift over) at this
    # moment either finishes first, and the cancellation is refused, or waits and is refused.
    coupon = Coupon.objects.select_for_update().filter(redemption=redemption).first()
    delivery = Delivery.objects.select_for_update().filter(redemption=redemption).first()
    refusal = redemption_cancel_refusal(coupon, delivery)
    if refusal is not None:
        raise refusal
    delivery = Delivery.objects.select_for_update().filter(redemption=redemption).first()
    refusal = redemption_cancel_refusal(coupon, delivery)
    if refusal is not None:
        raise refusal
    # A gift (``gifts``) cost no points: there is no debit to give back, only its stock.
    if redemption.entry_id is not None and not entry_is_reversed(redemption.entry_id):
        ledger.entry_reverse(
            entry=redemption.entry,
            note=note or _("Redemption cancelled"),
            idempotency_key=f"cancel:{redemption.public_id}",
            actor=actor,
            as_owner=REDEMPTION_OWNER,
        )
    Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(stock=F("stock") + 1)
    now = timezone.now()
    if coupon is not None:
        Coupon.objects.filter(pk=coupon.pk).update(status=Coupon.Status.CANCELLED)
    if delivery is not None:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.CANCELLED, cancelled_at=now
        )
    redemption.status = Redemption.Status.CANCELLED
    redemption.cancelled_at = now
    redemption.cancel_note = (note or "")[:300]
    redemption.save(update_fields=["status", "cancelled_at", "cancel_note"])
    return redemption
