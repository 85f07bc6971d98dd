"""Open API v1 endpoints for rewards: the catalogue, redeeming, using a coupon, a member's coupons.

Same conventions as the rest of v1 (keys, idempotency, errors). The ledger key of a redemption is
``api:<Idempotency-Key>``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from loyalty.api_idempotency import ledger_key
from loyalty.api_schemas import ErrorOut
from loyalty.errors import InvalidInput
from loyalty.links import media_url
from loyalty.text import MultilineText, SingleLineText
from members.ledger.actors import Actor
from members.selectors import member_for_api
from rewards import selectors, services
from rewards.models import Coupon, Redemption
from shops.selectors import branch_by_code


def _member(request, member_id: uuid.UUID):
    member = member_for_api(shop=request.shop, public_id=member_id)
    if member is None:
        raise Http404
    return member


router = Router()


class RewardOut(Schema):
    id: uuid.UUID
    kind: str
    name: str
    description: str
    points_cost: int
    stock: int | None = Field(description="null = unlimited")
    per_member_limit: int | None
    allowed_tiers: list[str] = Field(description="Tier names; empty = every tier")
    active_from: dt.datetime | None
    active_until: dt.datetime | None
    image_url: str | None
    terms: str


class RewardListOut(Schema):
    results: list[RewardOut]


class AddressIn(Schema):
    recipient: SingleLineText = Field(..., max_length=120)
    phone: SingleLineText
    address: MultilineText = Field(..., max_length=1000)
    postcode: SingleLineText = Field(..., description="5 digits")


class RedeemIn(Schema):
    member_id: uuid.UUID
    reward_id: uuid.UUID
    address: AddressIn | None = Field(None, description="Required for delivered rewards")


class CouponOut(Schema):
    code: str
    external_code: str
    reward_name: str
    status: str
    expires_on: dt.date
    used_at: dt.datetime | None
    used_branch_code: str | None


class DeliveryOut(Schema):
    status: str
    carrier: str
    tracking_number: str


class RedemptionOut(Schema):
    redemption_id: uuid.UUID
    reward_id: uuid.UUID
    member_id: uuid.UUID
    status: str = Field(description="completed, or cancelled (points returned)")
    points: int
    is_gift: bool = Field(
        description="a free coupon the shop gave (a coupon push): no points were paid (points 0)"
    )
    balance: int
    coupon: CouponOut | None
    delivery: DeliveryOut | None


class CancelIn(Schema):
    note: str = Field("", max_length=300, description="Why; shown in the member's history")


class UseIn(Schema):
    branch_code: SingleLineText


class CouponListOut(Schema):
    results: list[CouponOut]


def coupon_out(coupon: Coupon) -> dict:
    return {
        "code": coupon.code,
        "external_code": coupon.external_code,
        "reward_name": coupon.redemption.reward_name,
        "status": coupon.status,
        "expires_on": coupon.expires_on,
        "used_at": coupon.used_at,
        "used_branch_code": coupon.used_branch.code if coupon.used_branch_id else None,
    }


@router.get(
    "/rewards", response={200: RewardListOut, 401: ErrorOut}, summary="The reward catalogue"
)
def list_rewards(request):
    return {
        "results": [
            {
                "id": r.public_id,
                "kind": r.kind,
                "name": r.name,
                "description": r.description,
                "points_cost": r.points_cost,
                "stock": r.stock,
                "per_member_limit": r.per_member_limit,
                "allowed_tiers": [t.name for t in r.allowed_tiers.all()],
                "active_from": r.active_from,
                "active_until": r.active_until,
                "image_url": media_url(request, r.image.url) if r.image else None,
                "terms": r.terms,
            }
            for r in selectors.catalogue_rewards(request.shop.pk, now=timezone.now())
        ]
    }


@router.post(
    "/redemptions",
    response={
        201: RedemptionOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Redeem a reward for a member",
)
def redeem(request, payload: RedeemIn):
    member = _member(request, payload.member_id)
    reward = selectors.reward_by_public_id(shop_id=request.shop.pk, public_id=payload.reward_id)
    if reward is None:
        raise Http404
    address = services.Address(**payload.address.dict()) if payload.address else None
    redemption, _replayed = services.reward_redeem(
        member=member,
        reward=reward,
        idempotency_key=ledger_key(request),
        actor=Actor.api(request.api_key),
        address=address,
    )
    return Status(201, redemption_out(redemption, balance=redemption.entry.balance_after))


def redemption_out(redemption: Redemption, *, balance: int) -> dict:
    coupon, delivery = selectors.redemption_parts(redemption)
    return {
        "redemption_id": redemption.public_id,
        "reward_id": redemption.reward.public_id,
        "member_id": redemption.member.public_id,
        "status": redemption.status,
        "points": redemption.points,
        "is_gift": redemption.is_gift,
        "balance": balance,
        "coupon": coupon_out(coupon) if coupon else None,
        "delivery": (
            {
                "status": delivery.status,
                "carrier": delivery.carrier,
                "tracking_number": delivery.tracking_number,
            }
            if delivery
            else None
        ),
    }


@router.post(
    "/redemptions/{uuid:redemption_id}/cancel",
    response={
        200: RedemptionOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Cancel a redemption: points back, coupon or delivery cancelled, stock returned",
    description=(
        "The only way to give back the points of a redemption (reversing its ledger entry is "
        "refused with `owned_by_redemption`). Cancelling an already cancelled redemption returns "
        "it unchanged. A used coupon or a gift shipped or delivered cannot be cancelled: 422 "
        "`wrong_state`."
    ),
)
def cancel_redemption(request, redemption_id: uuid.UUID, payload: CancelIn):
    redemption = selectors.redemption_by_public_id(shop=request.shop, public_id=redemption_id)
    if redemption is None:
        raise Http404
    redemption = services.redemption_cancel(
        redemption=redemption,
        note=payload.note.strip() or _("Cancelled through the Open API"),
        actor=Actor.api(request.api_key),
    )
    redemption.member.refresh_from_db(fields=["balance"])
    return redemption_out(redemption, balance=redemption.member.balance)


@router.post(
    "/coupons/{code}/use",
    response={
        200: CouponOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Use a coupon at a branch (once)",
)
def use_coupon(request, code: str, payload: UseIn):
    branch = branch_by_code(shop=request.shop, code=payload.branch_code.strip().upper())
    if branch is None or not branch.is_active:
        raise InvalidInput(
            _("Unknown branch code “%(code)s”.") % {"code": payload.branch_code},
            code="unknown_branch",
            field="branch_code",
        )
    coupon = services.coupon_use(
        shop=request.shop, code=code, branch=branch, actor=Actor.api(request.api_key)
    )
    return coupon_out(coupon)


@router.get(
    "/members/{uuid:member_id}/coupons",
    response={200: CouponListOut, 401: ErrorOut, 404: ErrorOut},
    summary="A member's coupons, newest first",
)
def member_coupons(request, member_id: uuid.UUID):
    member = _member(request, member_id)
    return {"results": [coupon_out(c) for c in selectors.coupons_of_member(member, limit=200)]}
