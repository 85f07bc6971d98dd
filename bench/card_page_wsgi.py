"""The product's WSGI application plus one minimal Django view, for ``bench/card_page.py``.

``GET /bench/minimal`` goes through the same gunicorn worker, the same middleware (sessions,
locale, CSRF, auth, messages, axes) and the same URL resolver as the member card, and answers a
constant: what one request costs Django on this machine before a view does anything. Nothing in
the product imports this module.
"""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.http import HttpResponse  # noqa: E402 - after Django is set up
from django.urls import clear_url_caches, path  # noqa: E402

import loyalty.urls  # noqa: E402


def minimal(request):
    return HttpResponse(b"ok", content_type="text/plain")


loyalty.urls.urlpatterns.append(path("bench/minimal", minimal))
clear_url_caches()
