"""The fake LINE platform's HTML pages: the sign-in (consent) page, the index of test users (each
a link to their chat, ``chat.py``) and messages sent, the generated avatars, and the error page.

They stand in for LINE's own screens, which are not part of the product, so their text is fixed
Thai + English rather than translated through the product's catalogue.
"""

from __future__ import annotations

import hashlib
import html
from http import HTTPStatus

from loyalty.fake_http import Request, Response, html_response, routes
from loyalty.line.fake import chat
from loyalty.line.fake.chat import ChatPages
from loyalty.line.fake.state import FakeChannel

ROUTES = (
    *routes(
        ("GET", r"/", "_fake_index"),
        ("GET", r"/__fake__/avatar/(?P<user_id>U[0-9a-f]{32})\.svg", "_fake_avatar"),
    ),
    *chat.ROUTES,
)


class LinePages(ChatPages):
    """The pages a person sees on the fake platform (the API's answers are JSON elsewhere)."""

    def _fake_avatar(self, request: Request, user_id: str) -> Response:
        user = self.users.get(user_id)
        initial = html.escape(user.display_name[:1] if user else "?")
        hue = int(hashlib.sha256(user_id.encode()).hexdigest()[:4], 16) % 360
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200" viewBox="0 0 200 200">'
            f'<rect width="200" height="200" fill="hsl({hue},55%,55%)"/>'
            '<text x="100" y="128" font-size="96" text-anchor="middle" fill="#fff" '
            f'font-family="sans-serif">{initial}</text></svg>'
        )
        return Response(HTTPStatus.OK, svg.encode("utf-8"), "image/svg+xml")

    def _fake_index(self, request: Request) -> Response:
        return html_response(HTTPStatus.OK, self._index_page())

    def _login_page(self, login_id: str, channel: FakeChannel, params: dict[str, str]) -> str:
        esc = html.escape
        buttons = "".join(
            f'<button class="user" type="submit" name="user_id" value="{esc(u.user_id)}" '
            f'data-user-id="{esc(u.user_id)}">'
            f'<img src="{esc(self._picture_url(u) or "")}" alt="" width="40" height="40">'
            f"<span><b>{esc(u.display_name)}</b><small>{esc(u.user_id)}</small></span></button>"
            for u in self.users.values()
        )
        body = f"""
<p class="app">แอปช่อง {esc(channel.channel_id)} ขอสิทธิ์: {esc(params.get("scope", ""))}<br>
<small>Channel {esc(channel.channel_id)} asks for: {esc(params.get("scope", ""))}</small></p>
<form method="post" action="/__fake__/login">
  <input type="hidden" name="login_id" value="{esc(login_id)}">
  {buttons}
  <button class="cancel" type="submit" name="cancel" value="1">ยกเลิก / Cancel</button>
</form>
<h2>สร้างผู้ใช้ทดสอบใหม่ / Create a new test user</h2>
<form method="post" action="/__fake__/login" class="new">
  <input type="hidden" name="login_id" value="{esc(login_id)}">
  <label for="display_name">ชื่อที่แสดง / Display name</label>
  <input id="display_name" name="display_name" required maxlength="20" autocomplete="off">
  <button type="submit">สร้างและเข้าสู่ระบบ / Create and sign in</button>
</form>"""
        return page("เลือกบัญชี LINE ทดสอบ / Choose a test LINE account", body)

    def _index_page(self) -> str:
        esc = html.escape
        users = "".join(
            f'<li><a class="chat" href="{esc(self.chat_url(u.user_id))}">'
            f"<b>{esc(u.display_name)}</b></a> <small>{esc(u.user_id)}</small></li>"
            for u in self.users.values()
        )
        rows = []
        for entry in reversed(self._messages[-50:]):
            texts = ", ".join(
                str(m.get("text") or m.get("altText") or m.get("type")) for m in entry["messages"]
            )
            names = ", ".join(
                self.users[t].display_name if t in self.users else t for t in entry["to"]
            )
            rows.append(
                f"<li><small>{esc(entry['received_at'][:19])} · {esc(entry['kind'])} → "
                f"{esc(names)}</small><br>{esc(texts)}</li>"
            )
        body = (
            "<h2>ผู้ใช้ทดสอบ / Test users</h2>"
            "<p><small>แตะชื่อเพื่อเปิดแชทกับร้าน / Tap a name to open their chat with the shop"
            "</small></p><ul>" + users + "</ul>"
            "<h2>ข้อความที่ส่ง / Messages sent (newest first)</h2><ul>"
            + ("".join(rows) or "<li>—</li>")
            + "</ul>"
        )
        return page("LINE จำลอง / Fake LINE platform", body)


_STYLE = """
body{font-family:system-ui,"Noto Sans Thai",sans-serif;margin:0;background:#f5f5f5;color:#111}
header{background:#06c755;color:#fff;padding:14px 16px;font-weight:700}
main{max-width:480px;margin:0 auto;padding:16px}
h1{font-size:1.15rem}h2{font-size:1rem;margin-top:28px}
button{font:inherit;width:100%;padding:12px;margin:6px 0;border-radius:10px;border:1px solid #ddd;
background:#fff;text-align:left;display:flex;gap:12px;align-items:center;cursor:pointer}
button.user img{border-radius:50%}button span{display:flex;flex-direction:column}
button small,p small,li small{color:#666}
button.cancel{justify-content:center;color:#666}
.new button{background:#06c755;color:#fff;justify-content:center;border:0}
input[name=display_name]{font:inherit;width:100%;box-sizing:border-box;padding:12px;border-radius:10px;
border:1px solid #ccc}
footer{font-size:.8rem;color:#888;margin-top:32px}
"""


def page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body><header>LINE · ทดสอบ / test</header><main>
<h1>{html.escape(title)}</h1>{body}
<footer>แพลตฟอร์ม LINE จำลองสำหรับการทดสอบและเดโมเท่านั้น ·
The project's fake LINE platform, for tests and the demo only.</footer>
</main></body></html>"""


def error_page(title: str, detail: str) -> str:
    return page(title, f"<p>{html.escape(detail)}</p>")
