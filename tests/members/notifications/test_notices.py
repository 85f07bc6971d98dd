"""Member notifications end to end: the cause happens in its transaction, the outbox sends through
line-bot-sdk to the fake LINE platform, and the member's chat has the rendered text with its link."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction

from loyalty.outbox.models import OutboxMessage
from members.ledger import services as ledger
from members.ledger.actors import Actor
from members.ledger.models import EntryKind
from members.line.models import LineFriend
from members.notifications.models import NoticeKind
from members.notifications.services import expiring_notices_send, notification_setting_save
from members.signup.services import member_register
from rewards.models import Delivery, Reward
from rewards.services import Address, delivery_set_status, reward_redeem
from tests.factories import MemberFactory, RewardFactory
from tests.members.conftest import assert_invariants
from tests.members.notifications.conftest import NOK, PLOY, SITE, SOMCHAI, send_outbox

pytestmark = pytest.mark.django_db


def earn(member, amount="250", key=None):
    return ledger.points_earn(
        shop=member.shop,
        amount=amount,
        idempotency_key=key or str(uuid.uuid4()),
        actor=Actor.system(),
        member=member,
    )


def give(member, points, expires_on=None):
    entry, _replayed = ledger.points_credit(
        member=member,
        kind=EntryKind.ACTIVITY,
        points=points,
        idempotency_key=str(uuid.uuid4()),
        actor=Actor.system(),
        expires_on=expires_on,
    )
    member.refresh_from_db()
    OutboxMessage.objects.all().delete()  # (the "new tier" these credits may cause)
    return entry


def page(shop, path):
    return f"{SITE}/m/{shop.slug}/{path}"


def turn(shop, kind, *, enabled=True, text_th="", text_en="", days_before=7):
    notification_setting_save(
        shop=shop,
        kind=kind,
        enabled=enabled,
        text_th=text_th,
        text_en=text_en,
        days_before=days_before,
    )


# --- each kind, end to end ------------------------------------------------------------------------


def test_points_earned_reach_the_members_line_chat_in_thai_with_the_history_link(
    nshop, nok, fake_line
):
    earn(nok, "250")

    assert send_outbox() == 1
    assert fake_line.texts_to(NOK) == [
        f"คุณนก ได้รับ 10 พอยท์ ยอดพอยท์คงเหลือ 10 พอยท์\n{page(nshop, 'history/')}"
    ]
    row = OutboxMessage.objects.get()
    assert (row.source, row.state) == ("notify:earned", OutboxMessage.State.SENT)


def test_an_english_shop_writes_in_english_with_thousands_separators(nshop, nok, fake_line):
    nshop.language = "en"
    nshop.save()
    nok.first_name = "Nok"
    nok.save()

    earn(nok, "25000")

    send_outbox()
    assert fake_line.texts_to(NOK) == [
        f"Nok, you earned 1,000 points. Your balance is 1,000 points.\n{page(nshop, 'history/')}",
        f"Congratulations Nok, you are now a Gold member.\n{page(nshop, 'card/')}",
    ]


def test_a_replayed_earn_sends_nothing_again(nshop, nok, fake_line):
    key = str(uuid.uuid4())
    earn(nok, "250", key=key)
    earn(nok, "250", key=key)

    send_outbox()
    assert len(fake_line.texts_to(NOK)) == 1


def test_crossing_a_tier_threshold_sends_the_new_tier_with_the_card_link(nshop, nok, fake_line):
    earn(nok, "2500")  # 100 points: Gold

    send_outbox()
    texts = fake_line.texts_to(NOK)
    assert f"ยินดีด้วย คุณนก เลื่อนเป็นระดับสมาชิก Gold แล้ว\n{page(nshop, 'card/')}" in texts
    assert len(texts) == 2


def test_a_redeemed_coupon_links_to_its_coupon_page(nshop, nok, fake_line):
    give(nok, 500)
    reward = RewardFactory(shop=nshop, name="ลาเต้เย็น", points_cost=100)

    redemption, _replayed = reward_redeem(
        member=nok, reward=reward, idempotency_key=str(uuid.uuid4()), actor=Actor.member()
    )

    send_outbox()
    coupon = page(nshop, f"rewards/coupons/{redemption.public_id}/")
    assert fake_line.texts_to(NOK) == [
        f"แลก ลาเต้เย็น สำเร็จ ใช้ไป 100 พอยท์ คงเหลือ 400 พอยท์ ดูคูปองหรือรายละเอียดได้ที่ลิงก์ด้านล่าง\n{coupon}"
    ]


def test_a_shipped_delivery_sends_the_carrier_tracking_number_and_delivery_page(
    nshop, nok, fake_line
):
    give(nok, 500)
    reward = RewardFactory(shop=nshop, name="แก้วน้ำ", points_cost=100, kind=Reward.Kind.DELIVERY)
    redemption, _replayed = reward_redeem(
        member=nok,
        reward=reward,
        idempotency_key=str(uuid.uuid4()),
        actor=Actor.member(),
        address=Address("นก", "0812345678", "1 ถนนสุขุมวิท", "10110"),
    )
    delivery = Delivery.objects.get(redemption=redemption)

    for _twice in range(2):
        delivery_set_status(
            delivery=delivery,
            status=Delivery.Status.SHIPPED,
            actor=Actor.system(),
            carrier="Kerry",
            tracking_number="KEX123456",
        )

    send_outbox()
    link = page(nshop, f"rewards/deliveries/{redemption.public_id}/")
    assert fake_line.texts_to(NOK)[1:] == [
        f"แก้วน้ำ ของคุณจัดส่งแล้ว ขนส่ง Kerry เลขพัสดุ KEX123456\n{link}"
    ]


def test_signing_up_sends_the_welcome_message(nshop, fake_line):
    member_register(
        shop=nshop,
        line_user_id=PLOY,
        first_name="พลอย",
        last_name="ใจดี",
        phone="0812345678",
        birthday=None,
        accepted_terms=True,
    )

    send_outbox()
    assert fake_line.texts_to(PLOY) == [
        f"ยินดีต้อนรับคุณพลอย สู่สมาชิก ร้านกาแฟดี ดูบัตรสมาชิกและพอยท์ของคุณได้ที่ลิงก์ด้านล่าง\n{page(nshop, 'card/')}"
    ]


def test_an_edited_text_is_used_with_the_expiry_date_in_the_buddhist_era(nshop, nok, fake_line):
    turn(nshop, NoticeKind.EARNED, text_th="+{points} พอยท์ ({expiring_points} หมด {expiry_date})")
    give(nok, 40, expires_on=dt.date(2026, 12, 31))

    with time_machine.travel(dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)):
        earn(nok, "250")

    send_outbox()
    assert fake_line.texts_to(NOK) == [f"+10 พอยท์ (40 หมด 31 ธ.ค. 2569)\n{page(nshop, 'history/')}"]


# --- points expiring soon (the daily job) ---------------------------------------------------------


@pytest.fixture
def expiring(nshop, nok):
    give(nok, 40, expires_on=dt.date(2026, 12, 31))
    give(nok, 5, expires_on=dt.date(2026, 12, 31))
    give(nok, 70, expires_on=dt.date(2027, 1, 15))  # beyond the 7 days: not yet
    nshop.language = "en"
    nshop.save()
    return nok


def test_the_expiring_job_sends_one_message_per_member_and_date_even_when_run_twice(
    expiring, nshop, fake_line
):
    for today in (dt.date(2026, 12, 24), dt.date(2026, 12, 24), dt.date(2026, 12, 27)):
        expiring_notices_send(today=today)

    send_outbox()
    assert fake_line.texts_to(NOK) == [
        "First, 45 of your points expire on 31 Dec 2026. Use them before then.\n"
        f"{page(nshop, 'history/')}".replace("First", expiring.first_name)
    ]


def test_a_late_run_catches_up_and_a_date_beyond_the_days_before_waits(expiring, fake_line):
    # given the job did not run on the 24th
    assert expiring_notices_send(today=dt.date(2026, 12, 22)) == {"queued": 0, "skipped": 0}

    # when it runs on the 26th, the 31st (5 days ahead) is still told
    assert expiring_notices_send(today=dt.date(2026, 12, 26)) == {"queued": 1, "skipped": 0}
    assert expiring_notices_send(today=dt.date(2027, 1, 8)) == {"queued": 1, "skipped": 0}


def test_the_days_before_is_the_shops(expiring, nshop, fake_line):
    turn(nshop, NoticeKind.EXPIRING, days_before=30)

    assert expiring_notices_send(today=dt.date(2026, 12, 20)) == {"queued": 2, "skipped": 0}


def test_the_expiring_job_reads_the_same_few_rows_for_many_members(
    nshop, django_assert_max_num_queries, fake_line
):
    members = [
        MemberFactory(shop=nshop, line_user_id=f"U{i:032x}", first_name=f"M{i}") for i in range(30)
    ]
    for m in members:
        give(m, 10, expires_on=dt.date(2026, 12, 31))
    expiring_notices_send(today=dt.date(2000, 1, 1))  # warm the settings cache

    # shops; lots by member and date; members; blocked friends; sent keys: then per member the
    # outbox's own dedupe read and its insert in a savepoint (loyalty.outbox.services)
    with django_assert_max_num_queries(5 + 4 * 30):
        result = expiring_notices_send(today=dt.date(2026, 12, 25))
    assert result == {"queued": 30, "skipped": 0}
    with django_assert_max_num_queries(5):
        assert expiring_notices_send(today=dt.date(2026, 12, 25)) == {"queued": 0, "skipped": 0}


# --- who gets what --------------------------------------------------------------------------------


def test_a_kind_turned_off_sends_nothing_and_writes_no_row(nshop, nok, fake_line):
    turn(nshop, NoticeKind.EARNED, enabled=False)
    turn(nshop, NoticeKind.TIER_UP, enabled=False)

    earn(nok, "2500")

    assert not OutboxMessage.objects.exists()
    assert send_outbox() == 0 and fake_line.texts_to(NOK) == []


def test_a_member_who_turned_notices_off_still_gets_confirmations_only(nshop, nok, fake_line):
    nok.notices_opt_out = True
    nok.save()
    give(nok, 45, expires_on=dt.date(2026, 12, 31))

    earn(nok, "2500")  # earned (essential) + Gold (news)
    expiring_notices_send(today=dt.date(2026, 12, 28))

    send_outbox()
    assert [row.source for row in OutboxMessage.objects.all()] == ["notify:earned"]
    assert len(fake_line.texts_to(NOK)) == 1


def test_a_member_who_blocked_the_shop_is_skipped_and_counted(nshop, nok, fake_line):
    LineFriend.objects.create(shop=nshop, line_user_id=NOK, state=LineFriend.State.BLOCKED)
    give(nok, 45, expires_on=dt.date(2026, 12, 31))

    earn(nok, "250")
    assert expiring_notices_send(today=dt.date(2026, 12, 28)) == {"queued": 0, "skipped": 1}

    assert send_outbox() == 0
    rows = OutboxMessage.objects.all()
    assert {(r.state, r.skipped_count, r.recipient_count) for r in rows} == {("skipped", 1, 0)}
    assert len(rows) == 2 and fake_line.messages == []


def test_a_member_without_a_line_account_leaves_no_row(nshop, fake_line):
    member = MemberFactory(shop=nshop, line_user_id=None)

    earn(member, "2500")

    assert not OutboxMessage.objects.exists()


def test_a_rolled_back_earn_sends_nothing(nshop, nok, fake_line):
    with pytest.raises(RuntimeError), transaction.atomic():
        earn(nok, "250")
        raise RuntimeError

    assert not OutboxMessage.objects.exists()
    assert send_outbox() == 0 and fake_line.messages == []
    assert_invariants(nshop.pk)


def test_another_shops_settings_do_not_apply(nshop, nok, other_shop, fake_line):
    turn(other_shop, NoticeKind.EARNED, enabled=False)
    somchai = MemberFactory(shop=other_shop, line_user_id=SOMCHAI)

    earn(nok, "250")
    earn(somchai, "250")

    assert [r.source for r in OutboxMessage.objects.filter(shop=nshop)] == ["notify:earned"]
    assert not OutboxMessage.objects.filter(shop=other_shop).exists()


# --- the shop's texts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("ได้ {point} พอยท์", "{point}"),
        ("ได้ {points:>5} พอยท์", "{points:>5}"),
        ("ได้ {} พอยท์", "{}"),
        ("{tracking} ของคุณ", "{tracking}"),  # a shipping placeholder in an earn text
    ],
)
def test_an_unknown_placeholder_is_refused_naming_it(nshop, text, named):
    with pytest.raises(ValidationError) as refused:
        turn(nshop, NoticeKind.EARNED, text_th=text)

    assert named in refused.value.messages[0] and "{points}" in refused.value.messages[0]


@pytest.mark.parametrize("text", ["ได้ {points พอยท์", "ได้ points} พอยท์"])
def test_a_brace_without_its_partner_is_refused(nshop, text):
    with pytest.raises(ValidationError) as refused:
        turn(nshop, NoticeKind.EARNED, text_th=text)

    assert refused.value.code == "bad_brace"


def test_a_text_without_placeholders_and_escaped_braces_are_fine(nshop, nok, fake_line):
    turn(nshop, NoticeKind.EARNED, text_th="ขอบคุณ {{ร้านเรา}}")

    earn(nok, "250")

    send_outbox()
    assert fake_line.texts_to(NOK) == [f"ขอบคุณ {{ร้านเรา}}\n{page(nshop, 'history/')}"]


def test_the_tier_job_announces_an_upgrade_and_keeps_quiet_on_a_downgrade(nshop, nok, fake_line):
    from members.ledger import jobs
    from members.models import Member

    gold = nshop.tiers.get(name="Gold")
    silver = nshop.tiers.get(name="Silver")
    # given Nok was given Gold by hand as a floor, and Ploy holds Gold without the points for it
    Member.objects.filter(pk=nok.pk).update(manual_tier=gold)
    ploy = MemberFactory(shop=nshop, first_name="พลอย", line_user_id=PLOY, tier=gold)

    # when the evaluation runs at the cycle's end, twice
    for _twice in range(2):
        jobs.tiers_evaluate_shop(shop=nshop, evaluation_date=dt.date(2026, 12, 31))

    # then Nok moved up and is told once; Ploy moved down and is not told
    nok.refresh_from_db()
    ploy.refresh_from_db()
    assert (nok.tier, ploy.tier) == (gold, silver)
    send_outbox()
    assert fake_line.texts_to(NOK) == [
        f"ยินดีด้วย คุณนก เลื่อนเป็นระดับสมาชิก Gold แล้ว\n{page(nshop, 'card/')}"
    ]
    assert fake_line.texts_to(PLOY) == []


def test_a_scanned_points_qr_code_sends_the_earned_notice_once(nshop, nok, fake_line):
    from members.staff import services as staff
    from shops.models import User
    from tests.factories import BranchFactory, UserFactory

    branch = BranchFactory(shop=nshop)
    cashier = UserFactory(username="cashier-n", shop=nshop, role=User.Role.CASHIER)
    cashier.branches.add(branch)
    claim, _again = staff.points_claim_create(
        user=cashier, branch=branch, amount="500", form_key=uuid.uuid4()
    )

    for _twice in range(2):  # the member opens the code twice: the first result
        staff.points_claim_redeem(shop=nshop, token=claim.token, member=nok)

    send_outbox()
    assert fake_line.texts_to(NOK) == [
        f"คุณนก ได้รับ 20 พอยท์ ยอดพอยท์คงเหลือ 20 พอยท์\n{page(nshop, 'history/')}"
    ]


def test_the_expiring_job_at_0030_bangkok_counts_from_the_bangkok_day(expiring, fake_line):
    # 00:30 on 24 Dec in Bangkok is still the 23rd in UTC: the 31st is 7 days ahead, not 8
    with time_machine.travel(dt.datetime(2026, 12, 23, 17, 30, tzinfo=dt.UTC)):
        assert expiring_notices_send() == {"queued": 1, "skipped": 0}
