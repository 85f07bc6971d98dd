"""Gifts: a reward's coupon given free by the shop to many members at once (a broadcast's coupon
push). No points move, so a gift has no ledger entry (``Redemption.is_gift``); the reward's stock,
its code pool and its per-member limit hold exactly as for a redemption.

Set-based: one batch of members costs a fixed number of statements (replay, lock, count, take
codes, insert redemptions, insert coupons, take stock), not a redemption per member. The lock
order is the redemptions' (``members.ledger.locks``): the members (ascending id), then the reward.
Idempotent by key: member ``m`` gets the gift keyed ``<key_prefix>:<m>``; a batch run again (a
resumed job) returns the coupons the first run gave and gives nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.idempotency import clean_key, fingerprint
from members.ledger.errors import IdempotencyMismatch
from members.ledger.locks import lock_members
from members.models import Member
from rewards.models import Coupon, Redemption, Reward, RewardCode
from rewards.rules import coupon_last_day, coupon_validity_days, gift_refusal, new_code

# Why a member got no gift (the same words as a broadcast recipient's reasons).
LIMIT = "coupon_limit"  # the reward's per-member limit is reached (or the account cannot hold one)
STOCK = "coupon_stock"  # no stock or no pool code left (or the reward can no longer be given)
CANNOT_HOLD = (Member.Status.BLOCKED, Member.Status.ERASED, Member.Status.MERGED)


@dataclass
class Gifts:
    """The coupon each member got (by member id) and why the others got none (by member id)."""

    given: dict[int, Coupon] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)


@transaction.atomic
def coupons_gift(
    *,
    reward: Reward,
    member_ids: list[int],
    key_prefix: str,
    created_by_id: int | None = None,
) -> Gifts:
    """Give each of ``member_ids`` (members of ``reward``'s shop) one coupon of ``reward``, free.

    Each coupon has its own code, unique in the shop, and for a platform reward the next free code
    of the reward's pool (or the shared code). Members are served in id order while the stock and
    the pool last; the rest are refused ``STOCK``. A member who already holds as many completed
    redemptions of the reward as its per-member limit (gifts count too), or whose account is
    blocked, erased or merged, is refused ``LIMIT``. A reward that cannot be a gift any more
    (``rules.gift_refusal``: inactive, closed, delivered, another shop's) refuses everyone
    ``STOCK``. The key ``<key_prefix>:<member id>`` makes it safe to run again: members who got it
    get the same coupon back and nothing is taken twice."""
    wanted = sorted(set(member_ids))
    keys = {m: clean_key(f"{key_prefix}:{m}") for m in wanted}
    gifts = Gifts()
    _replay(reward, keys, gifts)
    todo = [m for m in wanted if m not in gifts.given]
    if not todo:
        return gifts
    lock_members(todo)  # lock order: the members (ascending id), then the reward
    _replay(reward, {m: keys[m] for m in todo}, gifts)  # a concurrent twin may have committed
    todo = [m for m in todo if m not in gifts.given]
    if not todo:
        return gifts
    # ``of``: the reward's row only, not the joined shop's (first in the lock order, not taken here).
    reward = (
        Reward.objects.select_for_update(of=("self",), no_key=True)
        .select_related("shop")
        .get(pk=reward.pk)
    )
    members = {
        m.pk: m
        for m in Member.objects.filter(pk__in=todo, shop_id=reward.shop_id).only(
            "pk", "shop_id", "status"
        )
    }
    if gift_refusal(reward, shop_id=reward.shop_id) is not None:
        gifts.refused.update(dict.fromkeys(todo, STOCK))
        return gifts
    eligible = _under_limit(reward, [m for m in todo if m in members], members, gifts)
    eligible = _within_stock(reward, eligible, gifts)
    if eligible:
        _give(reward, eligible, keys, created_by_id, gifts)
    for m in todo:
        if m not in members:
            gifts.refused[m] = LIMIT  # not a member of this shop: never given another shop's
    return gifts


def _replay(reward: Reward, keys: dict[int, str], gifts: Gifts) -> None:
    """The gifts already made under these keys, into ``gifts.given``."""
    if not keys:
        return
    by_key = {k: m for m, k in keys.items()}
    found = Redemption.objects.filter(
        shop_id=reward.shop_id, idempotency_key__in=list(by_key)
    ).select_related("coupon")
    for redemption in found:
        member_id = by_key[redemption.idempotency_key]
        if redemption.fingerprint != _print(member_id, reward):
            raise IdempotencyMismatch(
                _("This idempotency key was already used for a different request.")
            )
        gifts.given[member_id] = redemption.coupon


def _print(member_id: int, reward: Reward) -> str:
    return fingerprint(op="gift", member=member_id, reward=reward.pk)


def _under_limit(
    reward: Reward, todo: list[int], members: dict[int, Member], gifts: Gifts
) -> list[int]:
    """The members who may still hold one more of the reward (counted under their locks)."""
    held = {}
    if reward.per_member_limit:
        held = dict(
            Redemption.objects.filter(
                reward=reward, member_id__in=todo, status=Redemption.Status.COMPLETED
            )
            .values("member_id")
            .annotate(n=Count("pk"))
            .values_list("member_id", "n")
        )
    eligible = []
    for m in todo:
        if members[m].status in CANNOT_HOLD or (
            reward.per_member_limit and held.get(m, 0) >= reward.per_member_limit
        ):
            gifts.refused[m] = LIMIT
        else:
            eligible.append(m)
    return eligible


def _within_stock(reward: Reward, eligible: list[int], gifts: Gifts) -> list[int]:
    """The first members (by id) the stock covers; the others are refused ``STOCK``."""
    room = len(eligible) if reward.stock is None else min(reward.stock, len(eligible))
    for m in eligible[room:]:
        gifts.refused[m] = STOCK
    return eligible[:room]


def _give(
    reward: Reward, eligible: list[int], keys: dict[int, str], created_by_id, gifts: Gifts
) -> None:
    codes: list[RewardCode] = []
    if reward.uses_pool:
        # SKIP LOCKED, as a redemption takes one: a concurrent redeemer gets another code.
        codes = list(
            RewardCode.objects.select_for_update(skip_locked=True)
            .filter(reward=reward, redemption__isnull=True)
            .order_by("id")[: len(eligible)]
        )
        for m in eligible[len(codes) :]:
            gifts.refused[m] = STOCK
        eligible = eligible[: len(codes)]
        if not eligible:
            return
    now = timezone.now()
    redemptions = Redemption.objects.bulk_create(
        Redemption(
            shop_id=reward.shop_id,
            member_id=m,
            reward=reward,
            points=0,
            entry=None,
            is_gift=True,
            idempotency_key=keys[m],
            fingerprint=_print(m, reward),
            reward_name=reward.name,
            reward_kind=reward.kind,
            reward_image=reward.image.name if reward.image else "",
            reward_terms=reward.terms,
            created_by_id=created_by_id,
            created_at=now,
        )
        for m in eligible
    )
    external = dict.fromkeys(eligible, "")
    if codes:
        for code, redemption in zip(codes, redemptions, strict=True):
            code.redemption = redemption
            external[redemption.member_id] = code.code
        RewardCode.objects.bulk_update(codes, ["redemption"])
    elif reward.kind == Reward.Kind.CUSTOM_CODE:
        external = dict.fromkeys(eligible, reward.shared_code)
    expires_on = coupon_last_day(
        issued_on=timezone.localdate(), days=coupon_validity_days(reward, reward.shop)
    )
    coupons = _insert_coupons(
        [
            Coupon(
                shop_id=reward.shop_id,
                redemption=r,
                member_id=r.member_id,
                external_code=external[r.member_id],
                expires_on=expires_on,
                created_at=now,
            )
            for r in redemptions
        ]
    )
    if reward.stock is not None:
        # The reward's row is locked and its stock covered every one of them (``_within_stock``);
        # the condition is the database's word that the stock never goes below zero.
        taken = Reward.objects.filter(pk=reward.pk, stock__gte=len(coupons)).update(
            stock=F("stock") - len(coupons)
        )
        if not taken:  # pragma: no cover - the lock makes this impossible
            raise RuntimeError("the reward's stock changed under its lock")
    for coupon in coupons:
        gifts.given[coupon.member_id] = coupon


def _insert_coupons(coupons: list[Coupon]) -> list[Coupon]:
    """Insert the coupons with fresh codes unique in the shop (codes already taken are drawn again;
    a clash with a coupon committed meanwhile retries the insert)."""
    shop_id = coupons[0].shop_id
    for _attempt in range(10):
        drawn: set[str] = set()
        for coupon in coupons:
            coupon.code = new_code()
            while coupon.code in drawn:
                coupon.code = new_code()
            drawn.add(coupon.code)
        taken = set(
            Coupon.objects.filter(shop_id=shop_id, code__in=drawn).values_list("code", flat=True)
        )
        if taken:
            continue
        try:
            with transaction.atomic():
                return Coupon.objects.bulk_create(coupons)
        except IntegrityError:
            continue  # a code committed by someone else between the check and the insert
    raise RuntimeError("could not find free coupon codes")
