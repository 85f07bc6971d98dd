"""Action tags: a member who taps a rich-menu area gets the area's tags (seed 001, "Action Tags"),
so a later segment can pick "tapped the promotion area".

A tap reaches us in one of two ways, and each carries a signed reference to the area (shop and
area id, signed with the project's secret: nobody can forge one, and a reference of shop A never
tags anyone in shop B):

- a link (a member page or the shop's web address) is sent to LINE as our tracked redirect
  ``/r/m/<token>``: the view counts the tap, tags the member signed in to the member pages of the
  area's shop in this browser (LINE Login / LIFF, ``members.member_auth``), and redirects to the
  link. A visitor we do not know yet is redirected all the same, untagged;
- a postback carries ``rmtap:<token>`` as its data: the "postback" handler registered with
  ``members.line.router`` counts the tap and tags the member bound to the event's LINE user.

Only areas with tags go through us; the others keep their direct link or data. Tags are added,
never removed, and adding a tag the member has is a no-op, so a second tap changes nothing but
the count.
"""

from __future__ import annotations

import logging

from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse

from campaigns.richmenus.models import RichMenuArea
from loyalty.links import absolute_url
from members.models import Member
from members.services import member_tags_give

logger = logging.getLogger(__name__)

POSTBACK_PREFIX = "rmtap:"
_SALT = "campaigns.richmenus.area-tap"


def area_token(area: RichMenuArea) -> str:
    """The signed reference to ``area`` (shop and area id), for a URL path or postback data."""
    return signing.Signer(salt=_SALT).sign(f"{area.shop_id}-{area.pk}")


def area_for_token(token: str) -> RichMenuArea | None:
    """The area a token refers to, or None when the token is not ours (unsigned, altered) or the
    area is gone. The shop in the token must be the area's shop."""
    try:
        value = signing.Signer(salt=_SALT).unsign(token)
        shop_id, area_id = (int(part) for part in value.split("-"))
    except (signing.BadSignature, ValueError):
        return None
    return (
        RichMenuArea.objects.select_related("shop", "menu")
        .prefetch_related("tags")
        .filter(pk=area_id, shop_id=shop_id)
        .first()
    )


def tracked_url(area: RichMenuArea) -> str:
    """The full URL of the tracked redirect for ``area``'s link."""
    return absolute_url(None, reverse("richmenu-tap", kwargs={"token": area_token(area)}))


def postback_data(area: RichMenuArea) -> str:
    """The postback data that brings a tap on ``area`` back to ``handle_postback``."""
    return POSTBACK_PREFIX + area_token(area)


def area_tap(*, area: RichMenuArea, line_user_id: str | None) -> Member | None:
    """Count a tap on ``area`` and give its tags to the member of the area's shop bound to
    ``line_user_id`` (none: only counted). Returns the member tagged, or None.

    Idempotent for the tags (a tag the member has is left as it is); the count is an ``F()``
    update, so taps at the same moment are all counted. The tags are the area's own, which are of
    its shop (the editor offers no other); the filter keeps it so whatever wrote them."""
    with transaction.atomic():
        RichMenuArea.objects.filter(pk=area.pk).update(tap_count=F("tap_count") + 1)
        if not line_user_id:
            return None
        member = Member.objects.filter(
            shop_id=area.shop_id, line_user_id=line_user_id, bound_at__isnull=False
        ).first()
        if member is None:
            return None
        member_tags_give(member=member, tags=area.tags.all())
    return member


def handle_postback(*, event, stored, friend) -> bool:
    """The router's "postback" handler: data ``rmtap:<token>`` of an area of this shop counts the
    tap and tags the bound member. Other data, or a token of another shop, is left to the next
    handler (returns False)."""
    data = getattr(getattr(event, "postback", None), "data", "") or ""
    if not data.startswith(POSTBACK_PREFIX):
        return False
    area = area_for_token(data[len(POSTBACK_PREFIX) :])
    if area is None or area.shop_id != stored.shop_id:
        logger.warning("rich-menu tap with an unknown area token (shop %s)", stored.shop_id)
        return False
    area_tap(area=area, line_user_id=stored.line_user_id)
    return True
