"""Every write to shop settings goes through these functions.

Lock order across the project: Shop → Member → Reward. Settings writes lock only the shop row, which
serialises the per-shop limits (5 tiers, 10 tags, 11 contact channels) against concurrent admins.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from loyalty.errors import LimitReached
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
    a shop's LINE settings."""
    channel.full_clean()
    channel.save()
    return channel


def line_access_token(shop_id: int) -> str | None:
    """The shop's Messaging API channel access token, for the outbox (LINE_CHANNEL_TOKEN_LOOKUP)."""
    token = (
        ShopLineChannel.objects.filter(shop_id=shop_id)
        .values_list("messaging_access_token", flat=True)
        .first()
    )
    return token or None
