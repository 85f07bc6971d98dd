"""Reads of segments: how many members a segment has, how many LINE can reach and why not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from campaigns.segments.conditions import Condition, segment_members
from members.line.models import LineFriend
from members.models import Member

PREVIEW_SIZE = 20


@dataclass(frozen=True)
class SegmentCount:
    """``total`` members; ``line`` of them bound to LINE and friends of the OA now. The rest, by
    reason: ``not_bound`` (no LINE account known), ``blocked`` (bound, but blocked the OA) and
    ``not_friend`` (bound, but not a friend: never added the OA, or unknown to the webhook)."""

    total: int
    line: int
    not_bound: int
    blocked: int
    not_friend: int


def _friend_state(shop_id: int, state: str) -> Exists:
    return Exists(
        LineFriend.objects.filter(
            shop_id=shop_id, line_user_id=OuterRef("line_user_id"), state=state
        )
    )


def segment_count(shop_id: int, conditions: Iterable[Condition]) -> SegmentCount:
    """The segment's size and its reach on LINE, in one statement."""
    members = segment_members(shop_id, conditions).annotate(
        _friend=_friend_state(shop_id, LineFriend.State.FRIEND),
        _blocked=_friend_state(shop_id, LineFriend.State.BLOCKED),
    )
    bound = Q(bound_at__isnull=False, line_user_id__isnull=False)
    counts = members.aggregate(
        total=Count("pk"),
        line=Count("pk", filter=bound & Q(_friend=True)),
        not_bound=Count("pk", filter=~bound),
        blocked=Count("pk", filter=bound & Q(_blocked=True)),
        not_friend=Count("pk", filter=bound & Q(_friend=False, _blocked=False)),
    )
    return SegmentCount(**counts)


def segment_preview(shop_id: int, conditions: Iterable[Condition]) -> QuerySet[Member]:
    """The first members of the segment, newest first, for the builder's preview."""
    return (
        segment_members(shop_id, conditions)
        .select_related("tier")
        .order_by("-created_at", "-pk")[:PREVIEW_SIZE]
    )
