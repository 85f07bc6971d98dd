"""Delivered rewards: the address a redemption needs (``clean_address``), the delivery it starts
(``delivery_start``), and its states afterwards (``delivery_set_status``, following
``DELIVERY_NEXT``). Cancelling a delivery cancels its redemption (``cancellations``), which returns
the points.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import InvalidInput
from loyalty.phones import InvalidPhone, normalise_phone
from loyalty.text import check_text
from members.ledger.actors import Actor
from members.models import Member
from members.notifications.models import NoticeKind
from members.notifications.rendering import member_page_url
from members.notifications.services import notify
from rewards.errors import AddressRequired, WrongState
from rewards.models import Delivery, Redemption, SavedAddress
from rewards.services.cancellations import redemption_cancel
from shops.models import Branch


@dataclass(frozen=True)
class Address:
    recipient: str
    phone: str
    address: str
    postcode: str


def clean_address(address: Address | None) -> Address:
    """The address as stored, or AddressRequired naming the field that is missing or wrong: a
    recipient and an address (checked like any stored text), a 5-digit Thai postcode, a phone."""
    if address is None:
        raise AddressRequired(_("Enter the delivery address."), field="address")
    recipient = check_text(
        (address.recipient or "").strip(), field="recipient", where=_("Recipient")
    )
    text = check_text(
        (address.address or "").strip(), multiline=True, field="address", where=_("Address")
    )
    postcode = (address.postcode or "").strip()
    if not recipient or not text:
        raise AddressRequired(_("Enter the recipient's name and the address."), field="address")
    if not (postcode.isdigit() and len(postcode) == 5):
        raise AddressRequired(_("A Thai postcode has 5 digits."), field="postcode")
    try:
        phone = normalise_phone(address.phone)
    except InvalidPhone as exc:
        raise AddressRequired(exc.messages[0], field="phone") from None
    return Address(recipient=recipient[:120], phone=phone, address=text, postcode=postcode)


def delivery_start(
    member: Member, redemption: Redemption, address: Address, *, save_address: bool
) -> Delivery:
    """The delivery of a redemption being made (inside ``reward_redeem``'s transaction); the
    address is also saved for next time unless the member already has it."""
    if (
        save_address
        and not SavedAddress.objects.filter(
            member=member,
            recipient=address.recipient,
            address=address.address,
            postcode=address.postcode,
        ).exists()
    ):
        SavedAddress.objects.create(
            shop_id=member.shop_id,
            member=member,
            recipient=address.recipient,
            phone=address.phone,
            address=address.address,
            postcode=address.postcode,
        )
    return Delivery.objects.create(
        shop_id=member.shop_id,
        redemption=redemption,
        member=member,
        recipient=address.recipient,
        phone=address.phone,
        address=address.address,
        postcode=address.postcode,
    )


# --- deliveries -----------------------------------------------------------------------------------

DELIVERY_NEXT = {
    Delivery.Status.PENDING: {
        Delivery.Status.PREPARING,
        Delivery.Status.SHIPPED,
        Delivery.Status.CANCELLED,
        Delivery.Status.DELIVERED,
    },
    Delivery.Status.PREPARING: {
        Delivery.Status.SHIPPED,
        Delivery.Status.CANCELLED,
        Delivery.Status.DELIVERED,
    },
    Delivery.Status.SHIPPED: {Delivery.Status.DELIVERED},
    Delivery.Status.DELIVERED: set(),
    Delivery.Status.CANCELLED: set(),
}


@transaction.atomic
def delivery_set_status(
    *,
    delivery: Delivery,
    status: str,
    actor: Actor,
    carrier: str = "",
    tracking_number: str = "",
    branch: Branch | None = None,
    note: str = "",
) -> Delivery:
    """Move a delivery on: pending → preparing → shipped (carrier and tracking number required)
    → delivered; or cancelled before it ships, which returns the points. A cashier handing the gift
    over in the store marks it delivered at their branch."""
    if status == Delivery.Status.CANCELLED:
        # Through the redemption, which takes the member's lock before the delivery's (the lock
        # order of every cancellation) and refuses a gift that has shipped or been delivered.
        current = Delivery.objects.get(pk=delivery.pk)
        if current.status == Delivery.Status.CANCELLED:
            return current
        redemption_cancel(redemption=current.redemption, note=note, actor=actor)
        return Delivery.objects.get(pk=delivery.pk)
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if status == delivery.status:
        return delivery
    if status not in DELIVERY_NEXT[delivery.status]:
        raise WrongState(
            _("A delivery that is “%(now)s” cannot become “%(next)s”.")
            % {"now": delivery.get_status_display(), "next": Delivery.Status(status).label}
        )
    now = timezone.now()
    if status == Delivery.Status.SHIPPED:
        carrier, tracking_number = carrier.strip(), tracking_number.strip()
        if not carrier or not tracking_number:
            raise InvalidInput(
                _("Enter the carrier and the tracking number."), field="tracking_number"
            )
        delivery.carrier, delivery.tracking_number = carrier[:60], tracking_number[:60]
        delivery.shipped_at = now
    if status == Delivery.Status.PREPARING:
        delivery.preparing_at = now
    if status == Delivery.Status.DELIVERED:
        delivery.delivered_at = now
        if branch is not None:
            delivery.handed_over_branch = branch
    delivery.status = status
    delivery.save()
    if status == Delivery.Status.SHIPPED:
        notify(
            delivery.member,
            NoticeKind.SHIPPED,
            {
                "reward": delivery.redemption.reward_name,
                "carrier": delivery.carrier,
                "tracking": delivery.tracking_number,
                "link": member_page_url(
                    delivery.member.shop,
                    "rewards:delivery",
                    redemption_id=delivery.redemption.public_id,
                ),
            },
            cause_key=str(delivery.redemption.public_id),
        )
    return delivery
