"""Redeem a reward: one transaction in which points, stock and code move together or not at all.

Lock the member (lock order Shop → Member → Reward); check every rule (``rewards.rules``); debit the
points from the member's lots (the ledger); take a pool code with SKIP LOCKED (``code_pools``);
snapshot the reward; issue the coupon (``coupons``) or the delivery (``deliveries``); last, take one
from stock with a conditional UPDATE, so a hot reward's row is locked only for the end of the
transaction. Any refusal rolls all of it back. The same idempotency key returns the first
redemption. Undoing one is ``cancellations.redemption_cancel``.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.idempotency import clean_key, fingerprint
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.errors import IdempotencyMismatch
from members.ledger.locks import lock_member
from members.models import Member
from members.notifications.models import NoticeKind
from members.notifications.rendering import member_page_url
from members.notifications.services import notify
from rewards.errors import OutOfStock, RewardUnavailable
from rewards.models import Coupon, Redemption, Reward
from rewards.rules import refusal_for
from rewards.services.code_pools import pool_code_take
from rewards.services.coupons import coupon_issue
from rewards.services.deliveries import Address, clean_address, delivery_start
from shops.models import Branch


@transaction.atomic
def reward_redeem(
    *,
    member: Member,
    reward: Reward,
    idempotency_key: str,
    actor: Actor,
    address: Address | None = None,
    branch: Branch | None = None,
    save_address: bool = True,
    mark_used: bool = False,
) -> tuple[Redemption, bool]:
    """Redeem ``reward`` for ``member``: points, stock and code move together or not at all.

    Refuses (each with its own message): inactive or another shop's reward, a closed or not yet
    open window, a tier not allowed, no stock, the per-member limit, a delivery without an address,
    too few spendable points or a debt (from the ledger). Returns (redemption, replayed).
    """
    key = clean_key(idempotency_key)
    print_ = fingerprint(op="redeem", member=member.pk, reward=reward.pk)
    existing = _existing_redemption(member.shop_id, key, print_)
    if existing is not None:
        return existing, True
    if reward.kind == Reward.Kind.DELIVERY:
        address = clean_address(address)
    member = lock_member(member.pk)  # lock order: Member, then Reward
    existing = _existing_redemption(member.shop_id, key, print_)
    if existing is not None:
        return existing, True
    # Not locked here: a hot reward's row would serialise every redemption for the whole
    # transaction. Its stock is taken last, by a conditional UPDATE that holds the row only until
    # the commit; the per-member limit is decided under the member's lock.
    reward = Reward.objects.filter(pk=reward.pk, shop_id=member.shop_id).first()
    if reward is None:
        raise RewardUnavailable(_("This reward is not available."))
    refusal = refusal_for(member, reward)
    if refusal is not None:
        raise refusal
    entry, _replayed = ledger.points_spend(
        member=member,
        points=reward.points_cost,
        idempotency_key=f"redeem:{key}",
        actor=actor,
        note=reward.name,
        reference=reward.name[:100],
        branch=branch,
    )
    redemption = Redemption.objects.create(
        shop_id=member.shop_id,
        member=member,
        reward=reward,
        points=reward.points_cost,
        entry=entry,
        idempotency_key=key,
        fingerprint=print_,
        reward_name=reward.name,
        reward_kind=reward.kind,
        reward_image=reward.image.name if reward.image else "",
        reward_terms=reward.terms,
        branch=branch,
        created_by=actor.user,
    )
    if reward.kind == Reward.Kind.DELIVERY:
        delivery_start(member, redemption, address, save_address=save_address)
    else:
        external = ""
        if reward.kind == Reward.Kind.CUSTOM_CODE:
            external = (
                pool_code_take(reward, redemption) if reward.uses_pool else reward.shared_code
            )
        coupon = coupon_issue(member, reward, redemption, external)
        if mark_used:
            coupon.status, coupon.used_at = Coupon.Status.USED, timezone.now()
            coupon.used_branch, coupon.used_by = branch, actor.user
            coupon.save(update_fields=["status", "used_at", "used_branch", "used_by"])
    if reward.stock is not None:
        # Last, so the reward's row is locked only from here to the commit. Nothing left: the
        # whole redemption rolls back (points, code, coupon), so nothing is oversold.
        taken = Reward.objects.filter(pk=reward.pk, stock__gt=0).update(stock=F("stock") - 1)
        if not taken:
            raise OutOfStock(_("Sorry, this reward is out of stock."))
    page = "rewards:delivery" if reward.kind == Reward.Kind.DELIVERY else "rewards:coupon"
    member.balance = entry.balance_after  # the spend wrote the row through its own instance
    notify(
        member,
        NoticeKind.REDEEMED,
        {
            "points": redemption.points,
            "reward": redemption.reward_name,
            "coupon_url": (
                link := member_page_url(member.shop, page, redemption_id=redemption.public_id)
            ),
            "link": link,
        },
        cause_key=str(redemption.public_id),
    )
    return redemption, False


def _existing_redemption(shop_id: int, key: str, print_: str) -> Redemption | None:
    found = Redemption.objects.filter(shop_id=shop_id, idempotency_key=key).first()
    if found is not None and found.fingerprint != print_:
        raise IdempotencyMismatch(
            _("This idempotency key was already used for a different request.")
        )
    return found
