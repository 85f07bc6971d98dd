"""Segments, broadcasts, coupon pushes, surveys, auto-replies and rich menus (a later issue)."""

from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword  # noqa: F401
