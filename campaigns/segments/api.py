"""Open API v1 endpoints for segments (``/api/v1/segments``). Thin: parse → service or selector →
schema. A segment is found by its public id within the key's shop: another shop's is a 404."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from campaigns.segments.conditions import parse_conditions
from campaigns.segments.models import Segment
from campaigns.segments.selectors import segment_count
from campaigns.segments.services import segment_create
from loyalty.api_schemas import ErrorOut
from loyalty.text import SingleLineText

router = Router()


class SegmentIn(Schema):
    name: SingleLineText = Field(..., max_length=200)
    conditions: list[dict[str, Any]] = Field(
        ...,
        description=(
            'Combined with AND, e.g. [{"kind": "tags", "mode": "any", "tags": [3]}, '
            '{"kind": "balance", "min": 500}]. Kinds and their values: docs/campaigns.md.'
        ),
    )


class SegmentOut(Schema):
    id: uuid.UUID
    name: str
    conditions: list[dict[str, Any]]
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentCountOut(Schema):
    total: int = Field(description="Members the segment has now")
    line: int = Field(description="Of them, bound to LINE and friends of the OA: reachable on LINE")
    not_bound: int = Field(description="No LINE account known")
    blocked: int = Field(description="Bound, but blocked the OA")
    not_friend: int = Field(description="Bound, but not a friend of the OA")


def _out(segment: Segment) -> dict:
    return {
        "id": segment.public_id,
        "name": segment.name,
        "conditions": segment.conditions,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


@router.get("", response={200: list[SegmentOut], 401: ErrorOut}, summary="The shop's segments")
def list_segments(request):
    return [_out(segment) for segment in Segment.objects.filter(shop=request.shop)]


@router.post(
    "",
    response={201: SegmentOut, 400: ErrorOut, 401: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Save a segment",
)
def create_segment(request, payload: SegmentIn):
    segment = segment_create(shop=request.shop, name=payload.name, conditions=payload.conditions)
    return Status(201, _out(segment))


@router.post(
    "/{segment_id}/count",
    response={200: SegmentCountOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut},
    summary="How many members a segment has now, and how many LINE can reach",
)
def count_segment(request, segment_id: uuid.UUID):
    segment = get_object_or_404(Segment, shop=request.shop, public_id=segment_id)
    conditions = parse_conditions(request.shop.pk, segment.conditions)
    return segment_count(request.shop.pk, conditions).__dict__
