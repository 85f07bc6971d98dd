from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.segments.models import Segment
from members.line.models import LineFriend
from members.models import ConsentRecord, Member
from shops.models import ShopLineChannel
from tests.factories import MemberFactory
from tests.line_fixtures import (
    MESSAGING_ACCESS_TOKEN,
    MESSAGING_CHANNEL_ID,
    MESSAGING_CHANNEL_SECRET,
    fake_line,
)

__all__ = ["fake_line"]


@pytest.fixture
def line_shop(shop):
    """The shop with its Messaging API channel on the fake LINE."""
    ShopLineChannel.objects.create(
        shop=shop,
        messaging_channel_id=MESSAGING_CHANNEL_ID,
        messaging_channel_secret=MESSAGING_CHANNEL_SECRET,
        messaging_access_token=MESSAGING_ACCESS_TOKEN,
    )
    return shop


@pytest.fixture
def q_sync(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def friend(shop, user_id: str, *, state=LineFriend.State.FRIEND, consent=True, **fields) -> Member:
    """A member bound to ``user_id``, a friend (or ``state``) of the shop's OA."""
    member = MemberFactory(shop=shop, line_user_id=user_id, bound_at=timezone.now(), **fields)
    LineFriend.objects.create(shop=shop, line_user_id=user_id, state=state, member=member)
    if consent:
        consent_given(member)
    return member


def consent_given(member: Member, granted: bool = True) -> None:
    ConsentRecord.objects.create(
        shop=member.shop,
        member=member,
        kind=ConsentRecord.Kind.MARKETING,
        granted=granted,
        method=ConsentRecord.Method.ADMIN,
    )


def everyone(shop, name="Everyone") -> Segment:
    return Segment.objects.create(shop=shop, name=name, conditions=[{"kind": "all"}])
