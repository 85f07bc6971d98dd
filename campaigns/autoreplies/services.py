"""Answering a LINE friend's text with the shop's keyword rules, and greeting a new friend.

Both run in the webhook processing task (``members.line.router``) and answer with the event's
reply token through LINE's reply API: free, but the token is single use and expires within a
minute, so a reply is never queued or retried. A refused token (LINE's 400 "Invalid reply
token") is logged and the event still counts as processed.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from linebot.v3.messaging import ApiException
from linebot.v3.webhooks import FollowEvent, MessageEvent, TextMessageContent

from campaigns.autoreplies import rules
from campaigns.autoreplies.models import Greeting, KeywordRule, TypedKeyword
from loyalty.errors import ApplicationError
from loyalty.line.messaging import reply_text
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
from shops.models import Shop
from shops.services import line_access_token

log = logging.getLogger(__name__)

POINTS_KEYWORDS = frozenset({rules.normalise("พอยท์"), rules.normalise("แต้ม"), "points"})
LINK_KEYWORDS = frozenset({rules.normalise("ผูกบัญชี"), "link"})


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


def _reply(shop_id: int, reply_token: str | None, text: str) -> bool:
    """Send ``text`` with the reply token; whether LINE took it."""
    token = line_access_token(shop_id)
    if not token:
        log.warning("Shop %s has no LINE channel access token: no reply sent", shop_id)
        return False
    if not reply_token or not text:
        return False
    try:
        reply_text(channel_access_token=token, reply_token=reply_token, text=text)
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


def handle_message(*, event, stored: WebhookEvent, friend: LineFriend | None) -> bool:
    """The router's "message" handler: a built-in keyword (points, link) that is on, else a text
    matching a rule, gets one reply. Every text is counted per shop (``TypedKeyword``), matched
    or not. Returns whether a rule or built-in took the text."""
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
    if typed in LINK_KEYWORDS and (greeting is None or greeting.link_keyword):
        _count_typed(shop.pk, typed, None, now)
        _reply(shop.pk, event.reply_token, _link_reply(shop, stored.line_user_id, member))
        return True
    rule = rule_for(shop.pk, typed, now)
    _count_typed(shop.pk, typed, rule, now)
    if rule is None:
        return False
    text = rule.reply_bound if member is not None else rule.reply_unbound
    if text and _reply(shop.pk, event.reply_token, _fill(text, shop, member)):
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
