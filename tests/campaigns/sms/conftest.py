from __future__ import annotations

import pytest

from campaigns.broadcasts.services import broadcast_save
from campaigns.segments.models import Segment
from campaigns.sms.models import SmsSettings
from tests.campaigns.broadcasts.conftest import line_shop, q_sync
from tests.line_fixtures import fake_line
from tests.sms_fixtures import fake_sms

__all__ = ["fake_line", "fake_sms", "line_shop", "q_sync"]


@pytest.fixture
def sms_shop(line_shop, fake_sms):
    """The shop on the fake LINE and the fake SMS gateway, with a sender name and a budget."""
    SmsSettings.objects.create(shop=line_shop, sender_name="CAFEAROI", monthly_budget=100)
    return line_shop


def sms_draft(shop, *, sms_text="โปร {shop} คุณ{name}", **kwargs):
    return broadcast_save(
        shop=shop,
        name="Promo",
        segment_ids=[everyone(shop).pk],
        messages=[{"type": "text", "text": "สวัสดี {shop}"}],
        sms_text=sms_text,
        **kwargs,
    )


def everyone(shop) -> Segment:
    segment, _ = Segment.objects.get_or_create(
        shop=shop, name="Everyone", defaults={"conditions": [{"kind": "all"}]}
    )
    return segment
