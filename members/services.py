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
    line_user_id: str | None = None,
) -> tuple[Member, bool]:
    """The shop's member with this phone, or a new pending member with these details.

    An existing member is returned unchanged except that an empty Customer ID or LINE user id is
    filled in (binding). A Customer ID or LINE id already used by another member is refused.
    """
    from loyalty.errors import InvalidInput
    from members.ledger.services import clean_phone, lock_shop, tier_start

    e164 = clean_phone(phone)
    customer_id = (customer_id or "").strip() or None
    line_user_id = (line_user_id or "").strip() or None
    lock_shop(shop.pk)  # lock order Shop → Member; serialises creation of the same phone
    member = member_by_phone(shop=shop, phone=e164)
    created = member is None
    if created:
        member = Member(shop=shop, phone=e164, status=Member.Status.PENDING)
        member.first_name, member.last_name = first_name or "", last_name or ""
        tier_start(member)
    for field, value in (("customer_id", customer_id), ("line_user_id", line_user_id)):
        if value is None or getattr(member, field) == value:
            continue
        if getattr(member, field):
            raise InvalidInput(
                _("This member already has another %(field)s.")
                % {"field": Member._meta.get_field(field).verbose_name},
                code="already_bound",
                field=field,
            )
        if Member.objects.filter(shop=shop, **{field: value}).exclude(pk=member.pk).exists():
            raise InvalidInput(
                _("Another member of this shop already has this %(field)s.")
                % {"field": Member._meta.get_field(field).verbose_name},
                code="identifier_taken",
                field=field,
            )
        setattr(member, field, value)
    try:
        member.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(messages[0], field=field) from None
    member.save()
    return member, created
