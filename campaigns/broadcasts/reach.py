"""Where a broadcast meets the other channels and gifts: SMS for members LINE cannot reach,
tracked links (clicks and active tags) and the coupon it gives. Kept apart from the sending job so
that each can grow without the job changing."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from campaigns.broadcasts.coupons import broadcast_coupons_give
from campaigns.broadcasts.models import Broadcast, BroadcastRecipient
from campaigns.broadcasts.selectors import Estimate, estimate
from rewards.models import Coupon


def sms_routing(broadcast: Broadcast) -> tuple[bool, Q | None]:
    """Whether the broadcast sends SMS, and the filter of members who opted out of it."""
    from campaigns.sms.broadcasts import broadcast_sms_routing

    return broadcast_sms_routing(broadcast)


def broadcast_estimate(broadcast: Broadcast) -> Estimate:
    """The confirm step's counts (the same routing the send uses)."""
    sms, opted_out = sms_routing(broadcast)
    return estimate(broadcast, sms=sms, opted_out=opted_out)


def tracked_links(broadcast: Broadcast) -> dict[str, str]:
    """The tracked redirect URL of every link in the messages, by ``rendering.link_key``; made once,
    when sending starts (links with tags give them to a member who taps).

    Every member-page button is tracked (it needs the member's sign-in anyway); an imagemap area
    only when it gives tags (a plain outside link opens directly, without asking anyone to sign
    in). Made once: a send that resumes gets the same URLs."""
    from campaigns.broadcasts.rendering import link_key, page_url
    from campaigns.links.services import LinkSpec, tracked_links_make, tracked_url

    specs = []
    for index, part in enumerate(broadcast.messages):
        if part["type"] == "link":
            target = page_url(broadcast.shop, part["page"])
            specs.append(LinkSpec(link_key(index), target, part.get("tags") or ()))
        elif part["type"] == "imagemap":
            specs.extend(
                LinkSpec(link_key(index, n), area["link"], area["tags"])
                for n, area in enumerate(part["areas"])
                if area.get("tags")
            )
    if not specs:
        return {}
    links = tracked_links_make(shop=broadcast.shop, source=broadcast.source, links=specs)
    return {key: tracked_url(link) for key, link in links.items()}


def link_clicks(broadcast: Broadcast) -> dict[str, int]:
    """Members who tapped each tracked link of the broadcast (counted once per member), by link key."""
    from campaigns.links.selectors import clicks_by_key

    return clicks_by_key(shop_id=broadcast.shop_id, source=broadcast.source)


def sms_outcomes(broadcast: Broadcast) -> dict[int, str]:
    """The SMS outcome of each recipient sent by SMS, by recipient id: "sent", "failed" or
    "queued" (an SMS not sent yet, e.g. held back by the shop's monthly budget)."""
    from campaigns.sms.broadcasts import broadcast_sms_outcomes

    return broadcast_sms_outcomes(broadcast)


@dataclass
class Coupons:
    """The coupons given to a batch (by recipient id) and the recipients who could not get one."""

    given: dict[int, Coupon] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)


def give_coupons(broadcast: Broadcast, batch: list[BroadcastRecipient]) -> Coupons:
    """The broadcast's coupon for each recipient of the batch (``coupons.broadcast_coupons_give``),
    inside the batch's transaction; the refused are skipped with the reason."""
    given, refused = broadcast_coupons_give(broadcast, batch)
    return Coupons(given=given, refused=refused)


def queue_sms(broadcast: Broadcast, recipients: list[BroadcastRecipient], coupons: Coupons) -> None:
    """Queue the SMS of a batch's SMS recipients, inside the batch's transaction (sent by
    ``campaigns.sms`` after it commits), with the coupon each was given."""
    from campaigns.sms.broadcasts import broadcast_sms_queue

    broadcast_sms_queue(broadcast, recipients, coupons.given)
