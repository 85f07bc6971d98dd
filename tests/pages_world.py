"""One shop's data as real use makes it, for tests that render every page.

Every row is written by the real services, in the order a shop would live it: ledger entries from
every channel and of every kind (store, online order, Open API, import, adjustment, reversal,
expiry, redemption, points QR, welcome), rewards of each kind in each state, a points QR code, an
import, an invite; a member who signed up through LINE, a pending member with no name (a phone at
the counter), and a cashier whose account was deleted after working.

``build_world`` pins the clock: the last write happens at ``NOW`` (3 Dec 2026, 14:05 Bangkok), the
expiry job ran on 1 Dec, and the caller renders pages at ``NOW``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine
from django.core.files import File
from openpyxl import Workbook

from members.imports import services as imports
from members.ledger import jobs
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import Channel, EntryKind, LedgerEntry, Product
from members.models import Member
from members.phone_claims.services import phone_claim_open
from members.signup.models import SignupQuestion
from members.staff import services as staff
from rewards import services as rewards
from rewards.models import Delivery, Redemption, Reward
from rewards.staff import services as reward_staff
from shops.apikeys import api_key_create
from shops.models import ContactChannel, ShopLineChannel, User
from shops.staffing.services import staff_invite_create
from tests.factories import (
    FACTORIES,
    BranchFactory,
    ContactChannelFactory,
    SeasonalBackgroundFactory,
    ShopFactory,
    SignupChoiceFactory,
    SignupQuestionFactory,
    TagFactory,
    TierFactory,
    UserFactory,
)
from tests.members.pages.conftest import connect_line, publish_documents, register

BKK = ZoneInfo("Asia/Bangkok")
NOW = dt.datetime(2026, 12, 3, 14, 5, tzinfo=BKK)
EXPIRY_RUN = dt.date(2026, 12, 1)


@dataclass
class World:
    shop: object
    branch: object
    owner: User
    manager: User
    cashier: User
    member: Member
    nameless: Member
    invite_token: str
    entries: dict[str, LedgerEntry] = field(default_factory=dict)
    redemptions: dict[str, Redemption] = field(default_factory=dict)
    rewards: dict[str, Reward] = field(default_factory=dict)
    objects: dict = field(default_factory=dict)


def _at(day: dt.date | dt.datetime, hour: int = 10, minute: int = 0):
    when = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time(hour, minute))
    return time_machine.travel(when.replace(tzinfo=BKK), tick=False)


def _xlsx(path: Path, rows: list[list]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def _outbox_rows(shop, member, fake_line) -> dict:
    """LINE messages as the outbox keeps them: one sent push, a multicast with a blocked friend
    that LINE refused, one stopped by the monthly quota, and one with nobody to send to."""
    from django.core.cache import cache
    from django.db import transaction

    from loyalty.outbox.models import OutboxMessage
    from loyalty.outbox.services import outbox_enqueue
    from loyalty.outbox.tasks import outbox_send
    from tests.line_fixtures import MESSAGING_ACCESS_TOKEN, NOK, PLOY

    ShopLineChannel.objects.filter(shop=shop).update(messaging_access_token=MESSAGING_ACCESS_TOKEN)
    cache.clear()  # the sender's cached quota of an earlier test's shop

    def enqueue(to, text, source):
        with transaction.atomic():
            [row] = outbox_enqueue(
                shop_id=shop.pk, to=to, messages=[{"type": "text", "text": text}], source=source
            )
        return row

    rows = {
        "sent": enqueue([member.line_user_id], "ได้รับ 40 แต้ม", "points_earned:welcome"),
        "failed": enqueue([NOK, PLOY, None], "คูปองพร้อมใช้", "coupon_ready:demo"),
        "quota": enqueue([NOK, PLOY], "แต้มใกล้หมดอายุ", "points_expiring:demo"),
        "skipped": enqueue([None], "ยินดีต้อนรับ", "welcome:demo"),
    }
    outbox_send(rows["sent"].pk)
    fake_line.fail_sends(status=400, message="The request body has 1 error(s)")
    outbox_send(rows["failed"].pk)
    fake_line.set_quota(1)
    cache.clear()
    outbox_send(rows["quota"].pk)
    fake_line.set_quota(None)
    cache.clear()
    for row in rows.values():
        row.refresh_from_db()
    assert [r.state for r in rows.values()] == list(rows), [r.state for r in rows.values()]
    # (besides the member notifications the world's earns and sign-ups queued: source notify:*)
    others = OutboxMessage.objects.filter(shop=shop).exclude(source__startswith="notify:")
    assert others.count() == len(rows)
    return rows


def _line_friends(shop, member) -> None:
    """LINE friends as the webhook leaves them: the member (bound), a friend who is no member, one
    who blocked the account."""
    from loyalty.line.fake.webhooks import follow_event, unfollow_event
    from members.line.services import webhook_events_process, webhook_events_store
    from tests.line_fixtures import NOK, PLOY

    events = [
        follow_event(user_id=member.line_user_id, reply_token="r1"),
        follow_event(user_id=NOK, reply_token="r2", is_unblocked=True),
        unfollow_event(user_id=PLOY),
    ]
    ids = webhook_events_store(shop_id=shop.pk, events=events)
    webhook_events_process(shop_id=shop.pk, event_ids=ids)


def _rich_menus(shop) -> dict:
    """A default menu published at the fake LINE (users linked), a Gold menu whose publish failed
    (no areas set), and a draft."""
    from campaigns.richmenus import services as richmenus
    from tests.campaigns.richmenus.conftest import make_menu

    gold = shop.tiers.get(name="Gold")
    menus = {
        "published": make_menu(shop, name="เมนูหลัก", layout=6),
        "failed": make_menu(shop, name="Gold", audience="tier", tier=gold),
        "draft": make_menu(shop, name="ร่าง", audience="unbound", layout=1),
    }
    richmenus.rich_menu_publish(menu_id=menus["published"].pk)
    menus["failed"].areas.all().delete()
    try:
        richmenus.rich_menu_publish(menu_id=menus["failed"].pk)
    except richmenus.RichMenuRefused:
        pass  # recorded on the menu, as the back office shows it
    return menus


def _sms_rows(shop, member, owner) -> dict:
    """SMS as a broadcast leaves them: the shop's settings, a message in every state (one to a
    pending number with no member), an opt-out from the link and one added by staff."""
    from campaigns.sms.models import SmsMessage, SmsSettings
    from campaigns.sms.services import SmsDraft, sms_enqueue_many, sms_opt_out

    settings_row = SmsSettings.objects.create(shop=shop, sender_name="CAFEAROI", monthly_budget=500)
    drafts = [
        SmsDraft(phone=member.phone or "+66891110000", text="โปร {name}", member_id=member.pk),
        SmsDraft(phone="+66891110001", text="โปรสงกรานต์"),
        SmsDraft(phone="+66891110002", text="Songkran sale " * 20),
        SmsDraft(phone="+66891110003", text="โปร"),
    ]
    rows = sms_enqueue_many(shop=shop, drafts=drafts, source="broadcast:world")
    states = ["sent", "held", "failed", "queued"]
    for row, state in zip(rows, states, strict=True):
        SmsMessage.objects.filter(pk=row.pk).update(
            state=state,
            provider_message_id="1700000000001" if state == "sent" else "",
            error="" if state in ("sent", "queued") else "เกินงบ SMS รายเดือนของร้าน",
        )
    sms_opt_out(shop=shop, phone="+66891110003", how="link")  # the queued one: now skipped
    sms_opt_out(shop=shop, phone="0891110009", how="staff", user=owner)
    return {"settings": settings_row, "messages": rows}


def _segments(shop, member) -> dict:
    """Segments as an owner saves them (tags and balance; picked members), the RFM scores of the
    world's purchases, and one segment whose tag was deleted afterwards (it needs fixing)."""
    from campaigns.segments.services import rfm_refresh, segment_create

    vip = shop.tags.first()
    gone = shop.tags.create(name="ชั่วคราว")
    rfm_refresh(shop_id=shop.pk)
    segments = {
        "vip": segment_create(
            shop=shop,
            name="ลูกค้า VIP แต้มเยอะ",
            conditions=[{"kind": "tags", "tags": [vip.pk]}, {"kind": "balance", "min": 100}],
        ),
        "picked": segment_create(
            shop=shop,
            name="เลือกเอง",
            conditions=[
                {"kind": "members", "members": [member.pk]},
                {"kind": "rfm", "groups": ["new"]},
            ],
        ),
        "broken": segment_create(
            shop=shop, name="แท็กถูกลบ", conditions=[{"kind": "tags", "tags": [gone.pk]}]
        ),
    }
    gone.delete()
    return segments


def _broadcasts(shop) -> dict:
    """A draft (text, card, button), one confirmed for tomorrow, one sent through the outbox, and
    a cancelled copy: each state the broadcast pages show."""
    from django.utils import timezone

    from campaigns.broadcasts import services as broadcasts
    from campaigns.broadcasts.reach import broadcast_estimate
    from campaigns.segments.models import Segment

    segment = Segment.objects.create(shop=shop, name="ทุกคน", conditions=[{"kind": "all"}])
    parts = [
        {"type": "text", "text": "สวัสดี {name} แต้มของคุณ {balance}"},
        {"type": "card", "template": "balance"},
        {"type": "link", "page": "rewards", "label": "ดูของรางวัล"},
    ]

    def save(name, **kwargs):
        return broadcasts.broadcast_save(
            shop=shop,
            name=name,
            segment_ids=[segment.pk],
            messages=parts,
            consent_only=False,
            **kwargs,
        )

    def confirm(broadcast):
        count = broadcast_estimate(broadcast)
        return broadcasts.broadcast_confirm(broadcast=broadcast, recipients=count.line + count.sms)

    scheduled = confirm(save("โปรฯ พรุ่งนี้", send_at=timezone.now() + dt.timedelta(days=1)))
    sent = confirm(save("โปรฯ ส่งแล้ว"))
    broadcasts.broadcast_send(sent.pk)
    cancelled = broadcasts.broadcast_cancel(broadcast=broadcasts.broadcast_copy(broadcast=sent))
    return {"draft": save("โปรฯ ร่าง"), "scheduled": scheduled, "sent": sent, "cancelled": cancelled}


def build_world(client, fake_line, tmp_path: Path) -> World:
    """The shop, its people and their history; ``client`` ends signed in as the LINE member."""
    with _at(dt.date(2026, 10, 10)):
        shop = ShopFactory(
            name="ร้านกาแฟอร่อย",
            slug="cafe-aroi",
            welcome_points=50,
            expiry_mode="months_after",
            expiry_months=1,
            tiers_enabled=True,
            thb_per_point=Decimal("25.00"),
        )
        branch = BranchFactory(shop=shop, name="สยาม", code="SIAM")
        TierFactory(shop=shop, name="Silver", threshold=0)
        TierFactory(shop=shop, name="Gold", threshold=5000, earn_multiplier=Decimal("1.50"))
        publish_documents(shop)
        connect_line(shop)
        question = SignupQuestionFactory(
            shop=shop, label="เมนูโปรด", kind=SignupQuestion.Kind.SINGLE
        )
        SignupChoiceFactory(question=question, label="ลาเต้")
        ContactChannelFactory(shop=shop, kind=ContactChannel.Kind.LINE, value="@cafearoi")
        SeasonalBackgroundFactory(shop=shop, name="สงกรานต์")
        owner = UserFactory(username="owner", first_name="Mali", shop=shop, role=User.Role.OWNER)
        manager = UserFactory(username="manager", shop=shop, role=User.Role.MANAGER)
        cashier = UserFactory(username="nok", first_name="Nok", shop=shop, role="cashier")
        gone = UserFactory(username="gone", first_name="Gone", shop=shop, role="cashier")
        for user in (cashier, gone):
            user.branches.add(branch)
        # A member who signs up through LINE: welcome points that expire at the end of November.
        member = register(client, fake_line, shop)
        member.tags.add(TagFactory(shop=shop, name="VIP"))
        _line_friends(shop, member)

    with _at(EXPIRY_RUN, 0, 30):
        jobs.points_expire_due(today=EXPIRY_RUN)

    world = World(
        shop=shop,
        branch=branch,
        owner=owner,
        manager=manager,
        cashier=cashier,
        member=member,
        nameless=member,  # replaced below
        invite_token="",
    )
    entries = world.entries
    entries["welcome"] = LedgerEntry.objects.get(member=member, kind=EntryKind.WELCOME)
    entries["expire"] = LedgerEntry.objects.get(member=member, kind=EntryKind.EXPIRE)

    def earn_at_counter(user, amount, **kwargs):
        return staff.staff_points_add(
            user=user, branch=branch, amount=amount, form_key=uuid.uuid4(), **kwargs
        )

    with _at(NOW - dt.timedelta(hours=5)):
        entries["store"] = earn_at_counter(cashier, "2500", member=member, receipt_no="R-1").entry
        entries["store_voided"] = earn_at_counter(cashier, "500", member=member).entry
        # A phone nobody has: a pending member with no name.
        pending = earn_at_counter(cashier, "300", phone="0899999999")
        entries["store_pending"] = pending.entry
        world.nameless = pending.member
        # The signed-up member says that phone is theirs: a claim waiting for proof (SMS or the
        # counter), so the member's phone page and the cashier's confirmation page have one.
        world.objects["phone_claim"] = phone_claim_open(
            member=member, pending=pending.member, phone=pending.member.phone
        )
        entries["store_by_gone"] = earn_at_counter(gone, "750", member=member).entry

    with _at(NOW - dt.timedelta(hours=4)):
        api_key, _raw = api_key_create(shop=shop, name="POS")
        entries["api"] = ledger.points_earn(
            shop=shop,
            amount="400",
            idempotency_key="pos-1",
            actor=Actor.api(api_key),
            member=member,
            branch=branch,
        ).entry
        entries["api_order"] = ledger.points_earn(
            shop=shop,
            amount="1000",
            idempotency_key="pos-2",
            actor=Actor.api(api_key),
            phone="0811111111",
            order_id="POS-1001",
        ).entry
        product = FACTORIES[Product](shop=shop, sku="LATTE", name="ลาเต้เย็น")
        entries["online"] = ledger.points_earn(
            shop=shop,
            amount="1200",
            idempotency_key="order-LS-77",
            actor=Actor.system(channel=Channel.ONLINE),
            member=member,
            channel=Channel.ONLINE,
            order_id="LS-77",
            items=[
                ledger.LineItem(
                    name=product.name, sku=product.sku, quantity=Decimal("2"), price=Decimal("600")
                )
            ],
        ).entry

    with _at(NOW - dt.timedelta(hours=3)):
        upload = _xlsx(
            tmp_path / "members.xlsx",
            [
                ["เบอร์โทร", "ชื่อ", "นามสกุล", "พอยท์"],
                ["0822222222", "สมหญิง", "ใจงาม", 120],
                ["0833333333", "", "", 80],
                ["not a phone", "Bad", "Row", 5],
            ],
        )
        with upload.open("rb") as f:
            job = imports.import_job_create(
                shop=shop,
                file=File(f, name="members.xlsx"),
                name="members.xlsx",
                branch=branch,
                policy="skip",
                mode="valid",
                created_by=owner,
                start=False,
            )
        imports.import_validate(job_id=job.pk)
        job.refresh_from_db()
        imports.import_confirm(job=job, user=owner, mode="valid", start=False)
        job = imports.import_commit(job_id=job.pk)
        world.objects["import_job"] = job
        entries["import"] = LedgerEntry.objects.filter(shop=shop, kind=EntryKind.IMPORT).first()

        entries["adjust"], _ = ledger.points_adjust(
            member=member,
            points=1000,
            note="ชดเชยกาแฟหก",
            idempotency_key="adjust-1",
            actor=Actor.admin(owner),
        )
        entries["adjust_down"], _ = ledger.points_adjust(
            member=member,
            points=-20,
            note="แก้ไขยอด",
            idempotency_key="adjust-2",
            actor=Actor.admin(owner),
        )
        entries["adjust_reversal"], _ = ledger.entry_reverse(
            entry=entries["adjust_down"],
            note="กดผิด",
            idempotency_key="reverse-1",
            actor=Actor.admin(owner),
        )

    with _at(NOW - dt.timedelta(hours=2)):
        coupon_reward = Reward.objects.create(
            shop=shop, name="กาแฟฟรี 1 แก้ว", points_cost=100, spot_redemption=True
        )
        gift = Reward.objects.create(
            shop=shop, name="แก้วเก็บความเย็น", kind=Reward.Kind.DELIVERY, points_cost=150
        )
        voucher = Reward.objects.create(
            shop=shop,
            name="โค้ดส่วนลด Shopee",
            kind=Reward.Kind.CUSTOM_CODE,
            code_source=Reward.CodeSource.SHARED,
            shared_code="AROI50",
            points_cost=50,
        )
        world.rewards.update(coupon=coupon_reward, delivery=gift, custom=voucher)
        world.rewards["pool"] = Reward.objects.create(
            shop=shop,
            name="โค้ด LINE SHOPPING",
            kind=Reward.Kind.CUSTOM_CODE,
            code_source=Reward.CodeSource.POOL,
            points_cost=30,
        )
        rewards.reward_codes_add(reward=world.rewards["pool"], codes=["LS-0001", "LS-0002"])
        # Not redeemed by anyone yet (the others have reached their limit per member).
        world.rewards["fresh"] = Reward.objects.create(
            shop=shop, name="เค้กฟรี", points_cost=80, stock=3, description="ชิ้นละ 1 ที่"
        )
        world.rewards["fresh_delivery"] = Reward.objects.create(
            shop=shop, name="ถุงผ้า", kind=Reward.Kind.DELIVERY, points_cost=60
        )
        address = rewards.Address("สมชาย ใจดี", "0812345678", "1 ถนนพระราม 1", "10330")

        def redeem(reward, key, **kwargs):
            return rewards.reward_redeem(
                member=member, reward=reward, idempotency_key=key, actor=Actor.member(), **kwargs
            )[0]

        used = redeem(coupon_reward, "redeem-used")
        rewards.coupon_use(
            shop=shop, code=used.coupon.code, branch=branch, actor=Actor.staff(cashier)
        )
        world.redemptions["coupon_used"] = used
        world.redemptions["coupon"] = redeem(coupon_reward, "redeem-open")
        world.redemptions["custom"] = redeem(voucher, "redeem-custom")
        cancelled = redeem(coupon_reward, "redeem-cancelled")
        rewards.redemption_cancel(
            redemption=cancelled, note="ลูกค้าขอยกเลิก", actor=Actor.admin(owner)
        )
        world.redemptions["cancelled"] = cancelled
        shipped = redeem(gift, "redeem-gift", address=address)
        for status in (Delivery.Status.PREPARING, Delivery.Status.SHIPPED):
            rewards.delivery_set_status(
                delivery=shipped.delivery,
                status=status,
                actor=Actor.admin(owner),
                carrier="Kerry",
                tracking_number="KER123",
            )
        world.redemptions["delivery"] = shipped
        world.redemptions["delivery_pending"] = redeem(gift, "redeem-gift-2", address=address)
        handed = redeem(gift, "redeem-gift-3", address=address)
        reward_staff.delivery_hand_over(
            user=cashier, branch=branch, delivery=handed.delivery, form_key=uuid.uuid4()
        )
        world.redemptions["delivery_handed_over"] = handed
        entries["redeem"] = used.entry
        entries["redeem_reversal"] = LedgerEntry.objects.get(reversal_of=cancelled.entry)
        world.objects["spot_code"] = rewards.spot_code_issue(member=member, reward=coupon_reward)

    with _at(NOW - dt.timedelta(minutes=30)):
        claimed, _ = staff.points_claim_create(
            user=cashier, branch=branch, amount="250", form_key=uuid.uuid4()
        )
        entries["claim"] = staff.points_claim_redeem(
            shop=shop, token=claimed.token, member=member
        ).entry
        world.objects["claim"] = claimed
        invite, world.invite_token = staff_invite_create(
            shop=shop, branch=branch, created_by=owner, name="Ploy"
        )
        world.objects["invite"] = invite

    with _at(NOW - dt.timedelta(minutes=10)):
        entries["store_void"] = staff.staff_entry_void(
            user=manager, branch=branch, entry=entries["store_voided"], reason="พิมพ์ยอดผิด"
        )
        # The voided points had been spent: a debt, which the next purchase pays off.
        entries["store_pays_debt"] = earn_at_counter(cashier, "1000", member=member).entry
        # The cashier leaves and their account is deleted; their entries stay.
        gone.delete()
        entries["store_by_gone"].refresh_from_db()

    with _at(NOW - dt.timedelta(minutes=1)):
        world.objects["open_claim"], _ = staff.points_claim_create(
            user=cashier, branch=branch, amount="100", form_key=uuid.uuid4()
        )

    with _at(NOW - dt.timedelta(seconds=30)):
        world.objects["outbox"] = _outbox_rows(shop, member, fake_line)

    world.objects["rich_menus"] = _rich_menus(shop)
    world.objects["sms"] = _sms_rows(shop, member, owner)
    world.objects["segments"] = _segments(shop, member)
    world.objects["broadcasts"] = _broadcasts(shop)

    missing = set(EntryKind.values) - {e.kind for e in entries.values()}
    assert missing == {EntryKind.ACTIVITY}, missing  # no feature writes activity points yet
    missing_channels = set(Channel.values) - {e.channel for e in entries.values()}
    assert missing_channels == set(), missing_channels
    return world
