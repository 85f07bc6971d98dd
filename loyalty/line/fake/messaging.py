"""The Messaging API on the fake platform: push, reply, multicast, the bot's view of a profile,
and account-link tokens.

Sends are checked as LINE checks them (recipient ids, 1 to 5 messages, required properties, the
``X-Line-Retry-Key`` header and its 409 on a repeat) and recorded in ``messages`` instead of being
delivered. Rich menus are in ``richmenus``; webhooks (LINE calling the shop) in ``webhooks``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from http import HTTPStatus
from typing import Any

from loyalty.fake_http import Request, Response, json_response, now_iso, routes
from loyalty.line.fake.state import (
    LINK_TOKEN_TTL,
    LOG_LIMIT,
    RECIPIENT_RE,
    RETRY_KEY_TTL,
    USER_ID_RE,
    UUID_RE,
    FakeChannel,
    LineState,
    SendFault,
    bad_request,
)

FAULT_MESSAGES = {
    HTTPStatus.TOO_MANY_REQUESTS: "Too Many Requests",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal Server Error",
    HTTPStatus.BAD_REQUEST: "The request body has 1 error(s)",
}

ROUTES = routes(
    ("POST", r"/v2/bot/message/push", "_push"),
    ("POST", r"/v2/bot/message/reply", "_reply"),
    ("POST", r"/v2/bot/message/multicast", "_multicast"),
    ("GET", r"/v2/bot/message/quota", "_quota"),
    ("GET", r"/v2/bot/message/quota/consumption", "_quota_consumption"),
    ("GET", r"/v2/bot/profile/(?P<user_id>[^/]+)", "_bot_profile"),
    ("POST", r"/v2/bot/user/(?P<user_id>[^/]+)/linkToken", "_link_token"),
)

MESSAGE_TYPES = (
    "text",
    "image",
    "video",
    "audio",
    "location",
    "sticker",
    "imagemap",
    "template",
    "flex",
)
# Properties each message type must carry (LINE's full rules are longer; these catch real bugs).
REQUIRED_PROPERTIES = {
    "text": ("text",),
    "image": ("originalContentUrl", "previewImageUrl"),
    "video": ("originalContentUrl", "previewImageUrl"),
    "audio": ("originalContentUrl", "duration"),
    "location": ("title", "address", "latitude", "longitude"),
    "sticker": ("packageId", "stickerId"),
    "imagemap": ("baseUrl", "altText", "baseSize", "actions"),
    "template": ("altText", "template"),
    "flex": ("altText", "contents"),
}


IMAGEMAP_BASE_WIDTH = 1040
IMAGEMAP_MAX_ACTIONS = 50
FLEX_COMPONENTS = ("box", "text", "button", "image", "icon", "span", "separator", "filler", "video")
_URL_RE = re.compile(r"^https?://[^\s]+$")


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _int_at_least(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _url_errors(value: Any, where: str, limit: int = 2000) -> list[dict[str, str]]:
    # LINE asks for HTTPS; the fake takes http too, so the demo works on a plain local server.
    if not isinstance(value, str) or not _URL_RE.match(value) or len(value) > limit:
        return [{"message": "invalid uri", "property": where}]
    return []


def _imagemap_errors(message: dict[str, Any], where: str) -> list[dict[str, str]]:
    """LINE's checks of an imagemap: baseSize 1040 wide, 1–50 actions (uri with linkUri or
    message with text), each with an area inside the base size."""
    details = []
    if not _empty(message.get("baseUrl")):
        details += _url_errors(message["baseUrl"], f"{where}.baseUrl")
    size = message.get("baseSize")
    if isinstance(size, dict):
        if size.get("width") != IMAGEMAP_BASE_WIDTH:
            details.append({"message": "must be 1040", "property": f"{where}.baseSize.width"})
        if not _int_at_least(size.get("height"), 1):
            details.append(
                {"message": "must be a positive integer", "property": f"{where}.baseSize.height"}
            )
    actions = message.get("actions")
    if isinstance(actions, list) and len(actions) > IMAGEMAP_MAX_ACTIONS:
        details.append({"message": "Size must be between 0 and 50", "property": f"{where}.actions"})
    height = size.get("height") if isinstance(size, dict) else None
    for index, action in enumerate(actions if isinstance(actions, list) else []):
        at = f"{where}.actions[{index}]"
        kind = action.get("type") if isinstance(action, dict) else None
        if kind == "uri":
            details += _url_errors(action.get("linkUri"), f"{at}.linkUri", 1000)
        elif kind == "message":
            text = action.get("text")
            if not isinstance(text, str) or not 1 <= len(text) <= 400:
                details.append(
                    {"message": "Length must be between 1 and 400", "property": f"{at}.text"}
                )
        else:
            details.append({"message": "Must be one of [uri, message]", "property": f"{at}.type"})
            continue
        area = action.get("area")
        if not isinstance(area, dict) or not all(
            _int_at_least(area.get(k), 0) for k in ("x", "y", "width", "height")
        ):
            details.append({"message": "May not be empty", "property": f"{at}.area"})
            continue
        if area["width"] < 1 or area["height"] < 1:
            details.append({"message": "must be at least 1", "property": f"{at}.area"})
        elif area["x"] + area["width"] > IMAGEMAP_BASE_WIDTH or (
            isinstance(height, int) and area["y"] + area["height"] > height
        ):
            details.append({"message": "area is out of the base size", "property": f"{at}.area"})
    return details


def _flex_action_errors(action: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(action, dict) or _empty(action.get("type")):
        return [{"message": "May not be empty", "property": f"{where}.type"}]
    details = []
    if action["type"] == "uri":
        details += _url_errors(action.get("uri"), f"{where}.uri", 1000)
    label = action.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > 40):
        details.append({"message": "Length must be between 0 and 40", "property": f"{where}.label"})
    return details


def _flex_component_errors(component: Any, where: str) -> list[dict[str, str]]:
    """A flex component as LINE checks it: a box has a layout and contents, a text a non-empty
    text, a button an action, an image a URL."""
    kind = component.get("type") if isinstance(component, dict) else None
    if kind not in FLEX_COMPONENTS:
        return [{"message": "unknown component type", "property": f"{where}.type"}]
    details = []
    if kind == "box":
        if component.get("layout") not in ("horizontal", "vertical", "baseline"):
            details.append({"message": "May not be empty", "property": f"{where}.layout"})
        contents = component.get("contents")
        if not isinstance(contents, list):
            details.append({"message": "May not be empty", "property": f"{where}.contents"})
        for index, child in enumerate(contents if isinstance(contents, list) else []):
            details += _flex_component_errors(child, f"{where}.contents[{index}]")
    elif kind == "text":
        if _empty(component.get("text")) and _empty(component.get("contents")):
            details.append({"message": "May not be empty", "property": f"{where}.text"})
    elif kind == "button":
        details += _flex_action_errors(component.get("action"), f"{where}.action")
    elif kind == "image":
        details += _url_errors(component.get("url"), f"{where}.url")
    if "action" in component and kind != "button":
        details += _flex_action_errors(component["action"], f"{where}.action")
    return details


def _bubble_errors(bubble: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(bubble, dict) or bubble.get("type") != "bubble":
        return [{"message": "must be a bubble", "property": f"{where}.type"}]
    blocks = [name for name in ("header", "hero", "body", "footer") if name in bubble]
    if not blocks:
        return [{"message": "a bubble needs a header, hero, body or footer", "property": where}]
    details = []
    for name in blocks:
        details += _flex_component_errors(bubble[name], f"{where}.{name}")
    return details


def _flex_errors(message: dict[str, Any], where: str) -> list[dict[str, str]]:
    contents = message.get("contents")
    if not isinstance(contents, dict):
        return []  # "May not be empty" already said
    at = f"{where}.contents"
    if contents.get("type") == "carousel":
        bubbles = contents.get("contents")
        if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= 12:
            return [{"message": "Size must be between 1 and 12", "property": f"{at}.contents"}]
        details = []
        for index, bubble in enumerate(bubbles):
            details += _bubble_errors(bubble, f"{at}.contents[{index}]")
        return details
    return _bubble_errors(contents, at)


def message_errors(messages: Any) -> list[dict[str, str]]:
    """LINE's ``details`` for a ``messages`` array, empty when it would be accepted."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return [{"message": "Size must be between 1 and 5", "property": "messages"}]
    details: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        kind = message.get("type") if isinstance(message, dict) else None
        if kind not in MESSAGE_TYPES:
            details.append(
                {
                    "message": f"Must be one of the following values: [{', '.join(MESSAGE_TYPES)}]",
                    "property": f"{where}.type",
                }
            )
            continue
        for name in REQUIRED_PROPERTIES[kind]:
            if message.get(name) in (None, "", [], {}):
                details.append({"message": "May not be empty", "property": f"{where}.{name}"})
        text = message.get("text")
        if kind == "text" and isinstance(text, str) and len(text) > 5000:
            details.append(
                {"message": "Length must be between 0 and 5000", "property": f"{where}.text"}
            )
        if kind == "image":
            for name in ("originalContentUrl", "previewImageUrl"):
                if not _empty(message.get(name)):
                    details += _url_errors(message[name], f"{where}.{name}")
        elif kind == "imagemap":
            details += _imagemap_errors(message, where)
        elif kind == "flex":
            details += _flex_errors(message, where)
        alt_text = message.get("altText")
        if isinstance(alt_text, str) and len(alt_text) > 1500:
            details.append(
                {"message": "Length must be between 0 and 1500", "property": f"{where}.altText"}
            )
    return details


class MessagingEndpoints(LineState):
    """The Messaging API's send endpoints, its profile and its link tokens."""

    def _retry_key(self, request: Request, channel: FakeChannel) -> str | Response | None:
        """The request's retry key, or LINE's answer when it is malformed or already accepted."""
        key = request.headers.get("x-line-retry-key")
        if key is None:
            return None
        if not UUID_RE.match(key):
            return bad_request("The value for the 'X-Line-Retry-Key' header is invalid")
        accepted = self._retry_keys.get((channel.channel_id, key.lower()))
        if accepted is not None and accepted[2] > time.time():
            request_id, payload, _ = accepted
            body = {"message": "The retry key is already accepted", **payload}
            return json_response(
                HTTPStatus.CONFLICT, body, **{"x-line-accepted-request-id": request_id}
            )
        return key

    def _send(
        self,
        *,
        kind: str,
        channel: FakeChannel,
        to: list[str],
        body: dict[str, Any],
        retry_key: str | None,
        reply_token: str | None = None,
    ) -> dict[str, Any]:
        """Record an accepted send and return LINE's success payload for it."""
        sent = [
            {"id": str(next(self._message_ids)), "quoteToken": secrets.token_urlsafe(12)}
            for _ in body["messages"]
        ]
        payload = {"sentMessages": sent} if kind != "multicast" else {}
        request_id = str(uuid.uuid4())
        if retry_key:
            self._retry_keys[(channel.channel_id, retry_key.lower())] = (
                request_id,
                payload,
                time.time() + RETRY_KEY_TTL,
            )
        self._messages.append(
            {
                "id": next(self._sequence),
                "kind": kind,
                "channel_id": channel.channel_id,
                "to": to,
                "messages": body["messages"],
                "notification_disabled": bool(body.get("notificationDisabled", False)),
                "retry_key": retry_key,
                "reply_token": reply_token,
                "request_id": request_id,
                "sent_message_ids": [m["id"] for m in sent],
                "received_at": now_iso(),
            }
        )
        del self._messages[:-LOG_LIMIT]
        if kind != "reply":
            # LINE counts a message per recipient against the month's quota; replies are free.
            self.quota_used += len(to)
        return payload

    def _request_id_header(self) -> dict[str, str]:
        """The accepted send's request id as LINE's header, so that the client and the log agree."""
        return {"x-line-request-id": self._messages[-1]["request_id"]}

    def _over_quota(self, recipients: int) -> bool:
        return self.quota_limit is not None and self.quota_used + recipients > self.quota_limit

    def _fault(self) -> SendFault | None:
        return self._faults.pop(0) if self._faults else None

    def _faulty(self, fault: SendFault, accepted: Response | None = None) -> Response:
        """The answer a ``SendFault`` asks for. A delay is slept with the state lock released, so
        the rest of the fake keeps answering while this client waits for its timeout."""
        if fault.delay:
            lock: threading.RLock = self._lock
            lock.release()
            try:
                time.sleep(fault.delay)
            finally:
                lock.acquire()
        if fault.status:
            status = HTTPStatus(fault.status)
            return json_response(
                status, {"message": fault.message or FAULT_MESSAGES.get(status, "")}
            )
        return accepted or json_response(HTTPStatus.OK, {})

    def _quota(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        if self.quota_limit is None:
            return json_response(HTTPStatus.OK, {"type": "none"})
        return json_response(HTTPStatus.OK, {"type": "limited", "value": self.quota_limit})

    def _quota_consumption(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        return json_response(HTTPStatus.OK, {"totalUsage": self.quota_used})

    def _push(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        retry_key = self._retry_key(request, channel)
        if isinstance(retry_key, Response):
            return retry_key
        body = request.json()
        to = body.get("to")
        if not isinstance(to, str) or not RECIPIENT_RE.match(to):
            return bad_request(
                "The property, 'to', in the request body is invalid (line: -, column: -)"
            )
        details = message_errors(body.get("messages"))
        if details:
            return bad_request(f"The request body has {len(details)} error(s)", details)
        if to.startswith("U") and to not in self.users:
            return bad_request("Failed to send messages")
        if self._over_quota(1):
            return json_response(
                HTTPStatus.TOO_MANY_REQUESTS, {"message": "You have reached your monthly limit."}
            )
        fault = self._fault()
        if fault is not None and not fault.accept:
            return self._faulty(fault)
        payload = self._send(kind="push", channel=channel, to=[to], body=body, retry_key=retry_key)
        accepted = json_response(HTTPStatus.OK, payload, **self._request_id_header())
        return self._faulty(fault, accepted) if fault is not None else accepted

    def _reply(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        if request.headers.get("x-line-retry-key"):
            return bad_request("X-Line-Retry-Key header is not supported for this API")
        body = request.json()
        details = message_errors(body.get("messages"))
        if details:
            return bad_request(f"The request body has {len(details)} error(s)", details)
        token = self._reply_tokens.get(str(body.get("replyToken", "")))
        if token is None or token[0] != channel.channel_id or token[2] < time.time():
            return bad_request("Invalid reply token")
        del self._reply_tokens[body["replyToken"]]
        payload = self._send(
            kind="reply",
            channel=channel,
            to=[token[1]],
            body=body,
            retry_key=None,
            reply_token=body["replyToken"],
        )
        return json_response(HTTPStatus.OK, payload)

    def _multicast(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        retry_key = self._retry_key(request, channel)
        if isinstance(retry_key, Response):
            return retry_key
        body = request.json()
        to = body.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= 500:
            return bad_request(
                "The request body has 1 error(s)",
                [{"message": "Size must be between 1 and 500", "property": "to"}],
            )
        for index, recipient in enumerate(to):
            if not isinstance(recipient, str) or not USER_ID_RE.match(recipient):
                return bad_request(
                    f"The property, 'to[{index}]', in the request body is invalid (line: -, column: -)"
                )
        details = message_errors(body.get("messages"))
        if details:
            return bad_request(f"The request body has {len(details)} error(s)", details)
        if self._over_quota(len(to)):
            return json_response(
                HTTPStatus.TOO_MANY_REQUESTS, {"message": "You have reached your monthly limit."}
            )
        fault = self._fault()
        if fault is not None and not fault.accept:
            return self._faulty(fault)
        # Like LINE, unknown or blocked recipients are dropped silently from a multicast.
        payload = self._send(
            kind="multicast", channel=channel, to=list(to), body=body, retry_key=retry_key
        )
        accepted = json_response(HTTPStatus.OK, payload, **self._request_id_header())
        return self._faulty(fault, accepted) if fault is not None else accepted

    def _bot_profile(self, request: Request, user_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        user = self.users.get(user_id)
        if user is None:
            return json_response(HTTPStatus.NOT_FOUND, {"message": "Not found"})
        return json_response(HTTPStatus.OK, self._profile_json(user, with_language=True))

    def _link_token(self, request: Request, user_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        if user_id not in self.users:
            return bad_request("The user ID is invalid")
        token = secrets.token_urlsafe(24)
        self._link_tokens[token] = {
            "channel_id": channel.channel_id,
            "user_id": user_id,
            "expires_at": time.time() + LINK_TOKEN_TTL,
        }
        return json_response(HTTPStatus.OK, {"linkToken": token})
