"""Where postback and message events go: handlers that later features register by event type.

A feature (auto-replies, surveys, check-in) registers in its ``AppConfig.ready()``::

    from members.line import router
    router.register("message", auto_replies.handle_message)

A handler is called as ``handler(event=<the SDK's typed event>, stored=<WebhookEvent>,
friend=<LineFriend or None>)`` inside the processing task, and returns True when it acted on the
event, False when it let it pass (the next handler for the type is then tried). Handlers run in
the order they were registered. An event no handler takes is logged and marked "no handler";
a handler that raises marks the event failed (logged with its traceback), never a 500: LINE got
its 200 long before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[..., bool]

# Event types a handler may be registered for: follow and unfollow maintain LineFriend themselves.
ROUTED_TYPES = frozenset(
    {
        "message",
        "postback",
        "beacon",
        "accountLink",
        "things",
        "memberJoined",
        "memberLeft",
        "join",
        "leave",
        "videoPlayComplete",
        "unsend",
        "activated",
        "deactivated",
        "module",
        "botSuspended",
        "botResumed",
        "membership",
        "pnpDeliveryCompletion",
    }
)

# A follow is applied to ``LineFriend`` first (``members.line.services``), then offered to the
# handlers of "follow" (the greeting); what they do does not change the event's outcome.
AFTER_APPLY_TYPES = frozenset({"follow"})

_handlers: dict[str, list[Handler]] = {}


def register(event_type: str, handler: Handler) -> Handler:
    """Add ``handler`` for webhook events of ``event_type`` (LINE's ``type``, e.g. "postback").

    Registering the same handler twice for a type keeps one (``ready()`` may run more than once in
    tests). Returns the handler, so it can be used as a decorator's body.
    """
    if event_type not in ROUTED_TYPES | AFTER_APPLY_TYPES:
        raise ValueError(f"No routing for LINE event type {event_type!r}.")
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unregister(event_type: str, handler: Handler) -> None:
    """Remove a handler (tests that register their own)."""
    if handler in _handlers.get(event_type, []):
        _handlers[event_type].remove(handler)


def handlers_for(event_type: str) -> list[Handler]:
    """The handlers for a type, in registration order (a copy)."""
    return list(_handlers.get(event_type, []))


def dispatch(event_type: str, **context: Any) -> bool:
    """Offer the event to each handler of its type until one takes it; whether one did."""
    return any(handler(**context) for handler in handlers_for(event_type))
