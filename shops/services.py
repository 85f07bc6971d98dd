"""Every write to shop settings goes through these functions.

Lock order across the project: Shop → Member → Reward. Settings writes lock only the shop row, which
serialises the per-shop limits (5 tiers, 10 tags, 11 contact channels) against concurrent admins.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import LimitReached
from loyalty.line.assertion import issue_channel_token
from shops.images import make_thumbnail
from shops.models import ContactChannel, PolicyDocument, Shop, ShopLineChannel, User


def lock_shop(shop_id: int) -> Shop:
    """Take the shop's row lock for the rest of the transaction (first in the lock order)."""
    return Shop.objects.select_for_update(no_key=True).get(pk=shop_id)


@transaction.atomic
def shop_row_save(*, row: models.Model, actor: User | None = None) -> models.Model:
    """Validate and save a shop-owned settings row (branch, tier, tag, channel, background).

    Validation runs again under the shop's lock, so a per-shop limit holds even when two people
    add the last allowed row at the same moment.
    """
    lock_shop(row.shop_id)
    try:
        row.full_clean()
    except ValidationError as exc:
        _raise_limit_reached(exc)
        raise
    row.save()
    return row


def _raise_limit_reached(exc: ValidationError) -> None:
    """Turn a ``limit_reached`` validation error (from ``check_shop_limit``) into ``LimitReached``.

    ``full_clean`` gathers errors into a dict by field (``clean()``'s go under ``__all__``), while a
    plain ``ValidationError`` keeps a list; look at both.
    """
    if hasattr(exc, "error_dict"):
        errors = [e for field_errors in exc.error_dict.values() for e in field_errors]
    else:
        errors = exc.error_list
    for error in errors:
        if error.code == "limit_reached":
            message = error.message % error.params if error.params else error.message
            raise LimitReached(message, code="limit_reached") from exc


@transaction.atomic
def contact_channels_set(
    *,
    shop: Shop,
    save: list[ContactChannel],
    delete: list[ContactChannel],
    actor: User | None = None,
) -> list[ContactChannel]:
    """Delete and add or change the shop's contact channels in one step, keeping at most
    ``LOYALTY_MAX_CONTACT_CHANNELS`` of them.

    The limit is checked on the result, under the shop's lock, since one save may delete one row
    and add another (the admin's formset shows the same rule as a form error first).
    """
    lock_shop(shop.pk)
    for channel in delete:
        if channel.pk and channel.shop_id == shop.pk:
            channel.delete()
    for channel in save:
        channel.shop = shop
        channel.full_clean()
        channel.save()
    limit = settings.LOYALTY_MAX_CONTACT_CHANNELS
    if ContactChannel.objects.filter(shop=shop).count() > limit:
        raise LimitReached(
            _("A shop can list at most %(limit)s contact channels.") % {"limit": limit}
        )
    return save


@transaction.atomic
def shop_save(*, shop: Shop, changed: list[str] | tuple[str, ...] = ()) -> Shop:
    """Save the shop's profile and policies; a new logo gets a fresh thumbnail.

    The logo itself was checked and re-encoded by ``shops.images.reencode_image`` on upload.
    """
    if shop.pk:
        lock_shop(shop.pk)
    shop.full_clean()
    if "logo" in changed or (shop.logo and not shop.logo_thumbnail):
        if shop.logo:
            shop.logo.open("rb")
            shop.logo_thumbnail = make_thumbnail(shop.logo)
        else:
            shop.logo_thumbnail = None
    shop.save()
    return shop


@transaction.atomic
def policy_document_publish(
    *, shop: Shop, kind: str, title: str, body: str, actor: User | None = None
) -> PolicyDocument:
    """Publish the next version of the shop's terms or privacy policy; older versions stay, since
    members' consent records point at the version they accepted."""
    lock_shop(shop.pk)
    last = PolicyDocument.objects.filter(shop=shop, kind=kind).aggregate(v=Max("version"))["v"] or 0
    document = PolicyDocument(
        shop=shop, kind=kind, version=last + 1, title=title.strip(), body=body, published_by=actor
    )
    document.full_clean()
    document.save()
    return document


def current_document(*, shop: Shop, kind: str) -> PolicyDocument | None:
    """The latest published version of a document, or None when the shop has none yet."""
    return PolicyDocument.objects.filter(shop=shop, kind=kind).order_by("-version").first()


def staff_account_save(*, user: User) -> User:
    """Save a staff account; admin access follows the role (owners and managers only)."""
    if user.role and not user.shop_id:
        raise ValidationError(_("A staff account with a role needs a shop."))
    user.is_staff = user.is_superuser or user.role in (User.Role.OWNER, User.Role.MANAGER)
    user.save()
    return user


def line_channel_save(*, channel: ShopLineChannel) -> ShopLineChannel:
    """Validate (``clean``: a channel needs its secret, a LIFF app belongs to the channel) and save
    a shop's LINE settings. A new assertion key (or channel) drops the token issued from the old
    one."""
    channel.full_clean()
    if channel.pk:
        before = (
            ShopLineChannel.objects.filter(pk=channel.pk)
            .values_list("messaging_channel_id", "assertion_kid", "assertion_private_key")
            .first()
        )
        now = (channel.messaging_channel_id, channel.assertion_kid, channel.assertion_private_key)
        if before is not None and tuple(before) != now:
            channel.issued_access_token = ""
            channel.issued_access_token_expires_at = None
    channel.save()
    return channel


def line_access_token(shop_id: int) -> str | None:
    """The shop's Messaging API channel access token, for the outbox (LINE_CHANNEL_TOKEN_LOOKUP):
    ``line_channel_access_token`` of its channel (a v2.1 token when it has an assertion key)."""
    channel = ShopLineChannel.objects.filter(shop_id=shop_id).first()
    if channel is None:
        return None
    return line_channel_access_token(channel=channel) or None


# A token this close to its end is not handed out: a message sent with it must still be accepted.
TOKEN_RENEW_MARGIN = dt.timedelta(minutes=10)


def line_channel_access_token(*, channel: ShopLineChannel) -> str:
    """The channel access token to send the shop's messages with.

    With an assertion key (``assertion_kid`` + ``assertion_private_key``) it is a v2.1 token issued
    through line-bot-sdk's ``ChannelAccessToken`` API and kept on the row (encrypted) until
    ``TOKEN_RENEW_MARGIN`` before it expires; the row is locked while a new one is issued, so
    concurrent senders issue one token, not one each (LINE caps the live v2.1 tokens of a
    channel). Without one, the long-lived token saved in the back office; "" when neither is set.
    """
    if not (channel.assertion_kid and channel.assertion_private_key):
        return channel.messaging_access_token
    now = timezone.now()
    if (
        channel.issued_access_token
        and channel.issued_access_token_expires_at
        and channel.issued_access_token_expires_at - TOKEN_RENEW_MARGIN > now
    ):
        return channel.issued_access_token
    with transaction.atomic():
        locked = ShopLineChannel.objects.select_for_update().get(pk=channel.pk)
        if (
            locked.issued_access_token
            and locked.issued_access_token_expires_at
            and locked.issued_access_token_expires_at - TOKEN_RENEW_MARGIN > now
        ):
            token, expires = locked.issued_access_token, locked.issued_access_token_expires_at
        else:
            issued = issue_channel_token(
                channel_id=locked.messaging_channel_id,
                kid=locked.assertion_kid,
                private_jwk=locked.assertion_private_key,
            )
            token = issued.access_token
            expires = now + dt.timedelta(seconds=issued.expires_in)
            locked.issued_access_token = token
            locked.issued_access_token_expires_at = expires
            locked.save(update_fields=["issued_access_token", "issued_access_token_expires_at"])
    channel.issued_access_token, channel.issued_access_token_expires_at = token, expires
    return token
