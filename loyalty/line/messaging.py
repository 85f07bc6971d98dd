"""The Messaging API through LINE's official SDK (line-bot-sdk v3).

Every client is built here from settings, so the base URL is a setting and not the SDK's
hard-coded ``https://api.line.me``: tests and the demo point it at the fake LINE server, and the
real SDK code path is what runs there too.

The helpers are thin on purpose. They add what every caller would otherwise repeat: the timeout
from settings, network failures as ``LineUnavailable`` (so jobs retry), and a retry-key replay
(LINE's 409) read as "already sent" rather than as a failure, which is what makes a push safe to
retry from an outbox. Every other LINE refusal stays the SDK's ``ApiException``, with LINE's
status and body, for the caller to decide on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import urllib3
from django.conf import settings
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    CreateRichMenuAliasRequest,
    Message,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    TextMessage,
    UpdateRichMenuAliasRequest,
)

from loyalty.line import LineProfile, LineUnavailable

logger = logging.getLogger(__name__)

HTTP_CONFLICT = 409
HTTP_NOT_FOUND = 404
HTTP_BAD_REQUEST = 400


@dataclass(frozen=True)
class PushResult:
    """What LINE said to a push.

    ``already_accepted`` is true when LINE had accepted this retry key before (HTTP 409): the
    message went out on an earlier attempt, and ``message_ids`` are that attempt's.
    """

    message_ids: tuple[str, ...]
    already_accepted: bool = False
    accepted_request_id: str | None = None


def _configuration(host: str, channel_access_token: str) -> Configuration:
    return Configuration(host=host, access_token=channel_access_token)


def messaging_api(*, channel_access_token: str) -> MessagingApi:
    """A Messaging API client for one channel (one shop's LINE OA), aimed at ``LINE_API_BASE_URL``."""
    configuration = _configuration(settings.LINE_API_BASE_URL, channel_access_token)
    return MessagingApi(ApiClient(configuration))


def messaging_api_blob(*, channel_access_token: str) -> MessagingApiBlob:
    """The binary half of the Messaging API (rich menu images, message content).

    LINE serves it from a different host (``api-data.line.me``), hence its own setting.
    """
    configuration = _configuration(settings.LINE_API_DATA_BASE_URL, channel_access_token)
    return MessagingApiBlob(ApiClient(configuration))


def push_text(
    *, channel_access_token: str, to: str, text: str, retry_key: str | None = None
) -> PushResult:
    """Push one text message to a user.

    Pass a ``retry_key`` (a UUID kept with the outgoing message) whenever the push may be
    retried: a retry after a timeout then cannot send the message twice.
    """
    api = messaging_api(channel_access_token=channel_access_token)
    request = PushMessageRequest(to=to, messages=[TextMessage(text=text)])
    try:
        response = api.push_message(
            request, x_line_retry_key=retry_key, _request_timeout=settings.LINE_HTTP_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == HTTP_CONFLICT and retry_key:
            return _already_accepted(exc)
        raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("push", exc) from exc
    return PushResult(message_ids=tuple(m.id for m in response.sent_messages))


def reply_text(*, channel_access_token: str, reply_token: str, text: str) -> PushResult:
    """Answer a webhook event with one text message (free of charge, unlike a push)."""
    return reply_messages(
        channel_access_token=channel_access_token,
        reply_token=reply_token,
        messages=[{"type": "text", "text": text}],
    )


def reply_messages(
    *, channel_access_token: str, reply_token: str, messages: list[dict]
) -> PushResult:
    """Answer a webhook event with up to five message objects (LINE's JSON shape: text, image,
    imagemap, flex...). The SDK's models check each shape before it leaves; a reply token is
    single use, so there is no retry key and no retry."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = ReplyMessageRequest(
        reply_token=reply_token, messages=[Message.from_dict(m) for m in messages]
    )
    try:
        response = api.reply_message(request, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("reply", exc) from exc
    return PushResult(message_ids=tuple(m.id for m in response.sent_messages))


def multicast_text(
    *, channel_access_token: str, to: list[str], text: str, retry_key: str | None = None
) -> bool:
    """Send one text message to up to 500 users. Returns False when the retry key was replayed."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = MulticastRequest(to=to, messages=[TextMessage(text=text)])
    try:
        api.multicast(
            request, x_line_retry_key=retry_key, _request_timeout=settings.LINE_HTTP_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == HTTP_CONFLICT and retry_key:
            return False
        raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("multicast", exc) from exc
    return True


@dataclass(frozen=True)
class SendResult:
    """What LINE said to a push or multicast of prepared message objects.

    ``request_id`` is LINE's ``x-line-request-id`` of this call; on a retry-key replay (HTTP 409)
    ``already_accepted`` is true and ``accepted_request_id`` names the earlier call that went out.
    """

    request_id: str | None
    already_accepted: bool = False
    accepted_request_id: str | None = None


@dataclass(frozen=True)
class MessageQuota:
    """This month's message quota of a channel: ``limit`` None means unlimited."""

    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


def push_messages(
    *, channel_access_token: str, to: str, messages: list[dict], retry_key: str
) -> SendResult:
    """Push up to five message objects (LINE's JSON shape) to one user, with a retry key."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = PushMessageRequest(to=to, messages=[Message.from_dict(m) for m in messages])
    try:
        response = api.push_message_with_http_info(
            request, x_line_retry_key=retry_key, _request_timeout=settings.LINE_HTTP_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == HTTP_CONFLICT:
            return _replayed(exc)
        raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("push", exc) from exc
    return SendResult(request_id=(response.headers or {}).get("x-line-request-id"))


def multicast_messages(
    *, channel_access_token: str, to: list[str], messages: list[dict], retry_key: str
) -> SendResult:
    """Send up to five message objects to up to 500 users in one call, with a retry key."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = MulticastRequest(to=to, messages=[Message.from_dict(m) for m in messages])
    try:
        response = api.multicast_with_http_info(
            request, x_line_retry_key=retry_key, _request_timeout=settings.LINE_HTTP_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == HTTP_CONFLICT:
            return _replayed(exc)
        raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("multicast", exc) from exc
    return SendResult(request_id=(response.headers or {}).get("x-line-request-id"))


def message_quota(*, channel_access_token: str) -> MessageQuota:
    """The channel's monthly quota and what it has used of it (two calls, as LINE has two)."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        quota = api.get_message_quota(_request_timeout=settings.LINE_HTTP_TIMEOUT)
        used = api.get_message_quota_consumption(_request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("quota", exc) from exc
    limit = quota.value if quota.type == "limited" else None
    return MessageQuota(limit=limit, used=used.total_usage)


def line_error_message(exc: ApiException) -> str:
    """LINE's own ``message`` (and its details) from a refusal, for the admin to show."""
    try:
        body = json.loads(exc.body or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict) or not body.get("message"):
        return f"HTTP {exc.status}"
    details = [
        f"{d.get('property', '')}: {d.get('message', '')}"
        for d in body.get("details") or []
        if isinstance(d, dict)
    ]
    return "; ".join([str(body["message"]), *details])


def get_user_profile(*, channel_access_token: str, user_id: str) -> LineProfile | None:
    """A user's profile as the OA sees it, or None when LINE does not know them as a friend."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        profile = api.get_profile(user_id, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except ApiException as exc:
        if exc.status == HTTP_NOT_FOUND:
            return None
        raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("get profile", exc) from exc
    return LineProfile(
        user_id=profile.user_id,
        display_name=profile.display_name,
        picture_url=profile.picture_url,
        status_message=profile.status_message,
        language=profile.language,
    )


def issue_link_token(*, channel_access_token: str, user_id: str) -> str:
    """A one-time token (10 minutes) that starts LINE's account-link flow for this user."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        response = api.issue_link_token(user_id, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("issue link token", exc) from exc
    return response.link_token


def link_rich_menu(*, channel_access_token: str, user_id: str, rich_menu_id: str) -> None:
    """Show this rich menu to this user (per-user menus beat the OA's default menu)."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        api.link_rich_menu_id_to_user(
            user_id, rich_menu_id, _request_timeout=settings.LINE_HTTP_TIMEOUT
        )
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("link rich menu", exc) from exc


def unlink_rich_menu(*, channel_access_token: str, user_id: str) -> None:
    """Take the user's own rich menu away, so they see the OA's default menu again."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        api.unlink_rich_menu_id_from_user(user_id, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("unlink rich menu", exc) from exc


def create_rich_menu(
    *, channel_access_token: str, menu: RichMenuRequest, image: bytes, content_type: str
) -> str:
    """Create a rich menu and upload its picture (to the data host); returns LINE's richMenuId.

    LINE treats a menu without its picture as missing, so a failed upload deletes the menu again
    before the error goes up: nothing half-made is left at LINE.
    """
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        rich_menu_id = api.create_rich_menu(
            menu, _request_timeout=settings.LINE_HTTP_TIMEOUT
        ).rich_menu_id
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("create rich menu", exc) from exc
    blob = messaging_api_blob(channel_access_token=channel_access_token)
    try:
        blob.set_rich_menu_image(
            rich_menu_id,
            body=image,
            _headers={"Content-Type": content_type},
            _request_timeout=settings.LINE_HTTP_TIMEOUT,
        )
    except (ApiException, urllib3.exceptions.HTTPError) as exc:
        delete_rich_menu(channel_access_token=channel_access_token, rich_menu_id=rich_menu_id)
        if isinstance(exc, ApiException):
            raise
        raise _unavailable("upload rich menu image", exc) from exc
    return rich_menu_id


def set_default_rich_menu(*, channel_access_token: str, rich_menu_id: str) -> None:
    """Make this menu the one every user without their own menu sees."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        api.set_default_rich_menu(rich_menu_id, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("set default rich menu", exc) from exc


def delete_rich_menu(*, channel_access_token: str, rich_menu_id: str) -> None:
    """Delete a rich menu at LINE; one already gone (404) counts as deleted."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        api.delete_rich_menu(rich_menu_id, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except ApiException as exc:
        if exc.status != HTTP_NOT_FOUND:
            raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("delete rich menu", exc) from exc


RICH_MENU_BULK_LIMIT = 500  # user ids per bulk link or unlink request (LINE's limit)


def link_rich_menu_bulk(
    *, channel_access_token: str, user_ids: list[str], rich_menu_id: str
) -> None:
    """Link up to 500 users to one menu (LINE applies it asynchronously, answering 202)."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=user_ids)
    try:
        api.link_rich_menu_id_to_users(request, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("bulk link rich menu", exc) from exc


def unlink_rich_menu_bulk(*, channel_access_token: str, user_ids: list[str]) -> None:
    """Take their own menu from up to 500 users, so they see the default menu."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = RichMenuBulkUnlinkRequest(user_ids=user_ids)
    try:
        api.unlink_rich_menu_id_from_users(request, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("bulk unlink rich menu", exc) from exc


def create_rich_menu_alias(*, channel_access_token: str, alias_id: str, rich_menu_id: str) -> None:
    """Create a rich-menu alias (a tab name that "richmenuswitch" actions open). LINE refuses an
    alias the channel has already with 400 (``is_alias_conflict``)."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=rich_menu_id)
    try:
        api.create_rich_menu_alias(request, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("create rich menu alias", exc) from exc


def update_rich_menu_alias(*, channel_access_token: str, alias_id: str, rich_menu_id: str) -> None:
    """Point an existing alias at another rich menu (a re-published tab)."""
    api = messaging_api(channel_access_token=channel_access_token)
    request = UpdateRichMenuAliasRequest(rich_menu_id=rich_menu_id)
    try:
        api.update_rich_menu_alias(alias_id, request, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("update rich menu alias", exc) from exc


def delete_rich_menu_alias(*, channel_access_token: str, alias_id: str) -> None:
    """Delete an alias at LINE; one already gone (404) counts as deleted."""
    api = messaging_api(channel_access_token=channel_access_token)
    try:
        api.delete_rich_menu_alias(alias_id, _request_timeout=settings.LINE_HTTP_TIMEOUT)
    except ApiException as exc:
        if exc.status != HTTP_NOT_FOUND:
            raise
    except urllib3.exceptions.HTTPError as exc:
        raise _unavailable("delete rich menu alias", exc) from exc


def is_alias_conflict(exc: ApiException) -> bool:
    """Whether LINE refused to create an alias because the channel has it already."""
    return exc.status == HTTP_BAD_REQUEST and "conflict" in line_error_message(exc).lower()


def _already_accepted(exc: ApiException) -> PushResult:
    try:
        body = json.loads(exc.body or b"{}")
    except ValueError:
        body = {}
    sent = (body.get("sentMessages") or []) if isinstance(body, dict) else []
    headers = exc.headers or {}
    return PushResult(
        message_ids=tuple(str(m.get("id")) for m in sent if isinstance(m, dict)),
        already_accepted=True,
        accepted_request_id=headers.get("x-line-accepted-request-id"),
    )


def _replayed(exc: ApiException) -> SendResult:
    headers = exc.headers or {}
    return SendResult(
        request_id=headers.get("x-line-request-id"),
        already_accepted=True,
        accepted_request_id=headers.get("x-line-accepted-request-id"),
    )


def _unavailable(what: str, exc: Exception) -> LineUnavailable:
    logger.warning("LINE %s failed: %s", what, exc)
    return LineUnavailable(line_error=type(exc).__name__)
