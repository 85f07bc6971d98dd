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
    channel = webhook_channel_for(shop_slug=shop_slug)
    if channel is None:
        return HttpResponseBadRequest()
    try:
        body = request.body.decode("utf-8")
        parsed = WebhookParser(channel.messaging_channel_secret).parse(body, signature)
        raw_events = json.loads(body)["events"]
    except InvalidSignatureError:
        log.warning("LINE webhook for %s: bad signature", shop_slug)
        return HttpResponseBadRequest()
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        return HttpResponseBadRequest()
    if not isinstance(raw_events, list) or not all(isinstance(e, dict) for e in raw_events):
        return HttpResponseBadRequest()
    for event, raw in zip(parsed, raw_events, strict=False):
        if isinstance(event, UnknownEvent):
            # Stored anyway: the raw JSON is kept, and processing logs it as unhandled.
            log.info(
                "LINE webhook for %s: event type %r unknown to the SDK", shop_slug, raw.get("type")
            )
    webhook_events_store(shop=channel.shop, events=raw_events)
    return HttpResponse(status=200)
