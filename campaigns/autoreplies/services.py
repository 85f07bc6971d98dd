"""Answering a LINE friend's text with the shop's keyword rules, and greeting a new friend.

Both run in the webhook processing task (``members.line.router``) and answer with the event's
reply token through LINE's reply API: free, but the token is single use and expires within a
minute, so a reply is never queued or retried. A refused token (LINE's 400 "Invalid reply
token") is logged and the event still counts as processed.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from linebot.v3.messaging import ApiException
from linebot.v3.webhooks import FollowEvent, MessageEvent, TextMessageContent

from campaigns.autoreplies import messages as line_messages
from campaigns.autoreplies import rules
from campaigns.autoreplies.models import Greeting, KeywordRule, KeywordTierReply, TypedKeyword
from loyalty.dates import format_display_date, shows_buddhist_era
from loyalty.errors import ApplicationError
from loyalty.line.messaging import reply_messages
from loyalty.links import absolute_url, media_url
from members.line.accountlink import account_link_start
from members.line.models import LineFriend, WebhookEvent
from members.models import Member
from members.notifications.rendering import (
    SAMPLE,
    member_language,
    member_page_url,
    notice_values,
)
from members.notifications.selectors import next_expiry
from members.notifications.texts import NO_NAME, render
from rewards.selectors.coupons import ACTIVE, member_coupons
from shops.models import Shop
from shops.services import line_access_token

log = logging.getLogger(__name__)

POINTS_KEYWORDS = frozenset({rules.normalise("พอยท์"), rules.normalise("แต้ม"), "points"})
LINK_KEYWORDS = frozenset({rules.normalise("ผูกบัญชี"), "link"})
COUPONS_KEYWORDS = frozenset({rules.normalise("คูปอง"), "coupons", "coupon"})
COUPONS_LISTED = 10  # a chat message is read on a phone: the rest are on the coupons page


def in_window(rule: KeywordRule, now: dt.datetime) -> bool:
    """Whether ``rule`` answers at ``now`` (read in the shop's time zone, Asia/Bangkok): within
    its dates, and within its hours (a window such as 22:00–06:00 runs past midnight)."""
    local = timezone.localtime(now)
    day, time = local.date(), local.time()
    if (rule.start_date and day < rule.start_date) or (rule.end_date and day > rule.end_date):
        return False
    start, end = rule.start_time, rule.end_time
    if start is None and end is None:
        return True
    if start is None or end is None:
        return time >= start if end is None else time < end
    return start <= time < end if start <= end else time >= start or time < end


def rule_for(shop_id: int, typed: str, now: dt.datetime) -> KeywordRule | None:
    """The shop's first active rule (in order) in its window that matches ``typed`` (already
    normalised), else its first default rule in its window, else none."""
    default = None
    for rule in KeywordRule.objects.filter(shop_id=shop_id, active=True).order_by("position", "pk"):
        if not in_window(rule, now):
            continue
        if rule.is_default:
            default = default or rule
        elif rules.matches(rule.match, rules.keywords_of(rule.keywords), typed):
            return rule
    return default


def _bound_member(shop_id: int, line_user_id: str) -> Member | None:
    if not line_user_id:
        return None
    return (
        Member.objects.select_related("shop", "tier")
        .filter(shop_id=shop_id, line_user_id=line_user_id, bound_at__isnull=False)
        .first()
    )


def _language(shop: Shop, member: Member | None) -> str:
    """The language a reply is written in: the member's (``member_language``), else the shop's."""
    if member is not None:
        return member_language(member)
    return "en" if shop.language == "en" else "th"


def _fill(text: str, shop: Shop, member: Member | None, link: str = "") -> str:
    """A reply's text with the notification placeholders filled for ``member`` (or, for a friend
    who is not a member, the shop's name and "customer" for the name; the rest empty)."""
    if member is not None:
        return render(text, notice_values(member, member_language(member), {}), link)
    language = _language(shop, member)
    return render(text, {"name": NO_NAME[language], "shop": shop.name}, link)


def sample_reply(shop: Shop, text: str, language: str, *, bound: bool) -> str:
    """``text`` as a sample member (``bound``) or a sample friend would get it (no query): the
    back office's preview of a rule."""
    if not bound:
        return render(text, {"name": NO_NAME[language], "shop": shop.name}, "")
    sample = SAMPLE[language]
    member = Member(shop=shop, first_name=sample["name"], balance=1250)
    context = {
        "tier": sample["tier"],
        "expiring_points": 120,
        "expiry_date": timezone.localdate() + dt.timedelta(days=7),
    }
    return render(text, notice_values(member, language, context), "")


def _reply(shop_id: int, reply_token: str | None, messages: str | list[dict]) -> bool:
    """Send ``messages`` (a text, or LINE message objects) with the reply token; whether LINE
    took them. Nothing to say, no token, or no channel: nothing is sent."""
    if isinstance(messages, str):
        messages = [line_messages.text_message(messages)] if messages else []
    token = line_access_token(shop_id)
    if not token:
        log.warning("Shop %s has no LINE channel access token: no reply sent", shop_id)
        return False
    if not reply_token or not messages:
        return False
    try:
        reply_messages(
            channel_access_token=token,
            reply_token=reply_token,
            messages=messages[: line_messages.MAX_MESSAGES],
        )
    except ApiException as exc:
        log.warning("LINE refused the reply of shop %s: %s %s", shop_id, exc.status, exc.body)
        return False
    return True


def _count_typed(shop_id: int, typed: str, rule: KeywordRule | None, now: dt.datetime) -> None:
    TypedKeyword.objects.bulk_create(
        [TypedKeyword(shop_id=shop_id, text=typed)], ignore_conflicts=True
    )
    TypedKeyword.objects.filter(shop_id=shop_id, text=typed).update(
        count=F("count") + 1, rule=rule, last_seen_at=now
    )


def _points_reply(shop: Shop, member: Member | None) -> str:
    language = _language(shop, member)
    with override(language):
        if member is None:
            return (
                _("Sign up as a member to collect points:")
                + "\n"
                + member_page_url(shop, "member:signup")
            )
        text = _("{name}, you have {balance} points.")
        if next_expiry(member)[1]:
            text += " " + _("{expiring_points} points expire on {expiry_date}.")
        return _fill(text, shop, member, member_page_url(shop, "member:card"))


def _link_reply(shop: Shop, line_user_id: str, member: Member | None) -> str:
    """Start the account link (its button goes out through the outbox) and say so; a member
    already bound gets their card instead."""
    language = _language(shop, member)
    with override(language):
        if member is not None:
            return (
                _("Your LINE account is already linked to your member account:")
                + "\n"
                + member_page_url(shop, "member:card")
            )
        try:
            account_link_start(shop=shop, line_user_id=line_user_id)
        except ApplicationError as exc:
            log.warning("Shop %s: no account link for a LINE user: %s", shop.pk, exc)
            return ""
        return _("We have sent you a button to link your member account. Tap it to continue.")


def _coupons_reply(shop: Shop, member: Member | None) -> str:
    """The member's usable coupons (issued, not past their last day), soonest to run out first,
    each with its last day as notices write dates; none → a friendly word and the rewards page;
    not a member → the sign-up link."""
    language = _language(shop, member)
    with override(language):
        if member is None:
            return (
                _("Sign up as a member to collect points and get coupons:")
                + "\n"
                + member_page_url(shop, "member:signup")
            )
        lines = member_coupons(member, tab=ACTIVE, limit=COUPONS_LISTED + 1)
        if not lines:
            return (
                _("You have no coupons ready to use yet. See what your points can get:")
                + "\n"
                + member_page_url(shop, "rewards:catalogue")
            )
        era = shows_buddhist_era(language)
        text = [_("Your coupons ready to use:")]
        for line in lines[:COUPONS_LISTED]:
            until = format_display_date(line.coupon.expires_on, buddhist_era=era, language=language)
            text.append(
                "• "
                + _("%(reward)s (use by %(date)s)")
                % {"reward": line.coupon.redemption.reward_name, "date": until}
            )
        if len(lines) > COUPONS_LISTED:
            text.append(_("…and more on the coupons page."))
        text.append(member_page_url(shop, "rewards:coupons"))
        return "\n".join(text)


def _rule_text(rule: KeywordRule, member: Member | None) -> str:
    """The text a rule answers ``member`` with: their tier's reply, else the members' reply;
    a friend who is not a member gets the other friends' reply."""
    if member is None:
        return rule.reply_unbound
    if member.tier_id:
        tier_reply = (
            KeywordTierReply.objects.filter(rule=rule, tier_id=member.tier_id)
            .values_list("text", flat=True)
            .first()
        )
        if tier_reply:
            return tier_reply
    return rule.reply_bound


def reply_image_url(rule: KeywordRule, width: int) -> str:
    """The rule's picture ``width`` px wide, as a full URL (served by ``views.reply_image``)."""
    return absolute_url(
        None, reverse("autoreplies:image", kwargs={"key": rule.image_key, "width": width})
    )


def imagemap_base_url(rule: KeywordRule) -> str:
    """The imagemap's ``baseUrl``: LINE appends ``/<width>`` to it."""
    return reply_image_url(rule, line_messages.IMAGEMAP_BASE_WIDTH).rsplit("/", 1)[0]


def balance_card(shop: Shop, member: Member | None) -> dict:
    """The flex card of a member's points: shop, name, balance, tier, the points expiring next
    and a button to the card page; for a friend who is not a member, an invitation to sign up."""
    language = _language(shop, member)
    with override(language):
        if member is None:
            return line_messages.flex_card(
                alt_text=_("Sign up as a member of %(shop)s") % {"shop": shop.name},
                title=shop.name,
                subtitle=_("Sign up as a member to collect points and get rewards."),
                lines=[],
                button_label=_("Sign up"),
                button_uri=member_page_url(shop, "member:signup"),
            )
        era = shows_buddhist_era(language)
        expiry_date, expiring = next_expiry(member)
        name = member.first_name or member.line_display_name or NO_NAME[language]
        balance = _("%(points)s points") % {"points": f"{member.balance:,}"}
        expiring_text = ""
        if expiring and expiry_date:
            expiring_text = _("%(points)s on %(date)s") % {
                "points": f"{expiring:,}",
                "date": format_display_date(expiry_date, buddhist_era=era, language=language),
            }
        return line_messages.flex_card(
            alt_text=_("%(name)s, you have %(balance)s") % {"name": name, "balance": balance},
            title=shop.name,
            subtitle=name,
            lines=[
                line_messages.CardLine(_("Balance"), balance),
                line_messages.CardLine(_("Tier"), member.tier.name if member.tier_id else ""),
                line_messages.CardLine(_("Expiring next"), expiring_text),
            ],
            button_label=_("Open my member card"),
            button_uri=member_page_url(shop, "member:card"),
        )


def rule_messages(rule: KeywordRule, shop: Shop, member: Member | None) -> list[dict]:
    """What a rule sends ``member`` (None: a friend who is not a member), as LINE message
    objects: the text (placeholders filled) if the audience has one, then the rule's picture,
    tappable picture or points card. Empty: the rule says nothing to this friend."""
    text = _rule_text(rule, member)
    out = [line_messages.text_message(_fill(text, shop, member))] if text else []
    if rule.kind == KeywordRule.Kind.CARD:
        out.append(balance_card(shop, member))
    elif rule.kind in (KeywordRule.Kind.IMAGE, KeywordRule.Kind.IMAGEMAP) and rule.image:
        if rule.kind == KeywordRule.Kind.IMAGE:
            out.append(
                line_messages.image_message(
                    original_url=media_url(None, rule.image.url),
                    preview_url=reply_image_url(rule, line_messages.PREVIEW_SIDE),
                )
            )
        else:
            try:
                out.append(
                    line_messages.imagemap_message(
                        base_url=imagemap_base_url(rule),
                        alt_text=rule.name,
                        size=(rule.image.width, rule.image.height),
                        areas=line_messages.parse_areas(rule.imagemap_areas),
                    )
                )
            except (ValidationError, OSError) as exc:
                # The form checks the areas; a row written elsewhere, or a picture lost from
                # storage, still answers with its text rather than failing the event.
                log.warning("Shop %s rule %s: no tappable picture: %s", shop.pk, rule.pk, exc)
    return out


def handle_message(*, event, stored: WebhookEvent, friend: LineFriend | None) -> bool:
    """The router's "message" handler: a built-in keyword (points, coupons, link) that is on,
    else a text matching a rule, gets one reply (up to five messages). Every text is counted per
    shop (``TypedKeyword``), matched or not. Returns whether a rule or built-in took the text."""
    if not isinstance(event, MessageEvent) or not isinstance(event.message, TextMessageContent):
        return False
    now = timezone.now()
    typed = rules.normalise(event.message.text)[:200]
    if not typed:
        return False
    shop = Shop.objects.get(pk=stored.shop_id)
    member = _bound_member(shop.pk, stored.line_user_id)
    greeting = Greeting.objects.filter(shop=shop).first()
    if typed in POINTS_KEYWORDS and (greeting is None or greeting.points_keyword):
        _count_typed(shop.pk, typed, None, now)
        _reply(shop.pk, event.reply_token, _points_reply(shop, member))
        return True
    if typed in COUPONS_KEYWORDS and (greeting is None or greeting.coupons_keyword):
        _count_typed(shop.pk, typed, None, now)
        _reply(shop.pk, event.reply_token, _coupons_reply(shop, member))
        return True
    if typed in LINK_KEYWORDS and (greeting is None or greeting.link_keyword):
        _count_typed(shop.pk, typed, None, now)
        _reply(shop.pk, event.reply_token, _link_reply(shop, stored.line_user_id, member))
        return True
    rule = rule_for(shop.pk, typed, now)
    _count_typed(shop.pk, typed, rule, now)
    if rule is None:
        return False
    if _reply(shop.pk, event.reply_token, rule_messages(rule, shop, member)):
        KeywordRule.objects.filter(pk=rule.pk).update(
            sent_count=F("sent_count") + 1, last_sent_at=now
        )
    return True


def greeting_text(greeting: Greeting, *, returning: bool, bound: bool) -> str:
    """The greeting's text for one of its four cases."""
    return getattr(
        greeting, f"{'returning' if returning else 'new'}_{'bound' if bound else 'unbound'}"
    )


def handle_follow(*, event, stored: WebhookEvent, friend: LineFriend | None) -> bool:
    """The router's "follow" handler (after the friend row is applied): the shop's greeting for a
    new or returning friend, with the member card link for a member and the sign-up link for
    anyone else."""
    if not isinstance(event, FollowEvent):
        return False
    greeting = Greeting.objects.select_related("shop").filter(shop_id=stored.shop_id).first()
    if greeting is None:
        return False
    member = _bound_member(stored.shop_id, stored.line_user_id)
    text = greeting_text(
        greeting, returning=bool(event.follow.is_unblocked), bound=member is not None
    )
    if not text:
        return False
    link = member_page_url(greeting.shop, "member:card" if member else "member:signup")
    _reply(stored.shop_id, event.reply_token, _fill(text, greeting.shop, member, link))
    return True
