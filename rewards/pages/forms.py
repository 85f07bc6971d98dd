"""Shapes of the member's redemption forms: the confirmation (its hidden key makes it redeem at most
once) and, for a delivered reward, the address (a saved one or a new one). What is missing or
wrong in an address is decided by ``rewards.services.clean_address``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from loyalty.phones import format_phone_local
from loyalty.text import TypedTextForm
from rewards.models import SavedAddress
from rewards.services import Address

NEW_ADDRESS = "new"


class RedeemForm(TypedTextForm, forms.Form):
    """Confirm a redemption. ``key`` is the UUID rendered into the page: the idempotency key of
    the one redemption this form may create."""

    key = forms.UUIDField(widget=forms.HiddenInput)


class DeliveryRedeemForm(RedeemForm):
    """Confirm a delivered reward: one of the member's saved addresses, or a new one. The fields
    are optional here; ``rewards.services.clean_address`` says what is missing."""

    saved = forms.ChoiceField(label=_lazy("Deliver to"), widget=forms.RadioSelect, required=False)
    recipient = forms.CharField(
        # Translators: Thai: ชื่อผู้รับ
        label=_lazy("Recipient"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        # Translators: Thai: เบอร์โทรผู้รับ
        label=_lazy("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel-national",
                "placeholder": "08x-xxx-xxxx",
            }
        ),
    )
    address = forms.CharField(
        # Translators: Thai: ที่อยู่ (บ้านเลขที่ ถนน ตำบล/แขวง อำเภอ/เขต จังหวัด)
        label=_lazy("Address"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
        help_text=_lazy("House number, road, sub-district, district, province"),
    )
    postcode = forms.CharField(
        # Translators: Thai: รหัสไปรษณีย์
        label=_lazy("Postcode"),
        max_length=5,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "postal-code", "maxlength": "5"}
        ),
    )

    def __init__(self, *args, addresses: list[SavedAddress], **kwargs):
        super().__init__(*args, **kwargs)
        self.addresses = {str(a.pk): a for a in addresses}
        choices = [
            (pk, f"{a.recipient} · {format_phone_local(a.phone)}\n{a.address} {a.postcode}")
            for pk, a in self.addresses.items()
        ]
        # Translators: Thai: ที่อยู่ใหม่
        self.fields["saved"].choices = [*choices, (NEW_ADDRESS, _("A new address"))]

    def address_value(self) -> Address | None:
        """The chosen saved address, or the typed one (None when nothing was typed)."""
        data = self.cleaned_data
        saved = self.addresses.get(data.get("saved") or "")
        if saved is not None:
            return Address(saved.recipient, saved.phone, saved.address, saved.postcode)
        typed = [data.get(f, "") for f in ("recipient", "phone", "address", "postcode")]
        if not any(v.strip() for v in typed):
            return None
        return Address(*typed)
