"""The product's WSGI application plus the benchmarks' framework floors, two minimal Django views.

Each floor goes through the same gunicorn worker, the same middleware (sessions, locale, CSRF, auth,
messages, axes), the same URL resolver and the same database connection handling as the page it is
compared with, and does the least that page must do, so that "page / floor" says how much of a
request the product itself costs:

- ``POST /bench/floor/earn`` (``bench/earn_api.py``): the raw earn transaction (lock the member,
  insert purchase, entry and lot, update the balance: ``earn_api.raw_earn``) through Django's
  cursor in ``transaction.atomic``, for the member id in the JSON body; 201. The shop is
  ``$BENCH_EARN_SHOP``. No API key, no validation, no idempotency record.
- ``GET /bench/floor/member/<public id>`` (``bench/card_page.py``): reads one member row by its
  public id with the ORM and answers its name and balance as text; no session, no template.

- ``POST /bench/floor/webhook/<shop slug>/`` (``bench/webhook.py``): checks the HMAC of the body
  and inserts the one event as one row; 200.

Served by ``gunicorn bench.floor_wsgi``; nothing in the product imports this module, and the
product's urls never include these views.
"""

import json
import os

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.db import connection, transaction  # noqa: E402 - after Django is set up
from django.http import Http404, HttpResponse, JsonResponse  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

import loyalty.urls  # noqa: E402
from bench import earn_api  # noqa: E402
from bench import webhook as webhook_bench  # noqa: E402
from members.models import Member  # noqa: E402
from shops.models import Shop  # noqa: E402

_earn_statements: earn_api.RawEarn | None = None


def _statements() -> earn_api.RawEarn:
    """Built once per worker, on the first earn (the shop exists by then)."""
    global _earn_statements
    if _earn_statements is None:
        shop = Shop.objects.get(pk=int(os.environ["BENCH_EARN_SHOP"]))
        _earn_statements = earn_api.raw_earn_statements(shop)
    return _earn_statements


@csrf_exempt
@require_POST
def earn_floor(request):
    member_id = int(json.loads(request.body)["member"])
    key = "floor:" + request.headers.get("Idempotency-Key", "")[:100]
    with transaction.atomic(), connection.cursor() as cursor:
        balance = earn_api.raw_earn(cursor, _statements(), member_id=member_id, key=key)
    return JsonResponse({"balance": balance}, status=201)


@require_GET
def member_floor(request, public_id):
    row = Member.objects.filter(public_id=public_id).values("first_name", "balance").first()
    if row is None:
        raise Http404
    return HttpResponse(
        f"{row['first_name']} {row['balance']}".encode(), content_type="text/plain; charset=utf-8"
    )


loyalty.urls.urlpatterns += [
    path("bench/floor/earn", earn_floor),
    path("bench/floor/member/<uuid:public_id>", member_floor),
    path(
        "bench/floor/webhook/<slug:shop_slug>/",
        csrf_exempt(require_POST(webhook_bench.floor_view)),
    ),
]
clear_url_caches()
