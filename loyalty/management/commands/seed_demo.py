"""Create the demo shop (idempotent): branches, tiers, tags, documents, staff logins, a few
hundred members, and its LINE Official Account on the fake LINE platform (friends, a member and a
Gold member bound to test LINE users, a few outbox messages, three rich menus, keyword replies and
the greeting). Run again, it changes nothing and prints the same logins."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from loyalty.management.commands._demo_campaigns import seed_broadcasts, seed_segments
from members.models import Gender, LedgerEntry, Member
from shops import services
from shops.models import Branch, ContactChannel, PolicyDocument, Shop, Tag, Tier, User

DEMO_SLUG = "cafe-aroi"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the demo on purpose
DEMO_MEMBERS = 300
# A phone that collected points at the counter and has no account yet: sign up with it in the
# demo to see the proof by SMS code (docs/member-pages.md).
DEMO_PENDING_PHONE = "0899991234"
DEMO_PENDING_PHONE_E164 = "+66899991234"

FIRST_NAMES = [
    "สมชาย", "สมหญิง", "วิภา", "ณัฐพล", "ปิยะนุช", "ธนากร", "กมลวรรณ", "อนุชา", "ศิริพร", "ชยพล",
    "พิมพ์ชนก", "กิตติพัฒน์", "อรอุมา", "ภาณุวัฒน์", "จิราพร", "วรเชษฐ์", "สุภาวดี", "ธีรวัฒน์",
    "นภัสสร", "ปกรณ์",
]  # fmt: skip
LAST_NAMES = [
    "ใจดี", "รักไทย", "ศรีสุข", "วงศ์ใหญ่", "แสงทอง", "บุญมา", "ทองคำ", "สุขสวัสดิ์", "เพชรดี",
    "มั่นคง", "ชัยมงคล", "พูลสวัสดิ์", "อินทร์แก้ว", "ประเสริฐ", "สายสุวรรณ",
]  # fmt: skip

TERMS = """ข้อกำหนดการใช้บริการสมาชิกคาเฟ่อร่อย

1. สมาชิกสะสมพอยท์ได้จากการซื้อสินค้าที่ร้านและช่องทางออนไลน์ของร้าน
2. พอยท์ไม่สามารถแลกเป็นเงินสดหรือโอนให้ผู้อื่นได้
3. ร้านขอสงวนสิทธิ์ในการเปลี่ยนแปลงเงื่อนไขโดยจะแจ้งให้ทราบล่วงหน้า"""
PRIVACY = """นโยบายความเป็นส่วนตัว

ร้านเก็บชื่อ เบอร์โทรศัพท์ วันเกิด และประวัติการซื้อ เพื่อให้บริการสะสมพอยท์และสิทธิพิเศษ
สมาชิกขอดาวน์โหลดหรือลบข้อมูลของตนได้ทุกเมื่อจากหน้าโปรไฟล์"""


# What the café sells (SKU, name): the demo's purchases carry items so that segments by
# purchase history ("bought a latte in the last 90 days") have something to find.
PRODUCTS = [
    ("AMR", "อเมริกาโน่"),
    ("LAT", "ลาเต้"),
    ("MCH", "มัทฉะลาเต้"),
    ("CRS", "ครัวซองต์"),
    ("BRW", "บราวนี่"),
    ("CAT", "ชุดจัดเลี้ยง"),
]


def demo_items(rng: random.Random, amount: int) -> list:
    """One or two products whose prices add up to the spend (catering for large orders)."""
    from members.ledger.earning import LineItem

    if amount >= 10_000:
        return [
            LineItem(
                name=PRODUCTS[5][1], sku=PRODUCTS[5][0], quantity=Decimal(1), price=Decimal(amount)
            )
        ]
    first, second = rng.sample(PRODUCTS[:5], 2)
    if amount < 100:
        return [LineItem(name=first[1], sku=first[0], quantity=Decimal(1), price=Decimal(amount))]
    part = Decimal(amount) // 2
    return [
        LineItem(name=first[1], sku=first[0], quantity=Decimal(1), price=part),
        LineItem(name=second[1], sku=second[0], quantity=Decimal(1), price=Decimal(amount) - part),
    ]


class Command(BaseCommand):
    help = "Create the demo shop with branches, tiers, tags and members (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        shop, created = Shop.objects.get_or_create(
            slug=DEMO_SLUG,
            defaults={
                "name": "คาเฟ่อร่อย (Café Aroi)",
                "line_oa_basic_id": "@cafearoi",
                "description": "ร้านกาแฟและเบเกอรี่ 3 สาขา",
                "thb_per_point": Decimal("25.00"),
                "welcome_points": 50,
                "expiry_mode": "months_after",
                "expiry_months": 12,
            },
        )
        if created:
            for order, (kind, value) in enumerate(
                [
                    ("phone", "021234567"),
                    ("line", "@cafearoi"),
                    ("facebook", "https://www.facebook.com/cafearoi"),
                    ("instagram", "https://www.instagram.com/cafearoi"),
                    ("website", "https://cafearoi.example.com"),
                ]
            ):
                channel = ContactChannel(shop=shop, kind=kind, value=value, order=order)
                channel.full_clean()
                channel.save()
        branches = []
        for code, name, address in [
            ("BKK01", "สาขาสยาม", "ถนนพระราม 1 ปทุมวัน กรุงเทพฯ"),
            ("BKK02", "สาขาอารีย์", "ซอยอารีย์ 1 พญาไท กรุงเทพฯ"),
            ("CNX01", "สาขานิมมาน", "ถนนนิมมานเหมินท์ เชียงใหม่"),
        ]:
            branch = Branch.objects.filter(shop=shop, code=code).first()
            if branch is None:
                branch = services.shop_row_save(
                    row=Branch(shop=shop, code=code, name=name, address=address)
                )
            branches.append(branch)
        tiers = []
        for name, threshold, mult, colour in [
            ("Silver", 0, "1.00", "#9CA3AF"),
            ("Gold", 1000, "1.25", "#D4A017"),
            ("Platinum", 5000, "1.50", "#4B5563"),
        ]:
            tier = Tier.objects.filter(shop=shop, name=name).first()
            if tier is None:
                tier = services.shop_row_save(
                    row=Tier(
                        shop=shop,
                        name=name,
                        threshold=threshold,
                        earn_multiplier=Decimal(mult),
                        colour=colour,
                        benefits=f"สิทธิพิเศษระดับ {name}",
                    )
                )
            tiers.append(tier)
        tags = []
        for name in ["VIP", "ชอบกาแฟ", "ชอบเบเกอรี่", "ลูกค้าออนไลน์", "พนักงานออฟฟิศ"]:
            tag = Tag.objects.filter(shop=shop, name=name).first()
            if tag is None:
                tag = services.shop_row_save(row=Tag(shop=shop, name=name))
            tags.append(tag)
        for kind, title, body in [
            (PolicyDocument.Kind.TERMS, "ข้อกำหนดการใช้บริการ", TERMS),
            (PolicyDocument.Kind.PRIVACY, "นโยบายความเป็นส่วนตัว", PRIVACY),
        ]:
            if not PolicyDocument.objects.filter(shop=shop, kind=kind).exists():
                services.policy_document_publish(shop=shop, kind=kind, title=title, body=body)

        logins = [
            ("admin", None, "", "platform operator (all shops)"),
            ("owner", shop, User.Role.OWNER, "shop owner"),
            ("manager", shop, User.Role.MANAGER, "shop manager"),
            ("cashier", shop, User.Role.CASHIER, "cashier at BKK01"),
        ]
        for username, user_shop, role, _label in logins:
            if User.objects.filter(username=username).exists():
                continue
            user = User(
                username=username,
                shop=user_shop,
                role=role,
                is_superuser=user_shop is None,
                first_name=username.capitalize(),
            )
            user.set_password(DEMO_PASSWORD)
            services.staff_account_save(user=user)
            if role == User.Role.CASHIER:
                user.branches.set([branches[0]])

        if not Member.objects.filter(shop=shop).exists():
            # One of the demo's members, made first so the member count stays DEMO_MEMBERS.
            Member.objects.create(
                shop=shop, phone=DEMO_PENDING_PHONE_E164, status=Member.Status.PENDING
            )
        self._seed_members(shop, branches, tiers, tags)
        self._seed_purchases(shop, branches)
        self._seed_pending_phone(shop, branches)
        self._seed_rewards(shop, tiers)
        self._seed_member_pages(shop, tags)
        self._seed_line(shop)
        self._seed_chat_extras(shop, tiers)
        seed_broadcasts(shop, seed_segments(shop, tags, tiers))
        self.stdout.write(self.style.SUCCESS(f"Demo shop: {shop.name} (/{shop.slug})"))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _shop, _role, label in logins:
            self.stdout.write(f"  {username:<8} {label}")

    def _seed_member_pages(self, shop, tags) -> None:
        """The member pages: the fake LINE platform's demo channel (so members sign in with no LINE
        account) and two sign-up questions whose answers attach tags."""
        from loyalty.line.fake import (
            DEMO_ACCESS_TOKEN,
            DEMO_CHANNEL_ID,
            DEMO_CHANNEL_SECRET,
        )
        from members.signup.models import SignupChoice, SignupQuestion
        from shops.models import ShopLineChannel
        from shops.services import line_channel_save

        # The fake runs one channel for LINE Login and the Messaging API alike; on LINE they are
        # two channels of one provider. A demo seeded before the webhook existed gets its
        # Messaging API channel id and secret filled in.
        channel = ShopLineChannel.objects.filter(shop=shop).first() or ShopLineChannel(
            shop=shop,
            login_channel_id=DEMO_CHANNEL_ID,
            login_channel_secret=DEMO_CHANNEL_SECRET,
            messaging_access_token=DEMO_ACCESS_TOKEN,
        )
        if channel.pk is None or not channel.messaging_channel_id:
            channel.messaging_channel_id = DEMO_CHANNEL_ID
            channel.messaging_channel_secret = DEMO_CHANNEL_SECRET
            line_channel_save(channel=channel)
        if SignupQuestion.objects.filter(shop=shop).exists():
            return
        by_name = {t.name: t for t in tags}
        for order, (label, kind, required, choices) in enumerate(
            [
                (
                    "ชอบอะไรที่ร้านเรา",
                    SignupQuestion.Kind.MULTIPLE,
                    False,
                    [("กาแฟ", "ชอบกาแฟ"), ("เบเกอรี่", "ชอบเบเกอรี่"), ("ชา", None)],
                ),
                (
                    "อาชีพ",
                    SignupQuestion.Kind.SINGLE,
                    True,
                    [("พนักงานออฟฟิศ", "พนักงานออฟฟิศ"), ("นักเรียน / นักศึกษา", None), ("อื่น ๆ", None)],
                ),
            ]
        ):
            question = services.shop_row_save(
                row=SignupQuestion(
                    shop=shop, label=label, kind=kind, required=required, order=order
                )
            )
            for position, (choice, tag_name) in enumerate(choices):
                row = SignupChoice(
                    shop=shop,
                    question=question,
                    label=choice,
                    tag=by_name.get(tag_name) if tag_name else None,
                    order=position,
                )
                row.full_clean()
                row.save()

    def _seed_line(self, shop) -> None:
        """The OA's friends as the webhook would have left them (Somchai and Nok friends, Ploy
        blocked, Mali a friend bound to a member with points), and a few outbox messages that
        the demo's job cluster sends to the fake LINE: two that arrive, one LINE refuses."""
        from loyalty.line.fake import DEFAULT_USERS, DEMO_MEMBER_USER
        from loyalty.outbox.services import outbox_enqueue
        from members.line.binding import member_bind
        from members.line.models import BindingRecord, LineFriend
        from members.line.services import line_friend_apply

        somchai, nok, ploy = (user["user_id"] for user in DEFAULT_USERS)
        mali = DEMO_MEMBER_USER["user_id"]
        member = Member.objects.filter(shop=shop, line_user_id=mali).first()
        if member is None:
            member = (
                Member.objects.filter(
                    shop=shop, status=Member.Status.REGISTERED, line_user_id__isnull=True
                )
                .order_by("-balance", "pk")
                .first()
            )
            member_bind(
                member=member,
                line_user_id=mali,
                via=BindingRecord.Via.ADMIN,
                actor="demo data (seed_demo)",
            )
        if not LineFriend.objects.filter(shop=shop).exists():
            start = timezone.now() - dt.timedelta(days=40)
            for days, user_id, follow in [
                (0, somchai, True),
                (3, nok, True),
                (5, ploy, True),
                (9, mali, True),
                (21, ploy, False),
            ]:
                line_friend_apply(
                    shop_id=shop.pk,
                    line_user_id=user_id,
                    follow=follow,
                    at=start + dt.timedelta(days=days),
                )
        site = settings.SITE_URL or "http://127.0.0.1:8000"
        pages = f"{site}/m/{shop.slug}/"
        for to, messages, key in [
            (
                [mali],
                [
                    {"type": "text", "text": f"ยินดีต้อนรับสู่ {shop.name}! บัตรสมาชิกของคุณ: {pages}"},
                    {
                        "type": "template",
                        "altText": "แลกของรางวัลด้วยพอยท์",
                        "template": {
                            "type": "buttons",
                            "title": "อเมริกาโน่เย็นฟรี",
                            "text": "ใช้ 100 พอยท์แลกได้ที่หน้าของรางวัล",
                            "actions": [{"type": "uri", "label": "ดูของรางวัล", "uri": pages}],
                        },
                    },
                ],
                "demo:welcome",
            ),
            (
                [somchai, nok, mali, None],  # Ploy blocked the OA: skipped
                [{"type": "text", "text": "วันนี้เท่านั้น: ซื้อครบ 200 บาท รับพอยท์ 2 เท่า ☕"}],
                "demo:promotion",
            ),
            (
                # A LINE account that no longer exists: LINE refuses the push (failed, its message).
                ["U" + "0" * 32],
                [{"type": "text", "text": "ขอบคุณที่แวะมาค่ะ"}],
                "demo:former-friend",
            ),
        ]:
            outbox_enqueue(shop_id=shop.pk, to=to, messages=messages, source=key, dedupe_key=key)

    def _seed_chat_extras(self, shop, tiers) -> None:
        """A Gold member bound to a test LINE user, three rich menus (not bound, bound, Gold),
        keyword replies and the greeting. The menus are published now when a fake LINE answers
        (tests); ``make run`` seeds before its fake LINE starts, and ``rundemo`` publishes them."""
        from loyalty.management.commands import _demo_richmenus as chat

        chat.seed_gold_friend(shop, tiers)
        chat.seed_rich_menus(shop, tiers)
        chat.seed_auto_replies(shop)
        if chat.fake_line_running():
            self.stdout.write(chat.demo_rich_menus_publish(shop=shop, line_restarted=False))
        else:
            self.stdout.write("Rich menus: published when `make run` starts the fake LINE")

    def _seed_members(self, shop, branches, tiers, tags) -> None:
        existing = Member.objects.filter(shop=shop).count()
        if existing >= DEMO_MEMBERS:
            return
        rng = random.Random(42)
        now = timezone.now()
        members = []
        for i in range(existing, DEMO_MEMBERS):
            registered = rng.random() < 0.85
            members.append(
                Member(
                    shop=shop,
                    status=Member.Status.REGISTERED if registered else Member.Status.PENDING,
                    phone=f"+668{rng.choice('1234689')}{i:07d}"[:12],
                    first_name=rng.choice(FIRST_NAMES) if registered else "",
                    last_name=rng.choice(LAST_NAMES) if registered else "",
                    gender=rng.choice([Gender.FEMALE, Gender.MALE, Gender.OTHER, ""]),
                    birthday=dt.date(
                        rng.randint(1960, 2005), rng.randint(1, 12), rng.randint(1, 28)
                    )
                    if registered
                    else None,
                    tier=tiers[0],
                    signup_branch=rng.choice(branches),
                    customer_id=f"C{100000 + i}" if rng.random() < 0.3 else None,
                    registered_at=now - dt.timedelta(days=rng.randint(0, 700))
                    if registered
                    else None,
                    created_at=now - dt.timedelta(days=rng.randint(0, 700)),
                )
            )
        Member.objects.bulk_create(members)
        through = Member.tags.through
        links = []
        for member in Member.objects.filter(shop=shop).order_by("id")[existing:]:
            for tag in rng.sample(tags, rng.randint(0, 2)):
                links.append(through(member_id=member.id, tag_id=tag.id))
        through.objects.bulk_create(links, ignore_conflicts=True)

    def _seed_purchases(self, shop, branches) -> None:
        """Spends at the branches through the real earning service, so the demo's members have
        balances, lots with expiry dates and a spread of tiers. Keys are fixed: a rerun earns
        nothing twice."""
        from members.ledger.actors import Actor
        from members.ledger.services import points_earn

        if LedgerEntry.objects.filter(shop=shop).exists():
            return
        rng = random.Random(7)
        actor = Actor.system()
        for member in Member.objects.filter(shop=shop).order_by("id"):
            # Many members have not come back yet; most come a few times; a few are regulars.
            roll = rng.random()
            visits = 0 if roll < 0.5 else rng.randint(1, 3) if roll < 0.95 else rng.randint(8, 20)
            amounts = [
                rng.choice([65, 90, 120, 185, 240, 360, 520, 890, 1450]) for _ in range(visits)
            ]
            if visits and rng.random() < 0.3:  # office catering orders: Gold and Platinum members
                amounts.append(rng.choice([12_500, 18_000, 26_000, 60_000, 130_000]))
            for visit, amount in enumerate(amounts):
                points_earn(
                    shop=shop,
                    member=member,
                    amount=Decimal(amount),
                    branch=rng.choice(branches),
                    idempotency_key=f"demo:earn:{member.public_id}:{visit}",
                    actor=actor,
                    receipt_no=f"R{member.pk:04d}{visit:02d}",
                    items=demo_items(rng, amount),
                )

    def _seed_pending_phone(self, shop, branches) -> None:
        """Two visits with the demo's pending phone alone (fixed keys: a rerun earns nothing
        twice; once the phone is proven in the demo, they go to the member who proved it)."""
        from members.ledger.actors import Actor
        from members.ledger.services import points_earn

        for visit, amount in enumerate([Decimal("450"), Decimal("1250")]):
            points_earn(
                shop=shop,
                phone=DEMO_PENDING_PHONE,
                amount=amount,
                branch=branches[0],
                idempotency_key=f"demo:pending-phone:{visit}",
                actor=Actor.system(channel="store"),
                receipt_no=f"P{visit:04d}",
            )

    def _seed_rewards(self, shop, tiers) -> None:
        """One reward of each kind MyCustomer has (a code used in the store, a delivered gift, a
        code for another platform from a pool or shared), and one redeemed at the counter."""
        from rewards.models import Reward
        from rewards.services import reward_codes_add

        if Reward.objects.filter(shop=shop).exists():
            return
        gold_and_up = [t for t in tiers if t.threshold > 0]
        specs = [
            {
                "name": "อเมริกาโน่เย็นฟรี 1 แก้ว",
                "kind": Reward.Kind.AUTO_CODE,
                "points_cost": 100,
                "description": "แลกรับอเมริกาโน่เย็นขนาดปกติ 1 แก้ว ที่ทุกสาขา",
                "terms": "ใช้ได้ 1 ครั้ง ไม่สามารถแลกเปลี่ยนเป็นเงินสด",
            },
            {
                "name": "เค้กชิ้นโปรด (แลกที่หน้าร้าน)",
                "kind": Reward.Kind.AUTO_CODE,
                "points_cost": 150,
                "stock": 20,
                "spot_redemption": True,
                "description": "แสดงโค้ดให้พนักงานที่เคาน์เตอร์ พอยท์จะถูกหักเมื่อพนักงานยืนยัน",
            },
            {
                "name": "แก้วเก็บความเย็นคาเฟ่อร่อย",
                "kind": Reward.Kind.DELIVERY,
                "points_cost": 800,
                "stock": 30,
                "per_member_limit": 1,
                "description": "แก้วสแตนเลส 20 oz จัดส่งถึงบ้านภายใน 7 วันทำการ",
            },
            {
                "name": "โค้ดส่วนลด 100 บาท บน Shopee",
                "kind": Reward.Kind.CUSTOM_CODE,
                "code_source": Reward.CodeSource.POOL,
                "platform": "Shopee",
                "points_cost": 300,
                "description": "ใช้กับร้าน Café Aroi Official บน Shopee เมื่อซื้อครบ 500 บาท",
            },
            {
                "name": "ส่วนลด 50 บาท LINE SHOPPING",
                "kind": Reward.Kind.CUSTOM_CODE,
                "code_source": Reward.CodeSource.SHARED,
                "shared_code": "AROI50",
                "platform": "LINE SHOPPING",
                "points_cost": 200,
                "description": "สำหรับสมาชิกระดับ Gold ขึ้นไป",
            },
        ]
        for order, spec in enumerate(specs):
            reward = services.shop_row_save(row=Reward(shop=shop, order=order, **spec))
            if reward.platform == "LINE SHOPPING":
                reward.allowed_tiers.set(gold_and_up)
            if reward.uses_pool:
                reward_codes_add(reward=reward, codes=[f"AROI-SHP-{n:04d}" for n in range(1, 21)])
