"""Open API v1 endpoints for members and points. Thin: parse → service or selector → schema.

Every object is looked up within the key's shop, so another shop's member id is a 404 like any
unknown id. POSTs are idempotent through ``loyalty.api_idempotency``; the ledger key of a write is
``api:<Idempotency-Key>``, so the ledger refuses a second write even if the stored response is lost.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from loyalty.api_idempotency import api_error, ledger_key
from loyalty.api_schemas import ErrorOut
from loyalty.errors import InvalidInput
from loyalty.numbers import BadNumber, parse_decimal
from loyalty.text import MultilineText, SingleLineText
from members import services as member_services
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.errors import EntryOwned
from members.ledger.models import LedgerEntry
from members.ledger.selectors import member_entries, member_points_summary, tier_progress
from members.line.binding import member_bind
from members.line.models import BindingRecord
from members.models import Member
from members.selectors import member_for_api

router = Router()
points_router = Router()


# --- schemas --------------------------------------------------------------------------------------


class TierOut(Schema):
    name: str
    threshold: int
    earn_multiplier: str


class TierProgressOut(Schema):
    enabled: bool
    earned_in_window: int
    next_tier: TierOut | None
    points_to_next_tier: int | None
    points_to_keep_tier: int | None
    keep_by: dt.date | None


class LotOut(Schema):
    points: int
    expires_on: dt.date | None = Field(description="Last day the points can be used; null = never")
    spendable_from: dt.date


class MemberOut(Schema):
    id: uuid.UUID
    status: str
    phone: str | None
    first_name: str
    last_name: str
    customer_id: str | None
    line_user_id: str | None
    bound: bool
    tier: TierOut | None
    tier_progress: TierProgressOut
    balance: int
    debt: int
    spendable: int
    pending: int
    lots: list[LotOut]
    created_at: dt.datetime


class MemberListOut(Schema):
    results: list[MemberOut]


class MemberIn(Schema):
    phone: SingleLineText = Field(description="Thai or international number in any common form")
    first_name: SingleLineText = Field("", max_length=100)
    last_name: SingleLineText = Field("", max_length=100)
    customer_id: SingleLineText | None = Field(None, max_length=100)
    line_user_id: SingleLineText | None = Field(None, max_length=64)


class ItemIn(Schema):
    sku: SingleLineText = Field("", max_length=64)
    name: SingleLineText = Field(..., min_length=1, max_length=200)
    quantity: str = Field("1", description="Decimal string")
    price: str = Field(..., description="Unit price, decimal string in baht")

    @field_validator("quantity", "price")
    @classmethod
    def _decimals(cls, value):
        try:
            number = parse_decimal(value)  # a comma only separates thousands: "1,250.00"
        except BadNumber:
            raise ValueError(
                "must be a decimal string; a comma only separates thousands (1,250.00)"
            ) from None
        if number < 0 or number > Decimal("9999999"):
            raise ValueError("must be between 0 and 9,999,999")
        return str(number)


class EarnIn(Schema):
    member_id: uuid.UUID | None = None
    phone: SingleLineText | None = Field(
        None,
        description="Used when member_id is not given; an unknown phone creates a pending member",
    )
    amount: str = Field(..., description='Spend in baht as a decimal string, e.g. "250.00"')
    branch_code: SingleLineText | None = None
    order_id: SingleLineText | None = Field(None, max_length=100)
    channel: Literal["store", "online", "api"] = "api"
    items: list[ItemIn] = Field(default_factory=list, max_length=500)


class EarnOut(Schema):
    entry_id: uuid.UUID
    member_id: uuid.UUID
    points: int
    balance: int
    tier: TierOut | None
    member_created: bool


class AdjustIn(Schema):
    member_id: uuid.UUID
    points: int = Field(..., description="Positive to add, negative to remove")
    note: MultilineText = Field(..., min_length=1, max_length=500)


class ReverseIn(Schema):
    note: MultilineText = Field("", max_length=500)


class EntryResultOut(Schema):
    entry_id: uuid.UUID
    member_id: uuid.UUID
    points: int
    balance: int


class EntryOut(Schema):
    id: uuid.UUID
    kind: str
    points: int
    balance_after: int
    created_at: dt.datetime
    channel: str
    branch_code: str | None
    note: str
    reference: str
    order_id: str | None
    amount: str | None
    reverses: uuid.UUID | None


class EntryPageOut(Schema):
    results: list[EntryOut]
    next_cursor: str | None


# --- helpers --------------------------------------------------------------------------------------


def _tier_out(tier) -> dict | None:
    if tier is None:
        return None
    return {
        "name": tier.name,
        "threshold": tier.threshold,
        "earn_multiplier": str(tier.earn_multiplier),
    }


def member_out(member: Member) -> dict:
    summary = member_points_summary(member)
    progress = tier_progress(member)
    return {
        "id": member.public_id,
        "status": member.status,
        "phone": member.phone,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "customer_id": member.customer_id,
        "line_user_id": member.line_user_id,
        "bound": member.is_bound,
        "tier": _tier_out(member.tier),
        "tier_progress": {
            "enabled": progress.enabled,
            "earned_in_window": progress.earned,
            "next_tier": _tier_out(progress.next),
            "points_to_next_tier": progress.points_to_next,
            "points_to_keep_tier": progress.points_to_keep,
            "keep_by": progress.keep_by,
        },
        "balance": summary.balance,
        "debt": summary.debt,
        "spendable": summary.spendable,
        "pending": summary.pending,
        "lots": [
            {
                "points": lot.remaining,
                "expires_on": lot.expires_on,
                "spendable_from": lot.available_on,
            }
            for lot in summary.lots
        ],
        "created_at": member.created_at,
    }


def _member(request: HttpRequest, member_id: uuid.UUID) -> Member:
    member = member_for_api(shop=request.shop, public_id=member_id)
    if member is None:
        raise Http404
    return member


def _actor(request: HttpRequest) -> Actor:
    return Actor.api(request.api_key)


# --- members --------------------------------------------------------------------------------------


@router.post(
    "",
    response={
        200: MemberOut,
        201: MemberOut,
        400: ErrorOut,
        401: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Create a member, or get the existing one with this phone",
)
def create_member(request, payload: MemberIn):
    with transaction.atomic():
        member, created = member_services.member_get_or_create(
            shop=request.shop,
            phone=payload.phone,
            first_name=payload.first_name,
            last_name=payload.last_name,
            customer_id=payload.customer_id,
        )
        if payload.line_user_id:
            member_bind(
                member=member,
                line_user_id=payload.line_user_id,
                via=BindingRecord.Via.API,
                actor=f"API key: {request.api_key.name}",
            )
    member = Member.objects.select_related("shop", "tier", "manual_tier").get(pk=member.pk)
    return Status(201 if created else 200, member_out(member))


@router.get(
    "",
    response={200: MemberListOut, 400: ErrorOut, 401: ErrorOut},
    summary="Find a member by phone, Customer ID or LINE user id",
)
def find_members(
    request,
    # Checked like stored text: a NUL or other control character is a 400, never a query.
    phone: SingleLineText | None = None,
    customer_id: SingleLineText | None = None,
    line_user_id: SingleLineText | None = None,
):
    members = (
        Member.objects.select_related("shop", "tier", "manual_tier")
        .filter(shop=request.shop)
        .exclude(status=Member.Status.ERASED)
    )
    if phone:
        members = members.filter(phone=ledger.clean_phone(phone))
    elif customer_id:
        members = members.filter(customer_id=customer_id)
    elif line_user_id:
        members = members.filter(line_user_id=line_user_id)
    else:
        raise InvalidInput(_("Give one of phone, customer_id or line_user_id."))
    return {"results": [member_out(m) for m in members[:1]]}


@router.get(
    "/{uuid:member_id}",
    response={200: MemberOut, 401: ErrorOut, 404: ErrorOut},
    summary="A member's profile, tier progress, balance and open lots",
)
def get_member(request, member_id: uuid.UUID):
    return member_out(_member(request, member_id))


def _cursor_decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except Exception:
        raise InvalidInput(
            _("The cursor is not valid; use next_cursor from the last page."), field="cursor"
        ) from None


def _cursor_encode(value: int | None) -> str | None:
    if value is None:
        return None
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


@router.get(
    "/{uuid:member_id}/entries",
    response={200: EntryPageOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut},
    summary="A member's points history, newest first (cursor-paginated)",
)
def member_history(
    request, member_id: uuid.UUID, cursor: str | None = None, limit: int = Query(50, ge=1, le=200)
):
    member = _member(request, member_id)
    entries, next_id = member_entries(member, before_id=_cursor_decode(cursor), limit=limit)
    return {
        "results": [
            {
                "id": e.public_id,
                "kind": e.kind,
                "points": e.points,
                "balance_after": e.balance_after,
                "created_at": e.created_at,
                "channel": e.channel,
                "branch_code": e.branch.code if e.branch else None,
                "note": e.note,
                "reference": e.reference,
                "order_id": e.purchase.external_order_id if e.purchase else None,
                "amount": str(e.purchase.amount) if e.purchase and e.points > 0 else None,
                "reverses": e.reversal_of.public_id if e.reversal_of else None,
            }
            for e in entries
        ],
        "next_cursor": _cursor_encode(next_id),
    }


# --- points ---------------------------------------------------------------------------------------


@points_router.post(
    "/earn",
    response={
        201: EarnOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Add points for a spend (store, online order or another system)",
)
def earn(request, payload: EarnIn):
    # The member (by id) and the branch (by code) are found by the service, in the statement that
    # locks the member: the earn path's statement budget (docs/_arch/ledger.md).
    if not payload.member_id and not payload.phone:
        raise InvalidInput(_("Give member_id or phone."), field="member_id")
    items = [
        ledger.LineItem(
            sku=i.sku, name=i.name, quantity=Decimal(i.quantity), price=Decimal(i.price)
        )
        for i in payload.items
    ]
    result = ledger.points_earn(
        shop=request.shop,
        member_public_id=payload.member_id or None,
        phone=None if payload.member_id else payload.phone,
        amount=payload.amount,
        idempotency_key=ledger_key(request),
        actor=_actor(request),
        branch_code=payload.branch_code or None,
        channel=payload.channel,
        order_id=payload.order_id,
        items=items,
    )
    if result.replayed:
        # A fresh earn returns the locked, updated member (balance and tier as committed); a
        # replay returns the member of the first earn, as it was then.
        result.member.refresh_from_db(fields=["balance", "tier"])
    return Status(
        201,
        {
            "entry_id": result.entry.public_id,
            "member_id": result.member.public_id,
            "points": result.points,
            "balance": result.member.balance,
            "tier": _tier_out(result.member.tier),
            "member_created": result.member_created,
        },
    )


@points_router.post(
    "/adjust",
    response={
        201: EntryResultOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Add (positive) or remove (negative) points by hand, with a note",
)
def adjust(request, payload: AdjustIn):
    member = _member(request, payload.member_id)
    entry, _replayed = ledger.points_adjust(
        member=member,
        points=payload.points,
        note=payload.note,
        idempotency_key=ledger_key(request),
        actor=_actor(request),
    )
    return Status(
        201,
        {
            "entry_id": entry.public_id,
            "member_id": member.public_id,
            "points": entry.points,
            "balance": entry.balance_after,
        },
    )


@points_router.post(
    "/{uuid:entry_id}/reverse",
    response={
        201: EntryResultOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Reverse an entry (refund, void, cancelled adjustment)",
    description=(
        "A redemption's points are not reversed here: that is refused with 422 "
        "`owned_by_redemption` and the `redemption_id` to cancel instead "
        "(`POST /api/v1/redemptions/{redemption_id}/cancel`), which also cancels the coupon or "
        "delivery and returns the stock."
    ),
)
def reverse(request, entry_id: uuid.UUID, payload: ReverseIn):
    entry = (
        LedgerEntry.objects.select_related("member")
        .filter(shop=request.shop, public_id=entry_id)
        .first()
    )
    if entry is None:
        raise Http404
    try:
        reversal, _replayed = ledger.entry_reverse(
            entry=entry,
            note=payload.note,
            idempotency_key=ledger_key(request),
            actor=_actor(request),
        )
    except EntryOwned as exc:
        # The points paid for a redemption: undone only by cancelling it. Its id, to do that.
        owner = exc.owner
        return api_error(
            exc.http_status, exc.code, str(exc), **{f"{owner.kind}_id": str(owner.public_id)}
        )
    return Status(
        201,
        {
            "entry_id": reversal.public_id,
            "member_id": entry.member.public_id,
            "points": reversal.points,
            "balance": reversal.balance_after,
        },
    )
