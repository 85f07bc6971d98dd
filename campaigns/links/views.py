"""The public redirect ``/r/<token>`` of tracked links, and its twin under the member pages.

A broadcast's link is the same for every member it reaches, so the member is the one signed in
to the link's shop in this browser (``members.member_auth``). Someone not signed in goes through
the shop's LINE sign-in (LINE Login, or LIFF inside LINE) and comes back to
``/m/<shop>/r/<token>``: the sign-in only returns to member pages of its shop, and the twin is
one. Only the link's own shop is ever asked: a session of another shop counts nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from campaigns.links import selectors, services
from loyalty.i18n import activate_page_language
from members import member_auth


@never_cache
@require_GET
def follow(request: HttpRequest, token: str, shop_slug: str | None = None) -> HttpResponse:
    """Count the tap of the member signed in to the link's shop, give the link's tags, open the
    link. Not signed in: the LINE sign-in first. Signed in but not a member of the shop (or the
    shop has no LINE sign-in): the link opens, uncounted. An unknown token, or the twin's URL with
    another shop's slug, is a 404 that says the link does not work."""
    link = selectors.link_for_token(token)
    if link is None or (shop_slug is not None and shop_slug != link.shop.slug):
        return render(request, "links/unknown.html", status=404)
    shop = link.shop
    activate_page_language(request, shop.language)
    member = member_auth.current_member(request, shop)
    if member is None:
        identity = member_auth.line_identity(request, shop.slug)
        signed_in = identity is not None and identity.shop_id == shop.pk
        if not signed_in and member_auth.line_channel(shop) is not None:
            back = reverse("links:signed_in", kwargs={"shop_slug": shop.slug, "token": token})
            return HttpResponseRedirect(member_auth.login_url(shop.slug, back))
        return HttpResponseRedirect(link.target)
    services.link_click_record(link=link, member=member)
    return HttpResponseRedirect(link.target)
