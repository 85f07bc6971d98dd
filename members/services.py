"""Every write to members goes through these functions (points and the ledger: ``members.ledger``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from members.models import Member
from members.selectors import member_by_phone
from shops.models import Shop


@transaction.atomic
def member_save(*, member: Member, tags=None) -> Member:
    """Validate and save a member's profile (admin edits, imports). Identifiers are unique per
    shop; the database constraints back the checks made by ``full_clean``."""
    member.full_clean()
    if member._state.adding:
        from members.ledger.services import tier_start

        tier_start(member)
    member.save()
    if tags is not None:
        member.tags.set([t for t in tags if t.shop_id == member.shop_id])
    return member


@transaction.atomic
def member_get_or_create(
    *,
    shop: Shop,
    phone: str,
    first_name: str = "",
    last_name: str = "",
    customer_id: str | None = None,
) -> tuple[Member, bool]:
    """The shop's member with this phone, or a new pending member with these details.

    An existing member is returned unchanged except that an empty Customer ID is filled in. A
    Customer ID already used by another member is refused. (A LINE user id is bound by
    ``members.line.binding.member_bind``.)
    """
    from loyalty.errors import InvalidInput
    from members.ledger.services import clean_phone, lock_shop, tier_start

    e164 = clean_phone(phone)
    customer_id = (customer_id or "").strip() or None
    lock_shop(shop.pk)  # lock order Shop → Member; serialises creation of the same phone
    member = member_by_phone(shop=shop, phone=e164)
    created = member is None
    if created:
        member = Member(shop=shop, phone=e164, status=Member.Status.PENDING)
        member.first_name, member.last_name = first_name or "", last_name or ""
        tier_start(member)
    if customer_id is not None and member.customer_id != customer_id:
        label = Member._meta.get_field("customer_id").verbose_name
        if member.customer_id:
            raise InvalidInput(
                _("This member already has another %(field)s.") % {"field": label},
                code="already_bound",
                field="customer_id",
            )
        if Member.objects.filter(shop=shop, customer_id=customer_id).exclude(pk=member.pk).exists():
            raise InvalidInput(
                _("Another member of this shop already has this %(field)s.") % {"field": label},
                code="identifier_taken",
                field="customer_id",
            )
        member.customer_id = customer_id
    try:
        member.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], field=field) from None
    member.save()
    return member, created


def member_tags_give(*, member: Member, tags) -> list:
    """Give ``member`` the ``tags`` of its own shop (a tag of another shop is dropped, whatever
    passed it): added, never removed, and a tag the member has is left as it is. Used by every
    tap that tags (rich-menu areas, tracked links). Returns the tags given (or kept).

    The m2m ``add`` skips the tags the member has, inserts with ``ignore_conflicts`` (two taps at
    once do not fail) and announces only the new ones (``m2m_changed``), which is what re-links a
    tag audience's rich menu."""
    tags = [tag for tag in tags if tag.shop_id == member.shop_id]
    if tags:
        member.tags.add(*tags)
    return tags
