"""Every answer under ``/api/v1/`` is JSON in the documented error envelope, including the ones that
no endpoint writes: an unknown path or a malformed id in a path (404), a method the schema does not
list for a path (405 with an ``Allow`` header), and Django's own error pages (400, 413, 500 …).

Runs as middleware before the idempotency middleware, so that a POST to a GET-only path is refused
as a method, not asked for an ``Idempotency-Key`` or stored as a result. What is allowed where is
read from the OpenAPI schema the API generates, so the check cannot drift from the endpoints.
"""

from __future__ import annotations

import functools
import re

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _

from loyalty.api_idempotency import API_PREFIX, api_error

# The API's own pages that are not operations of the schema (the schema itself, the reference).
_PAGE_METHODS = ("GET", "HEAD")


@functools.cache
def _operations() -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    """(path pattern, allowed methods) for each path of the OpenAPI schema."""
    from loyalty.api import api

    operations = []
    for template, item in api.get_openapi_schema()["paths"].items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        methods = frozenset(m.upper() for m in item if m.lower() != "parameters")
        operations.append((re.compile(pattern), methods))
    return tuple(operations)


def allowed_methods(path: str) -> frozenset[str] | None:
    """The methods the schema lists for ``path`` (any value in its parameters), or None when no
    path of the schema has that shape."""
    found = [methods for pattern, methods in _operations() if pattern.fullmatch(path)]
    return frozenset().union(*found) if found else None


def _not_allowed(request: HttpRequest, allowed) -> HttpResponse:
    allow = ", ".join(sorted(allowed))
    response = api_error(
        405,
        "method_not_allowed",
        _("%(method)s is not allowed here. Allowed: %(allowed)s.")
        % {"method": request.method, "allowed": allow},
    )
    response["Allow"] = allow
    return response


def _not_found() -> HttpResponse:
    return api_error(404, "not_found", _("There is no such path or object in this API."))


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request could not be read.")),
        403: ("forbidden", _("This request is not allowed.")),
        404: ("not_found", _("There is no such path or object in this API.")),
        413: ("too_large", _("The request is too large.")),
        500: ("server_error", _("Something went wrong on our side. Try again later.")),
    }


def _enveloped(response: HttpResponse) -> HttpResponse:
    """An error that is not JSON (Django's HTML pages) as the JSON envelope, status kept."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return response
    code, message = _messages().get(
        response.status_code,
        ("server_error", _messages()[500][1])
        if response.status_code >= 500
        else ("error", _("The request could not be handled.")),
    )
    enveloped = api_error(response.status_code, code, message)
    if response.has_header("Allow"):
        enveloped["Allow"] = response["Allow"]
    return enveloped


class ApiEnvelopeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        # Integrators get English unless they ask for Thai.
        if "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        allowed = allowed_methods(request.path)
        if allowed is not None and request.method not in allowed:
            return _not_allowed(request, allowed)
        try:
            resolve(request.path_info)
        except Resolver404:
            # An unknown path, or a path of the schema with a malformed id (not a UUID).
            return _not_found()
        if allowed is None and request.method not in _PAGE_METHODS:
            return _not_allowed(request, _PAGE_METHODS)
        return _enveloped(self.get_response(request))
