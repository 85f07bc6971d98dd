"""Rich menus on the fake platform: enough of the Messaging API to create, picture, default and
link one (one user, or up to 500 at once), with LINE's rule that a menu without its image cannot be linked.

Endpoints: ``POST /v2/bot/richmenu``, ``GET /v2/bot/richmenu/list``, ``GET``/``DELETE
/v2/bot/richmenu/{id}``, ``POST``/``GET /v2/bot/richmenu/{id}/content`` (upload the image, and
download it again as it was uploaded; LINE serves both from ``api-data.line.me``, here the same
server), the default menu under ``/v2/bot/user/all/richmenu``, a user's own under
``/v2/bot/user/{userId}/richmenu``, and ``POST /v2/bot/richmenu/bulk/link`` and
``.../bulk/unlink`` (LINE answers 202 and applies them later; here at once).
Aliases (tabs): ``POST /v2/bot/richmenu/alias`` (create), ``POST .../alias/{id}`` (update),
``GET``/``DELETE .../alias/{id}`` and ``GET .../alias/list``, per channel, with LINE's refusals
(400 for a taken alias id or an unknown menu, 404 for an unknown alias).
Tests read ``rich_menu_of()``; pages read ``rich_menu_for_user()`` and ``rich_menu_by_alias()``.
"""

from __future__ import annotations

import copy
import re
import secrets
from http import HTTPStatus
from typing import Any

from loyalty.fake_http import Request, Response, json_response, routes
from loyalty.line.fake.state import (
    RICH_MENU_ID_RE,
    USER_ID_RE,
    FakeChannel,
    LineState,
    RichMenu,
    bad_request,
)

ALIAS_ID_RE = re.compile(r"^[a-z0-9_-]{1,32}$")

ROUTES = routes(
    ("POST", r"/v2/bot/richmenu/alias", "_create_alias"),
    ("GET", r"/v2/bot/richmenu/alias/list", "_list_aliases"),
    ("POST", r"/v2/bot/richmenu/alias/(?P<alias_id>[^/]+)", "_update_alias"),
    ("GET", r"/v2/bot/richmenu/alias/(?P<alias_id>[^/]+)", "_get_alias"),
    ("DELETE", r"/v2/bot/richmenu/alias/(?P<alias_id>[^/]+)", "_delete_alias"),
    ("POST", r"/v2/bot/richmenu", "_create_rich_menu"),
    ("POST", r"/v2/bot/richmenu/bulk/link", "_bulk_link"),
    ("POST", r"/v2/bot/richmenu/bulk/unlink", "_bulk_unlink"),
    ("GET", r"/v2/bot/richmenu/list", "_list_rich_menus"),
    ("GET", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)", "_get_rich_menu"),
    ("DELETE", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)", "_delete_rich_menu"),
    ("POST", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)/content", "_rich_menu_image"),
    ("GET", r"/v2/bot/richmenu/(?P<rich_menu_id>[^/]+)/content", "_rich_menu_image_content"),
    ("POST", r"/v2/bot/user/all/richmenu/(?P<rich_menu_id>[^/]+)", "_set_default_menu"),
    ("GET", r"/v2/bot/user/all/richmenu", "_get_default_menu"),
    ("DELETE", r"/v2/bot/user/all/richmenu", "_clear_default_menu"),
    ("POST", r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu/(?P<rich_menu_id>[^/]+)", "_link_menu"),
    ("GET", r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu", "_get_user_menu"),
    ("DELETE", r"/v2/bot/user/(?P<user_id>[^/]+)/richmenu", "_unlink_menu"),
)


class RichMenuEndpoints(LineState):
    """The rich-menu endpoints; state lives in ``LineState`` (``_rich_menus`` and the links),
    the aliases here (``_rich_menu_aliases``: (channel id, alias id) -> rich menu id)."""

    def _init_state(self) -> None:
        super()._init_state()
        self._rich_menu_aliases: dict[tuple[str, str], str] = {}

    # -- Python control API ------------------------------------------------------------------------

    def _channel_for_helpers(self, channel_id: str | None) -> str | None:
        if channel_id:
            return str(channel_id)
        channel = self.chat_channel(None)
        return channel.channel_id if channel is not None else None

    def _menu_json(self, rich_menu_id: str | None) -> dict[str, Any] | None:
        menu = self._rich_menus.get(rich_menu_id) if rich_menu_id else None
        if menu is None:
            return None
        return {"richMenuId": menu.rich_menu_id, **copy.deepcopy(menu.body)}

    def rich_menu_for_user(self, user_id: str, channel_id: str | None = None) -> dict | None:
        """The rich menu (LINE's JSON, with ``richMenuId``) the user sees on a channel: the one
        linked to them, else the channel's default, else None. The channel is the chat page's
        (``chat_channel``) unless given."""
        with self._lock:
            channel = self._channel_for_helpers(channel_id)
            if channel is None:
                return None
            rich_menu_id = self._user_rich_menus.get(
                (channel, user_id), self._default_rich_menu.get(channel)
            )
            return self._menu_json(rich_menu_id)

    def rich_menu_by_alias(self, alias_id: str, channel_id: str | None = None) -> dict | None:
        """The rich menu an alias opens on a channel (the chat page's unless given), or None."""
        with self._lock:
            channel = self._channel_for_helpers(channel_id)
            if channel is None:
                return None
            return self._menu_json(self._rich_menu_aliases.get((channel, alias_id)))

    def switch_rich_menu(self, user_id: str, alias_id: str, channel_id: str | None = None) -> bool:
        """What a tap on a "richmenuswitch" area does at LINE: link the alias's menu to the user.
        False when the alias opens no menu (LINE then leaves the menu as it is)."""
        with self._lock:
            channel = self._channel_for_helpers(channel_id)
            rich_menu_id = self._rich_menu_aliases.get((channel, alias_id)) if channel else None
            if rich_menu_id is None or rich_menu_id not in self._rich_menus:
                return False
            self._user_rich_menus[(channel, user_id)] = rich_menu_id
            return True

    def _menu(self, channel: FakeChannel, rich_menu_id: str) -> RichMenu | Response:
        if not RICH_MENU_ID_RE.match(rich_menu_id):
            return bad_request(
                "The request body has 1 error(s)",
                [{"message": "invalid richMenuId", "property": "richMenuId"}],
            )
        menu = self._rich_menus.get(rich_menu_id)
        if menu is None or menu.channel_id != channel.channel_id:
            return json_response(
                HTTPStatus.NOT_FOUND, {"message": "richmenu not found", "details": []}
            )
        return menu

    def _create_rich_menu(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        body = request.json()
        details = []
        size = body.get("size") or {}
        if not 800 <= int(size.get("width", 0)) <= 2500 or int(size.get("height", 0)) < 250:
            details.append({"message": "invalid size", "property": "size"})
        for name, limit in (("name", 300), ("chatBarText", 14)):
            if not isinstance(body.get(name), str) or not 0 < len(body[name]) <= limit:
                details.append(
                    {"message": f"Length must be between 1 and {limit}", "property": name}
                )
        if not isinstance(body.get("areas"), list) or len(body["areas"]) > 20:
            details.append({"message": "Size must be between 0 and 20", "property": "areas"})
        if details:
            return bad_request(f"The request body has {len(details)} error(s)", details)
        menu = RichMenu(f"richmenu-{secrets.token_hex(16)}", channel.channel_id, body)
        self._rich_menus[menu.rich_menu_id] = menu
        return json_response(HTTPStatus.OK, {"richMenuId": menu.rich_menu_id})

    def _list_rich_menus(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        menus = [
            {"richMenuId": m.rich_menu_id, **m.body}
            for m in self._rich_menus.values()
            if m.channel_id == channel.channel_id
        ]
        return json_response(HTTPStatus.OK, {"richmenus": menus})

    def _get_rich_menu(self, request: Request, rich_menu_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, Response):
            return menu
        return json_response(HTTPStatus.OK, {"richMenuId": menu.rich_menu_id, **menu.body})

    def _delete_rich_menu(self, request: Request, rich_menu_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, Response):
            return menu
        del self._rich_menus[rich_menu_id]
        for key, linked in list(self._user_rich_menus.items()):
            if linked == rich_menu_id:
                del self._user_rich_menus[key]
        if self._default_rich_menu.get(channel.channel_id) == rich_menu_id:
            del self._default_rich_menu[channel.channel_id]
        return json_response(HTTPStatus.OK, {})

    def _rich_menu_image(self, request: Request, rich_menu_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, Response):
            return menu
        content_type = request.headers.get("content-type", "")
        if content_type not in ("image/jpeg", "image/png") or not request.body:
            return bad_request("The request body has 1 error(s)", [{"message": "invalid image"}])
        if menu.image_type is not None:
            return bad_request("An image has already been uploaded to the richmenu")
        menu.image_type = content_type
        menu.image = request.body
        return json_response(HTTPStatus.OK, {})

    def _rich_menu_image_content(self, request: Request, rich_menu_id: str) -> Response:
        """The picture as it was uploaded, with its content type (LINE: 404 before the upload)."""
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, Response):
            return menu
        if menu.image_type is None:
            return json_response(HTTPStatus.NOT_FOUND, {"message": "Not found", "details": []})
        return Response(HTTPStatus.OK, menu.image, menu.image_type)

    def _linkable_menu(self, channel: FakeChannel, rich_menu_id: str) -> RichMenu | Response:
        menu = self._menu(channel, rich_menu_id)
        if isinstance(menu, RichMenu) and menu.image_type is None:
            # LINE treats a menu without its image as not there at all.
            return bad_request("richmenu not found", [])
        if isinstance(menu, Response) and menu.status == HTTPStatus.NOT_FOUND:
            return bad_request("richmenu not found", [])
        return menu

    def _set_default_menu(self, request: Request, rich_menu_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        menu = self._linkable_menu(channel, rich_menu_id)
        if isinstance(menu, Response):
            return menu
        self._default_rich_menu[channel.channel_id] = rich_menu_id
        return json_response(HTTPStatus.OK, {})

    def _get_default_menu(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        rich_menu_id = self._default_rich_menu.get(channel.channel_id)
        if rich_menu_id is None:
            return json_response(
                HTTPStatus.NOT_FOUND, {"message": "no default richmenu", "details": []}
            )
        return json_response(HTTPStatus.OK, {"richMenuId": rich_menu_id})

    def _clear_default_menu(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        self._default_rich_menu.pop(channel.channel_id, None)
        return json_response(HTTPStatus.OK, {})

    def _link_menu(self, request: Request, user_id: str, rich_menu_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        if not USER_ID_RE.match(user_id):
            return bad_request("The user ID is invalid")
        menu = self._linkable_menu(channel, rich_menu_id)
        if isinstance(menu, Response):
            return menu
        self._user_rich_menus[(channel.channel_id, user_id)] = rich_menu_id
        return json_response(HTTPStatus.OK, {})

    def _get_user_menu(self, request: Request, user_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        rich_menu_id = self._user_rich_menus.get((channel.channel_id, user_id))
        if rich_menu_id is None:
            return json_response(
                HTTPStatus.NOT_FOUND, {"message": "the user has no richmenu", "details": []}
            )
        return json_response(HTTPStatus.OK, {"richMenuId": rich_menu_id})

    def _unlink_menu(self, request: Request, user_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        self._user_rich_menus.pop((channel.channel_id, user_id), None)
        return json_response(HTTPStatus.OK, {})

    def _bulk_user_ids(self, body: dict) -> list[str] | Response:
        user_ids = body.get("userIds")
        if not isinstance(user_ids, list) or not 1 <= len(user_ids) <= 500:
            return bad_request(
                "The request body has 1 error(s)",
                [{"message": "Size must be between 1 and 500", "property": "userIds"}],
            )
        if not all(isinstance(u, str) and USER_ID_RE.match(u) for u in user_ids):
            return bad_request(
                "The request body has 1 error(s)",
                [{"message": "invalid userId", "property": "userIds"}],
            )
        return user_ids

    def _bulk_link(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        body = request.json()
        user_ids = self._bulk_user_ids(body)
        if isinstance(user_ids, Response):
            return user_ids
        menu = self._linkable_menu(channel, str(body.get("richMenuId", "")))
        if isinstance(menu, Response):
            return menu
        for user_id in user_ids:
            self._user_rich_menus[(channel.channel_id, user_id)] = menu.rich_menu_id
        return json_response(HTTPStatus.ACCEPTED, {})

    def _bulk_unlink(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        user_ids = self._bulk_user_ids(request.json())
        if isinstance(user_ids, Response):
            return user_ids
        for user_id in user_ids:
            self._user_rich_menus.pop((channel.channel_id, user_id), None)
        return json_response(HTTPStatus.ACCEPTED, {})

    # -- Aliases ------------------------------------------------------------------------------------

    def _alias_not_found(self) -> Response:
        return json_response(
            HTTPStatus.NOT_FOUND, {"message": "richmenu alias not found", "details": []}
        )

    def _create_alias(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        body = request.json()
        alias_id = body.get("richMenuAliasId")
        if not isinstance(alias_id, str) or not ALIAS_ID_RE.match(alias_id):
            return bad_request(
                "The request body has 1 error(s)",
                [{"message": 'must match "^[a-z0-9_-]{1,32}$"', "property": "richMenuAliasId"}],
            )
        menu = self._linkable_menu(channel, str(body.get("richMenuId", "")))
        if isinstance(menu, Response):
            return menu
        key = (channel.channel_id, alias_id)
        if key in self._rich_menu_aliases:
            return bad_request("conflict richmenu alias id", [])
        self._rich_menu_aliases[key] = menu.rich_menu_id
        return json_response(HTTPStatus.OK, {})

    def _update_alias(self, request: Request, alias_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        key = (channel.channel_id, alias_id)
        if key not in self._rich_menu_aliases:
            return self._alias_not_found()
        menu = self._linkable_menu(channel, str(request.json().get("richMenuId", "")))
        if isinstance(menu, Response):
            return menu
        self._rich_menu_aliases[key] = menu.rich_menu_id
        return json_response(HTTPStatus.OK, {})

    def _get_alias(self, request: Request, alias_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        rich_menu_id = self._rich_menu_aliases.get((channel.channel_id, alias_id))
        if rich_menu_id is None:
            return self._alias_not_found()
        return json_response(
            HTTPStatus.OK, {"richMenuAliasId": alias_id, "richMenuId": rich_menu_id}
        )

    def _delete_alias(self, request: Request, alias_id: str) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        if self._rich_menu_aliases.pop((channel.channel_id, alias_id), None) is None:
            return self._alias_not_found()
        return json_response(HTTPStatus.OK, {})

    def _list_aliases(self, request: Request) -> Response:
        channel = self._bot_channel(request)
        if isinstance(channel, Response):
            return channel
        aliases = [
            {"richMenuAliasId": alias_id, "richMenuId": rich_menu_id}
            for (channel_id, alias_id), rich_menu_id in self._rich_menu_aliases.items()
            if channel_id == channel.channel_id
        ]
        return json_response(HTTPStatus.OK, {"aliases": aliases})
