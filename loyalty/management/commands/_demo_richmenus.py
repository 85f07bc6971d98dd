"""The demo's LINE chat extras (used by ``seed_demo`` and ``rundemo``): three rich menus drawn with
Pillow (friends not bound, members bound to LINE, Gold members), a Gold member bound to a test
LINE user, a few keyword replies and the greeting.

The fake LINE platform keeps everything in memory and ``make run`` starts it after ``seed_demo``:
the menus are created here as drafts, and published to the fake by ``rundemo`` once it answers
(``demo_rich_menus_publish(line_restarted=True)``: LINE ids from an earlier run are forgotten
first, the fresh fake has none of them). When a fake LINE already runs at seed time (tests),
``seed_demo`` publishes them at once.
"""

from __future__ import annotations

import datetime as dt
import io
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.test.utils import override_settings
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from loyalty.fake_http import is_loopback
from loyalty.line.fake.state import DEMO_GOLD_USER

THAI_FONTS = Path("/usr/share/fonts/truetype/tlwg")
FALLBACK_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class Tile:
    thai: str
    english: str
    action: str  # RichMenuArea.Action
    value: str = ""


@dataclass(frozen=True)
class MenuSpec:
    key: str  # the audience, or "tier" for the Gold menu
    name: str
    chat_bar: str
    size: tuple[int, int]
    layout: int
    background: str
    tile: str
    ink: str
    accent: str
    tiles: tuple[Tile, ...]


_MEMBER_TILES = (
    Tile("บัตรสมาชิก", "Member card", "card"),
    Tile("แลกของรางวัล", "Rewards", "rewards"),
    Tile("ประวัติพอยท์", "Points history", "history"),
    Tile("คูปองของฉัน", "My coupons", "coupons"),
    Tile("โปรโมชั่น", "Promotions", "message", "โปรโมชั่น"),
    Tile("เมนูร้าน", "Our menu", "message", "เมนู"),
)

MENUS: tuple[MenuSpec, ...] = (
    MenuSpec(
        key="unbound",
        name="เมนูผู้ยังไม่เป็นสมาชิก (Friends not bound)",
        chat_bar="สมัครสมาชิก",
        size=(2500, 843),
        layout=3,
        background="#0b6b3a",
        tile="#f4fbf6",
        ink="#0b3d22",
        accent="#06c755",
        tiles=(
            Tile("สมัครสมาชิก", "Sign up", "signup"),
            Tile("สิทธิพิเศษ", "Promotions", "message", "โปรโมชั่น"),
            Tile("ติดต่อร้าน", "Opening hours", "message", "เวลาเปิด"),
        ),
    ),
    MenuSpec(
        key="bound",
        name="เมนูสมาชิก (Members)",
        chat_bar="เมนูสมาชิก",
        size=(1200, 810),
        layout=6,
        background="#1f4e79",
        tile="#f3f7fb",
        ink="#12304d",
        accent="#2f80ed",
        tiles=_MEMBER_TILES,
    ),
    MenuSpec(
        key="tier",
        name="เมนูสมาชิก Gold (Gold members)",
        chat_bar="สมาชิก Gold",
        size=(1200, 810),
        layout=6,
        background="#7a5a00",
        tile="#fff6d8",
        ink="#4a3600",
        accent="#d4a017",
        tiles=(Tile("บัตร Gold", "Gold card", "card"), *_MEMBER_TILES[1:]),
    ),
)

KEYWORD_RULES = (
    {
        "name": "เวลาเปิด / Opening hours",
        "match": "contains",
        "keywords": "เวลาเปิด\nเปิดกี่โมง\nติดต่อร้าน\nopening hours",
        "reply_bound": ("{shop} เปิดทุกวัน 07:00–20:00 น. ที่สาขาสยาม อารีย์ และนิมมาน โทร 02-123-4567 ค่ะ"),
        "reply_unbound": (
            "{shop} เปิดทุกวัน 07:00–20:00 น. ที่สาขาสยาม อารีย์ และนิมมาน โทร 02-123-4567 ค่ะ"
        ),
    },
    {
        "name": "โปรโมชั่น / Promotions",
        "match": "contains",
        "keywords": "โปรโมชั่น\nโปร\npromotion\npromo",
        "reply_bound": (
            "คุณ{name} เดือนนี้ซื้อครบ 200 บาท รับพอยท์ 2 เท่า ☕ "
            "ตอนนี้คุณมี {balance} พอยท์ แลกของรางวัลได้จากริชเมนูด้านล่าง"
        ),
        "reply_unbound": (
            "สมัครสมาชิก {shop} วันนี้ รับ 50 พอยท์ทันที และพอยท์ 2 เท่าเมื่อซื้อครบ 200 บาท "
            "แตะ “สมัครสมาชิก” ที่ริชเมนูด้านล่างได้เลย"
        ),
    },
    {
        "name": "เมนู / Our menu",
        "match": "exact",
        "keywords": "เมนู\nเมนูร้าน\nmenu",
        "reply_bound": (
            "เมนูแนะนำวันนี้: อเมริกาโน่เย็น 65.- · ลาเต้ 75.- · ครัวซองต์เนยสด 55.- (สมาชิก Gold ลดเพิ่ม 10%)"
        ),
        "reply_unbound": ("เมนูแนะนำวันนี้: อเมริกาโน่เย็น 65.- · ลาเต้ 75.- · ครัวซองต์เนยสด 55.-"),
    },
    {
        "name": "ตอบทุกข้อความ / Default reply",
        "match": "contains",
        "keywords": "",
        "is_default": True,
        "reply_bound": (
            "ขอบคุณที่ทักมาค่ะ คุณ{name} ☺ พิมพ์ “เมนู”, “โปรโมชั่น”, “เวลาเปิด” หรือ “พอยท์” "
            "หรือแตะริชเมนูด้านล่าง พนักงานจะตอบกลับโดยเร็ว"
        ),
        "reply_unbound": (
            "ขอบคุณที่ทักมาค่ะ ☺ พิมพ์ “เมนู”, “โปรโมชั่น” หรือ “เวลาเปิด” "
            "หรือแตะริชเมนูด้านล่าง พนักงานจะตอบกลับโดยเร็ว"
        ),
    },
)

GREETING = {
    "new_bound": "สวัสดีคุณ{name} ขอบคุณที่เพิ่ม {shop} เป็นเพื่อนค่ะ คุณมี {balance} พอยท์",
    "new_unbound": ("ยินดีต้อนรับสู่ {shop} ค่ะ ☕ สมัครสมาชิกวันนี้รับ 50 พอยท์ทันที แตะริชเมนูด้านล่างเพื่อดูสิทธิพิเศษ"),
    "returning_bound": "ยินดีต้อนรับกลับมาค่ะ คุณ{name} คุณมี {balance} พอยท์",
    "returning_unbound": "ยินดีต้อนรับกลับมาที่ {shop} ค่ะ สมัครสมาชิกรับ 50 พอยท์ทันที",
}


# -- pictures ---------------------------------------------------------------------------------


def _font(size: int, *, bold: bool = True) -> tuple[ImageFont.FreeTypeFont, bool]:
    """A TLWG Thai font when the machine has one (Debian ``fonts-thai-tlwg``), else DejaVu, else
    Pillow's own; the flag says whether it draws Thai."""
    for name in ("Loma-Bold.ttf", "Garuda-Bold.ttf") if bold else ("Loma.ttf", "Garuda.ttf"):
        path = THAI_FONTS / name
        if path.exists():
            return ImageFont.truetype(str(path), size), True
    if FALLBACK_FONT.exists():
        return ImageFont.truetype(str(FALLBACK_FONT), size), False
    return ImageFont.load_default(size=size), False


def _fitting_font(text: str, *, width: float, size: int) -> ImageFont.FreeTypeFont:
    """The largest font up to ``size`` in which ``text`` fits ``width`` pixels."""
    while True:
        font = _font(size)[0]
        if size <= 12 or font.getlength(text) <= width:
            return font
        size -= 2


def menu_picture(spec: MenuSpec) -> bytes:
    """The menu's PNG: one rounded tile per area of its layout, each with its Thai label and the
    English below (English alone when no Thai font is installed, rather than empty boxes)."""
    from campaigns.richmenus.layout import area_rects

    width, height = spec.size
    image = Image.new("RGB", spec.size, spec.background)
    draw = ImageDraw.Draw(image)
    rects = area_rects(width=width, height=height, areas=spec.layout)
    scale = min(rects[0].width, rects[0].height)
    thai = _font(10)[1]
    small = _font(int(scale * 0.09), bold=False)[0]
    gap = max(6, scale // 28)
    for rect, tile in zip(rects, spec.tiles, strict=True):
        box = (rect.x + gap, rect.y + gap, rect.x + rect.width - gap, rect.y + rect.height - gap)
        draw.rounded_rectangle(box, radius=scale // 10, fill=spec.tile)
        cx = rect.x + rect.width / 2
        cy = rect.y + rect.height / 2
        # A dot of the menu's colour: where an icon would be.
        r = scale * 0.09
        dot_y = cy - scale * 0.2
        draw.ellipse((cx - r, dot_y - r, cx + r, dot_y + r), fill=spec.accent)
        title = tile.thai if thai else tile.english
        big = _fitting_font(title, width=(rect.width - 2 * gap) * 0.84, size=int(scale * 0.16))
        draw.text((cx, cy + scale * 0.06), title, font=big, fill=spec.ink, anchor="mm")
        if thai:
            draw.text((cx, cy + scale * 0.25), tile.english, font=small, fill=spec.ink, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


# -- seeding ----------------------------------------------------------------------------------


def seed_gold_friend(shop, tiers) -> None:
    """Bind the demo's Gold test LINE user to the Gold member with the highest balance (the
    seeded spends, from fixed random seeds, always leave some), and make them a friend of the
    OA. Idempotent."""
    from members.line.binding import member_bind
    from members.line.models import BindingRecord, LineFriend
    from members.line.services import line_friend_apply
    from members.models import Member

    gold = next(t for t in tiers if t.name == "Gold")
    user_id = DEMO_GOLD_USER["user_id"]
    if not Member.objects.filter(shop=shop, line_user_id=user_id).exists():
        free = Member.objects.filter(
            shop=shop, status=Member.Status.REGISTERED, line_user_id__isnull=True
        )
        member = free.filter(tier=gold).order_by("-balance", "pk").first()
        if member is None:
            raise RuntimeError("The demo's spends left no Gold member to bind")
        member_bind(
            member=member, line_user_id=user_id, via=BindingRecord.Via.ADMIN, actor="seed_demo"
        )
    if not LineFriend.objects.filter(shop=shop, line_user_id=user_id).exists():
        line_friend_apply(
            shop_id=shop.pk,
            line_user_id=user_id,
            follow=True,
            at=timezone.now() - dt.timedelta(days=12),
        )


def seed_rich_menus(shop, tiers) -> None:
    """The three menus and their areas, as drafts (publishing is ``demo_rich_menus_publish``);
    a shop that has rich menus already keeps them as they are."""
    from campaigns.richmenus.models import RichMenu, RichMenuArea
    from shops.services import shop_row_save

    if RichMenu.objects.filter(shop=shop).exists():
        return
    gold = next(t for t in tiers if t.name == "Gold")
    for spec in MENUS:
        menu = RichMenu(
            shop=shop,
            name=spec.name,
            chat_bar_text=spec.chat_bar,
            layout=spec.layout,
            audience=spec.key,
            tier=gold if spec.key == RichMenu.Audience.TIER else None,
        )
        menu.image.save(f"demo-{spec.key}.png", ContentFile(menu_picture(spec)), save=False)
        shop_row_save(row=menu)
        for index, tile in enumerate(spec.tiles, start=1):
            shop_row_save(
                row=RichMenuArea(
                    shop=shop, menu=menu, index=index, action=tile.action, value=tile.value
                )
            )


def seed_auto_replies(shop) -> None:
    """The keyword replies and the greeting (both with the built-in keywords on); a shop that
    has keyword rules or a greeting already keeps its own."""
    from campaigns.autoreplies.models import Greeting, KeywordRule
    from shops.services import shop_row_save

    if not KeywordRule.objects.filter(shop=shop).exists():
        for position, rule in enumerate(KEYWORD_RULES, start=1):
            shop_row_save(row=KeywordRule(shop=shop, position=position * 10, **rule))
    if not Greeting.objects.filter(shop=shop).exists():
        shop_row_save(row=Greeting(shop=shop, **GREETING))


# -- publishing -------------------------------------------------------------------------------


def fake_line_running() -> bool:
    """Whether LINE's API URL is a fake on loopback that answers now (never the real LINE)."""
    parts = urlsplit(settings.LINE_API_BASE_URL)
    if not parts.hostname or not is_loopback(parts.hostname):
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def demo_rich_menus_publish(*, shop, line_restarted: bool) -> str:
    """Publish the seeded menus that are not published, and again every published menu when
    ``line_restarted`` (a fake LINE that just started knows none of the LINE ids stored), which
    links every friend and bound member to their menu. A draft or failed menu the shop made
    itself is left alone. Returns a line for the console."""

    # The member pages' links in the menus are full URLs: on SITE_URL, else the demo's address.
    with override_settings(SITE_URL=settings.SITE_URL or "http://127.0.0.1:8000"):
        return _publish(shop, line_restarted)


def _publish(shop, line_restarted: bool) -> str:
    from campaigns.richmenus.models import RichMenu, RichMenuLink
    from campaigns.richmenus.services import rich_menu_publish
    from loyalty.errors import ApplicationError

    menus = RichMenu.objects.filter(shop=shop)
    # The seeded menus, and any menu the shop published itself; a draft or failed menu of the
    # shop's own stays as it is.
    wanted = menus.filter(
        pk__in=list(
            (
                menus.filter(name__in=[spec.name for spec in MENUS])
                | menus.filter(sync_state=RichMenu.SyncState.PUBLISHED)
            ).values_list("pk", flat=True)
        )
    )
    if line_restarted:
        wanted.update(line_rich_menu_id="", sync_state=RichMenu.SyncState.DRAFT, published_at=None)
        RichMenuLink.objects.filter(shop=shop).delete()
    waiting = list(
        wanted.exclude(sync_state=RichMenu.SyncState.PUBLISHED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for menu_id in waiting:
        try:
            rich_menu_publish(menu_id=menu_id)
        except ApplicationError as exc:
            return f"Rich menus: not published ({exc})"
    return f"Rich menus: {len(waiting)} published to the fake LINE"
