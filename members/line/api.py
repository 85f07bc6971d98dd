"""Open API v1 endpoints for account binding (``/api/v1/bindings``). Thin: parse → service → schema.

A binding is looked up by its LINE user id within the key's shop: another shop's binding is a 404
like an unknown one. POSTs are idempotent through ``loyalty.api_idempotency``; binding the same
LINE id to the same member again is a no-op in the service as well.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status

from loyalty.api_schemas import ErrorOut
from loyalty.text import SingleLineText
from members.api import MemberOut, member_out
from members.line import binding
from members.line.accountlink import account_link_start
from members.line.models import BindingRecord
from members.models import Member

router = Router()


class BindingIn(Schema):
    line_user_id: SingleLineText = Field(..., description="U and 32 hex digits (LINE's user id)")
    member_id: uuid.UUID | None = Field(None, description="The member's id; or give one of:")
    customer_id: SingleLineText | None = Field(
        None,
        max_length=100,
        description="The shop's own id; an unknown one creates a pending member with it",
    )
    phone: SingleLineText | None = Field(
        None, description="An unknown phone creates a pending member with it"
    )


class BindingOut(Schema):
    line_user_id: str
    bound_at: dt.datetime
    member_created: bool = False
    member: MemberOut


class AccountLinkOut(Schema):
    line_user_id: str
    sent: bool = Field(description="The account-link message was queued to the LINE user")


def _actor(request: HttpRequest) -> str:
    return f"API key: {request.api_key.name}"


def _binding_out(member: Member, *, created: bool = False) -> dict:
    member = Member.objects.select_related("shop", "tier", "manual_tier").get(pk=member.pk)
    return {
        "line_user_id": member.line_user_id,
        "bound_at": member.bound_at,
        "member_created": created,
        "member": member_out(member),
    }


def _bound_member(request: HttpRequest, line_user_id: str) -> Member:
    member = (
        Member.objects.filter(shop=request.shop, line_user_id=line_user_id, bound_at__isnull=False)
        .exclude(status=Member.Status.ERASED)
        .first()
    )
    if member is None:
        raise Http404
    return member


@router.post(
    "",
    response={
        200: BindingOut,
        201: BindingOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Bind a LINE user to a member (by member id, Customer ID or phone)",
)
def create_binding(request, payload: BindingIn):
    result, created = binding.member_bind_identified(
        shop=request.shop,
        line_user_id=payload.line_user_id,
        member_public_id=payload.member_id,
        customer_id=payload.customer_id,
        phone=payload.phone,
        via=BindingRecord.Via.API,
        actor=_actor(request),
    )
    status = 201 if result.changed else 200
    return Status(status, _binding_out(result.member, created=created))


@router.get(
    "/{line_user_id}",
    response={200: BindingOut, 401: ErrorOut, 404: ErrorOut},
    summary="The member bound to a LINE user",
)
def get_binding(request, line_user_id: str):
    return _binding_out(_bound_member(request, line_user_id))


@router.delete(
    "/{line_user_id}",
    response={204: None, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Unbind a LINE user from its member",
)
def delete_binding(request, line_user_id: str):
    member = _bound_member(request, line_user_id)
    binding.member_unbind(member=member, via=BindingRecord.Via.API, actor=_actor(request))
    return Status(204, None)


@router.post(
    "/{line_user_id}/link",
    response={202: AccountLinkOut, 400: ErrorOut, 401: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Start LINE's account-link flow: send the user a button to the shop's link page",
)
def start_account_link(request, line_user_id: str):
    account_link_start(shop=request.shop, line_user_id=line_user_id, request=request)
    return Status(202, {"line_user_id": line_user_id, "sent": True})
