"""A broadcast's coupon push: each recipient of a batch gets one coupon of the broadcast's
``coupon_reward``, free (``rewards.services.coupons_gift``), inside the transaction that queues
the batch. A recipient who cannot get one (the reward's per-member limit, its stock or code pool
ran out) is skipped with the reason and gets no message; the others' rows point at their coupon.
The gifts are keyed by the broadcast, so a resumed batch gives nobody a second coupon.
"""

from __future__ import annotations

from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from rewards.models import Coupon
from rewards.services import coupons_gift
from rewards.services.gifts import LIMIT, STOCK

RState = BroadcastRecipient.State
Reason = BroadcastRecipient.Reason
REASONS = {LIMIT: Reason.COUPON_LIMIT, STOCK: Reason.COUPON_STOCK}


def broadcast_coupons_give(
    broadcast: Broadcast, batch: list[BroadcastRecipient]
) -> tuple[dict[int, Coupon], set[int]]:
    """Give the batch's recipients the broadcast's coupon (inside the batch's transaction).
    Returns (coupon by recipient id, ids of the recipients refused); the refused are marked
    skipped with ``coupon_limit`` or ``coupon_stock``, the others' ``coupon`` is set."""
    if broadcast.coupon_reward_id is None or not batch:
        return {}, set()
    gifts = coupons_gift(
        reward=broadcast.coupon_reward,
        member_ids=[r.member_id for r in batch],
        key_prefix=broadcast.source,
        created_by_id=broadcast.confirmed_by_id,
    )
    given: dict[int, Coupon] = {}
    refused: set[int] = set()
    by_reason: dict[str, list[int]] = {}
    changed = []
    for recipient in batch:
        coupon = gifts.given.get(recipient.member_id)
        if coupon is not None:
            given[recipient.pk] = coupon
            if recipient.coupon_id != coupon.pk:
                recipient.coupon = coupon
                changed.append(recipient)
        else:
            reason = REASONS[gifts.refused[recipient.member_id]]
            refused.add(recipient.pk)
            by_reason.setdefault(reason, []).append(recipient.pk)
            recipient.state, recipient.reason = RState.SKIPPED, reason
    if changed:
        BroadcastRecipient.objects.bulk_update(changed, ["coupon"])
    for reason, ids in by_reason.items():
        BroadcastRecipient.objects.filter(pk__in=ids).update(state=RState.SKIPPED, reason=reason)
    return given, refused
