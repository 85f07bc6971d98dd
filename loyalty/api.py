"""The Open API v1: one NinjaAPI with per-shop bearer keys, JSON errors in one shape, and the
routers of each app. The OpenAPI schema is generated from the code at /api/v1/openapi.json."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from loyalty.api_idempotency import api_error, request_api_key
from loyalty.errors import ApplicationError


class ApiKeyAuth(HttpBearer):
    """``Authorization: Bearer <key>``; a revoked or unknown key is a 401."""

    def __call__(self, request: HttpRequest):
        key = request_api_key(request)
        if key is None:
            return None
        request.shop = key.shop
        request.api_key = key
        return key

    def authenticate(self, request: HttpRequest, token: str):  # pragma: no cover - see __call__
        return request_api_key(request)


api = NinjaAPI(
    title="Loyalty Open API",
    version="1",
    description=(
        "Bind accounts, push orders, add or read points from another system. "
        "Authenticate with `Authorization: Bearer <key>` (a shop's API key, created in the back "
        "office or with `manage.py create_api_key`). Every POST needs an `Idempotency-Key` header: "
        "a replay returns the first response. Amounts are decimal strings in baht; member ids are "
        'the members\' public UUIDs. Errors are `{"error": {"code": "...", "message": "..."}}`.'
    ),
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
)


@api.exception_handler(NinjaValidationError)
def _invalid_input(request, exc: NinjaValidationError):
    details = []
    for error in exc.errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "payload", "query")]
        details.append({"field": ".".join(loc), "message": error.get("msg", "")})
    first = details[0] if details else {"field": "", "message": ""}
    message = (
        _("Invalid input: %(field)s: %(message)s") % first
        if first["field"]
        else _("Invalid input.")
    )
    return api_error(400, "invalid_input", message, details=details)


@api.exception_handler(AuthenticationError)
def _unauthorised(request, exc):
    return api_error(
        401, "unauthorized", _("Send a valid API key as 'Authorization: Bearer <key>'.")
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api_error(404, "not_found", _("Not found in this shop."))


@api.exception_handler(ApplicationError)
def _refused(request, exc: ApplicationError):
    extra = {"field": exc.field} if exc.field else {}
    return api_error(exc.http_status, exc.code, str(exc), **extra)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return api_error(exc.status_code, "error", str(exc))


from members.api import points_router  # noqa: E402
from members.api import router as members_router  # noqa: E402

api.add_router("/members", members_router, tags=["members"])
api.add_router("/points", points_router, tags=["points"])

from members.line.api import router as bindings_router  # noqa: E402

api.add_router("/bindings", bindings_router, tags=["bindings"])

from campaigns.broadcasts.api import router as broadcasts_router  # noqa: E402
from campaigns.segments.api import router as segments_router  # noqa: E402
from rewards.api import router as rewards_router  # noqa: E402

api.add_router("/segments", segments_router, tags=["segments"])
api.add_router("/broadcasts", broadcasts_router, tags=["broadcasts"])
api.add_router("", rewards_router, tags=["rewards"])
