"""System checks of the deployment (``manage.py check --deploy``, ``make check-deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_set(app_configs, **kwargs):
    """Links that leave a request (a broadcast's tracked links, rich-menu links, invite QR codes)
    are made from ``SITE_URL``; jobs have no request to build them from."""
    if settings.SITE_URL:
        return []
    return [
        Warning(
            "SITE_URL is not set: links in LINE messages sent by jobs (broadcasts' tracked links, "
            "rich menus) cannot point at this server.",
            hint="Set SITE_URL to the public address, e.g. https://loyalty.example.com.",
            id="loyalty.W001",
        )
    ]
