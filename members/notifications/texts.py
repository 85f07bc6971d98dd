"""The words of each notice: default texts in Thai and English, the placeholders each kind may
use, the check a shop's edited text must pass, and rendering. Pure functions, no database."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from members.notifications.models import NoticeKind

COMMON = ("name", "shop", "points", "balance", "tier", "expiring_points", "expiry_date")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    NoticeKind.EARNED: COMMON,
    NoticeKind.REDEEMED: (*COMMON, "reward", "coupon_url"),
    NoticeKind.SHIPPED: (*COMMON, "reward", "carrier", "tracking"),
    NoticeKind.TIER_UP: COMMON,
    NoticeKind.EXPIRING: COMMON,
    NoticeKind.WELCOME: COMMON,
}

# The product's texts, used until the shop edits its own (and again when it clears them). Thai
# uses the words of the seed systems (พอยท์, ระดับสมาชิก, เลขพัสดุ).
DEFAULT_TEXTS: dict[str, dict[str, str]] = {
    NoticeKind.EARNED: {
        "th": "คุณ{name} ได้รับ {points} พอยท์ ยอดพอยท์คงเหลือ {balance} พอยท์",
        "en": "{name}, you earned {points} points. Your balance is {balance} points.",
    },
    NoticeKind.REDEEMED: {
        "th": "แลก {reward} สำเร็จ ใช้ไป {points} พอยท์ คงเหลือ {balance} พอยท์ "
        "ดูคูปองหรือรายละเอียดได้ที่ลิงก์ด้านล่าง",
        "en": "You redeemed {reward} for {points} points; {balance} points left. "
        "Your coupon and details are at the link below.",
    },
    NoticeKind.SHIPPED: {
        "th": "{reward} ของคุณจัดส่งแล้ว ขนส่ง {carrier} เลขพัสดุ {tracking}",
        "en": "Your {reward} has shipped with {carrier}. Tracking number: {tracking}",
    },
    NoticeKind.TIER_UP: {
        "th": "ยินดีด้วย คุณ{name} เลื่อนเป็นระดับสมาชิก {tier} แล้ว",
        "en": "Congratulations {name}, you are now a {tier} member.",
    },
    NoticeKind.EXPIRING: {
        "th": "คุณ{name} มี {expiring_points} พอยท์ที่จะหมดอายุวันที่ {expiry_date} อย่าลืมใช้ก่อนหมดอายุ",
        "en": "{name}, {expiring_points} of your points expire on {expiry_date}. "
        "Use them before then.",
    },
    NoticeKind.WELCOME: {
        "th": "ยินดีต้อนรับคุณ{name} สู่สมาชิก {shop} ดูบัตรสมาชิกและพอยท์ของคุณได้ที่ลิงก์ด้านล่าง",
        "en": "Welcome to {shop}, {name}! Your member card and points are at the link below.",
    },
}

# A member with no name is greeted as this.
NO_NAME = {"th": "ลูกค้า", "en": "member"}
LINE_TEXT_LIMIT = 5000  # LINE: a text message has at most 5,000 characters


def default_text(kind: str, language: str) -> str:
    return DEFAULT_TEXTS[kind][language]


def placeholders_in(text: str) -> list[str]:
    """The placeholder names in ``text`` in order (raises ValueError on a bad brace)."""
    return [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None]


def check_text(kind: str, text: str) -> None:
    """Refuse a text with an unknown ``{placeholder}``, a format spec or a lone brace, naming it,
    so that rendering can never fail at send time. A missing placeholder is fine."""
    allowed = PLACEHOLDERS.get(kind, COMMON)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise ValidationError(
            _(
                "A “{” or “}” has no partner. Write placeholders as {points}; write {{ or }} for a brace."
            ),
            code="bad_brace",
        ) from None
    for _lit, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            raise ValidationError(
                _("Unknown placeholder {%(name)s}. You can use: %(allowed)s.")
                % {
                    "name": name
                    + (f"!{conversion}" if conversion else "")
                    + (f":{spec}" if spec else ""),
                    "allowed": ", ".join("{" + p + "}" for p in allowed),
                },
                code="unknown_placeholder",
            )
    if len(text) > LINE_TEXT_LIMIT - 300:
        raise ValidationError(_("The text is too long for one LINE message."), code="too_long")


def render(text: str, values: Mapping[str, object | Callable[[], object]], link: str) -> str:
    """``text`` with its placeholders filled from ``values`` (a callable value is called only if
    the text uses it: a query the text does not need is not made), then the link on its own line."""
    used = {}
    for name in placeholders_in(text):
        value = values.get(name, "")
        used[name] = value() if callable(value) else value
    body = text.format_map(used).strip()
    return f"{body}\n{link}" if link else body
