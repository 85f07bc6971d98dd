"""A broadcast's parts as LINE message objects, for one member (or a sample, for a test send).

Pictures are served at ``/b/media/<key>/<width>`` (``views.media``); links go through the
broadcast's tracked links (``Broadcast.link_urls``, made when sending starts) so that taps are
counted and tags given; before then (a test send) they open the page directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import override

from campaigns.autoreplies import messages as line_messages
from campaigns.autoreplies.services import balance_card
from campaigns.broadcasts.messages import PAGES
from campaigns.broadcasts.models import Broadcast, BroadcastMedia
from loyalty.links import absolute_url, media_url
from members.models import Member
from members.notifications.rendering import member_language, member_page_url, notice_values
from members.notifications.texts import NO_NAME, render
from rewards.models import Coupon, Reward
from shops.models import Shop


@dataclass
class Assets:
    """What rendering needs besides the member, read once per broadcast: its media and rewards."""

    shop: Shop
    media: dict[str, BroadcastMedia] = field(default_factory=dict)
    rewards: dict[str, Reward] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, broadcast: Broadcast) -> Assets:
        keys = [p["media"] for p in broadcast.messages if p.get("media")]
        rewards = [p["reward"] for p in broadcast.messages if p.get("reward")]
        return cls(
            shop=broadcast.shop,
            media={
                str(m.key): m
                for m in BroadcastMedia.objects.filter(shop=broadcast.shop, key__in=keys)
            },
            rewards={
                str(r.public_id): r
                for r in Reward.objects.filter(shop=broadcast.shop, public_id__in=rewards)
            },
            links=dict(broadcast.link_urls or {}),
        )


def media_image_url(media: BroadcastMedia, width: int) -> str:
    return absolute_url(
        None, reverse("broadcasts:media", kwargs={"key": media.key, "width": width})
    )


def link_key(index: int, area: int | None = None) -> str:
    """The key of a part's link (or of an imagemap area's) in ``Broadcast.link_urls``."""
    return str(index) if area is None else f"{index}.{area}"


def page_url(shop: Shop, page: str) -> str:
    return member_page_url(shop, PAGES[page])


def render_parts(
    parts: list[dict], assets: Assets, member: Member | None, *, coupon: Coupon | None = None
) -> list[dict]:
    """The LINE message objects ``member`` gets (None: a sample member, for a test send)."""
    shop = assets.shop
    language = member_language(member) if member else ("en" if shop.language == "en" else "th")
    out = []
    with override(language):
        for index, part in enumerate(parts):
            message = _render(index, part, assets, member, coupon, language)
            if message is not None:
                out.append(message)
    return out


def _render(index, part, assets, member, coupon, language):
    shop = assets.shop
    kind = part["type"]
    if kind == "text":
        if member is not None:
            values = notice_values(member, language, {})
        else:
            values = {"name": NO_NAME[language], "shop": shop.name, "balance": "1,250", "tier": ""}
        return line_messages.text_message(render(part["text"], values, ""))
    if kind in ("image", "video", "imagemap"):
        media = assets.media.get(part["media"])
        if media is None:
            return None
        if kind == "image":
            return line_messages.image_message(
                original_url=media_url(None, media.file.url),
                preview_url=media_image_url(media, line_messages.PREVIEW_SIDE),
            )
        if kind == "video":
            return {
                "type": "video",
                "originalContentUrl": media_url(None, media.file.url),
                "previewImageUrl": media_url(None, media.preview.url) if media.preview else "",
            }
        areas = [
            line_messages.Area(
                a["x"],
                a["y"],
                a["width"],
                a["height"],
                uri=assets.links.get(link_key(index, n), a["link"]),
            )
            for n, a in enumerate(part["areas"])
        ]
        return line_messages.imagemap_message(
            base_url=media_image_url(media, line_messages.IMAGEMAP_BASE_WIDTH).rsplit("/", 1)[0],
            alt_text=part["alt_text"],
            size=(media.width or 1040, media.height or 1040),
            areas=areas,
        )
    if kind == "link":
        url = assets.links.get(link_key(index)) or page_url(shop, part["page"])
        return line_messages.flex_card(
            alt_text=part["label"],
            title=shop.name,
            subtitle="",
            lines=[],
            button_label=part["label"],
            button_uri=url,
        )
    return _card(part, assets, member, coupon)


def _card(part: dict, assets: Assets, member: Member | None, coupon: Coupon | None) -> dict | None:
    shop = assets.shop
    template = part["template"]
    if template == "balance":
        return balance_card(shop, member)
    if template == "reward":
        reward = assets.rewards.get(part["reward"])
        if reward is None:
            return None
        return line_messages.flex_card(
            alt_text=reward.name,
            title=reward.name,
            subtitle=shop.name,
            lines=[
                line_messages.CardLine(
                    _("Points"), _("%(points)s points") % {"points": f"{reward.points_cost:,}"}
                )
            ],
            button_label=_("Redeem"),
            button_uri=member_page_url(shop, "rewards:detail", reward_id=reward.public_id),
        )
    if coupon is None:
        # A test send, or a member the coupon could not be given to: say what they would get.
        return line_messages.flex_card(
            alt_text=_("A coupon for you"),
            title=_("A coupon for you"),
            subtitle=shop.name,
            lines=[],
            button_label=_("See my coupons"),
            button_uri=member_page_url(shop, "rewards:coupons"),
        )
    return line_messages.flex_card(
        alt_text=_("A coupon for you: %(reward)s") % {"reward": coupon.redemption.reward_name},
        title=coupon.redemption.reward_name,
        subtitle=shop.name,
        lines=[
            line_messages.CardLine(_("Code"), coupon.code),
            line_messages.CardLine(_("Valid until"), coupon.expires_on.isoformat()),
        ],
        button_label=_("Show my coupon"),
        button_uri=member_page_url(
            shop, "rewards:coupon", redemption_id=coupon.redemption.public_id
        ),
    )
