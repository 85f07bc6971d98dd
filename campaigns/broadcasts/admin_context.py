"""What the broadcast pages show besides the form: the composer's data (the shop's pictures and
videos, rewards, tags, member pages and placeholders, and the composer's words in the user's
language, handed to ``static/js/broadcast-composer.js`` as JSON) and a summary of the messages."""

from __future__ import annotations

from django.utils.translation import gettext as _

from campaigns.broadcasts import messages as parts_module
from campaigns.broadcasts.models import Broadcast, BroadcastMedia
from rewards.models import Reward
from shops.models import Shop, Tag

MEDIA_SHOWN = 60


def page_labels() -> dict[str, str]:
    return {
        "card": _("Member card"),
        "rewards": _("Rewards"),
        "coupons": _("My coupons"),
        "history": _("Points history"),
        "profile": _("Profile"),
    }


def card_labels() -> dict[str, str]:
    return {
        "balance": _("Points balance (each member's own)"),
        "reward": _("A reward, with a button to redeem it"),
        "coupon": _("The coupon this broadcast gives"),
    }


def type_labels() -> dict[str, str]:
    return {
        "text": _("Text"),
        "image": _("Photo"),
        "video": _("Video"),
        "imagemap": _("Picture with links"),
        "card": _("Card"),
        "link": _("Button to a member page"),
    }


def media_item(media: BroadcastMedia) -> dict:
    return {
        "key": str(media.key),
        "kind": media.kind,
        "url": media.file.url if media.kind == BroadcastMedia.Kind.IMAGE else "",
        "preview": media.preview.url if media.preview else "",
        "width": media.width,
        "height": media.height,
    }


def composer_data(shop: Shop, request) -> dict:
    """Everything the composer offers, all of it the shop's own."""
    media = BroadcastMedia.objects.filter(shop=shop).order_by("-created_at")[:MEDIA_SHOWN]
    rewards = Reward.objects.filter(shop=shop).order_by("name")
    return {
        "max": parts_module.MAX_PARTS,
        "placeholders": list(parts_module.PLACEHOLDERS),
        "media": [media_item(m) for m in media],
        "rewards": [
            {"id": str(r.public_id), "name": r.name, "points": r.points_cost} for r in rewards
        ],
        "tags": [{"id": t.pk, "name": t.name} for t in Tag.objects.filter(shop=shop)],
        "pages": page_labels(),
        "cards": card_labels(),
        "types": type_labels(),
        "shop": shop.name,
        "words": {
            "add": _("Add a message"),
            "remove": _("Remove"),
            "up": _("Move up"),
            "down": _("Move down"),
            "message": _("Message %(n)s"),
            "text": _("Text"),
            "placeholders": _("Insert:"),
            "upload": _("Upload"),
            "uploading": _("Uploading…"),
            "picture": _("Picture"),
            "video": _("Video (MP4)"),
            "preview_picture": _("Preview picture"),
            "choose_media": _("Or choose one uploaded before"),
            "none": _("— none —"),
            "area": _("Area %(n)s"),
            "add_area": _("Add an area"),
            "draw_hint": _("Drag on the picture to draw an area, or type its numbers."),
            "link": _("Link (https://…)"),
            "tags": _("Tags given to who taps"),
            "template": _("Card"),
            "reward": _("Reward"),
            "page": _("Member page"),
            "label": _("Button label"),
            "alt_text": _("Text shown in the chat list"),
            "preview": _("Preview as LINE shows it"),
            "empty": _("No messages yet: add one."),
            "coupon_card": _("A coupon for you"),
            "balance_card": _("Your points: 1,250"),
            "redeem": _("Redeem"),
            "failed": _("The upload failed."),
            "limit": _("A broadcast has at most %(n)s messages."),
            "points": _("%(points)s points"),
            "x": "x",
            "y": "y",
            "width": _("width"),
            "height": _("height"),
        },
    }


def summary_parts(broadcast: Broadcast) -> list[str]:
    """Each message in a line: its kind and what it says or shows."""
    types, pages, cards = type_labels(), page_labels(), card_labels()
    rewards = {
        str(r.public_id): r.name
        for r in Reward.objects.filter(
            shop_id=broadcast.shop_id,
            public_id__in=[p["reward"] for p in broadcast.messages if p.get("reward")],
        )
    }
    out = []
    for part in broadcast.messages:
        kind = part.get("type")
        label = types.get(kind, kind)
        if kind == "text":
            detail = part.get("text", "")
        elif kind == "card":
            detail = cards.get(part.get("template"), "")
            if part.get("reward"):
                detail = f"{detail}: {rewards.get(part['reward'], '—')}"
        elif kind == "link":
            detail = f"{part.get('label', '')} → {pages.get(part.get('page'), '')}"
        elif kind == "imagemap":
            detail = _("%(n)s tappable areas") % {"n": len(part.get("areas") or [])}
        else:
            detail = ""
        out.append(f"{label}: {detail}" if detail else str(label))
    return out
