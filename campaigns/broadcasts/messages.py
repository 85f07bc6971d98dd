"""A broadcast's messages: the parts a shop writes (stored as JSON on the broadcast), how they are
checked, and how each becomes LINE message objects for one member.

A part is one of (the ``type`` key):

- ``text``: ``text`` with placeholders ({name}, {shop}, {balance}, {tier}, {expiring_points},
  {expiry_date}), filled per member;
- ``image``: ``media`` (the key of an uploaded picture);
- ``video``: ``media`` (an uploaded video with its preview picture);
- ``imagemap``: ``media`` (a picture) and ``areas``: ``[{x, y, width, height, link}]`` on the
  picture drawn 1040 px wide, each opening a link (a tracked link when it carries tags);
- ``card``: ``template`` ``balance`` (the member's points card), ``reward`` (``reward``: a reward's
  public id: picture, name, points, a button to redeem it) or ``coupon`` (the coupon the broadcast
  gives);
- ``link``: ``page`` (a member page: card, rewards, coupons, history, profile) with a ``label``:
  a button that opens it.

A part whose LINE objects are the same for every member (no member placeholder, not a balance or
coupon card) is rendered once; the others per member, and members whose messages come out the
same share a multicast.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from campaigns.autoreplies import messages as line_messages
from members.notifications.texts import LINE_TEXT_LIMIT, placeholders_in

MAX_PARTS = 5
PLACEHOLDERS = ("name", "shop", "balance", "tier", "expiring_points", "expiry_date")
MEMBER_PLACEHOLDERS = frozenset(PLACEHOLDERS) - {"shop"}
PAGES = {
    "card": "member:card",
    "rewards": "rewards:catalogue",
    "coupons": "rewards:coupons",
    "history": "member:history",
    "profile": "member:profile",
}
CARD_TEMPLATES = ("balance", "reward", "coupon")
TYPES = ("text", "image", "video", "imagemap", "card", "link")
LABEL_LIMIT = 40


def check_parts(parts: Any, *, media_kinds: Mapping[str, str], reward_ids: set[str]) -> list[dict]:
    """The parts, checked and cleaned; a ``ValidationError`` lists every problem, each naming
    its message ("Message 2: …"). ``media_kinds`` maps the shop's media keys to their kind,
    ``reward_ids`` holds the public ids of the shop's rewards (nothing of another shop passes)."""
    if not isinstance(parts, list) or not parts:
        raise ValidationError(_("Write at least one message."), code="no_messages")
    if len(parts) > MAX_PARTS:
        raise ValidationError(
            _("A broadcast has at most %(limit)s messages.") % {"limit": MAX_PARTS},
            code="too_many",
        )
    cleaned, errors = [], []
    for number, part in enumerate(parts, start=1):
        try:
            cleaned.append(_check_part(part, media_kinds, reward_ids))
        except ValidationError as exc:
            errors.extend(
                _("Message %(n)s: %(problem)s") % {"n": number, "problem": message}
                for message in exc.messages
            )
    if errors:
        raise ValidationError(errors, code="messages")
    return cleaned


def _check_part(part: Any, media_kinds: Mapping[str, str], reward_ids: set[str]) -> dict:
    if not isinstance(part, dict) or part.get("type") not in TYPES:
        raise ValidationError(_("unknown kind of message."))
    kind = part["type"]
    if kind == "text":
        return {"type": "text", "text": check_text(part.get("text"))}
    if kind in ("image", "video", "imagemap"):
        key = str(part.get("media") or "")
        wanted = "video" if kind == "video" else "image"
        if media_kinds.get(key) != wanted:
            raise ValidationError(
                _("choose a video.") if wanted == "video" else _("choose a picture.")
            )
        if kind != "imagemap":
            return {"type": kind, "media": key}
        return {
            "type": "imagemap",
            "media": key,
            "alt_text": _short(part.get("alt_text"), line_messages.ALT_TEXT_LIMIT)
            or _("A picture"),
            "areas": check_areas(part.get("areas")),
        }
    if kind == "card":
        template = part.get("template")
        if template not in CARD_TEMPLATES:
            raise ValidationError(_("choose a card."))
        out = {"type": "card", "template": template}
        if template == "reward":
            reward = str(part.get("reward") or "")
            if reward not in reward_ids:
                raise ValidationError(_("choose one of the shop's rewards."))
            out["reward"] = reward
        return out
    page = part.get("page")
    if page not in PAGES:
        raise ValidationError(_("choose a member page."))
    label = _short(part.get("label"), LABEL_LIMIT)
    if not label:
        raise ValidationError(_("write the button's label."))
    return {"type": "link", "page": page, "label": label, "tags": _ids(part.get("tags"))}


def check_text(text: Any) -> str:
    """A text message's words: not empty, known placeholders only, short enough for LINE."""
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationError(_("write the text."))
    try:
        names = placeholders_in(text)
    except ValueError:
        raise ValidationError(
            _(
                "a “{” or “}” has no partner. Write placeholders as {name}; write {{ or }} for a brace."
            )
        ) from None
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if unknown:
        raise ValidationError(
            _("unknown placeholder {%(name)s}. You can use: %(allowed)s.")
            % {"name": unknown[0], "allowed": ", ".join("{" + p + "}" for p in PLACEHOLDERS)}
        )
    if len(text) > LINE_TEXT_LIMIT - 200:
        raise ValidationError(_("the text is too long for one LINE message."))
    return text


def check_areas(raw: Any) -> list[dict]:
    """An imagemap's areas: at least one, each inside the 1040-px-wide picture with an https link."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError(_("add at least one tappable area."))
    if len(raw) > line_messages.IMAGEMAP_MAX_ACTIONS:
        raise ValidationError(
            _("LINE takes at most %(limit)s areas.") % {"limit": line_messages.IMAGEMAP_MAX_ACTIONS}
        )
    areas = []
    for area in raw:
        try:
            x, y, width, height = (int(area[k]) for k in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError):
            raise ValidationError(_("an area needs x, y, width and height.")) from None
        link = str(area.get("link") or "").strip()
        if x < 0 or y < 0 or width <= 0 or height <= 0 or x + width > 1040:
            raise ValidationError(_("an area goes outside the picture."))
        if not link.startswith("https://") or len(link) > line_messages.URI_LIMIT:
            raise ValidationError(_("each area opens a link that starts with https://."))
        areas.append(
            {
                "x": x,
                "y": y,
                "width": width,
                "height": height,
                "link": link,
                "tags": _ids(area.get("tags")),
            }
        )
    return areas


def per_member(parts: list[dict]) -> bool:
    """Whether any part differs from member to member (a member placeholder, a balance or coupon
    card): then each member's messages are rendered for them."""
    for part in parts:
        if part["type"] == "text" and MEMBER_PLACEHOLDERS.intersection(
            placeholders_in(part["text"])
        ):
            return True
        if part["type"] == "card" and part["template"] in ("balance", "coupon"):
            return True
    return False


def media_keys(parts: list[dict]) -> set[str]:
    return {part["media"] for part in parts if part.get("media")}


def _short(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        try:
            out.append(int(item))
        except (TypeError, ValueError):
            continue
    return sorted(set(out))


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


Renderer = Callable[[dict], list[dict]]
