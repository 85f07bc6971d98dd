"""The tracked redirect of rich-menu areas with action tags (``actiontags``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponseRedirect

from campaigns.richmenus import actiontags
from campaigns.richmenus.services import area_link
from members.member_auth import line_identity


def area_tap(request: HttpRequest, token: str) -> HttpResponseRedirect:
    """Count the tap, tag the member signed in to the area's shop in this browser (if any), and
    go on to the area's link. A token that is not ours, or an area that no longer opens a link,
    is a 404."""
    area = actiontags.area_for_token(token)
    target = area_link(area) if area is not None else None
    if area is None or not target:
        raise Http404
    identity = line_identity(request, area.shop.slug)
    line_user_id = identity.line_user_id if identity and identity.shop_id == area.shop_id else None
    actiontags.area_tap(area=area, line_user_id=line_user_id)
    return HttpResponseRedirect(target)
