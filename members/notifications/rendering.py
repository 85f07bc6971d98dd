"""A notice as the member reads it: the member's language, the placeholders' values, the link
to the right member page, and the back office's preview with a sample member."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping

from django.urls import reverse
from django.utils import timezone

from loyalty.dates import format_display_date, shows_buddhist_era
from loyalty.links import absolute_url
from members.models import Member
from members.notifications.models import NoticeKind
from members.notifications.selectors import next_expiry
from members.notifications.texts import NO_NAME, render
from shops.models import Shop

# Where each kind's link goes when the cause gives none (the coupon and delivery pages need the
# redemption, so their causes pass ``link``).
LINKS = {
    NoticeKind.EARNED: "member:history",
    NoticeKind.REDEEMED: "member:card",
    NoticeKind.SHIPPED: "member:card",
    NoticeKind.TIER_UP: "member:card",
    NoticeKind.EXPIRING: "member:history",
    NoticeKind.WELCOME: "member:card",
}


def member_language(member: Member) -> str:
    """The language a member's notices are written in. The product records no language per member
    (LINE does not share the app's language with the Messaging API), so it is the shop's language
    for members, the one the member pages open in."""
    return "en" if member.shop.language == "en" else "th"


def member_page_url(shop: Shop, url_name: str, **kwargs) -> str:
    """A member page as a full URL, for a message that leaves the site."""
    return absolute_url(None, reverse(url_name, kwargs={"shop_slug": shop.slug, **kwargs}))


def notice_values(member: Member, language: str, context: Mapping) -> dict:
    """The placeholders' values for ``member``; the expiring points are read only if the text
    uses them."""

    expiry = functools.cache(lambda: next_expiry(member))  # one query for both placeholders
    values: dict = {
        "name": member.first_name or member.line_display_name or NO_NAME[language],
        "shop": member.shop.name,
        "balance": member.balance,
        "tier": member.tier.name if member.tier_id else "",
        "expiry_date": lambda: expiry()[0],
        "expiring_points": lambda: expiry()[1],
    }
    values.update(context)
    return {name: _shown(value, language) for name, value in values.items()}


def _shown(value, language: str):
    if callable(value):
        return lambda: _shown(value(), language)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return format_display_date(
            value, buddhist_era=shows_buddhist_era(language), language=language
        )
    return "" if value is None else value


def notice_text(member: Member, kind: str, text: str, context: Mapping) -> str:
    """The message ``member`` gets: ``text`` filled in, then the link to the right member page."""
    language = member_language(member)
    context = dict(context)
    link = context.pop("link", None) or member_page_url(member.shop, LINKS[kind])
    return render(text, notice_values(member, language, context), link)


SAMPLE = {
    "th": {"name": "สมชาย", "reward": "ลาเต้เย็น", "tier": "Gold", "carrier": "Kerry"},
    "en": {"name": "Somchai", "reward": "Iced latte", "tier": "Gold", "carrier": "Kerry"},
}


def notice_preview(shop: Shop, kind: str, text: str, language: str) -> str:
    """``text`` as a sample member of ``shop`` would get it (no query): the back office shows it
    next to each text."""
    sample = SAMPLE[language]
    member = Member(shop=shop, first_name=sample["name"], balance=1250)
    coupon_url = member_page_url(shop, "rewards:coupon", redemption_id=uuid.UUID(int=0))
    context = {
        "points": 50,
        "tier": sample["tier"],
        "expiring_points": 120,
        "expiry_date": timezone.localdate() + dt.timedelta(days=7),
        "reward": sample["reward"],
        "coupon_url": coupon_url,
        "carrier": sample["carrier"],
        "tracking": "KEX123456789",
    }
    return render(
        text,
        notice_values(member, language, context),
        member_page_url(shop, LINKS[kind]),
    )
