"""The fake LINE chat: one test user's conversation with a shop's Official Account, on a phone.

``GET /__fake__/chat/<userId>`` draws what LINE's app would show that user: the OA's name at
the top, every message the OA sent them (push, a multicast that included them, reply) as bubbles
in time order, and what the user did. Text links are clickable; template messages are cards with
their buttons (URI actions are links); images are images; anything else shows its ``altText``.

Under the messages, the rich menu the user sees (their own, else the OA's default) is drawn as
LINE's app draws it: the picture, the chat-bar text that opens and closes it, and each area a tap
target placed in percent of the picture. A tap does what LINE does: a ``uri`` area opens the
address (a new tab), a ``message`` area sends its text as the user, a ``postback`` area posts a
postback event, a ``richmenuswitch`` area a postback event with the alias in its ``params``.

``POST`` on the same path makes the user act toward the OA as LINE would report it: add as friend
(a ``follow`` event), block (``unfollow``), send a text (``message``), or tap a postback or
switch area of the menu (``postback``, ``richmenuswitch``). Each is a signed event posted to the
channel's webhook URL through ``webhooks.send_webhook``, so the shop's real webhook receives it;
the answer's status is shown under the action.

Which OA: ``?channel=<id>``, else the first channel that has a webhook URL, else the first
Messaging API channel. Like the other fake pages, the text is fixed Thai + English.
"""

from __future__ import annotations

import datetime as dt
import html
from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from loyalty.fake_http import Request, Response, html_response, now_iso, redirect, routes
from loyalty.line.fake.chat_messages import message_html, safe_url, text_html
from loyalty.line.fake.state import LOG_LIMIT, FakeChannel, FakeUser, LineState, RichMenu
from loyalty.line.fake.webhooks import (
    bot_user_id,
    follow_event,
    message_event,
    postback_event,
    send_webhook,
    unfollow_event,
)

ROUTES = routes(
    ("GET", r"/__fake__/chat/(?P<user_id>U[0-9a-f]{32})", "_fake_chat"),
    ("POST", r"/__fake__/chat/(?P<user_id>U[0-9a-f]{32})", "_fake_chat_act"),
    # The picture of a rich menu as LINE's app downloads it (the API's copy needs the bot's token).
    ("GET", r"/__fake__/richmenu/(?P<rich_menu_id>richmenu-[0-9a-f]{32})\.img", "_fake_menu_image"),
)
# Handlers that call out (the shop's webhook, which may call the fake back to reply) and so take
# the state lock themselves, never across the network.
UNLOCKED = frozenset({"_fake_chat_act"})

BANGKOK = ZoneInfo("Asia/Bangkok")
REFRESH_SECONDS = 4
MESSAGE_LIMIT = 2000  # LINE's own limit is 5000 characters; a chat box needs less
POSTBACK_LIMIT = 300  # LINE: a postback action's data is at most 300 characters
ACTIONS = ("follow", "unfollow", "message", "postback", "richmenuswitch")


class ChatPages(LineState):
    """The chat page per test user and the actions it posts as webhook events."""

    def chat_channel(self, channel_id: str | None = None) -> FakeChannel | None:
        """The OA a chat is with: the one asked for, else the first with a webhook URL, else the
        first Messaging API channel."""
        if channel_id:
            return self.channels.get(channel_id)
        channels = self.channels.values()
        with_webhook = next((c for c in channels if c.webhook_url), None)
        return with_webhook or next((c for c in channels if c.access_tokens), None)

    def chat_url(self, user_id: str, channel_id: str | None = None) -> str:
        path = f"/__fake__/chat/{user_id}"
        return f"{path}?channel={quote(channel_id)}" if channel_id else path

    def _fake_chat(self, request: Request, user_id: str) -> Response:
        user = self.users.get(user_id)
        if user is None:
            return html_response(HTTPStatus.NOT_FOUND, _chat_missing(user_id))
        channel = self.chat_channel(request.query.get("channel"))
        return html_response(HTTPStatus.OK, self._chat_page(user, channel, request.query))

    def _fake_menu_image(self, request: Request, rich_menu_id: str) -> Response:
        menu = self._rich_menus.get(rich_menu_id)
        if menu is None or menu.image_type is None:
            return Response(HTTPStatus.NOT_FOUND, b"", "text/plain")
        return Response(HTTPStatus.OK, menu.image, menu.image_type)

    def _menu_seen_by(self, channel_id: str, user_id: str) -> RichMenu | None:
        """The menu LINE's app shows the user: their own, else the channel's default (with its
        picture: LINE shows no menu without one)."""
        rich_menu_id = self._user_rich_menus.get(
            (channel_id, user_id), self._default_rich_menu.get(channel_id)
        )
        menu = self._rich_menus.get(rich_menu_id or "")
        return menu if menu is not None and menu.image_type else None

    def _fake_chat_act(self, request: Request, user_id: str) -> Response:
        """Post the user's follow / block / message to the OA's webhook, then show the chat."""
        form = request.form()
        action = form.get("action", "")
        text = form.get("text", "").strip()[:MESSAGE_LIMIT]
        data = form.get("data", "")[:POSTBACK_LIMIT]
        alias = form.get("alias", "")
        asked = form.get("channel") or None
        with self._lock:
            user = self.users.get(user_id)
            channel = self.chat_channel(asked)
            if user is None or channel is None or action not in ACTIONS:
                return html_response(HTTPStatus.BAD_REQUEST, _chat_missing(user_id))
            back = self.chat_url(user_id, asked)
            if (action == "message" and not text) or (
                action in ("postback", "richmenuswitch") and not data
            ):
                return redirect(back)
            key = (channel.channel_id, user_id)
            if action == "follow":
                events = [
                    follow_event(
                        user_id=user_id,
                        reply_token=self.issue_reply_token(
                            channel_id=channel.channel_id, user_id=user_id
                        ),
                        is_unblocked=self._follows.get(key) is False,
                    )
                ]
            elif action == "unfollow":
                events = [unfollow_event(user_id=user_id)]
            elif action in ("postback", "richmenuswitch"):
                # LINE links the alias's menu to the user itself, then sends a postback with the
                # alias it switched to (or why it could not).
                params = None
                if action == "richmenuswitch":
                    switched = self.switch_rich_menu(user_id, alias, channel.channel_id)
                    status = "SUCCESS" if switched else "RICHMENU_ALIAS_ID_NOTFOUND"
                    params = {"newRichMenuAliasId": alias, "status": status}
                events = [
                    postback_event(
                        user_id=user_id,
                        data=data,
                        params=params,
                        reply_token=self.issue_reply_token(
                            channel_id=channel.channel_id, user_id=user_id
                        ),
                    )
                ]
            else:
                events = [
                    message_event(
                        user_id=user_id,
                        text=text,
                        reply_token=self.issue_reply_token(
                            channel_id=channel.channel_id, user_id=user_id
                        ),
                    )
                ]
            url, secret = channel.webhook_url, channel.secret
        # The user acted now: an answer the shop sends while handling it comes after, in the chat.
        at = now_iso()
        # Outside the lock: the shop may call the fake back (a reply) before it answers.
        status = 0
        if url:
            delivery = send_webhook(
                url,
                channel_secret=secret,
                destination=bot_user_id(channel.channel_id),
                events=events,
            )
            status = delivery.status
        with self._lock:
            if action in ("follow", "unfollow"):
                self._follows[key] = action == "follow"
            self._user_events.append(
                {
                    "channel_id": channel.channel_id,
                    "user_id": user_id,
                    "action": action,
                    # A postback's displayText shows in the chat as the user's message, as on LINE.
                    "text": text if action in ("message", "postback") else "",
                    "data": data if action in ("postback", "richmenuswitch") else "",
                    "webhook_event_id": events[0]["webhookEventId"],
                    "webhook_url": url,
                    "status": status,
                    "received_at": at,
                }
            )
            del self._user_events[:-LOG_LIMIT]
        return redirect(back)

    # -- drawing -----------------------------------------------------------------------------------

    def _chat_page(self, user: FakeUser, channel: FakeChannel | None, query: dict[str, str]) -> str:
        esc = html.escape
        asked = query.get("channel")
        items: list[tuple[str, str]] = []
        if channel is not None:
            for entry in self._messages:
                if user.user_id in entry["to"] and entry["channel_id"] == channel.channel_id:
                    bubbles = "".join(message_html(m) for m in entry["messages"])
                    items.append(
                        (
                            entry["received_at"],
                            f'<div class="row in" data-kind="{esc(entry["kind"])}">'
                            f'<div class="msgs">{bubbles}</div>'
                            f"<time>{_clock(entry['received_at'])}</time></div>",
                        )
                    )
            for done in self._user_events:
                if done["user_id"] == user.user_id and done["channel_id"] == channel.channel_id:
                    items.append((done["received_at"], _user_event_html(done)))
        items.sort(key=lambda item: item[0])
        name = (channel.name or f"LINE OA {channel.channel_id}") if channel else "—"
        hidden = f'<input type="hidden" name="channel" value="{esc(asked)}">' if asked else ""
        if channel is None:
            notice = "<p class='note'>ยังไม่มีช่อง Messaging API / No Messaging API channel yet</p>"
        elif not channel.webhook_url:
            notice = (
                "<p class='note'>ช่องนี้ยังไม่มี Webhook URL: การกระทำจะไม่ถึงร้าน / "
                "This channel has no webhook URL: actions do not reach the shop</p>"
            )
        else:
            notice = ""
        conversation = "".join(html_ for _at, html_ in items) or (
            "<p class='note empty'>ยังไม่มีข้อความ / No messages yet</p>"
        )
        action = esc(self.chat_url(user.user_id))
        menu = self._menu_seen_by(channel.channel_id, user.user_id) if channel else None
        menu_html = _rich_menu_html(menu, action=action, hidden=hidden) if menu else ""
        return f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(name)} · {esc(user.display_name)}</title><style>{_CHAT_STYLE}</style></head>
<body><div class="phone">
<header><a href="/" aria-label="กลับ / Back">‹</a><b class="oa">{esc(name)}</b>
<a class="refresh" href="{esc(self.chat_url(user.user_id, asked))}">รีเฟรช / Refresh</a></header>
<p class="who">แชทของ / Chat of <b class="me">{esc(user.display_name)}</b></p>{notice}
<main id="chat">{conversation}</main>
<footer>
<form method="post" action="{action}" class="acts">{hidden}
<button name="action" value="follow" class="follow">เพิ่มเพื่อน / Add friend</button>
<button name="action" value="unfollow" class="block">บล็อก / Block</button></form>
<form method="post" action="{action}" class="say">{hidden}
<input type="hidden" name="action" value="message">
<input id="text" name="text" maxlength="{MESSAGE_LIMIT}" autocomplete="off"
 placeholder="พิมพ์ข้อความ / Send a message" aria-label="พิมพ์ข้อความ / Send a message">
<button type="submit" class="send">ส่ง / Send</button></form>{menu_html}
</footer></div>
<script>
window.scrollTo(0, document.body.scrollHeight);
var menu = document.querySelector("details.richmenu");
if (menu) {{
  // The chat bar opens and closes the menu; the page's refresh keeps what the user chose.
  var key = "richmenu-closed:" + menu.dataset.richMenuId;
  if (sessionStorage.getItem(key) === "1") menu.open = false;
  menu.addEventListener("toggle", function () {{
    sessionStorage.setItem(key, menu.open ? "0" : "1");
  }});
}}
setInterval(function () {{
  var box = document.getElementById("text");
  if (!box.value && document.activeElement !== box) location.reload();
}}, {REFRESH_SECONDS * 1000});
</script></body></html>"""


def _clock(iso: str) -> str:
    """``d/m HH:MM`` in Bangkok time, as a chat shows it."""
    at = dt.datetime.fromisoformat(iso).astimezone(BANGKOK)
    return f"{at.day}/{at.month} {at:%H:%M}"


def _rich_menu_html(menu: RichMenu, *, action: str, hidden: str) -> str:
    """The menu as LINE's app shows it: the chat bar (opens and closes it) over the picture, and
    each area a tap target at its bounds in percent of the picture, so it scales to any width."""
    esc = html.escape
    size = menu.body.get("size") or {}
    width, height = int(size.get("width") or 2500), int(size.get("height") or 843)
    areas = []
    for number, area in enumerate(menu.body.get("areas") or [], start=1):
        bounds = area.get("bounds") or {}
        place = (
            f"left:{100 * bounds.get('x', 0) / width:.3f}%;"
            f"top:{100 * bounds.get('y', 0) / height:.3f}%;"
            f"width:{100 * bounds.get('width', 0) / width:.3f}%;"
            f"height:{100 * bounds.get('height', 0) / height:.3f}%"
        )
        areas.append(_area_html(number, area.get("action") or {}, place, action, hidden))
    chat_bar = esc(str(menu.body.get("chatBarText") or ""))
    return (
        f'<details class="richmenu" open data-rich-menu-id="{esc(menu.rich_menu_id)}">'
        f'<summary class="chatbar">{chat_bar}</summary>'
        f'<div class="menu" style="aspect-ratio:{width}/{height}">'
        f'<img src="/__fake__/richmenu/{esc(menu.rich_menu_id)}.img" alt="{chat_bar}">'
        + "".join(areas)
        + "</div></details>"
    )


def _area_html(number: int, tap: dict[str, Any], place: str, action: str, hidden: str) -> str:
    """One area: a link for ``uri``, else a form posting what the tap makes the user do."""
    esc = html.escape
    kind = str(tap.get("type") or "")
    label = str(
        tap.get("label") or tap.get("text") or tap.get("displayText") or tap.get("uri") or kind
    )
    common = f'class="area" data-area="{number}" data-type="{esc(kind)}" style="{place}"'
    named = f'title="{esc(label)}" aria-label="{esc(label)}"'
    if kind == "uri":
        url = safe_url(tap.get("uri"))
        if url:
            return f'<a {common} {named} href="{url}" target="_blank" rel="noopener"></a>'
    fields = {
        "message": {"action": "message", "text": tap.get("text")},
        "postback": {
            "action": "postback",
            "data": tap.get("data"),
            "text": tap.get("displayText"),
        },
        "richmenuswitch": {
            "action": "richmenuswitch",
            "data": tap.get("data"),
            "alias": tap.get("richMenuAliasId"),
        },
    }.get(kind)
    if fields is None:
        return f"<span {common} {named}></span>"
    inputs = "".join(
        f'<input type="hidden" name="{name}" value="{esc(str(value))}">'
        for name, value in fields.items()
        if value
    )
    return (
        f'<form method="post" action="{action}" {common}>{hidden}{inputs}'
        f'<button type="submit" {named}></button></form>'
    )


_USER_EVENT_LABELS = {
    "follow": "คุณเพิ่มเพื่อนแล้ว / You added the account as a friend",
    "unfollow": "คุณบล็อกแล้ว / You blocked the account",
    "postback": "คุณแตะเมนู / You tapped the menu",
    "richmenuswitch": "คุณเปลี่ยนแท็บเมนู / You switched the menu tab",
}


def _user_event_html(done: dict[str, Any]) -> str:
    status = done["status"]
    if status == 200:
        result = f"webhook {status}"
    elif status:
        result = f"webhook {status} ✗"
    else:
        result = "ส่งไม่ถึงร้าน / not delivered"
    meta = f"<small class='status' data-status='{status}'>{html.escape(result)}</small>"
    at = _clock(done["received_at"])
    if done["action"] in ("message", "postback") and done["text"]:
        return (
            f'<div class="row out"><time>{at}</time><div class="msgs">'
            f'<div class="bubble text">{text_html(done["text"])}</div>{meta}</div></div>'
        )
    data = done.get("data")
    tapped = f" <code>{html.escape(data)}</code>" if data else ""
    return f'<p class="note event">{_USER_EVENT_LABELS[done["action"]]}{tapped} · {at} · {meta}</p>'


def _chat_missing(user_id: str) -> str:
    return (
        "<!doctype html><meta charset='utf-8'><title>LINE</title>"
        f"<p>ไม่พบผู้ใช้หรือช่อง / No such user or channel: {html.escape(user_id)}</p>"
    )


_CHAT_STYLE = """
body{margin:0;background:#8da0b8;font-family:system-ui,"Noto Sans Thai",sans-serif;color:#111}
*{box-sizing:border-box}
.phone{max-width:480px;margin:0 auto;min-height:100vh;background:#8da0b8;display:flex;
flex-direction:column}
header{position:sticky;top:0;background:#263238;color:#fff;display:flex;gap:12px;
align-items:center;padding:12px 14px;z-index:1}
header a{color:#fff;text-decoration:none}header .oa{flex:1;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap}.refresh{font-size:.8rem;border:1px solid #fff6;border-radius:12px;padding:3px 8px}
.who{margin:8px 12px 0;font-size:.8rem;color:#f5f5f5}
main{flex:1;padding:8px 10px;display:flex;flex-direction:column;gap:10px}
.row{display:flex;align-items:flex-end;gap:6px;max-width:100%}
.row.out{justify-content:flex-end}.msgs{display:flex;flex-direction:column;gap:4px;max-width:78%}
.row.out .msgs{align-items:flex-end}
.bubble{background:#fff;border-radius:16px;padding:8px 12px;overflow-wrap:anywhere;line-height:1.4}
.row.out .bubble{background:#06c755;color:#fff}.row.out .bubble a{color:#fff}
.bubble.image{padding:0;overflow:hidden}.bubble img{display:block;max-width:100%}
.bubble.template{padding:0;background:none;display:flex;gap:8px;overflow-x:auto}
.card{background:#fff;border-radius:14px;min-width:220px;max-width:260px;overflow:hidden;
display:flex;flex-direction:column}.card img{width:100%;height:auto}
.card b{padding:10px 12px 0}.card p{margin:6px 12px 10px;font-size:.9rem;color:#444}
.btn{display:block;border-top:1px solid #eee;padding:10px;text-align:center;color:#1a73e8;
text-decoration:none}
time,small{font-size:.7rem;color:#eef}.note{text-align:center;font-size:.8rem;color:#fff;
margin:4px 12px}
footer{position:sticky;bottom:0;background:#fff;border-top:1px solid #ddd;padding:8px 8px 0}
form{display:flex;gap:8px;margin:4px 0}button{font:inherit;border-radius:18px;border:1px solid #ccc;
background:#fff;padding:8px 12px;cursor:pointer}.acts button{flex:1}
.follow{background:#06c755;color:#fff;border:0}.block{color:#c62828}
#text{flex:1;min-width:0;font:inherit;padding:8px 12px;border-radius:18px;border:1px solid #ccc}
.send{background:#06c755;color:#fff;border:0}
.richmenu{margin:4px -8px 0}.chatbar{list-style:none;cursor:pointer;text-align:center;
padding:8px;border-top:1px solid #eee;font-size:.9rem;color:#333}
.chatbar::-webkit-details-marker{display:none}.chatbar::after{content:" ▾"}
.richmenu:not([open]) .chatbar::after{content:" ▴"}
.menu{position:relative;width:100%;line-height:0}.menu img{display:block;width:100%;height:100%}
.area{position:absolute;display:block;margin:0}.area button{all:unset;display:block;width:100%;
height:100%;cursor:pointer}.area:hover,.area:focus-within,a.area:focus{outline:2px solid #06c755a0;
outline-offset:-2px;background:#ffffff22}
"""
