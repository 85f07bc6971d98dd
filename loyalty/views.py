"""Project-wide pages: the landing page that links the faces, and a health check."""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from shops.selectors import active_shops


def landing(request: HttpRequest) -> HttpResponse:
    """Links to each face of the product: the back office, the staff app and — only where the
    operator lists the shops (``LANDING_LIST_SHOPS``, on in the demo) — the shops on this server and
    the member pages of one of them. A production server names no shop to a passer-by."""
    if not settings.LANDING_LIST_SHOPS:
        return render(request, "loyalty/landing.html", {"shops": [], "member_shop": None})
    shops = active_shops(limit=20)
    # The member pages of the demo shop (or of the first shop, on a server without the demo).
    member_shop = next((s for s in shops if s.slug == "cafe-aroi"), shops[0] if shops else None)
    return render(request, "loyalty/landing.html", {"shops": shops, "member_shop": member_shop})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
