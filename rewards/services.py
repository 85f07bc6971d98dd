"""Every write of rewards: redeem, use a coupon, cancel, deliveries, spot codes, code pools. The
cashier's side of them in the staff app is ``rewards.staff_services``.

Redemption is one transaction: lock the member (lock order Shop → Member → Reward); check every
rule; debit the points from the member's lots; take a pool code with SKIP LOCKED; snapshot the
reward; issue the coupon or the delivery; last, take one from stock with a conditional UPDATE, so a
hot reward's row is locked only for the end of the transaction. Any refusal rolls all of it back.
The same idempotency key returns the first redemption.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.dates import format_people_date
from loyalty.errors import ApplicationError, InvalidInput, NotFound
from loyalty.idempotency import clean_key, fingerprint
from loyalty.phones import InvalidPhone, normalise_phone
from loyalty.text import REFUSED_MULTILINE, check_text
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.locks import lock_member
from members.ledger.selectors import entry_is_reversed, member_points_summary
from members.models import Member
from rewards.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Coupon,
    Delivery,
    Redemption,
    Reward,
    RewardCode,
    SavedAddress,
    SpotCode,
)
from shops.models import Branch, Shop

SPOT_CODE_LIFETIME = dt.timedelta(minutes=5)


class RewardUnavailable(ApplicationError):
    code = "reward_unavailable"


class OutOfStock(ApplicationError):
    code = "out_of_stock"


class TierNotAllowed(ApplicationError):
    code = "tier_not_allowed"


class LimitReachedForMember(ApplicationError):
    code = "member_limit_reached"


class AddressRequired(InvalidInput):
    code = "address_required"


class CouponNotUsable(ApplicationError):
    code = "coupon_not_usable"


class WrongState(ApplicationError):
    code = "wrong_state"


@dataclass(frozen=True)
class Address:
    recipient: str
    phone: str
    address: str
    postcode: str


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str:
    """What a cashier typed or a scanner read, in stored form (upper case, no spaces or dashes)."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


# --- rules ----------------------------------------------------------------------------------------


def refusal_for(
    member: Member, reward: Reward, *, now: dt.datetime | None = None, taken: int | None = None
):
    """Why ``member`` cannot redeem ``reward`` right now, as an ApplicationError, or None.

    Points are checked by the ledger when they are debited (spendable lots, debt); this covers
    everything else. ``taken`` is the member's count of this reward (queried when not given).
    """
    now = now or timezone.now()
    if not reward.is_active or reward.shop_id != member.shop_id:
        return RewardUnavailable(_("This reward is not available."))
    if member.status in (Member.Status.BLOCKED, Member.Status.ERASED):
        return RewardUnavailable(_("This account cannot redeem rewards."))
    if reward.active_from and now < reward.active_from:
        return RewardUnavailable(
            _("This reward opens on %(date)s.")
            % {"date": format_people_date(reward.active_from, with_time=True)},
            code="not_yet_open",
        )
    if reward.active_until and now > reward.active_until:
        return RewardUnavailable(_("This reward has closed."), code="closed")
    allowed = {t.pk for t in reward.allowed_tiers.all()}
    if allowed and member.tier_id not in allowed:
        names = ", ".join(sorted(t.name for t in reward.allowed_tiers.all()))
        return TierNotAllowed(
            _("This reward is for members of these tiers: %(tiers)s.") % {"tiers": names}
        )
    if reward.stock is not None and reward.stock <= 0:
        return OutOfStock(_("Sorry, this reward is out of stock."))
    if reward.per_member_limit:
        if taken is None:
            taken = Redemption.objects.filter(
                member=member, reward=reward, status=Redemption.Status.COMPLETED
            ).count()
        if taken >= reward.per_member_limit:
            return LimitReachedForMember(
                _("You have already redeemed this reward %(n)s times, the most allowed.")
                % {"n": taken}
            )
    return None


def clean_address(address: Address | None) -> Address:
    if address is None:
        raise AddressRequired(_("Enter the delivery address."), field="address")
    recipient = check_text(
        (address.recipient or "").strip(), field="recipient", where=_("Recipient")
    )
    text = check_text(
        (address.address or "").strip(), multiline=True, field="address", where=_("Address")
    )
    postcode = (address.postcode or "").strip()
    if not recipient or not text:
        raise AddressRequired(_("Enter the recipient's name and the address."), field="address")
    if not (postcode.isdigit() and len(postcode) == 5):
        raise AddressRequired(_("A Thai postcode has 5 digits."), field="postcode")
    try:
        phone = normalise_phone(address.phone)
    except InvalidPhone as exc:
        raise AddressRequired(exc.messages[0], field="phone") from None
    return Address(recipient=recipient[:120], phone=phone, address=text, postcode=postcode)


# --- redeem ---------------------------------------------------------------------------------------


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
        _start_delivery(member, redemption, address, save_address=save_address)
    else:
        external = ""
        if reward.kind == Reward.Kind.CUSTOM_CODE:
            external = (
                _take_pool_code(reward, redemption) if reward.uses_pool else reward.shared_code
            )
        coupon = _issue_coupon(member, reward, redemption, external)
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
    return redemption, False


def _existing_redemption(shop_id: int, key: str, print_: str) -> Redemption | None:
    found = Redemption.objects.filter(shop_id=shop_id, idempotency_key=key).first()
    if found is not None and found.fingerprint != print_:
        raise ledger.IdempotencyMismatch(
            _("This idempotency key was already used for a different request.")
        )
    return found


def _take_pool_code(reward: Reward, redemption: Redemption) -> str:
    # SKIP LOCKED: concurrent redeemers of the same reward each get a different free code
    # instead of queueing on the same row (on SQLite writers are serialised anyway).
    code = (
        RewardCode.objects.select_for_update(skip_locked=True)
        .filter(reward=reward, redemption__isnull=True)
        .order_by("id")
        .first()
    )
    if code is None:
        raise OutOfStock(_("Sorry, all codes of this reward have been given out."))
    RewardCode.objects.filter(pk=code.pk).update(redemption=redemption)
    return code.code


def _issue_coupon(member: Member, reward: Reward, redemption: Redemption, external: str) -> Coupon:
    days = reward.coupon_validity_days or member.shop.coupon_validity_days
    expires_on = timezone.localdate() + dt.timedelta(days=days - 1)
    for _attempt in range(10):
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    shop_id=member.shop_id,
                    redemption=redemption,
                    member=member,
                    code=new_code(),
                    external_code=external,
                    expires_on=expires_on,
                )
        except IntegrityError:
            continue  # a code already taken in this shop (25^8 codes: vanishingly rare)
    raise RuntimeError("could not find a free coupon code")


def _start_delivery(member, redemption, address: Address, *, save_address: bool) -> Delivery:
    if (
        save_address
        and not SavedAddress.objects.filter(
            member=member,
            recipient=address.recipient,
            address=address.address,
            postcode=address.postcode,
        ).exists()
    ):
        SavedAddress.objects.create(
            shop_id=member.shop_id,
            member=member,
            recipient=address.recipient,
            phone=address.phone,
            address=address.address,
            postcode=address.postcode,
        )
    return Delivery.objects.create(
        shop_id=member.shop_id,
        redemption=redemption,
        member=member,
        recipient=address.recipient,
        phone=address.phone,
        address=address.address,
        postcode=address.postcode,
    )


# --- cancel ---------------------------------------------------------------------------------------


REDEMPTION_OWNER = "redemption"  # the kind under which rewards owns its debits in the ledger


def redemption_cancel_refusal(
    coupon: Coupon | None, delivery: Delivery | None
) -> WrongState | None:
    """Why a redemption with this coupon or delivery can no longer be cancelled, or None: a used
    coupon, a gift shipped or delivered (the reward has been handed over)."""
    if coupon is not None and coupon.status == Coupon.Status.USED:
        return WrongState(_("This coupon has been used; it cannot be cancelled."))
    if delivery is not None and delivery.status == Delivery.Status.DELIVERED:
        return WrongState(_("This gift has been delivered; it cannot be cancelled."))
    if delivery is not None and delivery.status == Delivery.Status.SHIPPED:
        return WrongState(_("This gift has been shipped; it cannot be cancelled."))
    return None


@transaction.atomic
def redemption_cancel(*, redemption: Redemption, note: str, actor: Actor) -> Redemption:
    """Cancel a redemption (a manager, the Open API, or a cancelled delivery): the points go back
    to the very lots they came from, the stock is returned, the coupon or delivery is cancelled,
    and the member's per-member count drops (it counts completed redemptions only). A used coupon
    or a gift shipped or delivered cannot be cancelled. A pool code stays used: it was shown to the
    member. Cancelling twice returns the cancelled redemption.

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
    if not entry_is_reversed(redemption.entry_id):
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


# --- coupons --------------------------------------------------------------------------------------


def coupon_find(*, shop: Shop, code: str) -> Coupon:
    """The shop's coupon with this code (as typed or scanned), or NotFound; another shop's code is
    not found either."""
    coupon = (
        Coupon.objects.select_related("redemption", "member", "member__tier", "used_branch")
        .filter(shop=shop, code=normalise_code(code))
        .first()
    )
    if coupon is None:
        raise NotFound(_("No coupon with this code in this shop."), code="unknown_coupon")
    return coupon


def coupon_state_error(coupon: Coupon, *, today: dt.date | None = None) -> ApplicationError | None:
    today = today or timezone.localdate()
    if coupon.status == Coupon.Status.USED:
        when = format_people_date(coupon.used_at, with_time=True)
        # Read by id: a row locked after waiting for a concurrent use has the new branch id but a
        # joined branch read from before the wait (PostgreSQL re-checks only the locked row).
        branch_name = (
            Branch.objects.filter(pk=coupon.used_branch_id).values_list("name", flat=True).first()
            if coupon.used_branch_id
            else None
        )
        if branch_name:
            return CouponNotUsable(
                # Translators: Thai: คูปองนี้ถูกใช้ไปแล้ว (เวลา, สาขา)
                _("This coupon was already used (%(when)s, %(branch)s).")
                % {"when": when, "branch": branch_name},
                code="coupon_used",
            )
        return CouponNotUsable(
            _("This coupon was already used (%(when)s).") % {"when": when}, code="coupon_used"
        )
    if coupon.status == Coupon.Status.CANCELLED:
        return CouponNotUsable(_("This coupon was cancelled."), code="coupon_cancelled")
    if coupon.status == Coupon.Status.EXPIRED or coupon.expires_on < today:
        return CouponNotUsable(_("This coupon has expired."), code="coupon_expired")
    return None


@transaction.atomic
def coupon_use(*, shop: Shop, code: str, branch: Branch | None, actor: Actor) -> Coupon:
    """Use a coupon at the counter, once: refuses unknown, used, expired or cancelled coupons and
    another shop's branch."""
    if branch is not None and (branch.shop_id != shop.pk or not branch.is_active):
        raise InvalidInput(_("This branch is not an active branch of the shop."), field="branch")
    found = coupon_find(shop=shop, code=code)
    coupon = Coupon.objects.select_for_update().get(pk=found.pk)
    error = coupon_state_error(coupon)
    if error is not None:
        raise error
    coupon.status = Coupon.Status.USED
    coupon.used_at = timezone.now()
    coupon.used_branch = branch
    coupon.used_by = actor.user
    coupon.save(update_fields=["status", "used_at", "used_branch", "used_by"])
    return coupon


def coupons_expire_due(*, today: dt.date | None = None) -> int:
    """Daily: coupons past their last day become expired (one UPDATE; running twice is harmless)."""
    today = today or timezone.localdate()
    return Coupon.objects.filter(status=Coupon.Status.ISSUED, expires_on__lt=today).update(
        status=Coupon.Status.EXPIRED
    )


# --- deliveries -----------------------------------------------------------------------------------

DELIVERY_NEXT = {
    Delivery.Status.PENDING: {
        Delivery.Status.PREPARING,
        Delivery.Status.SHIPPED,
        Delivery.Status.CANCELLED,
        Delivery.Status.DELIVERED,
    },
    Delivery.Status.PREPARING: {
        Delivery.Status.SHIPPED,
        Delivery.Status.CANCELLED,
        Delivery.Status.DELIVERED,
    },
    Delivery.Status.SHIPPED: {Delivery.Status.DELIVERED},
    Delivery.Status.DELIVERED: set(),
    Delivery.Status.CANCELLED: set(),
}


@transaction.atomic
def delivery_set_status(
    *,
    delivery: Delivery,
    status: str,
    actor: Actor,
    carrier: str = "",
    tracking_number: str = "",
    branch: Branch | None = None,
    note: str = "",
) -> Delivery:
    """Move a delivery on: pending → preparing → shipped (carrier and tracking number required)
    → delivered; or cancelled before it ships, which returns the points. A cashier handing the gift
    over in the store marks it delivered at their branch."""
    if status == Delivery.Status.CANCELLED:
        # Through the redemption, which takes the member's lock before the delivery's (the lock
        # order of every cancellation) and refuses a gift that has shipped or been delivered.
        current = Delivery.objects.get(pk=delivery.pk)
        if current.status == Delivery.Status.CANCELLED:
            return current
        redemption_cancel(redemption=current.redemption, note=note, actor=actor)
        return Delivery.objects.get(pk=delivery.pk)
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if status == delivery.status:
        return delivery
    if status not in DELIVERY_NEXT[delivery.status]:
        raise WrongState(
            _("A delivery that is “%(now)s” cannot become “%(next)s”.")
            % {"now": delivery.get_status_display(), "next": Delivery.Status(status).label}
        )
    now = timezone.now()
    if status == Delivery.Status.SHIPPED:
        carrier, tracking_number = carrier.strip(), tracking_number.strip()
        if not carrier or not tracking_number:
            raise InvalidInput(
                _("Enter the carrier and the tracking number."), field="tracking_number"
            )
        delivery.carrier, delivery.tracking_number = carrier[:60], tracking_number[:60]
        delivery.shipped_at = now
    if status == Delivery.Status.PREPARING:
        delivery.preparing_at = now
    if status == Delivery.Status.DELIVERED:
        delivery.delivered_at = now
        if branch is not None:
            delivery.handed_over_branch = branch
    delivery.status = status
    delivery.save()
    return delivery


# --- spot redemption ------------------------------------------------------------------------------


@transaction.atomic
def spot_code_issue(*, member: Member, reward: Reward) -> SpotCode:
    """A 6-digit code the member shows at the counter for 5 minutes. Nothing is deducted yet; the
    rules are checked now (to tell the member early) and again when the cashier confirms.

    A member has at most one open code per reward: asking again (a double tap, a reload) returns
    the open one, decided under the member's lock, so two codes never wait for the same reward.
    """
    if not reward.spot_redemption:
        raise RewardUnavailable(_("This reward is not redeemed at the counter."))
    member = lock_member(member.pk)
    open_code = (
        SpotCode.objects.filter(
            member=member, reward=reward, redemption__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )
    if open_code is not None:
        return open_code
    refusal = refusal_for(member, reward)
    if refusal is not None:
        raise refusal
    spendable = member_points_summary(member).spendable
    if spendable < reward.points_cost:
        raise ledger.NotEnoughPoints(
            _("Not enough points: %(have)s available, %(need)s needed.")
            % {"have": spendable, "need": reward.points_cost}
        )
    now = timezone.now()
    for _attempt in range(20):
        code = f"{secrets.randbelow(1_000_000):06d}"
        SpotCode.objects.filter(
            shop_id=member.shop_id, code=code, redemption__isnull=True, expires_at__lt=now
        ).delete()
        try:
            with transaction.atomic():
                return SpotCode.objects.create(
                    shop_id=member.shop_id,
                    member=member,
                    reward=reward,
                    code=code,
                    expires_at=now + SPOT_CODE_LIFETIME,
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not find a free spot code")


def clean_spot_code(raw: str) -> str:
    """The digits of a spot code as typed (Thai digits, spaces and dashes allowed)."""
    text = (raw or "").translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789"))
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def _spot_not_open(shop: Shop, code: str) -> NotFound:
    """Why there is no open spot code ``code``: confirmed a moment ago, or unknown."""
    confirmed = (
        SpotCode.objects.filter(
            shop=shop,
            code=code,
            redemption__isnull=False,
            expires_at__gte=timezone.now() - SPOT_CODE_LIFETIME,
        )
        .select_related("redemption")
        .order_by("-created_at")
        .first()
    )
    if confirmed is not None:
        return NotFound(
            # Translators: Thai: รหัสนี้ยืนยันไปแล้วเมื่อ ... ไม่มีการหักพอยท์ซ้ำ
            _("This code was already confirmed at %(time)s. Nothing more was deducted.")
            % {"time": format_people_date(confirmed.redemption.created_at, with_time=True)},
            code="spot_code_confirmed",
        )
    return NotFound(
        _("No open code like this. Ask the member to show a new one."), code="unknown_code"
    )


def spot_code_find(*, shop: Shop, code: str) -> SpotCode:
    """The shop's open spot code ``code`` (with its member, tier and reward), or the refusal:
    unknown (another shop's code too), already confirmed, lapsed. Changes nothing."""
    code = clean_spot_code(code)
    spot = (
        SpotCode.objects.select_related("member", "member__tier", "reward")
        .filter(shop=shop, code=code, redemption__isnull=True)
        .first()
    )
    if spot is None:
        raise _spot_not_open(shop, code)
    if spot.expires_at < timezone.now():
        raise _spot_lapsed()
    return spot


def spot_code_refusal(spot: SpotCode) -> ApplicationError | None:
    """Why confirming ``spot`` now would be refused by the reward's rules or the member's points
    (``reward_redeem`` decides again under the locks), or None: shown before the cashier taps."""
    refusal = refusal_for(spot.member, spot.reward)
    if refusal is not None:
        return refusal
    spendable = member_points_summary(spot.member).spendable
    if spendable < spot.reward.points_cost:
        return ledger.NotEnoughPoints(
            _("Not enough points: %(have)s available, %(need)s needed.")
            % {"have": spendable, "need": spot.reward.points_cost}
        )
    return None


def _spot_lapsed() -> CouponNotUsable:
    return CouponNotUsable(
        _("This code has lapsed (codes last 5 minutes). Nothing was deducted; ask for a new one."),
        code="code_lapsed",
    )


def spot_code_confirm(*, shop: Shop, code: str, branch: Branch | None, actor: Actor) -> Redemption:
    """The cashier confirms a member's spot code: the reward is redeemed and used at once. A lapsed
    or already confirmed code is refused and nothing is deducted."""
    return spot_code_confirm_with_key(shop=shop, code=code, branch=branch, actor=actor)[0]


@transaction.atomic
def spot_code_confirm_with_key(
    *,
    shop: Shop,
    code: str,
    branch: Branch | None,
    actor: Actor,
    idempotency_key: str | None = None,
) -> tuple[Redemption, bool]:
    """``spot_code_confirm`` returning (redemption, replayed). With ``idempotency_key`` (a staff
    form's) the redemption carries that key, so a replayed form finds its first redemption, even
    when its twin confirmed the code while this request waited on the code's lock; without it the
    key is the spot code's own (``spot:<id>``)."""
    code = clean_spot_code(code)
    if idempotency_key:
        earlier = _spot_replay(shop, code, idempotency_key)
        if earlier is not None:
            return earlier, True
    spot = (
        # Only the code's row: the member and the reward are locked by reward_redeem, in order.
        SpotCode.objects.select_for_update(of=("self",))
        .select_related("member", "reward")
        .filter(shop=shop, code=code, redemption__isnull=True)
        .first()
    )
    if spot is None:
        if idempotency_key:
            earlier = _spot_replay(shop, code, idempotency_key)
            if earlier is not None:
                return earlier, True
        raise _spot_not_open(shop, code)
    if spot.expires_at < timezone.now():
        raise _spot_lapsed()
    redemption, replayed = reward_redeem(
        member=spot.member,
        reward=spot.reward,
        idempotency_key=idempotency_key or f"spot:{spot.pk}",
        actor=actor,
        branch=branch,
        mark_used=True,
    )
    spot.redemption = redemption
    spot.save(update_fields=["redemption"])
    return redemption, replayed


def _spot_replay(shop: Shop, code: str, key: str) -> Redemption | None:
    """The redemption an earlier submit of the same form made, if any. The same key with another
    code is a reused form, refused like any reused idempotency key."""
    earlier = (
        Redemption.objects.filter(shop=shop, idempotency_key=key)
        .select_related("spot_code")
        .first()
    )
    if earlier is None:
        return None
    spot = getattr(earlier, "spot_code", None)
    if spot is None or spot.code != code:
        raise ledger.IdempotencyMismatch(
            _("This form was already used for another code. Start again.")
        )
    return earlier


# --- code pools -----------------------------------------------------------------------------------


class DuplicateCodes(InvalidInput):
    code = "duplicate_codes"


@transaction.atomic
def reward_codes_add(*, reward: Reward, codes: list[str]) -> int:
    """Add shop-supplied codes to a reward's pool. Refuses the whole batch, listing them, when a
    code appears twice in it or is already in the pool."""
    cleaned = [c.strip() for c in codes if c and c.strip()]
    if not cleaned:
        raise InvalidInput(_("No codes found. Put one code per line or per row."))
    for code in cleaned:
        # The code itself says where (its refused character shown as U+FFFD).
        check_text(code, where=REFUSED_MULTILINE.sub("\ufffd", code))
    too_long = [c for c in cleaned if len(c) > 100]
    if too_long:
        raise InvalidInput(
            _("A code is longer than 100 characters: %(code)s") % {"code": too_long[0][:40]}
        )
    seen, twice = set(), []
    for c in cleaned:
        if c in seen:
            twice.append(c)
        seen.add(c)
    Reward.objects.select_for_update(no_key=True).filter(pk=reward.pk).first()
    already = list(
        RewardCode.objects.filter(reward=reward, code__in=seen).values_list("code", flat=True)
    )
    duplicates = sorted(set(twice) | set(already))
    if duplicates:
        shown = ", ".join(duplicates[:10]) + ("…" if len(duplicates) > 10 else "")
        raise DuplicateCodes(
            _("Duplicate codes, nothing was added: %(codes)s") % {"codes": shown},
            extra={"duplicates": duplicates},
        )
    RewardCode.objects.bulk_create(
        RewardCode(shop_id=reward.shop_id, reward=reward, code=c) for c in cleaned
    )
    return len(cleaned)


def parse_code_file(upload) -> list[str]:
    """Codes from an uploaded xlsx (first column of the first sheet) or CSV/text (first column),
    one per row; a header row named "code"/"รหัส" is skipped."""
    name = (getattr(upload, "name", "") or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(upload, read_only=True, data_only=True)
        except Exception:
            raise InvalidInput(_("This file is not a readable .xlsx workbook.")) from None
        codes = []
        for row in workbook.worksheets[0].iter_rows(values_only=True):
            if row and row[0] is not None:
                codes.append(str(row[0]).strip())
        workbook.close()
    elif name.endswith((".csv", ".txt")):
        import csv
        import io

        text = upload.read().decode("utf-8-sig", errors="replace")
        codes = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    else:
        raise InvalidInput(_("Upload an .xlsx, .csv or .txt file of codes."))
    if codes and codes[0].lower() in ("code", "codes", "รหัส", "โค้ด"):
        codes = codes[1:]
    return codes
