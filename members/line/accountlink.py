"""LINE's account-link flow: a LINE user proves which member of the shop they are, and is bound.

1. ``account_link_start`` (the Open API's ``POST /api/v1/bindings/{id}/link``, and the keyword a
   member types in the chat) issues a link token for the LINE user through line-bot-sdk and sends
   them, through the outbox, a button to the shop's link page ``/m/<shop>/link/?linkToken=…``.
2. On that page the person types their phone; ``account_link_code_send`` sends a one-time code by
   SMS to the member with that phone (the phone proof of ``members.phone_claims``: same codes,
   hashes, lifetimes, rate limits and gateway). ``account_link_prove`` checks the code and makes
   an ``AccountLinkNonce`` (256 random bits, ten minutes, single use) for that member; the page
   sends the browser to LINE's dialog (``account_link_dialog_url``) with the token and nonce.
3. LINE posts an ``accountLink`` event with ``link.result`` "ok" and the nonce;
   ``account_link_receive`` (a router handler) binds the event's LINE user to the nonce's member
   (``member_bind``, via account link) when the nonce is the shop's, unused and unexpired.
   Anything else binds nothing and is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from linebot.v3.messaging.exceptions import ApiException

from loyalty.errors import ApplicationError, InvalidInput, NotFound
from loyalty.line import messaging as line
from loyalty.links import absolute_url
from loyalty.outbox.services import outbox_enqueue
from loyalty.sms import SmsRefused, sms_available
from members.ledger.locks import lock_shop
from members.ledger.services import clean_phone
from members.line.binding import BindingRefused, clean_line_user_id, member_bind
from members.line.models import AccountLinkNonce, BindingRecord, LineFriend, WebhookEvent
from members.models import Member
from members.phone_claims.errors import CodeNotValid
from members.phone_claims.models import PhoneCode
from members.phone_claims.services import (
    _deliver,
    _hash,
    _rate_limit,
    clean_code,
    code_lifetime,
    sms_text,
)
from shops.models import Shop
from shops.services import line_access_token

log = logging.getLogger(__name__)

NONCE_LIFETIME = dt.timedelta(minutes=10)
# Members a LINE user may link to: not erased, not merged into another.
LINKABLE = (Member.Status.PENDING, Member.Status.REGISTERED, Member.Status.BLOCKED)


class LinkUnavailable(ApplicationError):
    """The shop cannot start an account link (no Messaging API token)."""

    code = "line_not_set_up"


# --- 1. start ----------------------------------------------------------------------------------


def account_link_message(*, link_url: str) -> dict:
    """The chat message with the button to the shop's link page."""
    text = _(
        "Link your LINE account to your membership: confirm your phone number on the next page."
    )
    return {
        "type": "template",
        "altText": text[:400],
        "template": {
            "type": "buttons",
            "text": text[:160],
            "actions": [{"type": "uri", "label": _("Link account")[:20], "uri": link_url}],
        },
    }


def account_link_start(*, shop: Shop, line_user_id: str, request: HttpRequest | None = None) -> str:
    """Issue a link token for the LINE user and queue them a button to the shop's link page;
    the link token. Refused: a malformed LINE id; a LINE user already bound to a member of the
    shop; a shop without a Messaging API token; LINE refusing the user (not a friend)."""
    line_user_id = clean_line_user_id(line_user_id)
    if Member.objects.filter(shop=shop, line_user_id=line_user_id, bound_at__isnull=False).exists():
        raise BindingRefused(
            _("This LINE account is already bound to a member."), code="already_bound"
        )
    token = line_access_token(shop.pk)
    if not token:
        raise LinkUnavailable(_("Set up the shop's LINE Messaging API channel first."))
    try:
        link_token = line.issue_link_token(channel_access_token=token, user_id=line_user_id)
    except ApiException as exc:
        raise InvalidInput(
            _("LINE refused a link token for this user: %(error)s")
            % {"error": line.line_error_message(exc)},
            field="line_user_id",
        ) from exc
    path = reverse("member:link", kwargs={"shop_slug": shop.slug})
    link_url = absolute_url(request, f"{path}?{urlencode({'linkToken': link_token})}")
    with transaction.atomic():
        outbox_enqueue(
            shop_id=shop.pk,
            to=[line_user_id],
            messages=[account_link_message(link_url=link_url)],
            source="account_link",
        )
    return link_token


# --- 2. the link page's proof ------------------------------------------------------------------


def _linkable_member(shop: Shop, phone: str) -> Member:
    member = (
        Member.objects.filter(shop=shop, phone=phone, status__in=LINKABLE)
        .only("pk", "shop_id", "line_user_id", "status")
        .first()
    )
    if member is None:
        raise NotFound(
            _("No member of this shop has this phone number. Sign up first, or ask the shop."),
            field="phone",
        )
    if member.line_user_id:
        raise BindingRefused(
            _("This membership is already linked to a LINE account."), field="phone"
        )
    return member


@transaction.atomic
def account_link_code_send(*, shop: Shop, phone: str) -> PhoneCode:
    """Send a one-time code by SMS to the shop's member with this phone, to prove on the link
    page that the membership is theirs. Refused: SMS off; no linkable member with the phone (or
    one already linked); the rate limits of the phone proof. A new code replaces the last."""
    if not sms_available():
        raise SmsRefused(_("Codes by SMS are not available at this shop. Please ask the shop."))
    e164 = clean_phone(phone)
    lock_shop(shop.pk)
    _linkable_member(shop, e164)
    now = timezone.now()
    codes = PhoneCode.objects.filter(phone=e164)
    refusal = _rate_limit(codes, now=now, who="phone")
    if refusal is not None:
        raise refusal
    codes.filter(
        shop=shop, purpose=PhoneCode.Purpose.ACCOUNT_LINK, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    code = f"{secrets.randbelow(10**6):06d}"
    row = PhoneCode(
        shop=shop,
        purpose=PhoneCode.Purpose.ACCOUNT_LINK,
        phone=e164,
        expires_at=now + code_lifetime(),
        created_at=now,
    )
    row.code_hash = _hash(row.salt, code)
    row.save()
    text = sms_text(code=code, shop_name=shop.name)
    transaction.on_commit(lambda: _deliver(row.pk, e164, text))
    return row


def account_link_prove(*, shop: Shop, code_id: int, code: object) -> AccountLinkNonce:
    """Check the code sent for the link page and make the nonce for the member whose phone it
    went to. Refused like the phone proof: a code that is not 6 digits, expired, used, out of
    tries or wrong (the wrong try is counted even though the request is refused)."""
    typed = clean_code(code)
    outcome = _prove(shop=shop, code_id=code_id, typed=typed)
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


@transaction.atomic
def _prove(*, shop: Shop, code_id: int, typed: str) -> AccountLinkNonce | ApplicationError:
    # Refusals are returned, not raised, so that a wrong try is committed with this transaction.
    lock_shop(shop.pk)
    now = timezone.now()
    row = (
        PhoneCode.objects.select_for_update()
        .filter(pk=code_id, shop=shop, purpose=PhoneCode.Purpose.ACCOUNT_LINK)
        .first()
    )
    if row is None:
        return CodeNotValid(_("Ask for a code first."), field="code")
    if row.used_at is not None or row.expires_at <= now:
        return CodeNotValid(_("This code has expired. Ask for a new one."), field="code")
    if row.attempts >= settings.OTP_MAX_TRIES:
        return CodeNotValid(_("Too many wrong tries. Ask for a new code."), field="code")
    if not constant_time_compare(row.code_hash, _hash(row.salt, typed)):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        left = settings.OTP_MAX_TRIES - row.attempts
        if left <= 0:
            return CodeNotValid(_("Too many wrong tries. Ask for a new code."), field="code")
        return CodeNotValid(
            _("That code is not right. %(left)s more tries with this code.") % {"left": left},
            field="code",
        )
    row.used_at = now
    row.save(update_fields=["used_at"])
    try:
        member = _linkable_member(shop, row.phone)
    except ApplicationError as exc:
        return exc
    return AccountLinkNonce.objects.create(
        shop=shop,
        member=member,
        nonce=secrets.token_urlsafe(32),
        expires_at=now + NONCE_LIFETIME,
    )


def account_link_dialog_url(*, link_token: str, nonce: str) -> str:
    """LINE's account-link dialog for this token and nonce (on ``LINE_ACCESS_BASE_URL``, the
    base LINE Login's authorize page uses: the fake platform in tests and the demo)."""
    query = urlencode({"linkToken": link_token, "nonce": nonce})
    return f"{settings.LINE_ACCESS_BASE_URL.rstrip('/')}/dialog/bot/accountLink?{query}"


# --- 3. LINE's accountLink event ---------------------------------------------------------------


def account_link_receive(*, event, stored: WebhookEvent, friend: LineFriend | None) -> bool:
    """Router handler for ``accountLink`` events: bind the event's LINE user to the member of a
    valid nonce (this shop's, unused, unexpired; it is used up either way). A failed link, a bad
    nonce or a binding the rules refuse binds nothing and is logged. Always takes the event."""
    link = getattr(event, "link", None)
    user_id = getattr(getattr(event, "source", None), "user_id", None) or stored.line_user_id
    if link is None or link.result != "ok" or not link.nonce:
        log.info("accountLink %s: LINE says %s", stored.webhook_event_id, link and link.result)
        return True
    try:
        member = _use_nonce(shop_id=stored.shop_id, nonce=link.nonce, user_id=user_id)
    except ApplicationError as exc:
        log.warning("accountLink %s refused: %s", stored.webhook_event_id, exc)
        return True
    if member is not None:
        log.info("accountLink %s: bound member %s", stored.webhook_event_id, member.pk)
    return True


@transaction.atomic
def _use_nonce(*, shop_id: int, nonce: str, user_id: str) -> Member | None:
    """Use the nonce up and bind; None (logged) when the binding itself is refused."""
    now = timezone.now()
    row = (
        AccountLinkNonce.objects.select_for_update()
        .select_related("member")
        .filter(nonce=nonce)
        .first()
    )
    if row is None or row.shop_id != shop_id:
        raise NotFound(_("This account link is not valid."))
    if row.used_at is not None:
        raise BindingRefused(_("This account link was already used."))
    if row.expires_at <= now:
        raise BindingRefused(_("This account link has expired."))
    row.used_at = now
    row.save(update_fields=["used_at"])
    try:
        with transaction.atomic():
            return member_bind(
                member=row.member,
                line_user_id=user_id,
                via=BindingRecord.Via.ACCOUNT_LINK,
                actor="member",
            ).member
    except ApplicationError as exc:
        log.warning("account link of member %s refused: %s", row.member_id, exc)
        return None
