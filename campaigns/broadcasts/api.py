"""Open API v1 endpoints for broadcasts (``/api/v1/broadcasts``). Thin: parse → service or
selector → schema. A broadcast, segment or reward is found by its public id within the key's shop:
another shop's is a 404 (or, in a body, a 400 naming the field).

Creating is saving and confirming in one request, with the rules of the back office's confirm
step: ``dry_run`` answers the counts (the draft is written and rolled back, so the counts are the
ones a real save would give); otherwise ``confirm_recipients`` must be the ``reachable`` count the
integrator saw, or nothing is saved and the answer is 409 with the counts as they are now.

``reachable`` (members LINE or SMS can reach, the hold-out included) is what is confirmed rather
than ``line + sms``: the hold-out is drawn with the broadcast's id, which a dry run cannot know,
while ``reachable`` is the same for the dry run and the save. The service's own check
(``broadcast_confirm``, the same transaction) then confirms the saved broadcast's ``line + sms``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from campaigns.broadcasts.messages import CARD_TEMPLATES, PAGES, TYPES
from campaigns.broadcasts.models import Broadcast
from campaigns.broadcasts.reach import broadcast_estimate
from campaigns.broadcasts.results import broadcast_results
from campaigns.broadcasts.results_api import ResultsOut, results_out
from campaigns.broadcasts.selectors import Estimate
from campaigns.broadcasts.services import broadcast_confirm, broadcast_save
from campaigns.segments.models import Segment
from loyalty.api_idempotency import api_error
from loyalty.api_schemas import ErrorDetail, ErrorOut
from loyalty.errors import InvalidInput
from loyalty.text import MultilineText, SingleLineText
from rewards.models import Reward

router = Router()

MAX_AHEAD = dt.timedelta(days=366)
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Pixels = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class AreaIn(Schema):
    x: Pixels
    y: Pixels
    width: Pixels
    height: Pixels
    link: SingleLineText = Field(..., max_length=1000, description="https:// address")
    tags: list[RowId] = Field([], description="Tag ids given to a member who taps")


class PartIn(Schema):
    """One message; which fields it needs depends on ``type`` (docs/api.md)."""

    type: Literal[TYPES]  # type: ignore[valid-type]
    text: MultilineText | None = Field(None, max_length=5000)
    media: uuid.UUID | None = Field(None, description="An uploaded picture's or video's key")
    alt_text: SingleLineText | None = Field(None, max_length=400)
    areas: list[AreaIn] | None = None
    template: Literal[CARD_TEMPLATES] | None = None  # type: ignore[valid-type]
    reward: uuid.UUID | None = Field(None, description="A reward's id (card template reward)")
    page: Literal[tuple(PAGES)] | None = None  # type: ignore[valid-type]
    label: SingleLineText | None = Field(None, max_length=200)
    tags: list[RowId] | None = None


class BroadcastIn(Schema):
    name: SingleLineText = Field(..., max_length=200)
    segments: list[uuid.UUID] = Field(..., description="Segment ids; members of any get it once")
    messages: list[PartIn] = Field(..., description="One to five messages")
    sms_text: MultilineText = Field("", max_length=1000)
    coupon_reward: uuid.UUID | None = Field(None, description="A reward each recipient gets free")
    consent_only: bool = True
    holdout_percent: int = Field(0, description="0 to 50")
    attribution_days: int = Field(7, description="1 to 90")
    send_at: dt.datetime | None = Field(None, description="null: now. Without a zone: Bangkok")
    dry_run: bool = False
    confirm_recipients: int | None = Field(
        None, description="The reachable count of a dry run (required unless dry_run)"
    )


class CountsOut(Schema):
    total: int = Field(description="Members of the segments")
    reachable: int = Field(description="Members LINE or SMS can reach, hold-out included")
    line: int
    sms: int
    holdout: int = Field(description="Held out (drawn when saved: a dry run's is an estimate)")
    not_sent: dict[str, int] = Field(description="The others, by reason")
    line_messages: int = Field(description="Of LINE's monthly quota: recipients × messages")


class DryRunOut(Schema):
    dry_run: bool
    counts: CountsOut


class CountErrorDetail(ErrorDetail):
    counts: CountsOut | None = None


class CountErrorOut(Schema):
    error: CountErrorDetail


class BroadcastOut(Schema):
    id: uuid.UUID
    name: str
    state: str = Field(description="draft, scheduled, sending, sent, cancelled")
    segments: list[uuid.UUID]
    messages: list[dict[str, Any]]
    sms_text: str
    coupon_reward: uuid.UUID | None
    consent_only: bool
    holdout_percent: int
    attribution_days: int
    send_at: dt.datetime | None
    confirmed_recipients: int
    confirmed_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    created_at: dt.datetime


class BroadcastDetailOut(BroadcastOut):
    results: ResultsOut | None = Field(description="null until sending starts")


class BroadcastListOut(Schema):
    results: list[BroadcastOut]


class _Rollback(Exception):  # control flow: roll the save back, answer the counts
    def __init__(self, counts: dict):
        self.counts = counts


def _counts(estimate: Estimate) -> dict:
    return {
        "total": estimate.total,
        "reachable": estimate.line + estimate.sms + estimate.holdout,
        "line": estimate.line,
        "sms": estimate.sms,
        "holdout": estimate.holdout,
        "not_sent": estimate.not_sent,
        "line_messages": estimate.line_messages,
    }


def _out(broadcast: Broadcast) -> dict:
    return {
        "id": broadcast.public_id,
        "name": broadcast.name,
        "state": broadcast.state,
        "segments": [s.public_id for s in broadcast.segments.all()],
        "messages": broadcast.messages,
        "sms_text": broadcast.sms_text,
        "coupon_reward": broadcast.coupon_reward.public_id if broadcast.coupon_reward else None,
        "consent_only": broadcast.consent_only,
        "holdout_percent": broadcast.holdout_percent,
        "attribution_days": broadcast.attribution_days,
        "send_at": broadcast.send_at,
        "confirmed_recipients": broadcast.confirmed_recipients,
        "confirmed_at": broadcast.confirmed_at,
        "started_at": broadcast.started_at,
        "finished_at": broadcast.finished_at,
        "cancelled_at": broadcast.cancelled_at,
        "created_at": broadcast.created_at,
    }


def _invalid(exc: InvalidInput):
    errors = exc.extra.get("errors") or {exc.field or "": [str(exc)]}
    return api_error(400, exc.code, str(exc), field=exc.field or "", errors=errors)


def _send_at(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > timezone.now() + MAX_AHEAD:
        raise InvalidInput(
            _("A broadcast is scheduled at most a year ahead."),
            field="send_at",
            extra={"errors": {"send_at": [_("A broadcast is scheduled at most a year ahead.")]}},
        )
    return value


def _save(shop, payload: BroadcastIn) -> Broadcast:
    segment_ids = list(
        Segment.objects.filter(shop=shop, public_id__in=payload.segments).values_list(
            "pk", flat=True
        )
    )
    if len(segment_ids) != len(set(payload.segments)):
        segment_ids.append(-1)  # not the shop's: the service names the field
    coupon_reward_id = None
    if payload.coupon_reward is not None:
        reward = Reward.objects.filter(shop=shop, public_id=payload.coupon_reward).first()
        coupon_reward_id = reward.pk if reward else -1  # not the shop's: the service says so
    messages = [
        {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in part.items()}
        for part in (p.model_dump(exclude_none=True) for p in payload.messages)
    ]
    return broadcast_save(
        shop=shop,
        name=payload.name,
        segment_ids=segment_ids,
        messages=messages,
        sms_text=payload.sms_text,
        coupon_reward_id=coupon_reward_id,
        consent_only=payload.consent_only,
        holdout_percent=payload.holdout_percent,
        attribution_days=payload.attribution_days,
        send_at=_send_at(payload.send_at),
    )


@router.post(
    "",
    response={
        200: DryRunOut,
        201: BroadcastOut,
        400: ErrorOut,
        401: ErrorOut,
        409: CountErrorOut,
        422: ErrorOut,
    },
    summary="Save and confirm a broadcast (or, with dry_run, only count its audience)",
)
def create_broadcast(request, payload: BroadcastIn):
    shop = request.shop
    if not payload.dry_run and payload.confirm_recipients is None:
        message = _("Send confirm_recipients (the reachable count of a dry run), or dry_run: true.")
        return _invalid(
            InvalidInput(
                message,
                field="confirm_recipients",
                extra={"errors": {"confirm_recipients": [message]}},
            )
        )
    try:
        with transaction.atomic():
            broadcast = _save(shop, payload)
            counts = _counts(broadcast_estimate(broadcast))
            if payload.dry_run or counts["reachable"] != payload.confirm_recipients:
                raise _Rollback(counts)
            broadcast = broadcast_confirm(
                broadcast=broadcast, recipients=counts["line"] + counts["sms"]
            )
    except InvalidInput as exc:
        return _invalid(exc)
    except _Rollback as rollback:
        if payload.dry_run:
            return Status(200, {"dry_run": True, "counts": rollback.counts})
        return api_error(
            409,
            "count_changed",
            _(
                "The audience is now %(count)s members LINE or SMS can reach, not %(shown)s. "
                "Check the counts and confirm again."
            )
            % {"count": rollback.counts["reachable"], "shown": payload.confirm_recipients},
            counts=rollback.counts,
        )
    broadcast = Broadcast.objects.select_related("coupon_reward").get(pk=broadcast.pk)
    return Status(201, _out(broadcast))


@router.get(
    "",
    response={200: BroadcastListOut, 400: ErrorOut, 401: ErrorOut},
    summary="The shop's broadcasts, newest first",
)
def list_broadcasts(
    request,
    state: Literal[tuple(Broadcast.State.values)] | None = None,  # type: ignore[valid-type]
    limit: int = Query(50, ge=1, le=200),
):
    broadcasts = (
        Broadcast.objects.filter(shop=request.shop)
        .select_related("coupon_reward")
        .prefetch_related("segments")
        .order_by("-created_at", "-pk")
    )
    if state:
        broadcasts = broadcasts.filter(state=state)
    return {"results": [_out(b) for b in broadcasts[:limit]]}


@router.get(
    "/{uuid:broadcast_id}",
    response={200: BroadcastDetailOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut},
    summary="A broadcast and its results",
)
def get_broadcast(request, broadcast_id: uuid.UUID):
    broadcast = get_object_or_404(
        Broadcast.objects.select_related("coupon_reward").prefetch_related("segments"),
        shop=request.shop,
        public_id=broadcast_id,
    )
    return {**_out(broadcast), "results": results_out(broadcast_results(broadcast))}
