"""Idempotency for every Open API POST: ``Idempotency-Key`` required, replays answered from the
stored first response, a reused key with another body refused, a key still in flight answered 409.

Runs as middleware around the API views so each endpoint gets it without repeating it. Two ways:

- Most endpoints: the record is committed before the view runs (its own transaction), so a second
  process sees it in flight (409), and the response is stored after it.
- The hot path (``ONE_TRANSACTION``: the earn): the view's work and the record with its response
  are ONE transaction (``loyalty.idempotency.request_transaction``); the record is inserted last
  (``INSERT … ON CONFLICT DO NOTHING``). A key with a record already is answered as before (the
  stored response, 422 for another body, 409 while in flight, a stale record taken over) and this
  attempt's work rolled back; twins cannot both write, since the ledger checks its own key under
  the member's lock. A refusal rolls the work back and is stored on its own; a 5xx or a crash rolls
  everything back, so a retry runs again.

Records are kept ``IDEMPOTENCY_RETENTION_DAYS`` (default 7) and then purged by a daily job
(``idempotency_records_purge``): their stored responses hold members' names and phones, and a
client retries within minutes or hours, not weeks. A retry after the purge still does nothing
twice: every ledger write has its own permanent idempotency key (it finds the first entry), a
member is found again by phone, and a used coupon is refused as used; only the stored first
response is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from loyalty.bulk import insert_rows
from loyalty.idempotency import request_transaction
from loyalty.models import IdempotencyRecord

API_PREFIX = "/api/v1/"
MAX_KEY_LENGTH = 200
# An in-flight record older than this is a crashed request: the next replay runs it again (the
# ledger's own idempotency key makes that safe).
STALE_AFTER = dt.timedelta(minutes=5)
# Endpoints whose key is claimed in the transaction of their work (paths without the final slash).
ONE_TRANSACTION = frozenset({API_PREFIX + "points/earn"})


PURGE_BATCH = 5000


def idempotency_records_purge(*, now: dt.datetime | None = None) -> int:
    """Delete API request records older than ``IDEMPOTENCY_RETENTION_DAYS`` (in batches, so a
    busy table is not locked for long). Safe to run twice. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.IDEMPOTENCY_RETENTION_DAYS)
    old = IdempotencyRecord.objects.filter(created_at__lt=cutoff)
    deleted = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=batch).delete()[0]


def ledger_key(request: HttpRequest) -> str:
    """The ledger's idempotency key for an API write: the client's ``Idempotency-Key``, prefixed so
    it never meets a key from another channel (the staff app, an import)."""
    return "api:" + request.headers.get("Idempotency-Key", "").strip()


def api_error(status: int, code: str, message: str, **extra) -> JsonResponse:
    body = {"error": {"code": code, "message": str(message), **extra}}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def request_api_key(request: HttpRequest):
    """The API key of the request's bearer token (cached on the request), or None.

    Keys belong to shops, a layer above this one: the function that checks a token is named by
    the ``API_KEY_AUTHENTICATOR`` setting (``shops.apikeys.api_key_authenticate``)."""
    if not hasattr(request, "_api_key"):
        api_key_authenticate = import_string(settings.API_KEY_AUTHENTICATOR)
        header = request.headers.get("Authorization", "")
        scheme, _sep, token = header.partition(" ")
        request._api_key = api_key_authenticate(token) if scheme.lower() == "bearer" else None
    return request._api_key


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # (Integrators get English unless they ask for Thai: loyalty.api_routing, which runs first.)
        if not request.path.startswith(API_PREFIX) or request.method != "POST":
            return self.get_response(request)
        api_key = request_api_key(request)
        if api_key is None:
            return self.get_response(request)  # the view answers 401
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return api_error(
                400,
                "idempotency_key_required",
                _("Send an Idempotency-Key header with every POST (e.g. a UUID)."),
            )
        if len(key) > MAX_KEY_LENGTH:
            return api_error(
                400,
                "invalid_idempotency_key",
                _("The Idempotency-Key is too long (at most %(max)s characters).")
                % {"max": MAX_KEY_LENGTH},
            )
        digest = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\n" + request.body
        ).hexdigest()
        if request.path.rstrip("/") in ONE_TRANSACTION:
            return self._in_one_transaction(api_key.shop_id, key, request, digest)
        record, replay = self._claim(api_key.shop_id, key, request, digest)
        if replay is not None:
            return replay
        try:
            response = self.get_response(request)
        except Exception:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        if response.status_code >= 500:
            # Not a result: let the client retry with the same key.
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            state=IdempotencyRecord.State.DONE,
            response_status=response.status_code,
            response_body=bytes(response.content),
            completed_at=timezone.now(),
        )
        return response

    def _in_one_transaction(self, shop_id, key, request, digest) -> HttpResponse:
        """The work and its stored response in one transaction (see the module docstring): the
        record is inserted at the end with the response, one statement. A twin with the same key
        meets the first's record then (its insert waits for the first's commit) and answers as
        the record says, its own work rolled back; the ledger's key (``api:<key>``) is checked
        under the member's lock, so two twins never both write."""
        with request_transaction():
            response = self.get_response(request)
            if response.status_code < 500 and not transaction.get_rollback():
                answer = self._store_new(shop_id, key, request, digest, response)
                if answer is None:
                    return response
                transaction.set_rollback(True)  # the key was used before: nothing of this stays
                return answer
            # A 5xx, or a refusal inside the view that left the transaction to roll back.
            transaction.set_rollback(True)
        existing = IdempotencyRecord.objects.filter(shop_id=shop_id, key=key).first()
        if existing is not None:
            # A twin committed first (e.g. its entry took the ledger key while this one waited):
            # answer as its record says, not with this attempt's failure.
            stale, answer = self._answer_existing(existing, digest)
            if stale is None:
                return answer
            if response.status_code < 500:
                self._store(stale.pk, response)
                return response
        if response.status_code >= 500:
            return response
        with transaction.atomic():
            answer = self._store_new(shop_id, key, request, digest, response)
        return response if answer is None else answer

    def _store(self, record_pk, response) -> None:
        IdempotencyRecord.objects.filter(pk=record_pk).update(
            state=IdempotencyRecord.State.DONE,
            response_status=response.status_code,
            response_body=bytes(response.content),
            completed_at=timezone.now(),
        )

    def _store_new(self, shop_id, key, request, digest, response) -> HttpResponse | None:
        """Insert the record with its response: None when stored, else the answer its existing
        record gives (a stale record in flight is completed with this response instead)."""
        stored = insert_rows(
            IdempotencyRecord,
            ["shop_id", "key", "method", "path", "request_hash"],
            [(shop_id, key, request.method, request.path[:300], digest)],
            same={
                "state": IdempotencyRecord.State.DONE,
                "response_status": response.status_code,
                "response_body": bytes(response.content),
                "completed_at": timezone.now(),
            },
            ignore_conflicts=True,
            returning=("id",),
        )
        if stored:
            return None
        existing = IdempotencyRecord.objects.filter(shop_id=shop_id, key=key).first()
        if existing is None:  # deleted meanwhile: try once more
            return self._store_new(shop_id, key, request, digest, response)
        stale, answer = self._answer_existing(existing, digest)
        if stale is not None:
            self._store(stale.pk, response)
            return None
        return answer

    def _claim(self, shop_id, key, request, digest):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    shop_id=shop_id,
                    key=key,
                    method=request.method,
                    path=request.path[:300],
                    request_hash=digest,
                )
            return record, None
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(shop_id=shop_id, key=key).first()
        if existing is None:  # deleted meanwhile (a failed first attempt): try once more
            return self._claim(shop_id, key, request, digest)
        return self._answer_existing(existing, digest)

    def _answer_existing(self, existing, digest):
        """(the record to run the request under, None) for a stale in-flight record, else
        (None, the answer): 422 for another body, 409 while in flight, or the stored response."""
        if existing.request_hash != digest:
            return None, api_error(
                422,
                "idempotency_key_reused",
                _("This Idempotency-Key was already used for a different request."),
            )
        if existing.state == IdempotencyRecord.State.IN_FLIGHT:
            if timezone.now() - existing.created_at > STALE_AFTER:
                IdempotencyRecord.objects.filter(pk=existing.pk).update(created_at=timezone.now())
                return existing, None
            return None, api_error(
                409,
                "request_in_flight",
                _("A request with this Idempotency-Key is still being processed; retry shortly."),
            )
        response = HttpResponse(
            bytes(existing.response_body or b""),
            status=existing.response_status,
            content_type="application/json",
        )
        response["Idempotent-Replayed"] = "true"
        return None, response
