"""``POST /line/webhook/<shop-slug>/``: the URL pasted into the LINE Developers console.

LINE signs the raw body (``X-Line-Signature``, HMAC-SHA256 under the Messaging API channel
secret). line-bot-sdk's ``WebhookParser`` checks it (a constant-time compare) and parses the events;
anything that fails (unknown shop, no channel secret, a missing or wrong signature, a body that is
not LINE's JSON) is a 400 with nothing stored. Good events are stored once each and handed to
django-q2; the answer is 200 at once (LINE waits ~2 s at most, and redelivers on errors).
``{"events": []}`` is the console's "Verify" button: 200.
"""

from __future__ import annotations

import json
import logging

from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.models.events import UnknownEvent

from members.line.selectors import webhook_channel_for
from members.line.services import webhook_events_store

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def line_webhook(request: HttpRequest, shop_slug: str) -> HttpResponse:
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        return HttpResponseBadRequest()
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return HttpResponseBadRequest()
    parsed = None
    for fresh in (False, True):
        channel = webhook_channel_for(shop_slug=shop_slug, fresh=fresh)
        if channel is None:
            if fresh:
                return HttpResponseBadRequest()
            continue
        try:
            parsed = WebhookParser(channel.channel_secret).parse(body, signature)
            break
        except InvalidSignatureError:
            continue  # the kept secret may be an old one: read it again once
        except (ValueError, KeyError, TypeError):
            return HttpResponseBadRequest()
    if parsed is None:
        log.warning("LINE webhook for %s: bad signature", shop_slug)
        return HttpResponseBadRequest()
    try:
        raw_events = json.loads(body)["events"]
    except (ValueError, KeyError, TypeError):
        return HttpResponseBadRequest()
    for event, raw in zip(parsed, raw_events, strict=False):
        if isinstance(event, UnknownEvent):
            # Stored anyway: the raw JSON is kept, and processing logs it as unhandled.
            log.info(
                "LINE webhook for %s: event type %r unknown to the SDK", shop_slug, raw.get("type")
            )
    try:
        webhook_events_store(shop_id=channel.shop_id, events=raw_events)
    except IntegrityError:  # the shop was deleted since its channel was read
        return HttpResponseBadRequest()
    return HttpResponse(status=200)
