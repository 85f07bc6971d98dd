"""The Content-Security-Policy of every response (django-csp).

The fixed part is ``CONTENT_SECURITY_POLICY`` in settings. This middleware adds, per request, what
depends on settings that can change while the process runs (the tests' fake LINE server picks its
port per test) or on the kind of page:

- LINE's hosts, from the ``LINE_*`` settings: LINE Login's page (a redirect after a form), the LIFF
  SDK's script and the API calls it makes, LINE profile pictures. With ``DEBUG`` they are the fake
  LINE server on loopback.
- ``'unsafe-eval'`` on the back office only: django-unfold's Alpine.js (standard build) evaluates
  its ``x-`` attributes with ``new Function``. The member pages and the staff app do without it.

docs/architecture.md lists each source and why it is allowed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.constants import UNSAFE_EVAL
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

ADMIN_PREFIX = "/admin/"
# Profile pictures of LINE users (the sign-up page shows the member's LINE picture).
LINE_PROFILE_IMAGES = "https://profile.line-scdn.net"
# The LIFF SDK's own files and feature data, besides the SDK script (LINE_LIFF_SDK_URL).
LIFF_CDN = "https://liffsdk.line-scdn.net"


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def line_sources() -> dict[str, list[str]]:
    """The directives' LINE sources for the LINE settings as they are now."""
    api = [
        o
        for o in (_origin(settings.LINE_API_BASE_URL), _origin(settings.LINE_ACCESS_BASE_URL))
        if o
    ]
    liff = _origin(settings.LINE_LIFF_SDK_URL)
    sdk = [liff] if liff else []
    return {
        "script-src": sdk,
        "connect-src": [*api, *sdk, LIFF_CDN],
        "img-src": [LINE_PROFILE_IMAGES, *api],
        "form-action": [o for o in [_origin(settings.LINE_ACCESS_BASE_URL)] if o],
    }


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = {k: list(v) for k, v in (parts.update or {}).items()}
        for directive, sources in line_sources().items():
            update.setdefault(directive, []).extend(sources)
        if request.path_info.startswith(ADMIN_PREFIX):
            update.setdefault("script-src", []).append(UNSAFE_EVAL)
        parts.update = update
        return parts
