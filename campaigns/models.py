"""Segments, broadcasts, coupon pushes, surveys, auto-replies and rich menus, one sub-package each."""

from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword  # noqa: F401
from campaigns.broadcasts.models import Broadcast, BroadcastMedia, BroadcastRecipient  # noqa: F401
from campaigns.links.models import LinkClick, TrackedLink  # noqa: F401
from campaigns.richmenus.models import RichMenu, RichMenuArea, RichMenuLink  # noqa: F401
from campaigns.segments.models import MemberRfm, Segment  # noqa: F401
from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings  # noqa: F401
