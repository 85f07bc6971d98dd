"""The fake LINE platform: LINE Login and the Messaging API on loopback, for tests and the demo.

One module per LINE product: ``login`` (LINE Login: OAuth, ID tokens, profile), ``messaging``
(push, reply, multicast, bot profile, link tokens), ``richmenus``, ``webhooks`` (signed events
posted to the shop), ``pages`` (the HTML the fake shows), over ``state`` (what it remembers) and
``core`` (``FakeLineServer``, which joins them). The HTTP plumbing is ``loyalty.fake_http``, which
the fake SMS gateway shares. See docs/line.md.
"""

from loyalty.line.fake.core import FakeLineServer
from loyalty.line.fake.login import encode_id_token
from loyalty.line.fake.state import (
    DEFAULT_USERS,
    DEMO_ACCESS_TOKEN,
    DEMO_CHANNEL_ID,
    DEMO_CHANNEL_SECRET,
    DEMO_GOLD_USER,
    DEMO_MEMBER_USER,
    FakeChannel,
    FakeUser,
)
from loyalty.line.fake.webhooks import (
    WebhookDelivery,
    follow_event,
    message_event,
    postback_event,
    redelivered,
    send_webhook,
    signature_for,
    unfollow_event,
)

__all__ = [
    "DEFAULT_USERS",
    "DEMO_ACCESS_TOKEN",
    "DEMO_CHANNEL_ID",
    "DEMO_CHANNEL_SECRET",
    "DEMO_GOLD_USER",
    "DEMO_MEMBER_USER",
    "FakeChannel",
    "FakeLineServer",
    "FakeUser",
    "WebhookDelivery",
    "encode_id_token",
    "follow_event",
    "message_event",
    "postback_event",
    "redelivered",
    "send_webhook",
    "signature_for",
    "unfollow_event",
]
