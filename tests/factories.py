"""factory_boy factories for every model. ``FACTORIES`` maps each shop-owned model to its factory;
the admin isolation test requires an entry for every registered shop-owned model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.conf import settings
from factory.django import DjangoModelFactory

from members.models import Member
from shops.models import (
    Branch,
    ContactChannel,
    PolicyDocument,
    SeasonalBackground,
    Shop,
    Tag,
    Tier,
    User,
)

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class ShopFactory(DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    thb_per_point = Decimal("25.00")
    # The site's language at the time (the ``english`` fixture makes the test's shops English).
    language = factory.LazyFunction(lambda: settings.LANGUAGE_CODE[:2])


class BranchFactory(DjangoModelFactory):
    class Meta:
        model = Branch

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"Branch {n}")
    code = factory.Sequence(lambda n: f"BR{n:03d}")


class TierFactory(DjangoModelFactory):
    class Meta:
        model = Tier

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    threshold = factory.Sequence(lambda n: n * 1000)
    earn_multiplier = Decimal("1.00")


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"Tag {n}")


class ContactChannelFactory(DjangoModelFactory):
    class Meta:
        model = ContactChannel

    shop = factory.SubFactory(ShopFactory)
    kind = ContactChannel.Kind.WEBSITE
    value = factory.Sequence(lambda n: f"https://shop{n}.example.com")


class SeasonalBackgroundFactory(DjangoModelFactory):
    class Meta:
        model = SeasonalBackground

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"Season {n}")
    image = factory.django.ImageField(width=64, height=40, format="PNG")
    starts_on = dt.date(2026, 4, 1)
    ends_on = dt.date(2026, 4, 30)


class PolicyDocumentFactory(DjangoModelFactory):
    class Meta:
        model = PolicyDocument

    shop = factory.SubFactory(ShopFactory)
    kind = PolicyDocument.Kind.PRIVACY
    version = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Privacy {n}")
    body = "We keep your data safe."


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    shop = factory.SubFactory(ShopFactory)
    role = User.Role.MANAGER
    is_staff = factory.LazyAttribute(lambda u: u.role in (User.Role.OWNER, User.Role.MANAGER))
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = Member

    shop = factory.SubFactory(ShopFactory)
    status = Member.Status.REGISTERED
    phone = factory.Sequence(lambda n: f"+6681{n:07d}")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = "Member"


FACTORIES = {
    Shop: ShopFactory,
    Branch: BranchFactory,
    Tier: TierFactory,
    Tag: TagFactory,
    ContactChannel: ContactChannelFactory,
    SeasonalBackground: SeasonalBackgroundFactory,
    PolicyDocument: PolicyDocumentFactory,
    User: UserFactory,
    Member: MemberFactory,
}


def staff_actor(user=None):
    from members.ledger.actors import Actor

    return Actor.staff(user) if user else Actor.system()


def _register_ledger_factories():
    from members.ledger.models import LedgerEntry, Product, Purchase
    from shops.models import ApiKey

    class ProductFactory(DjangoModelFactory):
        class Meta:
            model = Product

        shop = factory.SubFactory(ShopFactory)
        sku = factory.Sequence(lambda n: f"SKU{n}")
        name = factory.Sequence(lambda n: f"Product {n}")

    def purchase_for(shop, **kwargs):
        from members.ledger import services
        from members.ledger.actors import Actor

        member = MemberFactory(shop=shop, first_name=kwargs.pop("name", "Buyer"))
        result = services.points_earn(
            shop=shop,
            member=member,
            amount="1000",
            idempotency_key=f"f-{member.pk}",
            actor=Actor.system(channel="store"),
        )
        return result.purchase

    class PurchaseFactory:
        def __new__(cls, shop=None, **kwargs):
            return purchase_for(shop or ShopFactory(), **kwargs)

    class LedgerEntryFactory:
        def __new__(cls, shop=None, **kwargs):
            return purchase_for(shop or ShopFactory(), **kwargs).entries.get()

    class ApiKeyFactory:
        def __new__(cls, shop=None, name="key", **kwargs):
            from shops.apikeys import api_key_create

            return api_key_create(shop=shop or ShopFactory(), name=name)[0]

    FACTORIES.update(
        {
            Product: ProductFactory,
            Purchase: PurchaseFactory,
            LedgerEntry: LedgerEntryFactory,
            ApiKey: ApiKeyFactory,
        }
    )


_register_ledger_factories()


def _register_reward_factories():
    from rewards.models import Coupon, Delivery, Redemption, Reward

    class RewardFactory(DjangoModelFactory):
        class Meta:
            model = Reward

        shop = factory.SubFactory(ShopFactory)
        name = factory.Sequence(lambda n: f"Reward {n}")
        points_cost = 10
        stock = None

    def _redeemed(shop, kind, **kwargs):
        from members.ledger import services
        from members.ledger.actors import Actor
        from rewards.services import Address, reward_redeem

        shop = shop or ShopFactory()
        member = MemberFactory(shop=shop, first_name=kwargs.pop("name", "Redeemer"))
        services.points_adjust(
            member=member,
            points=100,
            note="seed",
            idempotency_key=f"seed-{member.pk}",
            actor=Actor.system(),
        )
        reward = RewardFactory(shop=shop, kind=kind, name=kwargs.pop("reward_name", "Gift"))
        address = (
            Address("Somchai", "0812345678", "1 Road", "10110") if kind == "delivery" else None
        )
        return reward_redeem(
            member=member,
            reward=reward,
            idempotency_key=f"r-{member.pk}",
            actor=Actor.member(),
            address=address,
        )[0]

    class RedemptionFactory:
        def __new__(cls, shop=None, **kwargs):
            return _redeemed(shop, "auto_code", **kwargs)

    class CouponFactory:
        def __new__(cls, shop=None, **kwargs):
            return _redeemed(shop, "auto_code", **kwargs).coupon

    class DeliveryFactory:
        def __new__(cls, shop=None, **kwargs):
            return _redeemed(shop, "delivery", **kwargs).delivery

    FACTORIES.update(
        {
            Reward: RewardFactory,
            Redemption: RedemptionFactory,
            Coupon: CouponFactory,
            Delivery: DeliveryFactory,
        }
    )
    globals()["RewardFactory"] = RewardFactory


_register_reward_factories()


def _register_staff_app_factories():
    """Staff invites, the staff activity log and points QR codes (issue 4)."""
    import uuid as _uuid

    from members.staff.models import PointsClaim
    from shops.staffing.models import StaffAction, StaffInvite

    class StaffInviteFactory:
        """An open invite; ``StaffInviteFactory.token_of(invite)`` is not kept, so tests that need
        the link call ``staff_invite_create`` themselves."""

        def __new__(cls, shop=None, branch=None, **kwargs):
            from shops.staffing.services import staff_invite_create

            shop = shop or (branch.shop if branch else ShopFactory())
            branch = branch or BranchFactory(shop=shop)
            return staff_invite_create(shop=shop, branch=branch, created_by=None, **kwargs)[0]

    class StaffActionFactory:
        def __new__(cls, shop=None, **kwargs):
            from shops.staffing.services import staff_action_record

            shop = shop or ShopFactory()
            user = kwargs.pop("user", None)
            if user is None:
                extra = {"username": kwargs.pop("username")} if "username" in kwargs else {}
                user = UserFactory(shop=shop, role=User.Role.CASHIER, **extra)
            kwargs.setdefault("kind", StaffAction.Kind.SIGN_IN)
            return staff_action_record(user=user, **kwargs)

    class PointsClaimFactory:
        def __new__(cls, shop=None, branch=None, amount="500", **kwargs):
            from members.staff.services import points_claim_create

            shop = shop or (branch.shop if branch else ShopFactory())
            branch = branch or BranchFactory(shop=shop)
            cashier = kwargs.pop("cashier", None) or UserFactory(shop=shop, role=User.Role.CASHIER)
            cashier.branches.add(branch)
            claim, _replayed = points_claim_create(
                user=cashier, branch=branch, amount=amount, form_key=_uuid.uuid4(), **kwargs
            )
            return claim

    FACTORIES.update(
        {
            StaffInvite: StaffInviteFactory,
            StaffAction: StaffActionFactory,
            PointsClaim: PointsClaimFactory,
        }
    )
    globals().update(
        StaffInviteFactory=StaffInviteFactory,
        StaffActionFactory=StaffActionFactory,
        PointsClaimFactory=PointsClaimFactory,
    )


_register_staff_app_factories()


def _register_member_pages_factories():
    """Issue 5: LINE settings, sign-up questions, consent records."""
    from members.signup.models import ConsentRecord, SignupChoice, SignupQuestion
    from shops.models import ShopLineChannel

    class ShopLineChannelFactory(DjangoModelFactory):
        class Meta:
            model = ShopLineChannel

        shop = factory.SubFactory(ShopFactory)
        login_channel_id = factory.Sequence(lambda n: f"{1660000000 + n}")
        login_channel_secret = factory.Sequence(lambda n: f"secret-{n:04d}-0123456789abcdef")

    class SignupQuestionFactory(DjangoModelFactory):
        class Meta:
            model = SignupQuestion

        shop = factory.SubFactory(ShopFactory)
        label = factory.Sequence(lambda n: f"Question {n}")
        kind = SignupQuestion.Kind.TEXT

    class SignupChoiceFactory(DjangoModelFactory):
        class Meta:
            model = SignupChoice

        question = factory.SubFactory(SignupQuestionFactory)
        shop = factory.SelfAttribute("question.shop")
        label = factory.Sequence(lambda n: f"Choice {n}")

    class ConsentRecordFactory(DjangoModelFactory):
        class Meta:
            model = ConsentRecord

        shop = factory.SubFactory(ShopFactory)
        member = factory.LazyAttribute(lambda o: MemberFactory(shop=o.shop))
        kind = ConsentRecord.Kind.MARKETING
        granted = True
        method = ConsentRecord.Method.SIGNUP

    FACTORIES.update(
        {
            ShopLineChannel: ShopLineChannelFactory,
            SignupQuestion: SignupQuestionFactory,
            ConsentRecord: ConsentRecordFactory,
        }
    )
    globals().update(
        ShopLineChannelFactory=ShopLineChannelFactory,
        SignupQuestionFactory=SignupQuestionFactory,
        SignupChoiceFactory=SignupChoiceFactory,
        ConsentRecordFactory=ConsentRecordFactory,
    )


_register_member_pages_factories()


def _register_import_factories():
    from members.imports.models import ImportJob

    class ImportJobFactory(DjangoModelFactory):
        """A checked member import (no file: the upload was deleted or never needed)."""

        class Meta:
            model = ImportJob

        shop = factory.SubFactory(ShopFactory)
        original_name = factory.Sequence(lambda n: f"members-{n}.xlsx")
        file_sha256 = factory.Sequence(lambda n: f"{n:064x}")
        state = ImportJob.State.VALIDATED
        rows_total = 3
        new_count = 2
        error_count = 1

    FACTORIES[ImportJob] = ImportJobFactory
    globals()["ImportJobFactory"] = ImportJobFactory


_register_import_factories()


def _register_outbox_factories() -> None:
    from loyalty.outbox.models import OutboxMessage

    class OutboxMessageFactory(DjangoModelFactory):
        """A multicast that LINE refused (what the back office's outbox page is for)."""

        class Meta:
            model = OutboxMessage

        shop = factory.SubFactory(ShopFactory)
        kind = OutboxMessage.Kind.MULTICAST
        recipients = factory.LazyFunction(lambda: [f"U{n:032x}" for n in range(1, 4)])
        messages = factory.LazyFunction(lambda: [{"type": "text", "text": "ได้รับ 40 แต้ม"}])
        state = OutboxMessage.State.FAILED
        attempts = 1
        error = "The request body has 1 error(s)"
        skipped_count = 1
        source = factory.Sequence(lambda n: f"points_earned:{n}")

    FACTORIES[OutboxMessage] = OutboxMessageFactory
    globals()["OutboxMessageFactory"] = OutboxMessageFactory


_register_outbox_factories()


def _register_line_factories():
    from django.utils import timezone

    from members.line.models import LineFriend, WebhookEvent

    class LineFriendFactory(DjangoModelFactory):
        class Meta:
            model = LineFriend

        shop = factory.SubFactory(ShopFactory)
        line_user_id = factory.Sequence(lambda n: f"U{n:032x}")
        state = LineFriend.State.FRIEND

    FACTORIES[LineFriend] = LineFriendFactory

    class WebhookEventFactory(DjangoModelFactory):
        """A follow LINE delivered and the task processed."""

        class Meta:
            model = WebhookEvent

        shop = factory.SubFactory(ShopFactory)
        webhook_event_id = factory.Sequence(lambda n: f"01J{n:023d}")
        event_type = "follow"
        line_user_id = factory.Sequence(lambda n: f"U{n:032x}")
        timestamp_ms = factory.LazyFunction(lambda: int(timezone.now().timestamp() * 1000))
        payload = factory.LazyAttribute(
            lambda o: {"type": "follow", "source": {"type": "user", "userId": o.line_user_id}}
        )
        received_at = factory.LazyFunction(timezone.now)
        outcome = WebhookEvent.Outcome.PROCESSED

    FACTORIES[WebhookEvent] = WebhookEventFactory

    from members.line.models import BindingRecord

    class BindingRecordFactory(DjangoModelFactory):
        """A binding by the Open API (the records page lists them)."""

        class Meta:
            model = BindingRecord

        shop = factory.SubFactory(ShopFactory)
        member = factory.SubFactory(
            MemberFactory, shop=factory.SelfAttribute("..shop"), customer_id=None
        )
        line_user_id = factory.Sequence(lambda n: f"U{n:032x}")
        action = BindingRecord.Action.BOUND
        via = BindingRecord.Via.API
        actor = "API key: pos"

    FACTORIES[BindingRecord] = BindingRecordFactory


_register_line_factories()


def _register_notification_factories():
    from members.notifications.models import NoticeKind, NotificationSetting

    class NotificationSettingFactory:
        """A shop's setting for the first kind it has none for (one row per shop and kind)."""

        def __new__(cls, shop=None, **kwargs):
            shop = shop or ShopFactory()
            taken = set(
                NotificationSetting.objects.filter(shop=shop).values_list("kind", flat=True)
            )
            kind = kwargs.pop("kind", None) or next(
                (k for k in NoticeKind.values if k not in taken), NoticeKind.EARNED
            )
            setting, _created = NotificationSetting.objects.update_or_create(
                shop=shop, kind=kind, defaults=kwargs
            )
            return setting

    FACTORIES[NotificationSetting] = NotificationSettingFactory


_register_notification_factories()


def _register_autoreply_factories():
    from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword

    class KeywordRuleFactory(DjangoModelFactory):
        class Meta:
            model = KeywordRule

        shop = factory.SubFactory(ShopFactory)
        name = factory.Sequence(lambda n: f"rule {n}")
        match = KeywordRule.Match.CONTAINS
        keywords = "เมนู"
        reply_unbound = "ดูเมนูได้ที่หน้าร้าน"

    class TypedKeywordFactory(DjangoModelFactory):
        class Meta:
            model = TypedKeyword

        shop = factory.SubFactory(ShopFactory)
        text = factory.Sequence(lambda n: f"คำ{n}")
        count = 1

    class GreetingFactory(DjangoModelFactory):
        class Meta:
            model = Greeting

        shop = factory.SubFactory(ShopFactory)
        new_unbound = "ยินดีต้อนรับ"

    FACTORIES.update(
        {
            KeywordRule: KeywordRuleFactory,
            TypedKeyword: TypedKeywordFactory,
            Greeting: GreetingFactory,
        }
    )


_register_autoreply_factories()


def _register_richmenu_factories():
    from campaigns.richmenus.models import RichMenu

    class RichMenuFactory(DjangoModelFactory):
        class Meta:
            model = RichMenu

        shop = factory.SubFactory(ShopFactory)
        name = factory.Sequence(lambda n: f"Menu {n}")
        chat_bar_text = "Menu"
        image = factory.django.ImageField(width=800, height=540, format="PNG")
        layout = 1

    FACTORIES[RichMenu] = RichMenuFactory


_register_richmenu_factories()


def _register_sms_factories():
    from campaigns.sms.models import SmsMessage, SmsOptOut, SmsSettings

    class SmsSettingsFactory(DjangoModelFactory):
        class Meta:
            model = SmsSettings

        shop = factory.SubFactory(ShopFactory)
        sender_name = "SHOP"
        monthly_budget = 100

    class SmsOptOutFactory(DjangoModelFactory):
        class Meta:
            model = SmsOptOut

        shop = factory.SubFactory(ShopFactory)
        phone = factory.Sequence(lambda n: f"+6689{n:07d}")
        how = SmsOptOut.How.LINK

    class SmsMessageFactory(DjangoModelFactory):
        class Meta:
            model = SmsMessage

        shop = factory.SubFactory(ShopFactory)
        phone = factory.Sequence(lambda n: f"+6688{n:07d}")
        text = "โปรลดราคา SHOP-SMS-TEXT"
        source = "broadcast:test"

    FACTORIES.update(
        {
            SmsSettings: SmsSettingsFactory,
            SmsOptOut: SmsOptOutFactory,
            SmsMessage: SmsMessageFactory,
        }
    )


_register_sms_factories()


def _register_link_factories():
    from campaigns.links.models import LinkClick, TrackedLink

    class TrackedLinkFactory(DjangoModelFactory):
        class Meta:
            model = TrackedLink

        shop = factory.SubFactory(ShopFactory)
        source = factory.Sequence(lambda n: f"broadcast:00000000-0000-4000-8000-{n:012d}")
        key = factory.Sequence(str)
        target = "https://example.com/promo"

    class LinkClickFactory(DjangoModelFactory):
        class Meta:
            model = LinkClick

        link = factory.SubFactory(TrackedLinkFactory)
        member = factory.SubFactory(MemberFactory, shop=factory.SelfAttribute("..link.shop"))

    FACTORIES[TrackedLink] = TrackedLinkFactory
    return TrackedLinkFactory, LinkClickFactory


TrackedLinkFactory, LinkClickFactory = _register_link_factories()


def _register_segment_factories():
    from campaigns.segments.models import Segment

    class SegmentFactory(DjangoModelFactory):
        class Meta:
            model = Segment

        shop = factory.SubFactory(ShopFactory)
        name = factory.Sequence(lambda n: f"Segment {n}")
        conditions = factory.LazyFunction(lambda: [{"kind": "all"}])

    FACTORIES[Segment] = SegmentFactory


_register_segment_factories()


def _register_broadcast_factories():
    from campaigns.broadcasts.models import Broadcast, BroadcastMedia

    class BroadcastFactory(DjangoModelFactory):
        class Meta:
            model = Broadcast

        shop = factory.SubFactory(ShopFactory)
        name = factory.Sequence(lambda n: f"Broadcast {n}")
        messages = factory.LazyFunction(lambda: [{"type": "text", "text": "สวัสดี {name}"}])

    class BroadcastMediaFactory(DjangoModelFactory):
        class Meta:
            model = BroadcastMedia

        shop = factory.SubFactory(ShopFactory)
        kind = BroadcastMedia.Kind.IMAGE
        file = factory.django.ImageField(width=1040, height=520, format="PNG")
        width = 1040
        height = 520

    FACTORIES.update({Broadcast: BroadcastFactory, BroadcastMedia: BroadcastMediaFactory})


_register_broadcast_factories()


def _register_rfm_settings_factory():
    from campaigns.segments.models import RfmSettings

    class RfmSettingsFactory(DjangoModelFactory):
        class Meta:
            model = RfmSettings

        shop = factory.SubFactory(ShopFactory)
        window_months = 12

    FACTORIES[RfmSettings] = RfmSettingsFactory
    globals()["RfmSettingsFactory"] = RfmSettingsFactory


_register_rfm_settings_factory()
