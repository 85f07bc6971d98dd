"""The back office's results page of one broadcast (``results.broadcast_results``): what became of
its audience, taps on its links, its coupons, and the results window against the hold-out group.

Shop-scoped: another shop's broadcast is a 404. ``admin_urls.urlpatterns_for`` puts it under the
broadcast admin's URLs (``<id>/results/``, named ``campaigns_broadcast_results``).
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.broadcasts.models import Broadcast
from campaigns.broadcasts.results import broadcast_results
from shops.tenancy import is_platform_operator, request_shop

TEMPLATE = "admin/campaigns/broadcast/results.html"


def _broadcast(request: HttpRequest, object_id) -> Broadcast:
    if not request.user.has_perm("campaigns.view_broadcast"):
        raise PermissionDenied
    broadcasts = Broadcast.objects.select_related("shop")
    if not is_platform_operator(request):
        shop = request_shop(request)
        if shop is None:
            raise Http404
        broadcasts = broadcasts.filter(shop=shop)
    try:
        return broadcasts.get(pk=int(object_id))
    except (Broadcast.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def _url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _window_rows(window) -> list[dict]:
    """The results window's table: per member, recipients against the hold-out."""
    if window is None:
        return []
    recipients, holdout = window.recipients, window.holdout
    rows = [
        ("buyers", _("bought something (%)"), "buyer_percent", window.buyer_percent_difference),
        ("purchases", _("purchases"), "purchases_per_member", window.purchases_difference),
        ("spend", _("spend (THB)"), "spend_per_member", window.spend_difference),
        ("points", _("points earned"), "points_per_member", window.points_difference),
    ]
    return [
        {
            "key": key,
            "label": label,
            "recipients": getattr(recipients, name),
            "holdout": getattr(holdout, name) if holdout is not None else None,
            "difference": difference,
        }
        for key, label, name, difference in rows
    ]


def results_view(request: HttpRequest, object_id, admin_site=None) -> HttpResponse:
    """The results page of one of the shop's broadcasts."""
    site = admin_site or admin.site
    broadcast = _broadcast(request, object_id)
    results = broadcast_results(broadcast)
    window = results.attribution
    return TemplateResponse(
        request,
        TEMPLATE,
        {
            **site.each_context(request),
            "title": _("Results of %(name)s") % {"name": broadcast.name},
            "broadcast": broadcast,
            "results": results,
            "window": window,
            "window_open": window is not None and not window.complete,
            "window_rows": _window_rows(window),
            "now": timezone.now(),
            # Unfold's header links to the model's list (BroadcastAdmin, registered apart).
            **({"opts": Broadcast._meta} if site.is_registered(Broadcast) else {}),
            "broadcast_url": _url("admin:campaigns_broadcast_change", broadcast.pk),
            "list_url": _url("admin:campaigns_broadcast_changelist"),
        },
    )
