"""The LINE message objects an auto-reply sends, as LINE's JSON (pure functions, no database).

Shapes follow LINE's Messaging API (``messaging-api.yml``: ImageMessage, ImagemapMessage,
FlexMessage); ``loyalty.line.messaging.reply_messages`` turns them into line-bot-sdk models, which
check them again before anything leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# LINE fetches an imagemap's picture at ``baseUrl/<width>`` for these widths; areas are given on a
# picture 1040 px wide.
IMAGEMAP_WIDTHS = (240, 300, 460, 700, 1040)
IMAGEMAP_BASE_WIDTH = 1040
IMAGEMAP_MAX_ACTIONS = 50
PREVIEW_SIDE = 240  # LINE: an image message's preview is shown small; ≤ 1 MB
MAX_MESSAGES = 5  # LINE: one reply carries at most five messages
ALT_TEXT_LIMIT = 1500
MESSAGE_ACTION_LIMIT = 400  # LINE: an imagemap message action's text
URI_LIMIT = 1000
_LINK = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Area:
    x: int
    y: int
    width: int
    height: int
    uri: str = ""
    text: str = ""

    def action(self) -> dict:
        area = {"x": self.x, "y": self.y, "width": self.width, "height": self.height}
        if self.uri:
            return {"type": "uri", "linkUri": self.uri, "area": area}
        return {"type": "message", "text": self.text, "area": area}


def imagemap_height(width: int, height: int, *, base: int = IMAGEMAP_BASE_WIDTH) -> int:
    """The height of a ``width`` × ``height`` picture drawn ``base`` px wide."""
    return max(1, round(height * base / width))


def parse_areas(raw: str, *, base_height: int | None = None) -> list[Area]:
    """The tappable areas written one a line as ``x, y, width, height, link-or-text``; a
    translated ``ValidationError`` names the first wrong line. With ``base_height`` (the picture's
    height at 1040 px wide) every area must lie inside the picture."""
    areas: list[Area] = []
    errors: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",", 4)]
        try:
            if len(parts) < 5 or not parts[4]:
                raise ValueError
            x, y, width, height = (int(p) for p in parts[:4])
        except ValueError:
            errors.append(
                _("Line %(line)s: write x, y, width, height, then a link or a text.")
                % {"line": number}
            )
            continue
        target = parts[4]
        if x < 0 or y < 0 or width <= 0 or height <= 0:
            errors.append(
                _("Line %(line)s: x and y start at 0; width and height are more than 0.")
                % {"line": number}
            )
            continue
        if x + width > IMAGEMAP_BASE_WIDTH or (base_height and y + height > base_height):
            errors.append(
                _(
                    "Line %(line)s: the area goes outside the picture (%(width)s × %(height)s "
                    "at 1040 px wide)."
                )
                % {"line": number, "width": IMAGEMAP_BASE_WIDTH, "height": base_height or "?"}
            )
            continue
        if _LINK.match(target):
            if len(target) > URI_LIMIT:
                errors.append(_("Line %(line)s: the link is too long.") % {"line": number})
                continue
            areas.append(Area(x, y, width, height, uri=target))
        else:
            if len(target) > MESSAGE_ACTION_LIMIT:
                errors.append(
                    _("Line %(line)s: the text has more than %(limit)s characters.")
                    % {"line": number, "limit": MESSAGE_ACTION_LIMIT}
                )
                continue
            areas.append(Area(x, y, width, height, text=target))
    if not errors and len(areas) > IMAGEMAP_MAX_ACTIONS:
        errors.append(_("LINE takes at most %(limit)s areas.") % {"limit": IMAGEMAP_MAX_ACTIONS})
    if errors:
        raise ValidationError(errors, code="areas")
    return areas


def text_message(text: str) -> dict:
    return {"type": "text", "text": text}


def image_message(*, original_url: str, preview_url: str) -> dict:
    return {"type": "image", "originalContentUrl": original_url, "previewImageUrl": preview_url}


def imagemap_message(
    *, base_url: str, alt_text: str, size: tuple[int, int], areas: Iterable[Area]
) -> dict:
    """An imagemap of a ``size`` picture served at ``base_url/<width>``."""
    return {
        "type": "imagemap",
        "baseUrl": base_url,
        "altText": alt_text[:ALT_TEXT_LIMIT],
        "baseSize": {
            "width": IMAGEMAP_BASE_WIDTH,
            "height": imagemap_height(*size),
        },
        "actions": [area.action() for area in areas],
    }


@dataclass(frozen=True)
class CardLine:
    label: str
    value: str


def flex_card(
    *,
    alt_text: str,
    title: str,
    subtitle: str,
    lines: Iterable[CardLine],
    button_label: str,
    button_uri: str,
    colour: str = "#06C755",
) -> dict:
    """A flex bubble: a title (the shop), a subtitle (the member), label/value lines, and one
    button that opens a page. Empty values are left out (LINE refuses an empty text)."""
    body = [
        {"type": "text", "text": title, "weight": "bold", "size": "lg", "wrap": True},
    ]
    if subtitle:
        body.append({"type": "text", "text": subtitle, "size": "sm", "color": "#666666"})
    for line in lines:
        if not line.value:
            continue
        body.append(
            {
                "type": "box",
                "layout": "horizontal",
                "margin": "md",
                "contents": [
                    {"type": "text", "text": line.label, "size": "sm", "color": "#888888"},
                    {
                        "type": "text",
                        "text": line.value,
                        "size": "sm",
                        "align": "end",
                        "weight": "bold",
                        "wrap": True,
                    },
                ],
            }
        )
    return {
        "type": "flex",
        "altText": alt_text[:ALT_TEXT_LIMIT],
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "contents": body},
            "footer": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {
                        "type": "button",
                        "style": "primary",
                        "color": colour,
                        "action": {"type": "uri", "label": button_label[:40], "uri": button_uri},
                    }
                ],
            },
        },
    }
